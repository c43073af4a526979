"""The batch-defect alarm's statistic (aftercare/quality/alarm.py, docs/quality.md): hand-computed values, exact
run lengths against simulation, and injected-defect / no-defect histories with a fixed seed."""

import io
import math

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from aftercare.quality import alarm

LN2 = math.log(2)

# docs/quality.md, "Operating characteristics": the figures the injected-defect tests hold the alarm to
DOC_ARL0 = 150.7  # months per family in control, mu0 = 2, h = 4.5
DOC_DELAY_2X = 4.93  # months from S = 0
DOC_DELAY_3X = 2.25
DOC_FALSE_ALARMS_PER_FAMILY_YEAR = 0.09  # documented bound; expected 12 / 150.7 = 0.080
# ours: CUSUM + tail test, S starting (and restarting) at h / 2, h = 4.55
OURS_H = 4.55
DOC_OURS_ARL0 = 154.1
DOC_OURS_DELAY_2X = 3.45  # a defect from the series' start (a new build month's vehicles)
DOC_OURS_DELAY_3X = 1.63
DOC_OURS_DELAY_2X_FROM_0 = 5.03  # a defect that starts mid-series, S fallen back to 0


def poisson_sf_by_hand(x, mu):
    """P(X >= x), summed from the Poisson probabilities (no scipy)."""
    return 1.0 - sum(math.exp(-mu) * mu**i / math.factorial(i) for i in range(x))


def test_it_uses_the_reference_value_tuned_to_a_doubling():
    assert alarm.reference_value(2.0) == pytest.approx(2 / LN2)  # (4 - 2) / ln(4 / 2)
    assert alarm.reference_value(20.0) == pytest.approx(20 / LN2)
    assert alarm.reference_value(2.0, factor=3) == pytest.approx(4 / math.log(3))


def test_it_computes_the_cusum_of_a_short_series_by_hand():
    # mu0 = 2: k = 2 / ln 2 = 2.885390; h = 4.5
    k = 2 / LN2
    s_values, alarms = alarm.cusum([1, 4, 6, 3, 5, 0], 2.0, 4.5)
    s2 = 4 - k  # 1.114610 (month 1: 1 - k < 0 -> 0)
    s3 = s2 + 6 - k  # 4.229220
    s4 = s3 + 3 - k  # 4.343830
    s5 = s4 + 5 - k  # 6.458440 > 4.5: the alarm, in the fifth month
    assert list(s_values) == pytest.approx([0.0, s2, s3, s4, s5, 0.0])
    assert [round(v, 4) for v in s_values] == [0.0, 1.1146, 4.2292, 4.3438, 6.4584, 0.0]
    assert alarms == [4]
    # without a reset S runs on after the alarm: 6.458440 + 0 - k = 3.573050
    s_values, alarms = alarm.cusum([1, 4, 6, 3, 5, 0], 2.0, 4.5, reset=False)
    assert s_values[5] == pytest.approx(s5 - k) and round(s_values[5], 4) == 3.5730
    assert alarms == [4]
    # one failure fewer in month 5: S = 5.458440 > 4.5 still; two fewer: 4.458440, no alarm
    assert alarm.cusum([1, 4, 6, 3, 3, 0], 2.0, 4.5)[1] == []


def test_it_takes_an_expected_value_per_month():
    # mu0 = 1 then 2: k = 1.442695 then 2.885390
    s_values, alarms = alarm.cusum([3, 3, 9], [1.0, 2.0, 2.0], 4.5)
    s1 = 3 - 1 / LN2  # 1.557305
    s2 = s1 + 3 - 2 / LN2  # 1.671915
    assert list(s_values[:2]) == pytest.approx([s1, s2])
    assert s_values[2] == pytest.approx(s2 + 9 - 2 / LN2) and alarms == [2]


def test_it_computes_the_tail_test_by_hand():
    # P(X >= 9 | 2) = 1 - e^-2 (1 + 2 + 2 + 4/3 + 2/3 + 4/15 + 4/45 + 8/315 + 2/315) = 0.000237
    assert alarm.tail_pvalue(9, 2.0) == pytest.approx(poisson_sf_by_hand(9, 2.0), rel=1e-9)
    assert round(float(alarm.tail_pvalue(9, 2.0)), 6) == 0.000237
    assert round(float(alarm.tail_pvalue(8, 2.0)), 6) == 0.001097  # not below 0.001
    assert alarm.tail_critical(2.0, 0.001) == 9
    assert alarm.tail_critical(20.0, 0.001) == 36
    assert poisson_sf_by_hand(36, 20.0) < 0.001 <= poisson_sf_by_hand(35, 20.0)


def test_it_names_the_test_that_alarms():
    # a high h: only the tail test can alarm; 9 failures against 2 expected
    result = alarm.monitor([2, 9, 2], 2.0, 50.0)
    assert result["alarms"] == [(1, "tail")]
    k = 2 / LN2
    assert list(result["S"]) == pytest.approx([0.0, 9 - k, 0.0])  # S of the alarm month, then from 0 again
    assert alarm.monitor([2, 9, 2], 2.0, 50.0, reset=False)["S"][2] == pytest.approx(9 - k + 2 - k)
    # h = 4.5: the CUSUM alarms on 9 too (9 - k = 6.11 > 4.5)
    assert alarm.monitor([2, 9, 2], 2.0, 4.5)["alarms"] == [(1, "both")]
    assert alarm.monitor([1, 4, 6, 3, 5, 0], 2.0, 4.5)["alarms"] == [(4, "cusum")]
    assert alarm.monitor([1, 4, 6, 3, 5, 0], 2.0, 4.5, alpha=None)["alarms"] == [(4, "cusum")]


def test_it_computes_a_run_length_exactly_where_it_is_geometric():
    # h = 0.01 at mu0 = 2: any month with 3 or more failures (3 - k = 0.11) alarms, 2 or fewer leave S at 0,
    # so the run length is geometric: ARL = 1 / P(X >= 3 | 2)
    p = poisson_sf_by_hand(3, 2.0)
    assert alarm.arl_exact(2.0, 0.01, alpha=None) == pytest.approx(1 / p, rel=1e-9)
    assert alarm.arl_exact(2.0, 0.01, 4.0, alpha=None) == pytest.approx(1 / poisson_sf_by_hand(3, 4.0), rel=1e-9)


def test_it_reaches_the_baseline_of_issue_20_exactly():
    # plain Poisson CUSUM, mu0 = 2, h = 4.5: ARL in control >= 150, 2x caught in <= 4.9(3), 3x in <= 2.3
    assert alarm.arl_exact(2.0, 4.5, alpha=None) == pytest.approx(DOC_ARL0, abs=0.05)
    assert alarm.arl_exact(2.0, 4.5, 4.0, alpha=None) == pytest.approx(DOC_DELAY_2X, abs=0.005)
    assert alarm.arl_exact(2.0, 4.5, 6.0, alpha=None) == pytest.approx(DOC_DELAY_3X, abs=0.005)
    # a finer grid for k moves them by less than 0.1 %
    assert alarm.arl_exact(2.0, 4.5, alpha=None, grid=400) == pytest.approx(DOC_ARL0, rel=1e-3)


@pytest.mark.parametrize(("mu0", "h", "shift", "alpha"), [
    (2.0, 4.5, 1.0, None),
    (2.0, 4.5, 2.0, alarm.ALPHA),
    (0.5, 3.84, 1.0, alarm.ALPHA),
    (20.0, 3.15, 1.0, alarm.ALPHA),
    (20.0, 8.0, 1.0, alarm.ALPHA),  # a high h: the tail test alarms on its own here
])
def test_it_agrees_with_simulation(mu0, h, shift, alpha):
    exact = alarm.arl_exact(mu0, h, mu0 * shift, alpha=alpha)
    lengths = alarm.run_lengths_simulated(mu0, h, mu0 * shift, alpha=alpha, runs=4000, seed=7)
    se = lengths.std(ddof=1) / math.sqrt(len(lengths))
    assert abs(lengths.mean() - exact) < 4 * se + 1e-9


def test_it_counts_the_tail_test_in_the_exact_chain():
    # mu0 = 20, h = 8: from S = 0 a month of 36 failures (P(X >= 36 | 20) < 0.001) alarms by the tail test while the
    # CUSUM stays below h (36 - 28.85 = 7.15), so the combined ARL is below the CUSUM's alone
    assert alarm.arl_exact(20.0, 8.0) < alarm.arl_exact(20.0, 8.0, alpha=None)


def test_it_computes_ours_with_the_head_start():
    assert alarm.h_for_arl(2.0, 150, head_start=alarm.HEAD_START) == OURS_H
    assert alarm.arl_exact(2.0, OURS_H, head_start=0.5) == pytest.approx(DOC_OURS_ARL0, abs=0.05)
    assert alarm.arl_exact(2.0, OURS_H, 4.0, head_start=0.5) == pytest.approx(DOC_OURS_DELAY_2X, abs=0.005)
    assert alarm.arl_exact(2.0, OURS_H, 6.0, head_start=0.5) == pytest.approx(DOC_OURS_DELAY_3X, abs=0.005)
    assert alarm.arl_exact(2.0, OURS_H, 4.0) == pytest.approx(DOC_OURS_DELAY_2X_FROM_0, abs=0.005)
    # faster than the baseline where the defect is there from the start, at no lower in-control ARL
    assert DOC_OURS_ARL0 >= DOC_ARL0 and DOC_OURS_DELAY_2X < DOC_DELAY_2X and DOC_OURS_DELAY_3X < DOC_DELAY_3X
    # S starts at 2.27 (h / 2 on the grid, rounded down) and restarts there after an alarm
    s_values, alarms = alarm.cusum([6, 0], 2.0, OURS_H, head_start=0.5, grid=alarm.GRID)
    assert alarms == [0] and s_values[0] == pytest.approx(2.27 + 6 - 2.89)
    assert s_values[1] == 0.0  # 2.27 + 0 - 2.89 < 0
    lengths = alarm.run_lengths_simulated(2.0, OURS_H, 4.0, head_start=0.5, runs=4000, seed=8)
    assert abs(lengths.mean() - DOC_OURS_DELAY_2X) < 4 * lengths.std(ddof=1) / math.sqrt(4000)


def test_it_chooses_h_for_the_target_run_length():
    h = alarm.h_for_arl(2.0, 150)
    assert alarm.arl_exact(2.0, h) >= 150
    assert alarm.arl_exact(2.0, h - 1 / alarm.GRID) < 150
    assert h == pytest.approx(4.44)  # S moves in steps of 1 and k: every h in [4.44, 4.5] is the same chain


def family_histories(rng, *, histories, families, months, mu0, defect_family=None, defect_from=None, factor=2.0):
    """Monthly failures (histories x families x months), Poisson(mu0); from month `defect_from` (an index) the
    failures of `defect_family` are Poisson(factor * mu0): a batch defect from that build month on."""
    mu = np.full((histories, families, months), mu0)
    if defect_family is not None:
        mu[:, defect_family, defect_from:] *= factor
    return rng.poisson(mu)


@pytest.mark.parametrize(("h", "head_start", "documented"), [(4.5, 0.0, DOC_DELAY_2X),
                                                           (OURS_H, 0.5, DOC_OURS_DELAY_2X_FROM_0)])
def test_it_catches_an_injected_doubling_within_the_documented_delay(h, head_start, documented):
    # seven families, 2 expected failures a month each; the front shock absorbers (family 5) double from build month
    # 25 (index 24) on; 200 histories of 5 years, seed 20
    rng = np.random.default_rng(20)
    x = family_histories(rng, histories=200, families=7, months=60, mu0=2.0, defect_family=5, defect_from=24)
    delays = []
    for history in x:
        result = alarm.monitor(history[5], 2.0, h, head_start=head_start, grid=alarm.GRID)
        alarms = [t for t, _ in result["alarms"] if t >= 24]
        assert alarms, "the defect must alarm within the 3 years after it starts"
        delays.append(alarms[0] - 24 + 1)  # the alarm month counted, as the run lengths are
    # documented: the delay from S = 0; S at the defect's start is >= 0, so on average no later (slack 0.5)
    assert np.mean(delays) <= documented + 0.5
    assert np.mean(delays) >= 2.0  # and not an artefact: a doubling is not seen at once
    assert np.median(delays) <= 5


def test_it_catches_a_doubling_of_a_new_build_month_within_the_documented_delay_with_ours():
    # ours on the series of one build month's vehicles, defective from their first month in service (S starts at
    # h / 2): 200 histories, seed 22
    rng = np.random.default_rng(22)
    x = family_histories(rng, histories=200, families=1, months=36, mu0=2.0, defect_family=0, defect_from=0)
    delays = []
    for history in x:
        alarms = alarm.monitor(history[0], 2.0, OURS_H, head_start=0.5, grid=alarm.GRID)["alarms"]
        delays.append(alarms[0][0] + 1)
    assert np.mean(delays) <= DOC_OURS_DELAY_2X + 0.5
    # the baseline on the same histories is slower
    base = [alarm.monitor(history[0], 2.0, 4.5, alpha=None)["alarms"][0][0] + 1 for history in x]
    assert np.mean(base) > np.mean(delays)


@pytest.mark.parametrize(("h", "head_start", "expected"), [(4.5, 0.0, 12 / DOC_ARL0),
                                                         (OURS_H, 0.5, 12 / DOC_OURS_ARL0)])
def test_it_does_not_alarm_more_often_than_documented_without_a_defect(h, head_start, expected):
    # 200 histories x 7 families x 10 years, seed 21: false alarms per family and year
    rng = np.random.default_rng(21)
    x = family_histories(rng, histories=200, families=7, months=120, mu0=2.0)
    alarms = sum(len(alarm.monitor(series, 2.0, h, head_start=head_start, grid=alarm.GRID)["alarms"])
                 for history in x for series in history)
    per_family_year = alarms / (200 * 7 * 10)
    assert per_family_year <= DOC_FALSE_ALARMS_PER_FAMILY_YEAR
    assert per_family_year >= 0.6 * expected  # and the alarm is not switched off (expected about 0.08)


def test_it_prints_the_operating_characteristics():
    out = io.StringIO()
    call_command("quality_alarm_oc", "--runs", "500", "--seed", "3", stdout=out)
    lines = out.getvalue().splitlines()
    assert "500 runs, seed 3" in lines[0]
    rows = [line.split() for line in lines[3:]]
    assert len(rows) == 18  # 3 designs x 2 volumes x 3 rises
    baseline = {row[4]: float(row[5]) for row in rows if row[0] == "CUSUM" and row[1] == "2"}
    assert baseline == {"1x": 150.71, "2x": 4.93, "3x": 2.25}
    ours = {row[6]: float(row[7]) for row in rows if row[0] == "ours" and row[3] == "2"}
    assert ours == {"1x": 154.13, "2x": 3.45, "3x": 1.63}
    large = [row for row in rows if row[:3] == ["CUSUM", "+", "tail"] and row[3] == "20"]
    assert len(large) == 3 and float(large[0][-4]) >= 150


@pytest.mark.parametrize("args", [["--runs", "5"], ["--mu0", "0"], ["--mu0", "-2"], ["--h", "0"],
                                  ["--alpha", "1.5"], ["--large-mu0", "9999"], ["--seed", "-1"],
                                  ["--mu0", "nan"], ["--h", "inf"], ["--runs", "1e3"]])
def test_it_refuses_bad_arguments(args):
    # the message names the argument (no traceback: a negative seed reached numpy's generator before)
    with pytest.raises(CommandError, match=args[0]):
        call_command("quality_alarm_oc", *args, stdout=io.StringIO())
