import io

import pytest
from django.core.management import CommandError, call_command

from aftercare.customers.models import RepairOrder

from .helpers import RO_HEADER, ro_row, write_csv

pytestmark = pytest.mark.django_db


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("import_dms", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


def test_it_exits_0_and_ends_with_the_counts_line(tmp_path, store_a):
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(n) for n in range(3)])
    code, out, err = call("--store", "A01", "--kind", "repair_orders", str(path))
    assert code == 0
    assert out.splitlines()[-1] == "created=3 updated=0 unchanged=0 rejected=0"
    assert "100%" in err and "3/3 rows" in err  # the progress bar goes to stderr
    code, out, _err = call("--store", "A01", "--kind", "repair_orders", str(path))
    assert (code, out.strip()) == (0, "created=0 updated=0 unchanged=3 rejected=0")


def test_it_exits_1_when_rows_were_rejected(tmp_path, store_a):
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(1), ro_row(2, vin="BAD")])
    code, out, err = call("--store", "A01", "--kind", "repair_orders", str(path), "--dry-run")
    assert code == 1
    assert out.strip() == "created=1 updated=0 unchanged=0 rejected=1"
    assert "row 3, VIN/车架号" in err
    assert not RepairOrder.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--store", "NOPE", "--kind", "repair_orders", "{good}"], "Unknown store"),
        (["--store", "A01", "--kind", "repair_orders", "{missing}"], ""),
        (["--store", "A01", "--kind", "repair_orders", "{noheader}"], "VIN"),
        (["--store", "A01", "--kind", "repair_orders", "{good}", "--user", "ghost"], "Unknown user"),
    ],
)
def test_it_exits_2_on_usage_and_file_errors(tmp_path, store_a, args, message):
    files = {
        "good": write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(1)]),
        "missing": tmp_path / "missing.csv",
        "noheader": write_csv(tmp_path / "x.csv", ["工单号", "客户姓名"], [["RO1", "张三"]]),
    }
    code, out, err = call(*[a.format(**files) for a in args])
    assert code == 2
    assert message in err
    assert "created=" not in out
    assert not RepairOrder.objects.exists()


def test_it_exits_2_on_a_bad_kind(tmp_path, store_a):
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(1)])
    with pytest.raises(CommandError):
        call_command("import_dms", "--store", "A01", "--kind", "tyres", str(path))
