"""The department's year report (issue 19, seed 000): content.py gathers, render.py writes the PDF and XLSX."""
