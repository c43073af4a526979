"""The apps' layers (.importlinter) hold, and an upward import breaks them (so `make lint` / `make test` fail)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(cwd / ".importlinter"), "--no-cache"],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_it_keeps_the_layers_of_the_apps():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 broken" in done.stdout


def test_it_fails_on_an_import_from_a_lower_app_into_a_higher_one(tmp_path):
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    shutil.copytree(ROOT / "aftercare", tmp_path / "aftercare", ignore=shutil.ignore_patterns("*.pyc", "__pycache__"))
    lower = tmp_path / "aftercare" / "followups" / "views.py"
    # a function-level import counts as much as one at the top
    lower.write_text(lower.read_text() + "\n\ndef _upward():\n    from aftercare.complaints import forms  # noqa\n")
    peer = tmp_path / "aftercare" / "dms" / "selectors.py"
    peer.write_text(peer.read_text() + "\nfrom aftercare.followups import models as _peer  # noqa\n")
    done = lint_imports(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "aftercare.followups is not allowed to import aftercare.complaints" in done.stdout
    assert "aftercare.followups.views -> aftercare.complaints.forms" in done.stdout
    assert "aftercare.dms.selectors -> aftercare.followups.models" in done.stdout
