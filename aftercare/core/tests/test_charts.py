"""The chart helper (aftercare/core/charts.py): specs with data-scaled axes, clamped percentages, gaps, a dashed
target series and labels in the active language; `{% chart %}` writes a canvas and a JSON data block."""

import json
import re
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st

from aftercare.core.charts import Series, bar_chart, line_chart

MONTHS = ["2026-01", "2026-02", "2026-03"]


def test_it_scales_a_rate_axis_to_the_data_not_0_to_100():
    spec = line_chart("Rate", MONTHS, [Series("A", [92.3, Decimal("97.8"), 95])])
    assert spec["y"] == {"min": 90, "max": 100, "step": 2, "unit": "%"}
    assert spec["type"] == "line" and spec["labels"] == MONTHS and spec["empty"] is False
    assert spec["series"] == [{"label": "A", "values": [92.3, 97.8, 95.0], "unit": "%", "target": False}]


def test_it_scales_an_axis_of_counts_to_the_data():
    spec = line_chart("Calls", MONTHS, [Series("A", [1234, 1500, 1410])], y_unit="")
    assert (spec["y"]["min"], spec["y"]["max"]) == (1200, 1600)
    assert spec["y"]["min"] <= 1234 and spec["y"]["max"] >= 1500


def test_it_widens_a_flat_rate_to_a_few_points_inside_0_to_100():
    """Two rates 0.5 points apart do not fill the chart's height; the window stays within 0–100."""
    spec = line_chart("Rate", MONTHS, [Series("A", [99.5, 100, 100])])
    assert spec["y"]["max"] == 100 and 90 <= spec["y"]["min"] <= 95
    low = line_chart("Rate", MONTHS, [Series("A", [0, 1.2, 0.4])])
    assert low["y"]["min"] == 0 and 5 <= low["y"]["max"] <= 10


def test_it_clamps_percentages_to_0_100():
    spec = line_chart("Rate", MONTHS, [Series("A", [-3, 104.5, 50])])
    assert spec["series"][0]["values"] == [0.0, 100.0, 50.0]
    assert (spec["y"]["min"], spec["y"]["max"]) == (0, 100)


@given(st.lists(st.one_of(st.none(), st.floats(-50, 150), st.decimals(-50, 150, places=2)), min_size=1, max_size=12))
def test_it_keeps_every_rate_axis_within_0_100_around_its_values(values):
    spec = line_chart("Rate", [str(i) for i in range(len(values))], [Series("A", values)])
    y = spec["y"]
    assert 0 <= y["min"] < y["max"] <= 100 and y["step"] > 0
    assert all(y["min"] <= v <= y["max"] for v in spec["series"][0]["values"] if v is not None)


def test_it_leaves_gaps_where_a_value_is_missing():
    spec = line_chart("Rate", MONTHS, [Series("A", [None, 96, float("nan")])])
    assert spec["series"][0]["values"] == [None, 96.0, None]
    empty = line_chart("Rate", MONTHS, [Series("A", [None, None, None])])
    assert empty["empty"] is True and empty["y"] == {"min": 0, "max": 100, "step": 20, "unit": "%"}
    assert line_chart("Rate", MONTHS, [])["empty"] is True


def test_it_draws_the_target_as_a_series_across_the_chart_and_on_the_axis():
    spec = line_chart("Rate", MONTHS, [Series("A", [80, 82, None])], target=95)
    target = spec["series"][-1]
    assert target == {"label": "target 95 %", "values": [95.0, 95.0, 95.0], "unit": "%", "target": True}
    assert spec["y"]["min"] <= 80 and spec["y"]["max"] >= 95
    named = line_chart("Rate", MONTHS, [Series("A", [1, 2, 3])], target=2, target_label="plan", y_unit="")
    assert named["series"][-1]["label"] == "plan"
    assert "target" not in {s["label"] for s in line_chart("Rate", MONTHS, [Series("A", [1, 2, 3])])["series"]}


def test_it_starts_a_bar_charts_axis_at_zero():
    spec = bar_chart("Forms", MONTHS, [Series("A", [30, 45, 38]), Series("B", [12, 0, 5])], target=40)
    assert spec["type"] == "bar" and spec["y"]["min"] == 0 and spec["y"]["max"] >= 45
    assert spec["series"][-1]["target"] is True and spec["series"][-1]["label"] == "target 40"


def test_it_refuses_a_series_of_another_length():
    with pytest.raises(ValueError, match="2 values for 3 x labels"):
        line_chart("Rate", MONTHS, [Series("A", [1, 2])])


def test_it_gives_the_labels_in_chinese_in_the_chinese_ui():
    with translation.override("zh-hans"):
        spec = line_chart(
            gettext_lazy("Return-visit rate"), MONTHS, [Series(gettext_lazy("Rate"), [96, 97, 98])], target=95
        )
    assert spec["title"] == "回访率"
    assert [s["label"] for s in spec["series"]] == ["比率", "目标 95 %"]
    json.dumps(spec)  # lazy strings were forced: the spec is plain JSON
    with translation.override("en"):
        assert line_chart(gettext_lazy("Return-visit rate"), [], [])["title"] == "Return-visit rate"


def test_it_renders_a_canvas_and_the_spec_as_a_data_block_not_a_script():
    spec = line_chart("Rate </script><b>x", MONTHS, [Series("店 A", [96, None, 98])], target=95)
    html = Template('{% load charts %}{% chart spec id="rate-chart" %}{% chart_scripts %}').render(
        Context({"spec": spec})
    )
    assert '<figure class="chart mb-2" data-chart id="rate-chart">' in html and "<canvas" in html
    block = re.search(r'<script type="application/json">(.*?)</script>', html, re.S)
    assert json.loads(block.group(1)) == spec  # escaped: the title cannot close the block
    assert "<b>x" not in html
    assert re.findall(r'<script src="([^"]+)"', html) == [
        "/static/core/vendor/chartjs/chart.umd.min.js",
        "/static/core/charts.js",
    ]


def test_it_says_so_instead_of_drawing_an_empty_chart():
    spec = line_chart("Rate", MONTHS, [Series("A", [None, None, None])])
    html = Template("{% load charts %}{% chart spec %}").render(Context({"spec": spec}))
    assert "No data to chart yet." in html and "<canvas" not in html and "application/json" not in html
