"""Row validation: table rows into staged tuples, row errors, duplicate keys, and the file read in chunks.

Rows are validated one at a time (`RowValidator`, by a function generated for the file's columns) into flat
tuples and handed over in chunks (`RowValidator.chunks`). On PostgreSQL the new repair orders of vehicles an
earlier chunk wrote (`importing.known_vehicles.KnownVehicles`) skip the staging table: the reading thread builds
their order-table rows (`RowValidator._known_split`) and the writer copies them straight in.
"""

import hashlib
import itertools
import operator
from collections.abc import Callable, Iterator

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ..choices import ImportKind
from ..fields import KindSpec, cell_text
from ..readers import Table, raw_text
from .known_vehicles import KnownVehicles
from .staging import (
    CUSTOMER_COLUMNS,
    DATETIME_FIELDS,
    KEY_FIELD,
    Chunk,
    RowError,
    flag_firsts,
    stage_columns_for,
)

# Rows read ahead to ask which are stored unchanged (`RowValidator.precheck`), and the kinds that can ask:
# those whose rows are found by their own key column.
PRECHECK_BLOCK = 5_000
PRECHECK_KINDS = {ImportKind.REPAIR_ORDERS, ImportKind.POLICIES}


_MISSING = object()


def memoized(parse: Callable, size: int = 512) -> Callable:
    """`parse`, remembering the results of its first `size` distinct text values.

    Most DMS columns repeat a few values (brand, model, repair kind, advisor, yes/no); their parsers
    then run once per value, not once per row. A value the parser refuses is not remembered.
    """
    cache: dict[str, object] = {}

    def parse_memo(raw):
        if type(raw) is not str:
            return parse(raw)
        value = cache.get(raw, _MISSING)
        if value is _MISSING:
            value = parse(raw)
            if len(cache) < size:
                cache[raw] = value
        return value

    return parse_memo


def part_of(ckey: str, parts: int) -> int:
    """The part (parallel writer) of a customer key: the same for the whole import."""
    return hash(ckey) % parts


# The row errors of `RowValidator`, translated when they happen (in the language of the import's thread)
ROW_MESSAGES = {
    "M_too_long": lambda n: _("Too long (at most %(n)s characters)") % {"n": n},
    "M_required": lambda: _("Required"),
    "M_no_customer_key": lambda: _("A customer needs a customer code, a mobile or a VIN"),
    "M_other_details": lambda row: _("Same customer as row %(row)s but with different details") % {"row": row},
    "M_duplicate": lambda: _("Duplicate: this key appears in an earlier row of the file"),
    "M_expiry_order": lambda: _("Expiry date must be after the start date"),
}


class RowValidator:
    """Turns table rows into staged tuples, collecting row errors and rejecting duplicate keys."""

    def __init__(self, table: Table, spec: KindSpec):
        self.table = table
        self.spec = spec
        self.columns = stage_columns_for(spec, table.mapping)
        self.plan = [
            (f.name, table.mapping[f.name], memoized(f.parse), f.max_length, self.header(f.name))
            for f in spec.fields
            if f.name in table.mapping
        ]
        self.customer_hashed = [name for name in CUSTOMER_COLUMNS if name in table.mapping and name != "vin"]
        self.required = [(name, self.header(name)) for name in spec.required]
        self.seen: set[int] = set()  # hash() of each key seen (duplicates in the file are rejected)
        self.seen_customers: dict[int, int] = {}  # customers kind: key hash → row << 48 | details hash
        # the row hash covers every mapped column of the row (customer and vehicle columns included),
        # led by the layout, so that the same values under other columns never hash alike
        self.layout = "|".join(f.name for f in spec.fields if f.name in table.mapping)
        # `precheck(keys)` → {key: stored row hash} of those stored in the store (see `pipeline`); None: no asking
        self.precheck = None
        # repair orders: the vehicles earlier chunks wrote (shared with the writers) and the store's id, see `use_known`
        self.known: KnownVehicles | None = None
        self.store_id: int | None = None
        self.at = {name: i for i, name in enumerate(self.columns)}
        key = KEY_FIELD[spec.kind] if spec.kind in PRECHECK_KINDS else None
        self.key_plan = next((p for p in self.plan if p[0] == key), None)
        self.parsers_chosen = False
        self._validate = self._compile()

    def choose_parsers(self, block: list[tuple[int, list, str]]) -> None:
        """Keep the memo (`memoized`) only on columns whose values repeat in a sample of the first rows.

        A column of mostly distinct values (order numbers, VINs, times, amounts) gains nothing from it and
        pays a lookup per cell, so it is parsed directly. Only the speed depends on this choice.
        """
        self.parsers_chosen = True
        if len(block) < 64:
            return
        direct = {f.name: f.parse for f in self.spec.fields}
        plan = []
        for name, index, parse, max_length, header in self.plan:
            distinct = len({cells[index] if index < len(cells) else None for _row_no, cells, _hash in block})
            if distinct * 2 > len(block):
                parse = direct[name]
            plan.append((name, index, parse, max_length, header))
        self.plan = plan
        if self.key_plan is not None:
            self.key_plan = next(p for p in plan if p[0] == self.key_plan[0])
        self._validate = self._compile()

    def header(self, name: str) -> str:
        index = self.table.mapping.get(name)
        if index is None:
            return str(self.spec.field(name).label)
        return self.table.headers[index] or str(self.spec.field(name).label)

    def missing_required(self) -> list[str]:
        return [str(self.spec.field(name).label) for name in self.spec.required if name not in self.table.mapping]

    def use_known(self, known: "KnownVehicles", store_id: int) -> None:
        """Sort the new repair orders of vehicles in `known` into `Chunk.direct` (repair orders only).

        A row is new when `precheck` does not find its key (or, without `precheck`, always: the store has no
        orders), and each chunk says which rows are stored (`Chunk.stored`), so that only new ones are copied.
        """
        self.known, self.store_id = known, store_id

    def chunks(self, size: int, parts: int = 1) -> Iterator[Chunk]:
        """Chunks of `size` read rows; with `parts` > 1 each chunk's rows are also split into that many parts.

        A customer key always goes to the same part (hash of the key), so parallel writers never create
        the same customer. A chunk in which one VIN comes under customer keys of different parts (a
        vehicle sold on) is not split: `parts` stays empty and it is written whole, by one writer.
        With `use_known`, each part's (or the whole chunk's) new orders of known vehicles go to `Chunk.direct`.
        """
        ckey_at = self.columns.index("ckey")
        vin_at = self.columns.index("vin") if "vin" in self.columns else None
        for chunk in self._chunks(size):
            if parts > 1:
                split: list[list[tuple]] = [[] for _ in range(parts)]
                vin_part: dict[str, int] = {}
                whole = False
                for row in chunk.rows:
                    part = part_of(row[ckey_at], parts)
                    vin = row[vin_at] if vin_at is not None else None
                    if vin is not None and vin_part.setdefault(vin, part) != part:
                        whole = True
                        break
                    split[part].append(row)
                if not whole:
                    for rows in split:
                        rows, direct = self._known_split(rows, chunk.stored)
                        chunk.parts.append(flag_firsts(rows, self.columns))
                        chunk.direct.append(direct)
                    chunk.rows = []
                    yield chunk
                    continue
            rows, direct = self._known_split(chunk.rows, chunk.stored)
            chunk.rows = flag_firsts(rows, self.columns)
            chunk.direct = [direct]
            yield chunk

    def _known_split(self, rows: list[tuple], stored: set[int] | None) -> tuple[list[tuple], tuple[list, list]]:
        """(rows to stage, (staged rows, order-table rows) of the new orders of known vehicles and customers).

        Column-wise: the lookups, the ids and the order-table rows are built by `map` / `zip` over whole
        columns, without Python code per row but the split itself. An order-table row holds what
        `ChunkWriter._target_repair_orders` would insert (empty optional cells take the same defaults) but
        the creation times, which the writer adds.
        """
        known = self.known
        if known is None or stored is None or not rows or not known.map:
            return rows, ([], [])
        at = self.at
        found = known.lookup(map(operator.itemgetter(at["vin"]), rows), map(operator.itemgetter(at["ckey"]), rows))
        if not found:
            return rows, ([], [])
        if stored:  # stored with other values: an update, searched by the writer
            found = [None if row[0] in stored else packed for row, packed in zip(rows, found, strict=True)]
        hits = [packed is not None for packed in found]
        direct = list(itertools.compress(rows, hits))
        if not direct:
            return rows, ([], [])
        staged = list(itertools.compress(rows, map(operator.not_, hits)))
        packed = [p for p in found if p is not None]
        mask = KnownVehicles.ID_MASK
        count = len(direct)

        def column(name: str, default=None):
            index = at.get(name)
            if index is None:
                return itertools.repeat(default, count)
            values = list(map(operator.itemgetter(index), direct))
            if default is None or None not in values:
                return values
            return [default if value is None else value for value in values]

        tables = list(zip(
            itertools.repeat(self.store_id, count),
            column("ro_number"),
            [p >> KnownVehicles.ID_BITS for p in packed],
            [p & mask for p in packed],
            [text + "+00" for text in column("settled_at")],  # UTC
            column("ro_kind"),
            column("amount", "0"),
            column("mileage"),
            column("service_advisor", ""),
            column("booked", False),
            column("fault", ""),
            column("row_hash"),
            strict=True,
        ))
        # in vehicle order: the copy's inserts into the (vehicle, settled) index and the commit's foreign-key checks
        # of the vehicles then go page after page, not at random (−3.5 server CPU s per 1 M rows)
        tables.sort(key=operator.itemgetter(2))
        return staged, (direct, tables)

    def _blocks(self) -> Iterator[list[tuple[int, list, str]]]:
        """The file's non-empty rows as (row number, cells, row hash), a few thousand at a time."""
        block = []
        size = PRECHECK_BLOCK if self.precheck is not None and self.key_plan is not None else 256
        indexes = [index for _name, index, *_rest in self.plan]
        layout = self.layout
        md5 = hashlib.md5
        text_cells = self.table.text_cells
        need = max(indexes, default=-1) + 1
        picked = operator.itemgetter(*indexes) if len(indexes) > 1 else lambda cells: (cells[indexes[0]],)
        for row_no, cells in self.table.rows:
            width = len(cells)
            if text_cells and indexes and width >= need:  # a CSV row as wide as the header: all of it in C
                if not "".join(cells).strip():
                    continue
                text = "\x1f".join(picked(cells))
            else:
                if not any(c is not None and c != "" and (type(c) is not str or c.strip()) for c in cells):
                    continue
                text = "\x1f".join(
                    "" if (c := cells[i] if i < width else None) is None else c if type(c) is str else cell_text(c)
                    for i in indexes
                )
            # the row hash covers the file's cells as they are (every mapped column, led by the layout): equal
            # hashes mean equal values, and an unchanged row can be recognised before it is validated
            block.append((row_no, cells, md5((layout + "\x1f" + text).encode(), usedforsecurity=False).hexdigest()))
            if len(block) >= size:
                yield block
                block = []
        if block:
            yield block

    def _stored_same(self, block: list[tuple[int, list, str]]) -> tuple[dict[int, str], set[int]]:
        """({row number: key} of the block's rows stored with the same row hash, {row numbers of rows whose key is
        stored with another row hash}), asked of `precheck`."""
        if self.precheck is None or self.key_plan is None:
            return {}, set()
        _name, index, parse, max_length, _header = self.key_plan
        keyed = []
        for row_no, cells, row_hash in block:
            raw = cells[index] if index < len(cells) else None
            if raw is None or raw == "":
                continue
            try:
                key = parse(raw)
            except ValidationError:
                continue
            if key is not None and (not max_length or len(key) <= max_length):
                keyed.append((row_no, key, row_hash))
        if not keyed:
            return {}, set()
        stored = self.precheck([k for _r, k, _h in keyed])
        same, other = {}, set()
        for row_no, key, row_hash in keyed:
            stored_hash = stored.get(key)
            if stored_hash == row_hash:
                same[row_no] = key
            elif stored_hash is not None:
                other.add(row_no)
        return same, other

    def _chunks(self, size: int) -> Iterator[Chunk]:
        rows: list[tuple] = []
        errors: list[RowError] = []
        rejected = read = unchanged = 0
        seen = self.seen
        news_known = self.known is not None and (self.precheck is None or self.key_plan is not None)
        stored: set[int] = set()
        for block in self._blocks():
            if not self.parsers_chosen:
                self.choose_parsers(block)
            same, other = self._stored_same(block)
            if news_known:
                stored |= other
            for row_no, cells, row_hash in block:
                read += 1
                if same and (key := same.get(row_no)) is not None and hash(key) not in seen:
                    seen.add(hash(key))  # stored as it is: neither validated nor written
                    unchanged += 1
                else:
                    staged, row_errors = self.validate(row_no, cells, row_hash)
                    if row_errors:
                        rejected += 1
                        raw = raw_text(cells)
                        errors.extend(RowError(row_no, column, reason, raw) for column, reason in row_errors)
                    else:
                        rows.append(staged)
                if read >= size:
                    yield Chunk(rows, errors, rejected, read, unchanged, stored=stored if news_known else None)
                    rows, errors, rejected, read, unchanged = [], [], 0, 0, 0
                    stored = set(other)  # the rest of this block may be in the next chunk (a superset is harmless)
        if read:
            yield Chunk(rows, errors, rejected, read, unchanged, stored=stored if news_known else None)

    def validate(self, row_no: int, cells: list, row_hash: str):
        """(staged tuple, None) or (None, [(column, reason), ...]). The hot loop of the import: see `_compile`."""
        return self._validate(row_no, cells, row_hash)

    def _compile(self) -> Callable:
        """The row validation for this file's columns and kind, as one generated function.

        What it does, per row: parse each mapped column (an empty cell is no value; a refused value, or text
        longer than the column allows, is an error of that column), require the kind's required columns,
        then derive the customer key, reject a key seen earlier in the file (for the `customers` kind: the
        same customer with other details), check the kind's own rules and return the staged tuple in
        `self.columns` order. Generated from the plan so that each column is straight-line code with
        local variables: a loop over the columns with a dict of values cost ~60 % of the validation's CPU.
        """
        kind = self.spec.kind
        ns: dict = {"ValidationError": ValidationError, "md5": hashlib.md5, "seen": self.seen,
                    "seen_customers": self.seen_customers, **ROW_MESSAGES}
        mapped = [name for name, *_rest in self.plan]
        local = set(mapped) | {"ev_date", "delivery_date"}

        def var(name: str) -> str:
            return f"v_{name}" if name in local else "None"

        def header(name: str) -> str:
            ns[f"H_{name}"] = self.header(name)
            return f"H_{name}"

        need = max((index for _name, index, *_rest in self.plan), default=-1) + 1
        code = [
            "def validate(row_no, cells, row_hash):",
            "    errors = None",
            f"    if len(cells) < {need}:",
            f"        cells = list(cells) + [None] * ({need} - len(cells))",
        ]
        code += [f"    v_{name} = None" for name in sorted(local)]
        for k, (name, index, parse, max_length, _header) in enumerate(self.plan):
            ns[f"P{k}"] = parse
            h = header(name)
            code += [
                f"    raw = cells[{index}]",
                '    if raw is not None and raw != "":',
                "        try:",
                f"            value = P{k}(raw)",
                "        except ValidationError as exc:",
                "            if errors is None:",
                "                errors = []",
                f"            errors.append(({h}, exc.messages[0][:250]))",
                "        else:",
                "            if value is not None:",
            ]
            if name in DATETIME_FIELDS:
                code.append(f"                v_{name}, v_ev_date = value")
            elif max_length:
                code += [
                    f"                if len(value) > {int(max_length)}:",
                    "                    if errors is None:",
                    "                        errors = []",
                    f"                    errors.append(({h}, M_too_long({int(max_length)})))",
                    "                else:",
                    f"                    v_{name} = value",
                ]
            else:
                code.append(f"                v_{name} = value")
        for name, _header in self.required:
            h = header(name)
            code += [
                f"    if {var(name)} is None and not (errors and any(e[0] == {h} for e in errors)):",
                "        if errors is None:",
                "            errors = []",
                f"        errors.append(({h}, M_required()))",
            ]
        code += [
            "    if errors:",
            "        return None, errors",
            f"    if {var('customer_code')} is not None:",
            f"        ckey = 'k:' + {var('customer_code')}",
            f"    elif {var('mobile')} is not None:",
            f"        ckey = 'm:' + {var('mobile')} + '|' + {var('name')}",
            f"    elif {var('vin')} is not None:",
            f"        ckey = 'v:' + {var('vin')} + '|' + {var('name')}",
            "    else:",
            f"        return None, [({header('mobile')}, M_no_customer_key())]",
        ]
        if kind == ImportKind.CUSTOMERS:
            parts = ", ".join(f"str({var(name)} or '')" for name in self.customer_hashed)
            code += [
                f"    c_hash = md5('\x1f'.join(({parts}{',' if parts else ''})).encode(), "
                "usedforsecurity=False).hexdigest()",
                "    key = hash(ckey)",
                "    fingerprint = hash(c_hash) & 0xFFFFFFFFFFFF",
                "    first = seen_customers.get(key)",
                "    if first is None:",
                "        seen_customers[key] = (row_no << 48) | fingerprint",
                "    elif first & 0xFFFFFFFFFFFF != fingerprint:",
                f"        return None, [({header('name')}, M_other_details(first >> 48))]",
                "    v_ev_date = v_delivery_date",
            ]
        else:
            key_field = KEY_FIELD[kind]
            code += [
                f"    key = hash({var(key_field)})",
                "    if key in seen:",
                f"        return None, [({header(key_field)}, M_duplicate())]",
                "    seen.add(key)",
            ]
            if kind == ImportKind.DELIVERIES:
                code.append("    v_delivery_date = v_ev_date")
            elif kind == ImportKind.POLICIES:
                code += [
                    f"    if {var('expiry_date')} <= {var('start_date')}:",
                    f"        return None, [({header('expiry_date')}, M_expiry_order())]",
                    f"    v_ev_date = {var('start_date')}",
                ]
        special = {"row_no": "row_no", "row_hash": "row_hash", "ckey": "ckey", "c_hash": "c_hash"}
        code.append(f"    return ({', '.join(special.get(c) or var(c) for c in self.columns)},), None")
        exec("\n".join(code), ns)  # noqa: S102 - our own source, built from column names and constants only
        return ns["validate"]
