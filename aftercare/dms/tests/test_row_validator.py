"""The generated row validation (`RowValidator._compile`) against a plain reference written the obvious way.

The reference loops over the columns with a dict of values, as the import did before the validation was
generated per file; both must return the same staged tuple or the same errors for any row.
"""

import hashlib
import random

import pytest
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from hypothesis import given, settings
from hypothesis import strategies as st

from aftercare.dms.choices import ImportKind
from aftercare.dms.fields import KINDS
from aftercare.dms.importing.staging import CUSTOMER_COLUMNS, DATETIME_FIELDS, KEY_FIELD, STAGE_COLUMNS
from aftercare.dms.importing.validation import RowValidator
from aftercare.dms.readers import Table

from .helpers import vin

SAMPLES = {
    "vin": [vin(1), vin(2), vin(1).lower(), "LSGAB12E0R000000X", "ABC", "VIN WITH SPACE 123"],
    "mobile": ["13812345678", "+86 139 1234 0002", "139１２３４０００２", "12345", "021-12345678"],
    "mobile2": ["13812345679", "x"],
    "contact_phone": ["13812345670", "bad"],
    "settled_at": ["2024-03-05 10:00", "2024/3/5", "45000", "2024-02-30 10:00", "yesterday"],
    "delivered_at": ["2024-03-05", "2024-03-05 23:59:59", "1800-01-01", "not a date"],
    "delivery_date": ["2024-01-02", "2024/1/2", "bad"],
    "start_date": ["2024-06-01", "2024-05-31", "bad"],
    "expiry_date": ["2025-05-31", "2024-06-01", "2024-05-01"],
    "birthday": ["1980-01-02", "bad"],
    "amount": ["12.5", "¥1,234.00", "-3", "1e99", "abc"],
    "premium": ["3000", "bad"],
    "mileage": ["12000", "１２０００", "-1", "12.5"],
    "ro_kind": ["保养", "首保", "maintenance", "nonsense"],
    "booked": ["是", "否", "yes", "maybe"],
    "policy_kind": ["新保", "续保", "other"],
    "background": ["私人", "公司", "alien"],
    "plate": ["粤B12345", "粤BD12345", "b12345", "粤B 1234 5"],
}


def cell_values(name: str, max_length: int | None) -> st.SearchStrategy:
    samples = SAMPLES.get(name, ["张三", "李四", "  王五  ", "A1"])
    longest = "长" * (max_length or 20)  # as long as the column allows, and one character more
    return st.sampled_from(samples + ["", "   ", longest, longest + "长"])


def reference(validator: RowValidator, row_no: int, cells: list, row_hash: str):
    """The row validation written the obvious way (how `RowValidator.validate` was before it was generated)."""
    values = dict.fromkeys(name for name, _type in STAGE_COLUMNS)
    errors = None
    width = len(cells)
    for name, index, parse, max_length, header in validator.plan:
        raw = cells[index] if index < width else None
        if raw is None or raw == "":
            continue
        try:
            value = parse(raw)
        except ValidationError as exc:
            errors = errors or []
            errors.append((header, exc.messages[0][:250]))
            continue
        if value is None:
            continue
        if name in DATETIME_FIELDS:
            value, values["ev_date"] = value
        elif max_length and len(value) > max_length:
            errors = errors or []
            errors.append((header, _("Too long (at most %(n)s characters)") % {"n": max_length}))
            continue
        values[name] = value
    for name, header in validator.required:
        if values[name] is None and not (errors and any(e[0] == header for e in errors)):
            errors = errors or []
            errors.append((header, _("Required")))
    if errors:
        return None, errors
    values["row_hash"] = row_hash
    kind = validator.spec.kind
    name = values["name"]
    if values["customer_code"] is not None:
        ckey = "k:" + values["customer_code"]
    elif values["mobile"] is not None:
        ckey = "m:" + values["mobile"] + "|" + name
    elif values["vin"] is not None:
        ckey = "v:" + values["vin"] + "|" + name
    else:
        return None, [(validator.header("mobile"), _("A customer needs a customer code, a mobile or a VIN"))]
    values["ckey"] = ckey
    if kind == ImportKind.CUSTOMERS:
        hashed = [n for n in CUSTOMER_COLUMNS if n in validator.table.mapping and n != "vin"]
        c_hash = hashlib.md5("\x1f".join(str(values[n] or "") for n in hashed).encode()).hexdigest()
        values["c_hash"] = c_hash
        first = reference.customers.get(ckey)
        if first is None:
            reference.customers[ckey] = (row_no, c_hash)
        elif first[1] != c_hash:
            reason = _("Same customer as row %(row)s but with different details") % {"row": first[0]}
            return None, [(validator.header("name"), reason)]
        values["ev_date"] = values["delivery_date"]
    else:
        key_field = KEY_FIELD[kind]
        if values[key_field] in reference.keys:
            reason = _("Duplicate: this key appears in an earlier row of the file")
            return None, [(validator.header(key_field), reason)]
        reference.keys.add(values[key_field])
        if kind == ImportKind.DELIVERIES:
            values["delivery_date"] = values["ev_date"]
        elif kind == ImportKind.POLICIES:
            if values["expiry_date"] <= values["start_date"]:
                return None, [(validator.header("expiry_date"), _("Expiry date must be after the start date"))]
            values["ev_date"] = values["start_date"]
    values["row_no"] = row_no
    return tuple(values[c] for c in validator.columns), None


@pytest.mark.parametrize("kind", list(KINDS))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_it_validates_rows_as_the_plain_reference_does(kind, data):
    spec = KINDS[kind]
    fields = [f for f in spec.fields if f.name in spec.required or data.draw(st.booleans())]
    random.Random(data.draw(st.integers(0, 99))).shuffle(fields)
    headers = [f.aliases[0] for f in fields]
    table = Table(encoding="utf-8", headers=headers, mapping={f.name: i for i, f in enumerate(fields)}, rows=iter(()),
                  text_cells=True)
    validator = RowValidator(table, spec)
    reference.customers, reference.keys = {}, set()
    rows = data.draw(st.lists(
        st.tuples(*(cell_values(f.name, f.max_length) for f in fields)), min_size=1, max_size=12,
    ))
    for row_no, cells in enumerate(rows, start=2):
        cells = list(cells)
        if data.draw(st.booleans()):  # a short row: the cells after it are missing
            cells = cells[: data.draw(st.integers(0, len(cells)))]
        row_hash = f"{row_no:032x}"
        assert validator.validate(row_no, cells, row_hash) == reference(validator, row_no, cells, row_hash)
