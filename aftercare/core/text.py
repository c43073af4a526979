"""Free text as the system keeps it: no C0 control characters but tab and newline.

Every way text comes in (model `full_clean` and `save`, forms, the API, DMS imports) passes it through
`clean_text`, so a stored value can always be shown, searched and exported (XML 1.0, which XLSX is, cannot hold
most control characters; PostgreSQL cannot hold NUL).
"""

import re

# C0 controls but tab (\x09) and newline (\x0a); carriage returns are folded into newlines first; DEL too; and lone
# UTF-16 surrogates (a JSON body can carry "\ud800"), which no UTF-8 database or file can hold.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")
_NEWLINES = re.compile(r"\r\n?")


def has_control_chars(value: str) -> bool:
    """Whether `value` holds a character `clean_text` would drop (a carriage return alone counts)."""
    return bool(_CONTROL.search(value))


def newlines_as_lf(text: str) -> str:
    """`text` with CR LF and lone CR as LF."""
    return _NEWLINES.sub("\n", text) if "\r" in text else text


def clean_text(value):
    """`value` with CR LF and lone CR as LF and every other C0 control character (and DEL) removed.

    Anything that is not a str is returned as it is, so it can be applied to any field's value.
    """
    if not isinstance(value, str):
        return value
    return _CONTROL.sub("", newlines_as_lf(value))


def clean_text_deep(value):
    """`clean_text` applied to every str in nested dicts and lists (a parsed JSON body); other values unchanged."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {key: clean_text_deep(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean_text_deep(item) for item in value]
    return value
