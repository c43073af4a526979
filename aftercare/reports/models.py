"""Reports' rows (docs/reports.md)."""
