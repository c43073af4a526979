"""Writes of parts quality, one module a section: `codes` (part families, symptoms), `reports` (parts-quality
reports and the complaint hand-over), `alarms` (the batch-defect alarm job and the alarm workflow)."""
