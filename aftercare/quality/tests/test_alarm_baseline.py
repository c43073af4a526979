"""The alarm's baseline is the Poisson GLM the issue names (docs/quality.md, "The alarm job"): without its smoothing,
the expected rate at each months-in-service is the maximum-likelihood fit of a Poisson GLM with one level per age and
log(vehicle-months at risk) as offset, over the family's other build months; scikit-learn's `PoissonRegressor` on the
same data gives the same rates. With the smoothing, ages few vehicles reached move towards the family's rate."""

import datetime as dt
from collections import Counter

import numpy as np
import pytest
from sklearn.linear_model import PoissonRegressor

from aftercare.org.calendar import month_add
from aftercare.quality.services import alarms

BUILDS = [month_add(dt.date(2024, 1, 1), i) for i in range(12)]
LAST = dt.date(2025, 6, 1)


def _history(seed: int):
    rng = np.random.default_rng(seed)
    vehicles = Counter({b: int(rng.integers(300, 900)) for b in BUILDS})
    counts = {}
    for b in BUILDS:
        month = b
        while month <= LAST:
            age = (month.year - b.year) * 12 + month.month - b.month
            counts.setdefault((1, b), Counter())[month] = int(rng.poisson(vehicles[b] * 0.01 * (1 + age / 12)))
            month = month_add(month, 1)
    return vehicles, counts


def _glm_rates(vehicles, counts, left_out: dt.date) -> np.ndarray:
    """The Poisson GLM fit: failures ~ age (one level each), offset log(vehicle-months), over the build months but
    `left_out`; as `PoissonRegressor` takes no offset, the rate is fitted with the vehicle-months as weights."""
    rows, ys, weights = [], [], []
    max_age = (LAST.year - BUILDS[0].year) * 12 + LAST.month - BUILDS[0].month
    for b in BUILDS:
        if b == left_out:
            continue
        for month, n in counts[(1, b)].items():
            age = (month.year - b.year) * 12 + month.month - b.month
            row = np.zeros(max_age + 1)
            row[age] = 1.0
            rows.append(row)
            ys.append(n / vehicles[b])
            weights.append(vehicles[b])
    model = PoissonRegressor(alpha=0.0, fit_intercept=False, tol=1e-10, max_iter=10_000)
    model.fit(np.array(rows), np.array(ys), sample_weight=np.array(weights))
    return np.exp(model.coef_)


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # unsmoothed, an age no other build month reached
@pytest.mark.parametrize("seed", [1, 2])
def test_it_expects_what_the_poisson_glm_fits_without_the_smoothing(seed, monkeypatch):
    vehicles, counts = _history(seed)
    monkeypatch.setattr(alarms, "PSEUDO_FAILURES", 0.0)
    series = alarms.series_from_counts(vehicles, counts, last=LAST, family_ids=[1])
    for s in series[:3]:  # the oldest build months: ages every other build month reached, and some only one did
        # the ages another build month reached (the oldest build month's last age has no other vehicle-months)
        reached = min(len(s.expected), _age(LAST, next(b for b in BUILDS if b != s.build_month)) + 1)
        fitted = _glm_rates(vehicles, counts, left_out=s.build_month)[:reached]
        assert np.allclose(s.expected[:reached] / s.vehicles, fitted, rtol=1e-4), s.build_month


def _age(month: dt.date, build: dt.date) -> int:
    return (month.year - build.year) * 12 + month.month - build.month


def test_its_smoothing_moves_a_thinly_observed_age_towards_the_familys_rate():
    vehicles, counts = _history(3)
    oldest = alarms.series_from_counts(vehicles, counts, last=LAST, family_ids=[1])[0]
    others = BUILDS[1:]
    # the family's rate over the other build months (leave one out), failures a vehicle-month
    overall = sum(sum(counts[(1, b)].values()) for b in others) / sum(vehicles[b] * (_age(LAST, b) + 1) for b in others)

    def raw(age):  # the pooled rate at an age over the other build months that reached it
        reached = [b for b in others if _age(LAST, b) >= age]
        return sum(counts[(1, b)][month_add(b, age)] for b in reached) / sum(vehicles[b] for b in reached)

    # age 16: only 2024-02 reached it, one month of failures; the ten pseudo-failures pull it well towards the family
    thin, family_pull = oldest.expected[16] / oldest.vehicles, abs(raw(16) - overall)
    assert min(raw(16), overall) < thin < max(raw(16), overall)
    assert abs(thin - raw(16)) > 0.2 * family_pull
    # age 0: eleven build months' first months; the smoothing barely moves it
    assert oldest.expected[0] / oldest.vehicles == pytest.approx(raw(0), rel=0.05)
