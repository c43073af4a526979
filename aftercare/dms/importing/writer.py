"""The chunk writer: one chunk of staged tuples written with set-based SQL, on PostgreSQL and SQLite.

Each chunk is loaded into a temporary staging table (PostgreSQL: `COPY`; SQLite: `executemany`) and written
with a handful of set-based statements (`ChunkWriter`): missing vehicles and customers are created, ownerships
opened, then the kind's rows are updated where their `row_hash` differs and inserted where missing. Rows whose
hash equals the stored one are "unchanged" and not touched, which makes a second import of the same file a no-op.
New repair orders of vehicles an earlier chunk wrote are copied straight into the order table (`_copy_known`).
"""

import threading
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from aftercare.customers.models import (
    Customer,
    InsurancePolicy,
    Ownership,
    RepairOrder,
    SalesDelivery,
    Vehicle,
)
from aftercare.customers.services import customer_numbers_allocate

from ..choices import ImportKind
from ..fields import KindSpec
from .known_vehicles import KnownVehicles
from .staging import (
    CUSTOMER_COLUMNS,
    KEY_COLUMN,
    STAGE_COLUMNS,
    VEHICLE_FILL_COLUMNS,
    ChunkResult,
    RowError,
)
from .timing import NO_TIMER, Timer

# `ChunkWriter._refresh_statistics`: a table with fewer rows than this in the planner's statistics gets them anew
ANALYZE_BELOW_ROWS = 1000


@dataclass
class TableGrowth:
    """Rows per table as the planner last saw them (PostgreSQL), and the rows the import inserted into each."""

    sizes: dict[str, float] | None = None
    grown: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class ChunkWriter:
    """Writes one chunk of staged tuples with set-based SQL (mostly the same statements on PostgreSQL and SQLite).

    1. The chunk is loaded into `dms_stage`.
    2. One join of the stage against the kind's table (`dms_seen`) finds the rows already stored;
       those whose `row_hash` is unchanged are dropped from the stage at once: no vehicle, customer
       or order work is done for them, which makes a re-import cheap.
    3. For the rest, two narrow tables hold one row per vehicle (`dms_veh`, by VIN) and per customer
       key (`dms_cust`), resolved against the stored files once per key; missing ones are inserted.
    4. The kind's rows are updated (known to differ) or inserted (known to be new: no conflict check).
    """

    TARGETS = {
        # kind → (table, how a stage row `s` finds its stored row `r`)
        ImportKind.REPAIR_ORDERS: ("{R}", "r.store_id = %s AND r.ro_number = s.ro_number"),
        ImportKind.POLICIES: ("{P}", "r.policy_number = s.policy_number AND r.store_id = %s"),
        ImportKind.DELIVERIES: (
            "{D}", "r.store_id = %s AND r.vehicle_id = (SELECT v.id FROM {V} v WHERE v.vin = s.vin)"
        ),
    }

    def __init__(self, spec: KindSpec, store, columns: tuple[str, ...], key_header: str = "", *,
                 numbers=customer_numbers_allocate, growth: "TableGrowth | None" = None,
                 known: KnownVehicles | None = None, timer: Timer = NO_TIMER):
        """`numbers(store_id=, count=)` reserves customer numbers; parallel writers (other parts of the same
        chunk, other connections: no VIN and no customer key in two parts) share one `growth` and one `known`
        (given for repair orders by the parallel writers, which run on PostgreSQL only: see `write`). `timer` is
        told how long each step of each chunk took (`importing.timing`)."""
        self.known = known
        self.timer = timer
        self.pending: list[tuple[str, str, int, int]] = []
        self.sequences: dict[str, str] = {}
        self.numbers = numbers
        self.spec = spec
        self.kind = spec.kind
        self.store_id = store.pk
        self.prefix = store.customer_number_prefix or store.code
        self.columns = columns
        self.key_header = key_header
        self.has_vin = "vin" in columns
        self.pg = connection.vendor == "postgresql"
        self.growth = growth or TableGrowth()
        self.t = {
            "V": Vehicle._meta.db_table,
            "C": Customer._meta.db_table,
            "O": Ownership._meta.db_table,
            "D": SalesDelivery._meta.db_table,
            "R": RepairOrder._meta.db_table,
            "P": InsurancePolicy._meta.db_table,
        }

    # --- dialect helpers -------------------------------------------------------------------
    def ts(self, column: str) -> str:
        return f"({column} AT TIME ZONE 'UTC')" if self.pg else column

    def pad7(self, expr: str) -> str:
        if self.pg:
            return f"(CASE WHEN {expr} < 10000000 THEN lpad(({expr})::text, 7, '0') ELSE ({expr})::text END)"
        return f"printf('%%07d', {expr})"

    def plus_days(self, column: str, days: int) -> str:
        return f"({column} + {days})" if self.pg else f"date({column}, '+{days} days')"

    def lookup(self, alias: str, table: str, cond: str, cols: str) -> str:
        """LEFT JOIN one row of a big table by an indexed key, as an index lookup per row.

        PostgreSQL gets a fenced lateral subquery (`OFFSET 0`): without statistics on the temporary
        tables the planner would otherwise hash the whole big table once per chunk, which makes
        an import slow down with the size of the store. SQLite always joins with the index.
        """
        if self.pg:
            return f" LEFT JOIN LATERAL (SELECT {cols} FROM {table} {alias} WHERE {cond} OFFSET 0) {alias} ON TRUE"
        return f" LEFT JOIN {table} {alias} ON {cond}"

    def by_ids(self, alias: str, ids: str) -> str:
        """Restrict an UPDATE … FROM of a big table to the ids of a subquery (an index scan on PostgreSQL)."""
        return f" AND {alias}.id = ANY(ARRAY({ids}))" if self.pg else ""

    def _type(self, sql_type: str) -> str:
        if self.pg:
            return sql_type
        return "INTEGER" if sql_type in ("integer", "bigint", "boolean") else "TEXT"

    # --- the chunk ---------------------------------------------------------------------------
    def write(self, rows: list[tuple], direct: tuple[list, list] | None = None) -> ChunkResult:
        """Write staged rows carrying the `flag_firsts` columns, and copy `direct` (`Chunk.direct`: new orders of
        vehicles and customers `known` from earlier chunks) straight into the order table (`_copy_known`).

        After the transaction commits, `remember` adds this chunk's vehicles to `known`.
        """
        now = timezone.now()
        self.now = now if self.pg else now.replace(tzinfo=None).isoformat(sep=" ")
        self.today = timezone.localdate(now).isoformat()
        self.pending = []
        with connection.cursor() as cur:
            self.cur = cur
            if self.pg:
                # a bulk session: the chunk's commit need not wait for the WAL flush (a crash loses at most
                # the last chunks, which a re-import writes again); constraints and triggers stay on
                cur.execute("SET LOCAL synchronous_commit = off")
            result = self._write_staged(rows) if rows else ChunkResult()
            if direct and direct[1]:
                with self.timer.phase("copy_known"):
                    copied = self._copy_known(direct[1])
                self.timer.count("copied", copied)
                result.created += copied
                self._grew("R", copied)
            if self.pg:
                with self.timer.phase("statistics"):
                    self._refresh_statistics()
        return result

    def remember(self) -> None:
        """After the chunk's transaction committed: its vehicles join `known` (see `write`)."""
        if self.known is not None and self.pending:
            self.known.add(self.pending)
        self.pending = []

    def _copy_known(self, rows: list[tuple]) -> int:
        """COPY order-table rows built by `RowValidator._known_split` into the order table, with creation times."""
        columns = (
            "store_id, ro_number, vehicle_id, customer_id, settled_at, kind, amount, mileage, service_advisor, "
            "booked, fault_description, row_hash, created_at, updated_at"
        )
        now = self.now.isoformat()  # as text: psycopg dumps a datetime ~1 µs slower
        times = (now, now)
        statement = f"COPY {self.t['R']} ({columns}) FROM STDIN"
        # the database's errors as Django's (IntegrityError: `_write_rows_once` writes the rows again, searched)
        with connection.wrap_database_errors, self.cur.cursor.copy(statement) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row + times)
        return len(rows)

    def _remember(self) -> None:
        """The chunk's (VIN, customer key, vehicle id, customer id) whose vehicle the file can no longer change:
        every vehicle column of the file filled (`_vehicle_fill` fills blanks only), or kept by another store
        (never filled from here). Every vehicle of the stage has an owner by now (`_ownerships` ran)."""
        blank = [f"v.{c} IS NULL" if c == "delivery_date" else f"v.{c} = ''"
                 for c in VEHICLE_FILL_COLUMNS if c in self.columns]
        complete = f"(v.store_id <> %s OR NOT ({' OR '.join(blank)}))" if blank else "TRUE"
        self.cur.execute(
            ("SELECT s.vin, s.ckey, vv.id, k.id FROM (SELECT DISTINCT vin, ckey FROM dms_stage) s "
             "JOIN dms_veh vv ON vv.vin = s.vin JOIN dms_cust k ON k.ckey = s.ckey JOIN {V} v ON v.id = vv.id "
             "WHERE " + complete).format(**self.t),
            [self.store_id] if blank else [],
        )
        self.pending = self.cur.fetchall()

    def _write_staged(self, rows: list[tuple]) -> ChunkResult:
        """The staging path: load, skip the unchanged, find or create vehicles and customers, upsert the kind."""
        result = ChunkResult()
        cur = self.cur
        phase = self.timer.phase
        with phase("create_tables"):
            self._create_tables()
        with phase("load"):
            self._load(rows)
        with phase("reject_foreign_keys"):
            staged = len(rows) - self._reject_foreign_keys(result)
        seen = same = 0
        if self.kind in self.TARGETS:
            with phase("skip_unchanged"):
                seen, same = self._skip_unchanged()
        if staged - same:
            with phase("collect_keys"):
                self._collect_keys(ranked=not same)
            with phase("customers"):
                self._customers()
            if self.has_vin:
                with phase("vehicles"):
                    self._vehicles()
                with phase("ownerships"):
                    self._ownerships()
            with phase("target"):
                getattr(self, f"_target_{self.kind}")(result, known_new=not seen)
            if self.known is not None:
                with phase("remember"):
                    self._remember()
        result.unchanged = staged - result.created - result.updated
        if not self.pg:
            for table in ("dms_stage", "dms_veh", "dms_cust", "dms_seen"):
                cur.execute(f"DROP TABLE {table}")
        elif connection.savepoint_ids:  # inside a caller's transaction: no commit will empty them
            cur.execute("DELETE FROM dms_stage; DELETE FROM dms_veh; DELETE FROM dms_cust; DELETE FROM dms_seen")
        return result

    def _grew(self, table: str, rows: int) -> None:
        with self.growth.lock:
            self.growth.grown[table] = self.growth.grown.get(table, 0) + max(rows, 0)

    def _refresh_statistics(self) -> None:
        """ANALYZE a table the planner believes (nearly) empty once this import has written 1,000 rows to it.

        The lookups are index lookups only when the planner knows how big the tables are. It scales the row count
        of its last statistics by the table's size on disk at every statement, so a table it has seen with rows
        needs no new statistics as it grows; only one it has seen empty (no rows per page to scale) or never
        does: a new store's empty tables (autovacuum would come too late, and the second chunk would scan the
        first chunk's rows once per row). At most one ANALYZE per table per import (it used to be one each time
        a table grew by half: ~2 s of a 1 M-row import, for no better plan).
        """
        growth = self.growth
        with growth.lock:  # parallel writers share the count: one of them analyzes a table, once
            if growth.sizes is None:
                self.cur.execute(
                    "SELECT relname, GREATEST(reltuples, 0) FROM pg_class WHERE relname = ANY(%s) "
                    "AND relnamespace = 'public'::regnamespace",
                    [list(self.t.values())],
                )
                growth.sizes = dict(self.cur.fetchall())
            due = []
            for table, rows in growth.grown.items():
                name = self.t[table]
                if growth.sizes.get(name, 0) < ANALYZE_BELOW_ROWS <= rows:
                    due.append(name)
                    growth.sizes[name] = growth.sizes.get(name, 0) + rows
        for name in due:
            self.cur.execute(f"ANALYZE {name}")

    def _x(self, sql: str, params=()) -> int:
        self.cur.execute(sql.format(**self.t), params)
        return self.cur.rowcount

    def _create_tables(self) -> None:
        """The chunk's work tables. PostgreSQL keeps them for the session, emptied by each commit (creating and
        dropping four tables per chunk cost more than the lookups of a thousand rows)."""
        if not self.pg:
            for table in ("dms_stage", "dms_veh", "dms_cust", "dms_seen"):
                self.cur.execute(f"DROP TABLE IF EXISTS {table}")
        cols = ", ".join(f"{n} {self._type(t)}" for n, t in STAGE_COLUMNS)
        flag = f"{self._type('boolean')} DEFAULT FALSE"
        statements = [
            f"CREATE TEMP TABLE dms_stage ({cols})",
            f"CREATE TEMP TABLE dms_veh (vin {self._type('text')} PRIMARY KEY, row_no {self._type('integer')}, "
            f"ckey {self._type('text')}, plate {self._type('text')}, brand {self._type('text')}, "
            f"model {self._type('text')}, delivery_date {self._type('date')}, ev_date {self._type('date')}, "
            f"id {self._type('bigint')}, fl_new {flag}, fl_owner {flag}, fl_fill {flag})",
            f"CREATE TEMP TABLE dms_cust (ckey {self._type('text')} PRIMARY KEY, row_no {self._type('integer')}, "
            f"name {self._type('text')}, mobile {self._type('text')}, code {self._type('text')}, "
            f"vin {self._type('text')}, c_hash {self._type('text')}, id {self._type('bigint')}, "
            f"number {self._type('text')}, fl_new {flag}, fl_chg {flag})",
            f"CREATE TEMP TABLE dms_seen (row_no {self._type('integer')} PRIMARY KEY, t_id {self._type('bigint')}, "
            f"same {self._type('boolean')})",
        ]
        if self.pg:
            # room for the work tables in memory (8 MB by default: a chunk's tables spill to disk); it can only be
            # set before the session's first temporary table, so a session that has one keeps its setting
            self.cur.execute(
                "DO $$ BEGIN PERFORM set_config('temp_buffers', '64MB', false); "
                "EXCEPTION WHEN OTHERS THEN NULL; END $$"
            )
            self.cur.execute("; ".join(
                s.replace("CREATE TEMP TABLE", "CREATE TEMP TABLE IF NOT EXISTS") + " ON COMMIT DELETE ROWS"
                for s in statements
            ))
        else:
            for statement in statements:
                self.cur.execute(statement)

    def _load(self, rows: list[tuple]) -> None:
        names = ", ".join(self.columns + ("veh_first", "cust_first"))
        if self.pg:
            with self.cur.cursor.copy(f"COPY dms_stage ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * (len(self.columns) + 2))
            self.cur.executemany(f"INSERT INTO dms_stage ({names}) VALUES ({marks})", rows)
            for col in sorted({"row_no", "vin", "ckey", KEY_COLUMN[self.kind]}):
                self.cur.execute(f"CREATE INDEX dms_stage_{col} ON dms_stage ({col})")

    def _reject_foreign_keys(self, result: ChunkResult) -> int:
        """Policy numbers are unique in the group: one held by another store is not ours to change."""
        if self.kind != ImportKind.POLICIES:
            return 0
        self.cur.execute(
            "SELECT s.row_no FROM dms_stage s WHERE (SELECT p.store_id FROM {P} p "
            "WHERE p.policy_number = s.policy_number) <> %s".format(**self.t),
            [self.store_id],
        )
        bad = [r[0] for r in self.cur.fetchall()]
        if bad:
            reason = _("This policy number belongs to another store")
            result.errors.extend(RowError(row, self.key_header, reason) for row in bad)
            self._x(
                "DELETE FROM dms_stage WHERE policy_number IN (SELECT policy_number FROM {P} WHERE store_id <> %s)",
                [self.store_id],
            )
        return len(bad)

    def _skip_unchanged(self) -> tuple[int, int]:
        """Find the stored rows of the chunk (one join); drop the unchanged ones from the stage.

        Returns (rows already stored, rows unchanged). The row hash covers every column of the file
        row, customer and vehicle columns included, so an unchanged row needs no other work.
        """
        table, match = self.TARGETS[self.kind]
        seen = self._x(
            "INSERT INTO dms_seen (row_no, t_id, same) SELECT s.row_no, r.id, r.row_hash = s.row_hash "
            "FROM dms_stage s" + self.lookup("r", table, match, "r.id, r.row_hash") + " WHERE r.id IS NOT NULL",
            [self.store_id],
        )
        same = 0
        if seen:
            same = self._x("DELETE FROM dms_stage WHERE row_no IN (SELECT row_no FROM dms_seen WHERE same)")
        return seen, same

    def _collect_keys(self, ranked: bool) -> None:
        """One row per VIN (its earliest event) and per customer key (its first row), with the stored id if any.

        A customer key is looked up in this order: DMS customer code (a merged customer answers with
        the file it was merged into); mobile + name; a present or past owner of the row's vehicle
        with the same name.
        """
        S = self.store_id
        if self.has_vin:
            # the stored vehicle, and whether this row has something to write to it (see `_vehicle_fill`)
            _sets, cond = self._vehicle_fill()
            fill = f"(v.id IS NOT NULL AND v.store_id = %s AND ({cond.replace('k.', 'x.')}))" if cond else "FALSE"
            # a new vehicle is flagged here; on PostgreSQL it also gets its id, drawn from the sequence (`_vehicles`
            # inserts it; SQLite reads its id back)
            vehicle_id = f"COALESCE(v.id, {self._next_id('V')})" if self.pg else "v.id"
            self._x(
                "INSERT INTO dms_veh (vin, row_no, ckey, plate, brand, model, delivery_date, ev_date, id, fl_fill, "
                "fl_new) SELECT x.vin, x.row_no, x.ckey, x.plate, x.brand, x.model, x.delivery_date, x.ev_date, "
                f"{vehicle_id}, CASE WHEN {fill} THEN TRUE ELSE FALSE END, v.id IS NULL FROM "
                + self._firsts("veh_first", "vin, row_no, ckey, plate, brand, model, delivery_date, ev_date",
                               "PARTITION BY vin ORDER BY ev_date, row_no", "vin IS NOT NULL", ranked, "vin")
                + self.lookup("v", "{V}", "v.vin = x.vin", "v.id, v.store_id, v.plate, v.brand, v.model, "
                              "v.delivery_date"),
                [S] if cond else [],
            )
        # each lookup only where it can find something (a lookup is an index probe per row, even for a NULL key).
        # On PostgreSQL each has one good plan only, whatever the statistics say. While the planner believed a
        # new store's customers few (before its statistics had them), a lookup by store and mobile was once planned
        # as a walk of all of the store's customers (index (store, id), "MIN(id) is the first id that matches"):
        # ~10 s for one chunk. Now the candidates are found by the index that leads with the mobile, or through
        # the vehicle's ownerships (an array of ids), in a fenced subquery (`OFFSET 0`: no other index can serve
        # it, no MIN rewrite), and checked for store and name after.
        fence = " OFFSET 0" if self.pg else ""
        owners = "= ANY(ARRAY({}))" if self.pg else "IN ({})"
        lookups = [
            "CASE WHEN x.code IS NOT NULL THEN (SELECT COALESCE(c.merged_into_id, c.id) FROM {C} c "
            "WHERE c.store_id = %s AND c.dms_code = x.code) END",
            "CASE WHEN x.mobile IS NOT NULL THEN (SELECT MIN(c.id) FROM (SELECT id, store_id, name, is_active, "
            "dms_code FROM {C} WHERE mobile = x.mobile" + fence + ") c WHERE c.store_id = %s AND c.name = x.name "
            "AND c.is_active AND (x.code IS NULL OR c.dms_code IS NULL)) END",
        ]
        vehicle = ""
        if self.has_vin:  # a vehicle not stored yet has no owner to ask
            vehicle = " LEFT JOIN dms_veh vk ON vk.vin = x.vin"
            lookups.append(
                "CASE WHEN NOT vk.fl_new THEN (SELECT MIN(c.id) FROM (SELECT id, store_id, "
                "name, is_active FROM {C} WHERE id "
                + owners.format("SELECT o.customer_id FROM {O} o WHERE o.vehicle_id = vk.id")
                + fence + ") c WHERE c.store_id = %s AND c.name = x.name AND c.is_active) END"
            )
        found = (
            "SELECT x.ckey, x.row_no, x.name, x.mobile, x.code, x.vin, x.c_hash, COALESCE(" + ", ".join(lookups)
            + ") AS id FROM " + self._firsts("cust_first", "ckey, row_no, name, mobile, customer_code AS code, vin, "
                                             "c_hash", "PARTITION BY ckey ORDER BY row_no", "TRUE", ranked,
                                             "mobile, name")
            + vehicle
        )
        # a new customer is flagged here; on PostgreSQL it also gets its id, drawn from the sequence (`_customers`
        # numbers and inserts it; SQLite reads its id back). The subquery is fenced: its lookups run once per key.
        customer_id, keep = ("id", " LIMIT -1 OFFSET 0")
        if self.pg:
            customer_id, keep = f"COALESCE(id, {self._next_id('C')})", " OFFSET 0"
        self._x(
            "INSERT INTO dms_cust (ckey, row_no, name, mobile, code, vin, c_hash, id, fl_new) "
            f"SELECT ckey, row_no, name, mobile, code, vin, c_hash, {customer_id}, id IS NULL FROM ({found}{keep}) f",
            [S] * len(lookups),
        )

    def _firsts(self, flag: str, cols: str, window: str, where: str, ranked: bool, order: str) -> str:
        """The stage rows flagged by `flag_firsts`, or (when rows were dropped since) ranked again in SQL.

        In `order`, the key the lookups probe: neighbouring probes then hit the same index pages.
        """
        if ranked:
            return f"(SELECT {cols} FROM dms_stage WHERE {flag} ORDER BY {order}) x"
        return (
            f"(SELECT * FROM (SELECT {cols}, ROW_NUMBER() OVER ({window}) AS rk FROM dms_stage WHERE {where}) y "
            f"WHERE rk = 1 ORDER BY {order}) x"
        )

    # --- vehicles ------------------------------------------------------------------------------
    def _next_id(self, table: str) -> str:
        """PostgreSQL: the expression drawing the next id of `table` from its sequence (looked up once)."""
        if table not in self.sequences:
            self.cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.t[table]])
            self.sequences[table] = self.cur.fetchone()[0]
        # a regclass literal: `nextval(pg_get_serial_sequence(…))` per row costs ~25x more
        return "nextval('" + self.sequences[table].replace("'", "''") + "'::regclass)"

    def _vehicles(self) -> None:
        S, now = self.store_id, self.now
        # PostgreSQL: ids drawn in the key table (`_collect_keys`), one plain INSERT (nothing returned to join back)
        id_col = "id, " if self.pg else ""  # SQLite: ids read back below
        created = self._x(
            "INSERT INTO {V} (" + id_col + "store_id, vin, plate, brand, model, delivery_date, row_hash, created_at, "
            "updated_at) SELECT " + id_col + "%s, vin, COALESCE(plate, ''), COALESCE(brand, ''), COALESCE(model, ''), "
            "delivery_date, '', %s, %s FROM dms_veh WHERE fl_new",
            [S, now, now],
        )
        self._grew("V", created)
        if created and not self.pg:
            self._x(
                "UPDATE dms_veh SET id = (SELECT v.id FROM {V} v WHERE v.vin = dms_veh.vin) WHERE fl_new"
            )
        sets, _cond = self._vehicle_fill()
        if sets:
            self._x(
                "UPDATE {V} AS v SET " + sets + ", updated_at = %s FROM dms_veh k WHERE v.id = k.id AND k.fl_fill"
                + self.by_ids("v", "SELECT id FROM dms_veh WHERE fl_fill"),
                [now],
            )

    def _vehicle_fill(self) -> tuple[str, str]:
        """(SET clause, condition) for a stored vehicle `v` and the file's values `k`; empty if nothing to write."""
        if not set(VEHICLE_FILL_COLUMNS) & set(self.columns):
            return "", ""
        if self.kind in (ImportKind.CUSTOMERS, ImportKind.DELIVERIES):
            # the DMS is the master of the vehicle file: non-empty values overwrite
            sets = (
                "plate = COALESCE(k.plate, v.plate), brand = COALESCE(k.brand, v.brand), "
                "model = COALESCE(k.model, v.model), delivery_date = COALESCE(k.delivery_date, v.delivery_date)"
            )
            cond = (
                "(k.plate IS NOT NULL AND k.plate <> v.plate) OR (k.brand IS NOT NULL AND k.brand <> v.brand) "
                "OR (k.model IS NOT NULL AND k.model <> v.model) OR (k.delivery_date IS NOT NULL AND "
                "(v.delivery_date IS NULL OR k.delivery_date <> v.delivery_date))"
            )
        else:
            # orders and policies are history: they only fill what the vehicle file lacks
            sets = (
                "plate = CASE WHEN v.plate = '' THEN COALESCE(k.plate, '') ELSE v.plate END, "
                "brand = CASE WHEN v.brand = '' THEN COALESCE(k.brand, '') ELSE v.brand END, "
                "model = CASE WHEN v.model = '' THEN COALESCE(k.model, '') ELSE v.model END, "
                "delivery_date = COALESCE(v.delivery_date, k.delivery_date)"
            )
            cond = (
                "(v.plate = '' AND k.plate IS NOT NULL) OR (v.brand = '' AND k.brand IS NOT NULL) "
                "OR (v.model = '' AND k.model IS NOT NULL) OR (v.delivery_date IS NULL AND k.delivery_date IS NOT NULL)"
            )
        return sets, cond

    # --- customers -----------------------------------------------------------------------------
    def _customers(self) -> None:
        S = self.store_id
        # without code or mobile: the customer already on this order / delivery / policy, if the name matches
        target = {
            ImportKind.REPAIR_ORDERS: "{R} t WHERE t.store_id = %s AND t.ro_number = s.ro_number",
            ImportKind.DELIVERIES: (
                "{D} t WHERE t.store_id = %s AND t.vehicle_id = (SELECT vv.id FROM dms_veh vv WHERE vv.vin = s.vin)"
            ),
            ImportKind.POLICIES: "{P} t WHERE t.store_id = %s AND t.policy_number = s.policy_number",
        }.get(self.kind)
        if target:
            self._x(
                "UPDATE dms_cust AS k SET id = c.id, fl_new = FALSE FROM (SELECT s.ckey, (SELECT t.customer_id FROM "
                + target + ") AS cid FROM dms_stage s WHERE s.mobile IS NULL AND s.customer_code IS NULL) x "
                "JOIN {C} c ON c.id = x.cid WHERE k.fl_new AND x.ckey = k.ckey AND c.name = k.name "
                "AND c.is_active",
                [S],
            )
        is_customers = self.kind == ImportKind.CUSTOMERS
        if is_customers:
            self._x(
                "UPDATE dms_cust AS k SET fl_chg = TRUE FROM {C} c WHERE c.id = k.id AND c.row_hash <> k.c_hash"
                + self.by_ids("c", "SELECT id FROM dms_cust WHERE NOT fl_new")
            )
        # new customer files, numbered in one block
        self.cur.execute("SELECT COUNT(*) FROM dms_cust WHERE fl_new")
        count = self.cur.fetchone()[0]
        if count:
            numbers = self.numbers(store_id=S, count=count)
            self._grew("C", count)
            first = int(numbers[0][len(self.prefix) :])
            text_cols = ("mobile", "mobile2", "address", "region", "background", "contact_person", "contact_phone")
            numbered = "SELECT *, ROW_NUMBER() OVER (ORDER BY row_no) + %s AS rn FROM dms_cust WHERE fl_new"
            number = "%s || " + self.pad7("x.rn")
            if self.pg:  # numbered as they are inserted, with the ids drawn: one plain INSERT
                values, source = "x.id, %s, " + number, f"({numbered}) x"
                params = [S, self.prefix, self.now, self.now, first - 1]
            else:  # numbered in the key table first: the ids are read back by number below
                self._x(
                    "UPDATE dms_cust SET number = " + number + " FROM (" + numbered + ") x "
                    "WHERE x.ckey = dms_cust.ckey",
                    [self.prefix, first - 1],
                )
                values, source = "%s, x.number", "dms_cust x"
                params = [S, self.now, self.now]
            self._x(
                "INSERT INTO {C} (" + ("id, " if self.pg else "") + "store_id, number, dms_code, name, "
                + ", ".join(text_cols) + ", birthday, consent_service_calls, consent_marketing, source, is_active, "
                "row_hash, created_at, updated_at) SELECT " + values + ", x.code, x.name, "
                + ", ".join(f"COALESCE(s.{c}, '')" for c in text_cols) + ", s.birthday, TRUE, FALSE, 'dms_import', "
                "TRUE, " + ("x.c_hash" if is_customers else "''") + ", %s, %s "
                "FROM " + source + " JOIN dms_stage s ON s.row_no = x.row_no" + ("" if self.pg else " WHERE x.fl_new"),
                params,
            )
            if not self.pg:
                self._x(
                    "UPDATE dms_cust SET id = (SELECT c.id FROM {C} c WHERE c.store_id = %s "
                    "AND c.number = dms_cust.number) WHERE fl_new",
                    [S],
                )
        if is_customers:
            self._update_customers()

    def _update_customers(self) -> None:
        present = [c for c in CUSTOMER_COLUMNS if c in self.columns and c != "name"]
        sets = ["name = s.name"]
        for col in present:
            target = "dms_code" if col == "customer_code" else col
            sets.append(f"{target} = COALESCE(s.{col}, c.{target})")
        self._x(
            f"UPDATE {{C}} AS c SET {', '.join(sets)}, row_hash = k.c_hash, updated_at = %s "
            "FROM dms_cust k JOIN dms_stage s ON s.row_no = k.row_no WHERE c.id = k.id AND k.fl_chg"
            + self.by_ids("c", "SELECT id FROM dms_cust WHERE fl_chg"),
            [self.now],
        )

    # --- ownership -----------------------------------------------------------------------------
    def _ownerships(self) -> None:
        """A vehicle without a current owner gets this file's customer (never a silent transfer)."""
        # a scalar subquery (an index lookup per vehicle; NOT EXISTS would hash every open ownership); a vehicle has
        # at most one current owner, so no MIN (which stale statistics may turn into a walk of all ownerships in id
        # order, see `_collect_keys`)
        no_owner = (
            "vv.fl_new OR (SELECT o.id FROM {O} o WHERE o.vehicle_id = vv.id AND o.valid_to IS NULL LIMIT 1) IS NULL"
        )
        if self.kind == ImportKind.CUSTOMERS:  # the counts need the flag
            self._x("UPDATE dms_veh AS vv SET fl_owner = TRUE WHERE " + no_owner)
            no_owner = "vv.fl_owner"
        created = self._x(
            "INSERT INTO {O} (store_id, vehicle_id, customer_id, valid_from, valid_to, created_at, updated_at) "
            "SELECT %s, vv.id, k.id, COALESCE(vv.ev_date, vv.delivery_date, %s), NULL, %s, %s "
            "FROM dms_veh vv JOIN dms_cust k ON k.ckey = vv.ckey WHERE " + no_owner,
            [self.store_id, self.today, self.now, self.now],
        )
        self._grew("O", created)

    # --- the kinds -----------------------------------------------------------------------------
    def _target_customers(self, result: ChunkResult, known_new: bool) -> None:
        vnew = "COALESCE(vv.fl_new, FALSE)"
        vown = "COALESCE(vv.fl_owner, FALSE)"
        self.cur.execute(
            f"SELECT COALESCE(SUM(CASE WHEN k.fl_new OR {vnew} THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN NOT (k.fl_new OR {vnew}) AND (k.fl_chg OR {vown}) THEN 1 ELSE 0 END), 0) "
            "FROM dms_stage s JOIN dms_cust k ON k.ckey = s.ckey LEFT JOIN dms_veh vv ON vv.vin = s.vin"
        )
        result.created, result.updated = (int(x) for x in self.cur.fetchone())

    def _upsert(self, result: ChunkResult, table: str, fields: dict[str, tuple[str, str]], known_new: bool,
                joins: str = "") -> None:
        """UPDATE the stored rows that differ (`dms_seen`), INSERT the others: they are known to be new."""
        S, now = self.store_id, self.now
        source = "dms_stage s JOIN dms_cust k ON k.ckey = s.ckey"
        if self.has_vin:
            source += " JOIN dms_veh vv ON vv.vin = s.vin"
        source += joins
        if not known_new:
            sets = ", ".join(f"{col} = {upd}" for col, (_ins, upd) in fields.items() if upd)
            result.updated = self._x(
                f"UPDATE {table} AS t SET {sets}, row_hash = s.row_hash, updated_at = %s FROM {source} "
                "JOIN dms_seen x ON x.row_no = s.row_no WHERE t.id = x.t_id"
                + self.by_ids("t", "SELECT t_id FROM dms_seen WHERE NOT same"),
                [now],
            )
        cols = ", ".join(fields)
        exprs = ", ".join(ins for ins, _upd in fields.values())
        result.created = self._x(
            f"INSERT INTO {table} (store_id, {cols}, row_hash, created_at, updated_at) "
            f"SELECT %s, {exprs}, s.row_hash, %s, %s FROM {source}"
            + ("" if known_new else " WHERE s.row_no NOT IN (SELECT row_no FROM dms_seen)"),
            [S, now, now],
        )
        self._grew(table.strip("{}"), result.created)

    def _opt(self, col: str, target: str, default: str) -> tuple[str, str]:
        """An optional column: empty keeps the stored value."""
        if col not in self.columns:
            return default, ""
        return f"COALESCE(s.{col}, {default})", f"COALESCE(s.{col}, t.{target})"

    def _target_repair_orders(self, result: ChunkResult, known_new: bool) -> None:
        """Repair orders. Their mileage is the vehicle's mileage history: no separate reading is stored."""
        self._upsert(
            result,
            "{R}",
            {
                "ro_number": ("s.ro_number", ""),
                "vehicle_id": ("vv.id", "vv.id"),
                "customer_id": ("k.id", "k.id"),
                "settled_at": (self.ts("s.settled_at"), self.ts("s.settled_at")),
                "kind": ("s.ro_kind", "s.ro_kind"),
                "amount": self._opt("amount", "amount", "0"),
                "mileage": self._opt("mileage", "mileage", "NULL"),
                "service_advisor": self._opt("service_advisor", "service_advisor", "''"),
                "booked": self._opt("booked", "booked", "FALSE"),
                "fault_description": self._opt("fault", "fault_description", "''"),
            },
            known_new,
        )

    def _target_deliveries(self, result: ChunkResult, known_new: bool) -> None:
        self._upsert(
            result,
            "{D}",
            {
                "vehicle_id": ("vv.id", ""),
                "customer_id": ("k.id", "k.id"),
                "delivered_at": (self.ts("s.delivered_at"), self.ts("s.delivered_at")),
                "sales_consultant": self._opt("sales_consultant", "sales_consultant", "''"),
                "order_number": self._opt("order_number", "order_number", "''"),
            },
            known_new,
        )

    def _target_policies(self, result: ChunkResult, known_new: bool) -> None:
        # no kind in the file: a policy starting within 31 days of the vehicle's delivery is the new-car policy
        kind = (
            "COALESCE(s.policy_kind, CASE WHEN v.delivery_date IS NOT NULL AND s.start_date >= v.delivery_date "
            "AND s.start_date <= " + self.plus_days("v.delivery_date", 31) + " THEN 'new_car' ELSE 'renewal' END)"
        )
        self._upsert(
            result,
            "{P}",
            {
                "policy_number": ("s.policy_number", ""),
                "vehicle_id": ("vv.id", "vv.id"),
                "customer_id": ("k.id", "k.id"),
                "insurer": ("s.insurer", "s.insurer"),
                "start_date": ("s.start_date", "s.start_date"),
                "expiry_date": ("s.expiry_date", "s.expiry_date"),
                "premium": self._opt("premium", "premium", "0"),
                "kind": (kind, kind),
            },
            known_new,
            joins=" JOIN {V} v ON v.id = vv.id",
        )
