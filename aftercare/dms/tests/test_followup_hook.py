import datetime as dt

import pytest
import time_machine

from aftercare.dms.services import import_file
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.rules import followup_rules_seed_defaults

from .helpers import RO_HEADER, ro_row, write_csv

pytestmark = pytest.mark.django_db


@time_machine.travel(dt.datetime(2024, 3, 20, 9, 0, tzinfo=dt.UTC), tick=False)
def test_it_creates_csi_tasks_for_recent_orders_in_the_import(tmp_path, store_a, importer):
    followup_rules_seed_defaults(store_a)
    rows = [ro_row(1, settled="2024-03-18 10:00:00"), ro_row(2, settled="2024-01-05 10:00:00")]
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, rows)
    import_file(actor=importer, store=store_a, kind="repair_orders", path=path)
    tasks = FollowupTask.objects.filter(store=store_a)
    assert tasks.count() == 1  # the January order is history, older than the look-back window
    # due at the end of the 3rd calendar day after the vehicle left (half-open, Shanghai)
    assert tasks.get().due_at == dt.datetime(2024, 3, 21, 16, 0, tzinfo=dt.UTC)
    import_file(actor=importer, store=store_a, kind="repair_orders", path=path)
    assert FollowupTask.objects.filter(store=store_a).count() == 1


@time_machine.travel(dt.datetime(2024, 3, 20, 9, 0, tzinfo=dt.UTC), tick=False)
def test_it_creates_no_tasks_on_a_dry_run(tmp_path, store_a, importer):
    followup_rules_seed_defaults(store_a)
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(1, settled="2024-03-18 10:00:00")])
    import_file(actor=importer, store=store_a, kind="repair_orders", path=path, dry_run=True)
    assert not FollowupTask.objects.exists()
