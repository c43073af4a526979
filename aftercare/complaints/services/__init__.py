"""Writes of the complaints app, one module per section: `configuration` (store settings), `workflow` (record,
route, handle, return, verify, archive, close), `attachments` (handling documents), `pdf`, `escalation` (the hourly
job), `exports` (XLSX) and `first_time_fix` (repeat repairs). Callers import the module they need."""
