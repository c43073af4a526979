"""Every setting the code reads is declared (in `aftercare/settings.py`, or a default of Django or a library it
configures): no `getattr(settings, NAME, default)` that hides a default from the settings file."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]
SETTING = re.compile(r"\bsettings\.([A-Z][A-Z0-9_]+)\b")


def _sources():
    for path in sorted((ROOT / "aftercare").rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "tests" in parts or "migrations" in parts or path.name == "settings.py":
            continue
        yield path, path.read_text(encoding="utf-8")


def test_it_reads_no_setting_through_getattr_with_a_default():
    offenders = [str(path.relative_to(ROOT)) for path, text in _sources() if re.search(r"getattr\(\s*settings\b", text)]
    assert offenders == []


def test_it_declares_every_setting_the_code_reads():
    names = {name for _path, text in _sources() for name in SETTING.findall(text)}
    assert "BUSINESS_TIME_ZONE" in names and "IMPORT_CHUNK_SIZE" in names  # the scan sees the code
    assert sorted(name for name in names if not hasattr(settings, name)) == []
