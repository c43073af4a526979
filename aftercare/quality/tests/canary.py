"""Parts-quality rows of a foreign store for the scoping walk (aftercare/core/tests/test_scoping.py): a submitted
report carrying the canary, a draft handed over, and an alarm of the store's group (alarms are the group's: store
roles never read them, a group-wide role only its own group's)."""

import datetime as dt

from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    from aftercare.quality.models import PartFamily, QualityAlarm, QualityReport

    family = PartFamily.objects.get(code="FRONT_SHOCK")
    customer = f.CustomerFactory(store=store, name=f"{canary}-q", address=canary)
    vehicle = f.owned_vehicle(customer, model=canary[:100])
    user = f.UserFactory(username=f"q-{store.code}")
    report = QualityReport.objects.create(
        store=store,
        status="submitted",
        source="entered",
        vehicle=vehicle,
        vin=vehicle.vin,
        vehicle_model=canary,
        build_month=dt.date(2025, 6, 1),
        part_family=family,
        part_number=canary,
        failure_date=dt.date(2025, 9, 3),
        symptom_text=canary,
        created_by=user,
        submitted_at=dt.datetime(2025, 9, 3, tzinfo=dt.UTC),
    )
    draft = QualityReport.objects.create(store=store, source="entered", symptom_text=canary, created_by=user)
    alarm = QualityAlarm.objects.create(
        group=store.group,
        part_family=family,
        build_month=dt.date(2025, 6, 1),
        first_alarm_month=dt.date(2025, 9, 1),
        last_alarm_month=dt.date(2025, 9, 1),
        observed=9,
        expected=2.0,
        statistic=5.0,
        threshold=4.5,
        p_value=1e-4,
        test="both",
        store_ids=[store.pk],
        vehicle_count=100,
        status="dismissed",
        reason=canary,
        series=[{"month": "2025-09", "observed": 9, "expected": 2.0, "s": 5.0}],
        batches={canary[:20]: 9},
    )
    return {
        "quality_report": report,
        "report_id": report,
        "quality_draft": draft,
        "alarm_id": alarm,
        "quality_alarm": alarm,
    }
