"""`python -m bench.xlsxbounds [--rows N] [--dir DIR]`: the bounded XLSX reader against bombs (issue 14).

Generates (with `zipfile`, nothing committed) in DIR (a temporary one by default):
* `bomb.xlsx`: N rows of one tiny cell (the probe's 140 KB file inflating to 46 MB for 1 M rows);
* `cell.xlsx`: one 64 MB cell (the probe's 65 KB file);
* `orders.xlsx`: N realistic repair-order rows (11 columns, inline strings), the size of a real big export;
and reads each in a fresh process, printing the wall seconds, CPU seconds and peak RSS (ru_maxrss) of the
reading (and, for `orders.xlsx`, the validation as `bench.validate` does it), the outcome, and the RSS of the
bare process before it. The import promises < 300 MB for 1 M rows.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HEADER = ["工单号", "VIN/车架号", "车牌号", "车型", "客户姓名", "联系电话", "结算日期", "维修类型", "金额", "里程",
          "服务顾问"]


def _write(path: Path, chunks) -> Path:
    from aftercare.dms.tests.helpers import write_raw_xlsx

    return write_raw_xlsx(path, chunks)


def make_files(folder: Path, rows: int) -> dict[str, Path]:
    from aftercare.dms.tests.helpers import SHEET_HEAD, SHEET_TAIL, sheet_row
    from aftercare.testing.factories import make_vin

    def bomb():
        yield SHEET_HEAD + sheet_row(1, HEADER)
        block = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 1000
        for _ in range(rows // 1000):
            yield block
        yield SHEET_TAIL

    def cell():
        yield SHEET_HEAD + sheet_row(1, HEADER) + b'<row r="2"><c r="A2" t="inlineStr"><is><t>'
        for _ in range(64):
            yield b"a" * (1 << 20)
        yield b"</t></is></c></row>" + SHEET_TAIL

    def orders():
        yield SHEET_HEAD + sheet_row(1, HEADER)
        batch = []
        for n in range(rows):
            car = n % (rows // 4 + 1)
            batch.append(sheet_row(n + 2, [
                f"RO{n:08d}", make_vin(car), f"粤B{car % 100000:05d}", "英朗", f"客户{car}", f"138{car % 10**8:08d}",
                f"2024-{1 + n % 12:02d}-{1 + n % 28:02d} 10:00:00", "保养", f"{100 + n % 5000}.50",
                str(1000 + n % 200000), "李顾问",
            ]))
            if len(batch) == 1000:
                yield b"".join(batch)
                batch = []
        yield b"".join(batch) + SHEET_TAIL

    files = {"bomb": folder / "bomb.xlsx", "cell": folder / "cell.xlsx", "orders": folder / "orders.xlsx"}
    for name, chunks in (("bomb", bomb()), ("cell", cell()), ("orders", orders())):
        if not files[name].exists():
            _write(files[name], chunks)
    return files


def measure(path: str, validate: bool, ratio_off: bool) -> None:
    """In a fresh process: read (and validate) the file, print one line of measures."""
    import django

    if ratio_off:
        os.environ["IMPORT_XLSX_MAX_RATIO"] = str(10**9)
    django.setup()
    from aftercare.dms.fields import KINDS
    from aftercare.dms.importing.pipeline import gc_relaxed
    from aftercare.dms.importing.validation import RowValidator
    from aftercare.dms.readers import ImportFileError, open_table
    from aftercare.dms.services import CHUNK_SIZE

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    spec = KINDS["repair_orders"]
    wall, cpu = time.perf_counter(), time.process_time()
    rows = 0
    try:
        with open_table(path, spec.aliases) as table, gc_relaxed():
            if validate:
                validator = RowValidator(table, spec)
                for chunk in validator.chunks(CHUNK_SIZE, parts=2):
                    rows += chunk.read
            else:
                for _row in table.rows:
                    rows += 1
        outcome = f"read {rows:,} rows"
    except ImportFileError as exc:
        outcome = f"refused after {rows:,} rows: {exc}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{Path(path).name:12} ratio check {'off' if ratio_off else 'on ':3} wall={time.perf_counter() - wall:6.2f}s "
          f"cpu={time.process_time() - cpu:6.2f}s peak_rss={peak:6.1f} MB (process before: {base:5.1f} MB)  {outcome}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.xlsxbounds")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", default=None, help="where the generated files go (kept); default: a temporary one")
    parser.add_argument("--measure", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--validate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ratio-off", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftercare.settings")
    if args.measure:
        measure(args.measure, args.validate, args.ratio_off)
        return 0
    import django

    django.setup()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.dir or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        files = make_files(folder, args.rows)
        for path in files.values():
            with zipfile.ZipFile(path) as zf:
                inflated = sum(i.file_size for i in zf.infolist())
            print(f"{path.name}: {path.stat().st_size / 1024:,.0f} KB on disk, {inflated / 2**20:,.1f} MB inflated")
        runs = [("bomb", False, False), ("bomb", False, True), ("cell", False, False), ("cell", False, True),
                ("orders", True, False)]
        for name, validate, ratio_off in runs:
            command = [sys.executable, "-m", "bench.xlsxbounds", "--measure", str(files[name])]
            command += ["--validate"] * validate + ["--ratio-off"] * ratio_off
            subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
