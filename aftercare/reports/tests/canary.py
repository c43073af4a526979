"""Reports rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py); every
part of the reports app adds its rows in its own block of `plant`."""

import datetime as dt

from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    rows = {}
    rows.update(_plant_actions(store, canary))
    return rows


# ---- action register: an open action owned by the foreign store's staff ----


def _plant_actions(store, canary) -> dict:
    from aftercare.org.choices import Role
    from aftercare.reports.models import RectificationAction

    owner = f.StaffFactory(role=Role.CS_MANAGER, group=store.group, stores=[store]).user
    action = RectificationAction.objects.create(
        store=store, title=f"{canary}-action", source="ssi_factor", source_detail=canary, description=canary,
        owner=owner, due_date=dt.date(2026, 1, 1), created_by=owner,
    )
    return {"rectification_action": action}


# ---- end action register ----
