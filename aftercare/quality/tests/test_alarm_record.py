"""How the alarm job writes one series' alarm months (`alarms._record`): after a closed alarm a later alarm month
opens a new alarm in the same run; the database's constraints decide a clash, a concurrent run's row is taken as
written and any other integrity error is raised, not swallowed."""

import datetime as dt

import numpy as np
import pytest
from django.db import IntegrityError

from aftercare.quality.choices import AlarmStatus
from aftercare.quality.models import PartFamily, QualityAlarm, QualityAlarmEvent
from aftercare.quality.services import alarms

pytestmark = pytest.mark.django_db

BUILD = dt.date(2025, 1, 1)
MONTHS = [dt.date(2025, m, 1) for m in range(1, 9)]


@pytest.fixture
def family():
    return PartFamily.objects.get(code="FRONT_SHOCK")


def _series(family, store) -> alarms.Series:
    return alarms.Series(family_id=family.pk, build_month=BUILD, months=MONTHS, observed=np.arange(1, 9),
                         expected=np.ones(8), vehicles=100, store_ids=[store.pk], batches={})


def _result(*months: int) -> dict:
    return {"S": np.arange(8, dtype=float), "p": np.full(8, 0.001), "alarms": [(t, "cusum") for t in months]}


def _record(store, family, result, known):
    return alarms._record(store.group_id, _series(family, store), result, 4.5, family, known, lambda: [])


def _alarm(store, family, **fields) -> QualityAlarm:
    values = {"group_id": store.group_id, "part_family": family, "build_month": BUILD, "first_alarm_month": MONTHS[0],
              "last_alarm_month": MONTHS[2], "observed": 6, "expected": 3.0, "statistic": 5.0, "threshold": 4.5,
              "p_value": 0.01, "test": "cusum", "series": [], **fields}
    return QualityAlarm.objects.create(**values)


def _known(store, family) -> list[QualityAlarm]:
    return list(QualityAlarm.objects.filter(group_id=store.group_id, part_family=family, build_month=BUILD)
                .order_by("first_alarm_month"))


def test_it_opens_a_new_alarm_for_months_after_a_dismissed_one_in_the_same_run(store_a, family):
    dismissed = _alarm(store_a, family, status=AlarmStatus.DISMISSED, reason="供应商已确认为安装问题")
    # months 1 and 2 belong to the dismissed alarm (left as it is); months 5 and 6 are a new episode
    assert _record(store_a, family, _result(1, 2, 5, 6), _known(store_a, family)) == (1, 0)
    dismissed.refresh_from_db()
    assert (dismissed.status, dismissed.first_alarm_month, dismissed.last_alarm_month) == (
        AlarmStatus.DISMISSED, MONTHS[0], MONTHS[2])
    new = QualityAlarm.objects.exclude(pk=dismissed.pk).get()
    assert (new.status, new.first_alarm_month, new.last_alarm_month) == (AlarmStatus.NEW, MONTHS[5], MONTHS[6])
    assert new.observed == sum(range(1, 7)) and new.expected == 6.0
    assert QualityAlarmEvent.objects.filter(alarm=new, to_status=AlarmStatus.NEW).count() == 1
    # the same run again: nothing to write
    assert _record(store_a, family, _result(1, 2, 5, 6), _known(store_a, family)) == (0, 0)
    assert QualityAlarm.objects.count() == 2


def test_it_extends_an_open_alarm_rather_than_opening_a_second(store_a, family):
    open_alarm = _alarm(store_a, family, series=[])
    assert _record(store_a, family, _result(1, 5, 7), _known(store_a, family)) == (0, 1)
    open_alarm.refresh_from_db()
    assert open_alarm.last_alarm_month == MONTHS[7] and len(open_alarm.series) == 8
    assert QualityAlarm.objects.count() == 1


def test_it_takes_a_concurrent_runs_alarm_as_written(store_a, family, monkeypatch):
    """Another run inserts the same alarm between this run's read and its insert: the unique constraint refuses
    this run's row, and the row found is taken as written (no second event, no error)."""
    full_clean = QualityAlarm.full_clean

    def racing_full_clean(self, *args, **kwargs):
        full_clean(self, *args, **kwargs)
        if self.pk is None:
            twin = {f.attname: getattr(self, f.attname) for f in QualityAlarm._meta.concrete_fields
                    if not f.primary_key and f.attname not in ("created_at", "updated_at")}
            QualityAlarm.objects.bulk_create([QualityAlarm(**twin)])

    monkeypatch.setattr(QualityAlarm, "full_clean", racing_full_clean)
    assert _record(store_a, family, _result(3), known=[]) == (0, 0)
    assert QualityAlarm.objects.get().first_alarm_month == MONTHS[3]
    assert not QualityAlarmEvent.objects.exists()


def test_it_raises_an_integrity_error_that_no_concurrent_row_explains(store_a, family, monkeypatch):
    """A row the database refuses for another reason (here its months out of order, a check left to the database)
    is an error, not an alarm written by someone else."""
    full_clean = QualityAlarm.full_clean

    def bad_months(self, *args, **kwargs):
        full_clean(self, *args, **kwargs)
        self.last_alarm_month = dt.date(2024, 12, 1)

    monkeypatch.setattr(QualityAlarm, "full_clean", bad_months)
    with pytest.raises(IntegrityError):
        _record(store_a, family, _result(3), known=[])
    monkeypatch.undo()
    assert not QualityAlarm.objects.exists()
