"""Scoped reads of the care app: every selector takes the acting user and reads only the stores they may see."""
