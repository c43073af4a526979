"""Free text as the system keeps it: no C0 control characters but tab and newline.

Every way text comes in (forms, the API, DMS imports) passes it through `clean_text`, so a stored value
can always be shown, searched and exported (XML 1.0, which XLSX is, cannot hold most control characters).
"""

import re

# C0 controls but tab (\x09) and newline (\x0a); carriage returns are folded into newlines first; DEL too.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NEWLINES = re.compile(r"\r\n?")


def has_control_chars(value: str) -> bool:
    """Whether `value` holds a character `clean_text` would drop (a carriage return alone counts)."""
    return bool(_CONTROL.search(value))


def clean_text(value):
    """`value` with CR LF and lone CR as LF and every other C0 control character (and DEL) removed.

    Anything that is not a str is returned as it is, so it can be applied to any field's value.
    """
    if not isinstance(value, str):
        return value
    if "\r" in value:
        value = _NEWLINES.sub("\n", value)
    return _CONTROL.sub("", value)
