"""The import announces what it wrote (customers.signals.records_imported, dms.signals.repair_orders_imported);
the apps above answer in its transaction (see test_followup_hook.py for the follow-up calls they make)."""

import datetime as dt

import pytest
import time_machine

from aftercare.customers.models import RepairOrder
from aftercare.customers.signals import records_imported
from aftercare.dms.choices import ImportStatus
from aftercare.dms.models import ImportBatch
from aftercare.dms.services import import_file
from aftercare.dms.signals import repair_orders_imported
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.rules import followup_rules_seed_defaults

from .helpers import RO_HEADER, ro_row, vin, write_csv

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2024, 3, 20, 9, 0, tzinfo=dt.UTC)


class Boom(Exception):
    pass


@pytest.fixture
def heard():
    calls = []

    def listen(signal):
        def receiver(sender, **kwargs):
            calls.append((signal, kwargs))

        signal.connect(receiver, dispatch_uid=f"test.{id(signal)}", weak=False)
        return receiver

    listen(records_imported)
    listen(repair_orders_imported)
    yield calls
    records_imported.disconnect(dispatch_uid=f"test.{id(records_imported)}")
    repair_orders_imported.disconnect(dispatch_uid=f"test.{id(repair_orders_imported)}")


@time_machine.travel(NOW, tick=False)
def test_it_announces_each_written_chunk_and_the_import_once(tmp_path, store_a, importer, heard):
    rows = [ro_row(n, settled="2024-03-18 10:00:00", vin=vin(10 + n), mobile=f"1391234{n:04d}") for n in range(1, 6)]
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, rows)
    batch = import_file(actor=importer, store=store_a, kind="repair_orders", path=path, chunk_size=2)
    chunks = [kw for signal, kw in heard if signal is records_imported]
    imports = [kw for signal, kw in heard if signal is repair_orders_imported]
    assert chunks == [{"signal": records_imported, "store_id": store_a.pk, "kind": "repair_orders"}] * 3
    assert [(kw["store_id"], kw["batch"].pk) for kw in imports] == [(store_a.pk, batch.pk)]
    heard.clear()
    import_file(actor=importer, store=store_a, kind="repair_orders", path=path, dry_run=True)
    assert heard == []  # a dry run writes nothing, so it announces nothing


@time_machine.travel(NOW, tick=False)
def test_it_rolls_the_chunk_back_when_a_receiver_fails(tmp_path, store_a, importer):
    followup_rules_seed_defaults(store_a)
    seen = []

    def fail_on_second_chunk(sender, **kwargs):
        seen.append(RepairOrder.objects.filter(store=store_a).count())
        if len(seen) == 2:
            raise Boom

    rows = [ro_row(n, settled="2024-03-18 10:00:00", vin=vin(10 + n), mobile=f"1391234{n:04d}") for n in range(1, 5)]
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, rows)
    records_imported.connect(fail_on_second_chunk, dispatch_uid="test.fail")
    try:
        with pytest.raises(Boom):
            import_file(actor=importer, store=store_a, kind="repair_orders", path=path, chunk_size=2)
    finally:
        records_imported.disconnect(dispatch_uid="test.fail")
    assert seen == [2, 4]  # each time the chunk's rows were written already, in the transaction being answered
    # the first chunk and its follow-up calls are kept; the second chunk is undone with what its receivers wrote
    assert RepairOrder.objects.filter(store=store_a).count() == 2
    assert FollowupTask.objects.filter(store=store_a).count() == 2
    assert ImportBatch.objects.get().status == ImportStatus.FAILED
