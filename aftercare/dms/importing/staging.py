"""What the validator hands the writer: the staging columns, a chunk of staged tuples, a chunk's result.

Rows are validated one at a time (`importing.validation.RowValidator`) into flat tuples in `stage_columns_for`
order and handed over in chunks (`Chunk`); each chunk is written with set-based SQL (`importing.writer.ChunkWriter`),
which answers a `ChunkResult`.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..choices import ImportKind
from ..fields import KINDS, KindSpec

# Staging columns: (name, PostgreSQL type). SQLite gets TEXT / INTEGER.
STAGE_COLUMNS = (
    ("row_no", "integer"),
    ("row_hash", "text"),
    ("ckey", "text"),
    ("c_hash", "text"),
    ("customer_code", "text"),
    ("name", "text"),
    ("mobile", "text"),
    ("mobile2", "text"),
    ("address", "text"),
    ("region", "text"),
    ("birthday", "date"),
    ("background", "text"),
    ("contact_person", "text"),
    ("contact_phone", "text"),
    ("vin", "text"),
    ("plate", "text"),
    ("brand", "text"),
    ("model", "text"),
    ("delivery_date", "date"),
    ("ev_date", "date"),
    ("delivered_at", "timestamp"),
    ("sales_consultant", "text"),
    ("order_number", "text"),
    ("ro_number", "text"),
    ("settled_at", "timestamp"),
    ("ro_kind", "text"),
    ("amount", "numeric(12,2)"),
    ("mileage", "integer"),
    ("service_advisor", "text"),
    ("booked", "boolean"),
    ("fault", "text"),
    ("policy_number", "text"),
    ("insurer", "text"),
    ("start_date", "date"),
    ("expiry_date", "date"),
    ("premium", "numeric(12,2)"),
    ("policy_kind", "text"),
    ("veh_first", "boolean"),  # set by ChunkWriter: the row that stands for its VIN / customer key in the chunk
    ("cust_first", "boolean"),
)
CUSTOMER_COLUMNS = tuple(f.name for f in KINDS[ImportKind.CUSTOMERS].fields[:10])
# The vehicle columns an import writes to a stored vehicle (`ChunkWriter._vehicle_fill`)
VEHICLE_FILL_COLUMNS = ("plate", "brand", "model", "delivery_date")
DATETIME_FIELDS = {"delivered_at", "settled_at"}
# The field that is the natural key of each kind (used to name the column of key errors).
KEY_COLUMN = {
    ImportKind.CUSTOMERS: "ckey",
    ImportKind.DELIVERIES: "vin",
    ImportKind.REPAIR_ORDERS: "ro_number",
    ImportKind.POLICIES: "policy_number",
}
KEY_FIELD = {
    ImportKind.CUSTOMERS: "name",
    ImportKind.DELIVERIES: "vin",
    ImportKind.REPAIR_ORDERS: "ro_number",
    ImportKind.POLICIES: "policy_number",
}


@dataclass
class RowError:
    row: int
    column: str
    reason: str
    raw: str = ""


@dataclass
class Chunk:
    rows: list[tuple]
    errors: list[RowError]
    rejected: int
    read: int
    # rows found unchanged before validation (`RowValidator.precheck`): counted, not staged
    unchanged: int = 0
    # with `chunks(parts=N)`: the rows split by customer key, each part flagged on its own (else empty)
    parts: list[list[tuple]] = field(default_factory=list)
    # with `RowValidator.use_known`: the row numbers whose key is stored (with other values); every other row
    # of the chunk is new to the store. None: not known (no row may skip the writer's search for stored rows)
    stored: set[int] | None = None
    # with `RowValidator.known`: per part (or [whole chunk]) the new orders of known vehicles and customers,
    # as (their staged rows, their rows for the order table), kept out of `rows` / `parts`; else empty
    direct: list[tuple[list[tuple], list[tuple]]] = field(default_factory=list)


@dataclass
class ChunkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @classmethod
    def merged(cls, results: Iterable["ChunkResult"]) -> "ChunkResult":
        """The counts and errors of several writes (the parts of a chunk, the halves of a refused one) together."""
        total = cls()
        for result in results:
            total.created += result.created
            total.updated += result.updated
            total.unchanged += result.unchanged
            total.errors += result.errors
        return total


def stage_columns_for(spec: KindSpec, mapped: Iterable[str] | None = None) -> tuple[str, ...]:
    """The staging columns a kind fills, in tuple order: with `mapped`, only those of the file's columns.

    A column the file lacks is not staged at all (its staging column stays NULL, which every statement
    reads as "no value"); fewer columns make the tuples smaller and the staging COPY cheaper.
    """
    names = {f.name for f in spec.fields}
    if mapped is not None:
        names &= set(mapped)
    if names & DATETIME_FIELDS:
        names.add("ev_date")
    if spec.kind == ImportKind.POLICIES:
        names.add("ev_date")
    if spec.kind == ImportKind.DELIVERIES:
        names.add("delivery_date")  # the delivery date of the vehicle file
    names |= {"row_no", "row_hash", "ckey"}
    if spec.kind == ImportKind.CUSTOMERS:
        names.add("c_hash")
    return tuple(name for name, _type in STAGE_COLUMNS if name in names)


def flag_firsts(rows: list[tuple], columns: tuple[str, ...]) -> list[tuple]:
    """The staged rows with (veh_first, cust_first) appended (replaced if already there).

    veh_first marks the row of each VIN with the earliest event, cust_first the first row of each
    customer key: the rows that stand for their vehicle and customer in the chunk. Computed in
    Python, on the reading thread, rather than by a sort in SQL.
    """
    width = len(columns)
    vin_at = columns.index("vin") if "vin" in columns else None
    ckey_at = columns.index("ckey")
    ev_at = columns.index("ev_date") if "ev_date" in columns else None
    best: dict[str, tuple] = {}
    firsts: set[str] = set()
    cust = []
    for i, row in enumerate(rows):
        key = row[ckey_at]
        if key in firsts:
            cust.append(False)
        else:
            firsts.add(key)
            cust.append(True)
        if vin_at is not None and (vin := row[vin_at]) is not None:
            ev = row[ev_at] if ev_at is not None else None
            rank = (ev is None, ev or "", row[0], i)
            known = best.get(vin)
            if known is None or rank < known:
                best[vin] = rank
    veh = [False] * len(rows)
    for rank in best.values():
        veh[rank[3]] = True
    return [row[:width] + (v, c) for row, v, c in zip(rows, veh, cust, strict=True)]
