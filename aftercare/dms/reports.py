"""The error report of an import (page, CSV, XLSX, API): its rows, with phones masked for roles that may not reveal.

The files themselves are written by `aftercare.core.exports` (text as text, never a formula); each download is
audited by `services.import_error_report_record`.
"""

import re
from collections.abc import Iterator

from django.utils.translation import gettext as _

from aftercare.org.permissions import Perm, has_perm

# A CN mobile, also mistyped (1[3-9] and 7–12 digits in all), with an optional +86 / 0086 / 86 prefix and spaces or
# dashes between the groups, or a landline with its area code (0 + 2–3 digits, then 7–8). Its digits are masked
# but the first 3 and the last 4 (2 for fewer than 11 digits). Not inside a longer run of letters or digits (VINs,
# order numbers); dates, amounts and mileages do not take this shape.
_PHONE = re.compile(
    r"(?<![0-9A-Za-z])"
    r"(?:(?:\+|00)?86[\s-]?)?"
    r"(?:1[3-9]\d(?:[\s-]?\d){4,9}|0\d{2,3}[\s-]?\d{7,8})"
    r"(?![0-9A-Za-z])"
)
_DIGIT = re.compile(r"\d")


def _mask(match: re.Match) -> str:
    text = match.group(0)
    positions = [m.start() for m in _DIGIT.finditer(text)]
    shown_tail = 4 if len(positions) >= 11 else 2  # a short (mistyped) number keeps less of itself
    hidden = set(positions[3:-shown_tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def mask_phones(text: str) -> str:
    """`text` with every phone number in it masked (138****5678 style)."""
    if not text or not _DIGIT.search(text):
        return text
    return _PHONE.sub(_mask, text)


def may_see_phones(user) -> bool:
    return has_perm(user, Perm.CUSTOMER_REVEAL_PHONE)


def error_report_header() -> list[str]:
    return [_("Row"), _("Column"), _("Reason"), _("Row as in the file")]


def error_report_rows(rows, *, user) -> Iterator[tuple]:
    """(row, column, reason, raw) tuples, phones masked unless `user` may reveal phones."""
    if may_see_phones(user):
        yield from rows
        return
    for row, column, reason, raw in rows:
        yield row, column, mask_phones(reason), mask_phones(raw)
