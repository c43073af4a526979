"""Parts-quality rows of a foreign store for the scoping walk (aftercare/core/tests/test_scoping.py): a submitted
report carrying the canary with a photo (`report_photo_id`, the download route's parameter), a draft handed over,
and an alarm of the store's group (alarms are the group's: store roles never read them, a group-wide role only its
own group's)."""

import datetime as dt

from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    from django.core.files.base import ContentFile

    from aftercare.quality.models import PartFamily, QualityAlarm, QualityReport, QualityReportPhoto

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
    report_photo = QualityReportPhoto(report=report, caption=canary)
    report_photo.image.save("canary-report.png", ContentFile(canary.encode()), save=True)
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
    visit, action, photo = _plant_visit(store, canary, user)
    return {
        "visit_id": visit,
        "store_visit": visit,
        "action_id": action,
        "corrective_action": action,
        "photo_id": photo,
        "quality_report": report,
        "report_id": report,
        "report_photo_id": report_photo,
        "quality_draft": draft,
        "alarm_id": alarm,
        "quality_alarm": alarm,
    }


def _plant_visit(store, canary, user):
    """A submitted evaluation visit of the store with a photo and an open corrective action carrying the canary (the
    form is the group's and carries none: group-wide forms are read by every store of the group)."""
    from django.core.files.base import ContentFile

    from aftercare.quality.evaluation_models import (
        CorrectiveAction,
        EvaluationForm,
        EvaluationItem,
        StoreVisit,
        VisitPhoto,
        VisitScore,
    )

    form = EvaluationForm.objects.create(group=store.group, code=f"EV{store.pk}", name_zh="售后评估", status="active",
                                         created_by=user)
    item = EvaluationItem.objects.create(form=form, position=1, text_zh="接待", max_score=10)
    visit = StoreVisit.objects.create(store=store, form=form, evaluator=user, visited_on=dt.date(2025, 9, 3),
                                      status="submitted", score=50, summary=canary,
                                      submitted_at=dt.datetime(2025, 9, 3, tzinfo=dt.UTC))
    VisitScore.objects.create(visit=visit, item=item, score=5, note=canary)
    photo = VisitPhoto(visit=visit, item=item, caption=canary)
    photo.image.save("canary.png", ContentFile(canary.encode()), save=True)
    action = CorrectiveAction.objects.create(store=store, visit=visit, item=item, finding=canary, action=canary,
                                             owner=user, due_on=dt.date(2025, 9, 30))
    return visit, action, photo
