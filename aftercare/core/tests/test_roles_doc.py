"""docs/roles.md must show exactly the role → permission table of aftercare/org/permissions.py.

After changing ROLE_PERMISSIONS, regenerate the table (existing sentences are kept; describe any new permission):

    .venv/bin/python -m aftercare.core.tests.test_roles_doc
"""

import re
from pathlib import Path

from aftercare.org.choices import Role
from aftercare.org.permissions import ROLE_PERMISSIONS, Perm

DOC = Path(__file__).resolve().parents[3] / "docs" / "roles.md"
BEGIN, END = "<!-- roles-table:begin -->", "<!-- roles-table:end -->"
TODO = "TODO: describe this permission."
_CODE = re.compile(r"`([^`]+)`")


def parse_table(text: str) -> tuple[list[str], dict[str, tuple[str, set[str]]]]:
    """(role codes in column order, {permission: (sentence, roles holding it)}) from the doc's table."""
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    lines = [line.strip() for line in block.strip().splitlines() if line.strip().startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    roles = [_CODE.search(cell).group(1) for cell in header[2:]]
    table = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        perm = _CODE.search(cells[0]).group(1)
        held = {role for role, cell in zip(roles, cells[2:], strict=True) if cell == "✓"}
        table[perm] = (cells[1], held)
    return roles, table


def render_table(descriptions: dict[str, str]) -> str:
    roles = list(Role)
    lines = [
        "| Permission | What it allows | " + " | ".join(f"{role.label}<br>`{role.value}`" for role in roles) + " |",
        "| --- | --- | " + " | ".join(":-:" for _ in roles) + " |",
    ]
    for perm in Perm.ALL:
        marks = ["✓" if perm in ROLE_PERMISSIONS.get(role.value, ()) else "" for role in roles]
        lines.append(f"| `{perm}` | {descriptions.get(perm) or TODO} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def regenerate() -> None:
    from django.utils import translation

    translation.activate("en")
    text = DOC.read_text(encoding="utf-8")
    _, current = parse_table(text)
    table = render_table({perm: sentence for perm, (sentence, _) in current.items()})
    head, rest = text.split(BEGIN, 1)
    DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")


def test_it_documents_every_role_as_a_column():
    roles, _ = parse_table(DOC.read_text(encoding="utf-8"))
    assert roles == list(Role.values)


def test_it_documents_exactly_the_permissions_each_role_has():
    _, table = parse_table(DOC.read_text(encoding="utf-8"))
    assert list(table) == list(Perm.ALL), "docs/roles.md lists other permissions than Perm.ALL (see module doc)"
    for perm, (_, held) in table.items():
        expected = {role for role in Role.values if perm in ROLE_PERMISSIONS.get(role, ())}
        assert held == expected, f"{perm}: docs/roles.md says {sorted(held)}, permissions.py says {sorted(expected)}"


def test_it_explains_every_permission_in_a_sentence():
    _, table = parse_table(DOC.read_text(encoding="utf-8"))
    for perm, (sentence, _) in table.items():
        assert sentence and sentence != TODO and sentence.endswith("."), f"{perm} needs a sentence in docs/roles.md"


def test_it_gives_every_role_a_row_in_the_permission_table():
    assert set(ROLE_PERMISSIONS) == set(Role.values)
    assert all(perm in Perm.ALL for perms in ROLE_PERMISSIONS.values() for perm in perms)


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftercare.settings")
    django.setup()
    regenerate()
    print(f"rewrote the table in {DOC}")
