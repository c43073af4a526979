"""Error reports of an import, for download."""

import io

from openpyxl import Workbook


def error_report_xlsx(header: list[str], rows) -> bytes:
    """An error report as an XLSX workbook (write-only, streamed row by row)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("errors")
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
