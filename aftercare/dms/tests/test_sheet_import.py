"""`dms.readers.SheetImport`: the result every sheet import extends; its lists stop at `MAX_LISTED` rows."""

from aftercare.dms.readers import MAX_LISTED, RowError, SheetImport


def test_it_lists_up_to_the_limit_and_is_ok_only_without_errors_or_file_error():
    result = SheetImport(rows=3)
    assert result.ok
    result.listed(result.errors, [RowError(n, "VIN", "bad") for n in range(2, MAX_LISTED + 10)])
    result.listed(result.errors, [RowError(9999, "", "late")])
    assert len(result.errors) == MAX_LISTED and result.errors[-1].row == MAX_LISTED + 1 and not result.ok
    result.listed(result.notes, [RowError(2, "advisor", "unknown")])
    assert [n.column for n in result.notes] == ["advisor"]
    assert not SheetImport(file_error="not a spreadsheet").ok
