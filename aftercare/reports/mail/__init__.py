"""Reports by mail (issue 19; docs/reports.md, "Reports by mail"): periods, the content of a report, its PDF and
XLSX, the services that generate, send and re-send it, the scoped reads, the archive pages and the API."""
