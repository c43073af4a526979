"""DMS import benchmark: our `import_dms` against a raw `COPY` of the same CSV (the limit).

Needs `DATABASE_URL` pointing at a PostgreSQL server; a scratch database (default
`aftercare_bench`) on that server is dropped, created and migrated. The CSV looks like a DMS
repair-order export: Chinese headers, ~4 orders per vehicle, one customer per vehicle.
"""

import contextlib
import csv
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
START = dt.date(2024, 1, 1)
HEADERS = ["工单号", "VIN", "车牌号", "品牌", "车型", "客户姓名", "联系电话", "结算日期", "维修类型", "金额", "里程",
           "服务顾问", "预约", "故障描述"]
KINDS = ["保养"] * 6 + ["首保", "机修", "钣金", "喷漆", "洗车", "索赔", "保险"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
MODELS = ["英朗", "君威", "君越", "昂科威", "GL8", "威朗"]
PROVINCE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def make_vin(n: int) -> str:
    from aftercare.customers.validators import vin_check_digit

    body = f"LSGAB12E0R{n:07d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def generate(rows: int, seed: int = 7):
    """(vehicle number, CSV row) for each repair order."""
    rng = random.Random(seed)
    vehicles = max(rows // 4, 1)
    for i in range(rows):
        v = rng.randrange(vehicles)
        day = START + dt.timedelta(days=(i * 7 + v) % 540)
        yield v, [
            f"RO{i:09d}",
            make_vin(v),
            f"粤{PROVINCE_LETTERS[v % 24]}{v % 100000:05d}",
            "别克",
            MODELS[v % len(MODELS)],
            SURNAMES[v % 20] + GIVEN[(v // 20) % len(GIVEN)] + GIVEN[(v // 480) % len(GIVEN)],
            f"13{v % 10}{v:08d}"[:11],
            f"{day.isoformat()} {8 + i % 10:02d}:{i % 60:02d}:00",
            rng.choice(KINDS),
            f"{rng.randrange(0, 500000) / 100:.2f}",
            str(1000 + (i % 90000)),
            f"顾问{i % 12}",
            "是" if i % 5 == 0 else "否",
            "" if i % 3 else "异响",
        ]


def write_csv(path: Path, rows: int, seed: int = 7) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        for _v, row in generate(rows, seed):
            out.writerow(row)


def write_fk_csvs(workdir: Path, rows: int, store: int, first: dict[str, int], seed: int = 7) -> dict[str, Path]:
    """The rows the import writes, with ids: vehicles, customers and ownerships (one each per vehicle of the
    file, numbered in order of first appearance from `first[...]`) and the orders with vehicle and customer ids.
    Every column the import fills is in the file, constants included (Django, not the database, has the defaults)."""
    paths = {name: workdir / f"fk_{name}.csv" for name in ("vehicle", "customer", "ownership", "order")}
    files = {name: open(path, "w", encoding="utf-8", newline="") for name, path in paths.items()}
    now = dt.datetime.now(dt.UTC).isoformat(sep=" ")
    try:
        out = {name: csv.writer(fh) for name, fh in files.items()}
        rank: dict[int, int] = {}
        for v, row in generate(rows, seed):
            n = rank.get(v)
            first_seen = n is None
            if first_seen:
                n = rank[v] = len(rank)
            vehicle_id, customer_id = first["vehicle"] + n, first["customer"] + n
            if first_seen:
                out["vehicle"].writerow([vehicle_id, store, row[1], row[2], row[3], row[4], "", now, now])
                out["customer"].writerow([customer_id, store, f"FK{n:08d}", row[5], "+86" + row[6], *FK_CUSTOMER_TAIL,
                                          now, now])
                out["ownership"].writerow([store, vehicle_id, customer_id, row[7][:10], now, now])
            out["order"].writerow([row[0], vehicle_id, customer_id, *row[7:]])
    finally:
        for fh in files.values():
            fh.close()
    return paths


# The columns of the floor's COPYs: as the import's INSERTs fill them (`dms.importing.writer.ChunkWriter`)
FK_VEHICLE_COLUMNS = "id, store_id, vin, plate, brand, model, row_hash, created_at, updated_at"
FK_CUSTOMER_COLUMNS = (
    "id, store_id, number, name, mobile, mobile2, address, region, background, contact_person, contact_phone, "
    "consent_service_calls, consent_marketing, source, is_active, row_hash, created_at, updated_at"
)
FK_CUSTOMER_TAIL = ["", "", "", "", "", "", "t", "f", "dms_import", "t", ""]
FK_OWNERSHIP_COLUMNS = "store_id, vehicle_id, customer_id, valid_from, created_at, updated_at"
FK_CSV = "(FORMAT csv, NULL '\\N')"  # an empty field is '', as the import writes it, not NULL


def _admin_url(url: str, dbname: str) -> str:
    parts = urlparse(url)
    return urlunparse(parts._replace(path="/" + dbname))


def _recreate_database(url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(_admin_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return _admin_url(url, name)


def _drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def postgres_url(command: str) -> str | None:
    """`DATABASE_URL` when it names a PostgreSQL server, else None after saying what `bench <command>` needs."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url
    print(f"bench {command} needs DATABASE_URL=postgres://user@host:port/any_db (a PostgreSQL server)",
          file=sys.stderr)
    return None


@contextlib.contextmanager
def bench_database(url: str, name: str, *, reuse: bool = False, keep: bool = False):
    """A benchmark's own database `name` on the server of `url`: made afresh (or `reuse`d as it is), migrated, Django
    set up on it; dropped at the end unless `keep` or `reuse`. Yields its URL."""
    from .followupsbench import _setup_django

    bench_url = _admin_url(url, name) if reuse else _recreate_database(url, name)
    try:
        env = dict(os.environ, DATABASE_URL=bench_url, DJANGO_SETTINGS_MODULE="aftercare.settings", DEBUG="0")
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0", "--skip-checks"],
                       env=env, cwd=ROOT, check=True)
        _setup_django(bench_url)
        print(f"load average before loading: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        yield bench_url
    finally:
        if not keep and not reuse:
            if "django" in sys.modules and os.environ.get("DJANGO_SETTINGS_MODULE"):
                from django.db import connections

                connections.close_all()
            _drop_database(url, name)


def server_cpu_meter(url: str):
    """A function returning the CPU seconds the PostgreSQL server has used so far (postmaster, backends and
    background processes, including exited ones), or None when the server does not run on this machine."""
    import psycopg

    with psycopg.connect(url) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    try:
        postmaster = int(_proc_stat(backend)[1])
    except (OSError, IndexError, ValueError):
        return lambda: None
    return lambda: process_tree_cpu(postmaster)


def process_tree_cpu(pid: int) -> float:
    """CPU seconds of process `pid` (with the children it has reaped) and of its live children, from /proc."""
    total = sum(int(x) for x in _proc_stat(pid)[11:15])
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = _proc_stat(int(name))
            except OSError:
                continue
            if int(stat[1]) == pid:
                total += int(stat[11]) + int(stat[12])
    return total / os.sysconf("SC_CLK_TCK")


def _proc_stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime."""
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()


def _cpu_delta(meter, before: float | None) -> float | None:
    after = meter()
    return None if before is None or after is None else after - before


# The CSV's own columns; `create_indexes` adds the repair-order table's unique keys and indexes, VIN standing in
# for the vehicle foreign key and the mobile for the customer foreign key.
COPY_TABLE = """
CREATE TABLE bench_copy (
    id bigserial PRIMARY KEY,
    store_id bigint NOT NULL DEFAULT 1,
    ro_number varchar(50) NOT NULL, vin varchar(17) NOT NULL, plate varchar(10), brand varchar(50),
    model varchar(100), name varchar(100), mobile varchar(20), settled_at timestamptz NOT NULL,
    kind varchar(30) NOT NULL, amount numeric(12, 2), mileage integer, service_advisor varchar(100),
    booked varchar(5), fault text,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    row_hash varchar(32) NOT NULL DEFAULT ''
);
"""


def order_indexes(conn) -> list[tuple[bool, list[str], list[str]]]:
    """(unique, key columns, included columns) of each index of the repair-order table but its primary key, read
    from the catalog: the limits get the indexes the import's table has, whatever the migrations made of them."""
    rows = conn.execute(
        "SELECT i.indisunique, array_agg(a.attname ORDER BY k.n) FILTER (WHERE k.n <= i.indnkeyatts), "
        "array_agg(a.attname ORDER BY k.n) FILTER (WHERE k.n > i.indnkeyatts) FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = 'customers_repairorder'::regclass AND NOT i.indisprimary "
        "GROUP BY i.indexrelid, i.indisunique ORDER BY i.indexrelid"
    ).fetchall()
    return [(unique, list(keys), list(included or ())) for unique, keys, included in rows]


def create_indexes(conn, table: str, rename: dict[str, str]) -> list[str]:
    """The repair-order table's indexes on `table`, columns renamed by `rename`; their descriptions."""
    made = []
    for n, (unique, keys, included) in enumerate(order_indexes(conn)):
        cols = ", ".join(rename.get(c, c) for c in keys)
        include = f" INCLUDE ({', '.join(rename.get(c, c) for c in included)})" if included else ""
        conn.execute(f"CREATE {'UNIQUE ' if unique else ''}INDEX {table}_{n} ON {table} ({cols}){include}")
        made.append(("unique " if unique else "") + cols + include)
    return made


def time_copy(url: str, path: Path, meter) -> tuple[float, float | None]:
    """COPY the CSV into a table with the repair-order table's unique key and indexes: (seconds, server CPU s)."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(COPY_TABLE)
        indexes = create_indexes(conn, "bench_copy", {"vehicle_id": "vin", "customer_id": "mobile"})
        print(f"limit table indexes: primary key, {'; '.join(indexes)}")
        conn.commit()
        cols = "ro_number, vin, plate, brand, model, name, mobile, settled_at, kind, amount, mileage, " \
               "service_advisor, booked, fault"
        cpu = meter()
        started = time.perf_counter()
        with conn.cursor() as cur, open(path, "rb") as fh:
            cur.execute("SET TIME ZONE 'Asia/Shanghai'")
            with cur.copy(f"COPY bench_copy ({cols}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                while block := fh.read(1 << 20):
                    copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - started
        cpu = _cpu_delta(meter, cpu)
        conn.execute("DROP TABLE bench_copy")
        conn.commit()
    return elapsed, cpu


# The repair-order table itself; `create_foreign_keys` adds its foreign keys (deferred, as they are declared), and
# `create_indexes` its unique key and indexes, read from the catalog.
COPY_FK_TABLE = """
CREATE TABLE bench_copy_fk (
    id bigserial PRIMARY KEY,
    store_id bigint NOT NULL DEFAULT {store},
    ro_number varchar(50) NOT NULL,
    vehicle_id bigint NOT NULL,
    customer_id bigint NOT NULL,
    settled_at timestamptz NOT NULL, kind varchar(30) NOT NULL, amount numeric(12, 2), mileage integer,
    service_advisor varchar(100), booked varchar(5), fault_description text,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    row_hash varchar(32) NOT NULL DEFAULT ''
);
"""


def create_foreign_keys(conn, table: str) -> list[str]:
    """The repair-order table's foreign keys on `table`, read from the catalog; their definitions."""
    keys = [d for (d,) in conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'customers_repairorder'::regclass "
        "AND contype = 'f' ORDER BY conname"
    ).fetchall()]
    for definition in keys:
        conn.execute(f"ALTER TABLE {table} ADD {definition}")
    return keys


def _copy_file(cur, sql: str, path: Path) -> None:
    with cur.copy(sql) as copy, open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            copy.write(block)


def time_copy_fk(url: str, workdir: Path, rows: int, meter) -> tuple[float, float | None, float, float | None]:
    """The floor: every row the import writes, by `COPY` with the ids known in advance, into the real tables.

    In a second store (`BENCHFK`), one transaction each: first the vehicles, customers and ownerships
    (one per vehicle of the file, with their VIN, plate, brand, model, name and mobile) into the real
    tables with all their indexes, constraints and foreign keys; then the orders, with vehicle and
    customer ids, into a table shaped like the repair-order table with its indexes and foreign keys
    (deferred, as they are declared, so the timed commit runs the checks). Everything is
    deleted afterwards (then VACUUM), so that the import runs against the same tables.
    Returns (seconds, server CPU s) of the vehicles/customers/ownerships and of the orders."""
    import psycopg

    with psycopg.connect(url) as conn:
        store = conn.execute("SELECT id FROM org_store WHERE code = 'BENCHFK'").fetchone()[0]
        first = {}
        for name, table in (("vehicle", "customers_vehicle"), ("customer", "customers_customer")):
            # ids reserved ahead (the tables' id columns are GENERATED BY DEFAULT AS IDENTITY)
            seq = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table]).fetchone()[0]
            first[name] = conn.execute("SELECT nextval(%s)", [seq]).fetchone()[0]
            conn.execute("SELECT setval(%s, %s)", [seq, first[name] + rows])
        conn.execute("DROP TABLE IF EXISTS bench_copy_fk")
        conn.execute(COPY_FK_TABLE.format(store=int(store)))
        keys = create_foreign_keys(conn, "bench_copy_fk")
        print(f"floor table foreign keys: {'; '.join(keys)}")
        create_indexes(conn, "bench_copy_fk", {})
        conn.commit()
        paths = write_fk_csvs(workdir, rows, store, first)
        files_cpu = meter()
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'Asia/Shanghai'")
            _copy_file(cur, f"COPY customers_vehicle ({FK_VEHICLE_COLUMNS}) FROM STDIN {FK_CSV}", paths["vehicle"])
            _copy_file(cur, f"COPY customers_customer ({FK_CUSTOMER_COLUMNS}) FROM STDIN {FK_CSV}",
                       paths["customer"])
            _copy_file(cur, f"COPY customers_ownership ({FK_OWNERSHIP_COLUMNS}) FROM STDIN {FK_CSV}",
                       paths["ownership"])
        conn.commit()  # their deferred foreign-key checks run here
        files_s = time.perf_counter() - started
        files_cpu = _cpu_delta(meter, files_cpu)
        cols = "ro_number, vehicle_id, customer_id, settled_at, kind, amount, mileage, service_advisor, booked, " \
               "fault_description"
        cpu = meter()
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute("SET TIME ZONE 'Asia/Shanghai'")
            _copy_file(cur, f"COPY bench_copy_fk ({cols}) FROM STDIN WITH (FORMAT csv)", paths["order"])
        conn.commit()  # the deferred foreign-key checks run here
        elapsed = time.perf_counter() - started
        cpu = _cpu_delta(meter, cpu)
        conn.execute("DROP TABLE bench_copy_fk")
        conn.execute("DELETE FROM customers_ownership WHERE store_id = %s", [store])
        conn.execute("DELETE FROM customers_customer WHERE store_id = %s", [store])
        conn.execute("DELETE FROM customers_vehicle WHERE store_id = %s", [store])
        conn.commit()
    for path in paths.values():
        path.unlink()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("customers_vehicle", "customers_customer", "customers_ownership"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return files_s, files_cpu, elapsed, cpu


def time_validate(env: dict, path: Path, chunk_size: int | None) -> tuple[float, float]:
    """`python -m bench.validate` in a child process (no database): (seconds, CPU seconds of reading and
    validating, without the start-up of Python and Django)."""
    cmd = [sys.executable, "-m", "bench.validate", str(path)]
    if chunk_size:
        cmd += ["--chunk-size", str(chunk_size)]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    return elapsed, float(done.stdout.strip().rsplit("cpu=", 1)[1])


def time_breakdown(env: dict, path: Path, chunk_size: int | None, explain: int) -> float:
    """`python -m bench.breakdown` in a child process: the import in process, timed by step (printed)."""
    cmd = [sys.executable, "-m", "bench.breakdown", str(path)]
    if chunk_size:
        cmd += ["--chunk-size", str(chunk_size)]
    if explain:
        cmd += ["--explain", str(explain)]
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)
    return time.perf_counter() - started


def time_import(
    env: dict, path: Path, chunk_size: int | None, meter
) -> tuple[float, int, str, float, float | None]:
    """Run `manage.py import_dms` in a child process: (seconds, the child's peak RSS in bytes, summary line,
    the child's CPU seconds, the server's CPU seconds)."""
    cmd = [sys.executable, str(ROOT / "manage.py"), "import_dms", "--store", "BENCH", "--kind", "repair_orders",
           str(path), "--no-progress"]
    if chunk_size:
        cmd += ["--chunk-size", str(chunk_size)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        cpu = meter()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=ROOT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        cpu = _cpu_delta(meter, cpu)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in (0, 1):
            sys.stderr.write(err.read().decode(errors="replace"))
            raise SystemExit(f"import_dms failed with exit code {proc.returncode}")
        summary = out.read().decode().strip().splitlines()[-1]
    return elapsed, usage.ru_maxrss * 1024, summary, usage.ru_utime + usage.ru_stime, cpu


def run(args) -> int:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("bench import needs DATABASE_URL=postgres://user@host:port/any_db (a PostgreSQL server)", file=sys.stderr)
        return 2
    bench_url = _recreate_database(url, args.database)
    env = dict(os.environ, DATABASE_URL=bench_url, DJANGO_SETTINGS_MODULE="aftercare.settings", DEBUG="0",
               LOG_LEVEL="ERROR")
    python = sys.executable
    subprocess.run(
        [python, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0", "--skip-checks"], env=env, cwd=ROOT, check=True
    )
    subprocess.run(
        [python, "-c",
         "import django; django.setup()\n"
         "from aftercare.org.models import DealerGroup, Region, Store\n"
         "g = DealerGroup.objects.create(code='BENCH', name='bench')\n"
         "r = Region.objects.create(group=g, code='B', name='bench')\n"
         "Store.objects.create(group=g, region=r, code='BENCH', name='bench', brand='别克')\n"
         "Store.objects.create(group=g, region=r, code='BENCHFK', name='bench fk', brand='别克')"],
        env=env, cwd=ROOT, check=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="aftercare-bench-"))
    path = workdir / f"repair_orders_{args.rows}.csv"
    try:
        t0 = time.perf_counter()
        write_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"wrote {args.rows:,} rows ({size_mb:,.1f} MB) in {time.perf_counter() - t0:.1f} s: {path}")
        print(f"load average before the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        meter = server_cpu_meter(bench_url)
        copy_s, copy_cpu = time_copy(bench_url, path, meter)
        files_s, files_cpu, copy_fk_s, copy_fk_cpu = time_copy_fk(bench_url, workdir, args.rows, meter)
        rows = args.rows
        print(f"raw COPY (the limit): {copy_s:.1f} s, {rows / copy_s:,.0f} rows/s; "
              f"COPY with the foreign keys: {copy_fk_s:.1f} s, {rows / copy_fk_s:,.0f} rows/s")
        if args.breakdown:
            for label in ("first import", "same file again"):
                print(f"\nimport_dms in process, {label}:", flush=True)
                secs = time_breakdown(env, path, args.chunk_size, args.explain if label == "first import" else 0)
                print(f"  {rows / secs:,.0f} rows/s, {copy_s / secs:.0%} of raw COPY, "
                      f"{copy_fk_s / secs:.0%} of COPY with foreign keys (child process incl. Django start-up)")
            return 0
        validate_s, validate_cpu = time_validate(env, path, args.chunk_size)
        ours_s, rss, summary, ours_cpu, ours_server = time_import(env, path, args.chunk_size, meter)
        again_s, rss2, summary2, again_cpu, again_server = time_import(env, path, args.chunk_size, meter)
        floor_s = files_s + copy_fk_s
        floor_cpu = None if files_cpu is None or copy_fk_cpu is None else files_cpu + copy_fk_cpu
        table = [
            ("raw COPY (same rows, same unique key + indexes)", copy_s, None, "", None, copy_cpu),
            ("COPY into the order table's shape with its FKs", copy_fk_s, None, "", None, copy_fk_cpu),
            ("COPY vehicles, customers, ownerships (with ids)", files_s, None, "", None, files_cpu),
            ("  = every row the import writes, by COPY", floor_s, None, "", None, floor_cpu),
            ("read + validate the file, no database", validate_s, None, "", validate_cpu, None),
            ("import_dms, first import", ours_s, rss, summary, ours_cpu, ours_server),
            ("import_dms, same file again", again_s, rss2, summary2, again_cpu, again_server),
        ]
        print()
        # CPU: seconds of CPU used by the import's own process (client) and by the PostgreSQL server (all its
        # processes; "-" when the server runs on another machine). Their sum over the wall clock is how many of
        # the machine's cores the run kept busy.
        print(f"{'run':<50} {'seconds':>8} {'rows/s':>10} {'vs COPY':>8} {'vs FK COPY':>10} {'peak RSS':>9} "
              f"{'CPU client':>10} {'CPU server':>10}  result")
        for name, secs, peak, result, client, server in table:
            peak_text = f"{peak / 2**20:,.0f} MB" if peak else "-"
            client_text = f"{client:.1f} s" if client is not None else "-"
            server_text = f"{server:.1f} s" if server is not None else "-"
            print(f"{name:<50} {secs:>8.1f} {rows / secs:>10,.0f} {copy_s / secs:>8.0%} {copy_fk_s / secs:>10.0%} "
                  f"{peak_text:>9} {client_text:>10} {server_text:>10}  {result}")
        if floor_cpu is not None:
            cores = os.cpu_count() or 1
            floor_total = floor_cpu + validate_cpu
            floor_wall = floor_total / cores
            print(f"\nfloor: writing every row by COPY ({floor_cpu:.1f} CPU s) + validating the file "
                  f"({validate_cpu:.1f} CPU s) = {floor_total:.1f} CPU s, at least {floor_wall:.1f} s of wall clock "
                  f"with {cores} cores busy all the time = {copy_s / floor_wall:.0%} of raw COPY speed at most; "
                  f"the first import used {ours_cpu + (ours_server or 0):.1f} CPU s; 40 % of raw COPY is "
                  f"{copy_s / 0.4:.1f} s")
        ok = ours_s <= copy_s / 0.4 and rss < 300 * 2**20
        print(f"load average after the runs: {os.getloadavg()[0]:.1f}")
        print()
        print("target: >= 40 % of raw COPY speed and < 300 MB peak RSS, first import: "
              f"{'met' if ok else 'NOT met'}; same file again: "
              f"{'met' if again_s <= copy_s / 0.4 and rss2 < 300 * 2**20 else 'NOT met'}")
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            _drop_database(url, args.database)
