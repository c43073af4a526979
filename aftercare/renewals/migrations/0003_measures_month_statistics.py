"""PostgreSQL statistics for the renewal measures' monthly `GROUP BY` (aftercare/renewals/measures.py).

Without them the planner takes the number of months of `date_trunc('month', expiry_date)` for the number of days
(≈ 365 a year), expects ~50 k groups per store × segment × month instead of ~1 k, and sorts on disk instead of
hashing: the group's monthly table took twice the time of a hand-written aggregate (docs/benchmarks.md, "Renewal
measures"). Extended statistics on the expressions (PostgreSQL 14+) give it the real counts. The policy table's
are here too: only the renewal measures group policies by start month. Nothing on SQLite.
"""

from django.db import migrations

STATISTICS = (
    ("renewal_case_store_segment_month", "renewals_renewalcase",
     "store_id, segment, (date_trunc('month', expiry_date))"),
    ("policy_store_kind_start_month", "customers_insurancepolicy",
     "store_id, kind, (date_trunc('month', start_date))"),
)


def _supported(schema_editor) -> bool:
    connection = schema_editor.connection
    return connection.vendor == "postgresql" and connection.pg_version >= 140000


def create(apps, schema_editor):
    if not _supported(schema_editor):
        return
    for name, table, columns in STATISTICS:
        schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {name} (ndistinct) ON {columns} FROM {table}")


def drop(apps, schema_editor):
    if not _supported(schema_editor):
        return
    for name, _table, _columns in STATISTICS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("renewals", "0002_sheets_contact_imported")]  # which depends on the policy table

    operations = [migrations.RunPython(create, drop, elidable=False)]
