"""The complaint form measures drill down to their forms, first-time fix to its repair orders (docs/reports.md,
"Measures"): the list at each figure's numerator and denominator link shows exactly the rows the measure counts, of
that store and those months (the filters the measure counts with); another store's never."""

import datetime as dt
import re

import pytest
import time_machine

from aftercare.complaints.tests.test_measures import march, sh, store_b_march  # noqa: F401 (fixtures)
from aftercare.org.choices import Role
from aftercare.org.kpis import drill_for, measure_get

pytestmark = pytest.mark.django_db

CODES = ("complaints.timeliness", "complaints.verification_rate", "complaints.supervisor_handling",
         "complaints.first_call_handled", "complaints.first_time_fix_rate")


def _rows(html: str) -> int:
    body = html.split('id="drill-table"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return len(re.findall(r"<tr><td>(?!.*colspan)", body))


@pytest.mark.parametrize("start,end,until", [(dt.date(2026, 3, 1), dt.date(2026, 4, 1), ""),
                                             (dt.date(2026, 1, 1), dt.date(2026, 4, 1), "until=2026-04")])
def test_it_lists_exactly_the_forms_each_complaint_figure_counts(client, users, march, store_b_march, store_a,  # noqa: F811
                                                                  store_b, start, end, until):
    manager = users[Role.CS_MANAGER]
    client.force_login(manager)
    with time_machine.travel(sh(2026, 4, 20, 9), tick=False):
        for code in CODES:
            measure = measure_get(code)
            [value] = [v for v in measure.compute(user=manager, store_ids=None, period_start=start, period_end=end)
                       if v.store_id == store_a.pk]
            drill = drill_for(measure, store_id=store_a.pk, start=start, end=end)
            for url, expected in ((drill.numerator, value.numerator), (drill.denominator, value.denominator)):
                assert f"store={store_a.pk}" in url and until in url, url
                response = client.get(url)
                assert response.status_code == 200, url
                html = response.content.decode()
                assert _rows(html) == expected, (code, url)
                assert store_b.code not in html.split("<tbody>", 1)[1], url
            assert value.denominator > 0, code  # the seeded month has rows for every measure


@pytest.mark.parametrize("path,query", [
    ("/complaints/measures/rows/", {"measure": "timeliness", "counted": "numerator"}),
    ("/complaints/measures/orders/", {"counted": "repeated"}),
], ids=["forms", "repair-orders"])
def test_it_answers_another_stores_rows_with_404(client, users, march, store_b_march, store_b, path, query):  # noqa: F811
    client.force_login(users[Role.CS_MANAGER])
    response = client.get(path, {**query, "store": store_b.pk, "month": "2026-03"})
    assert response.status_code == 404


@pytest.mark.parametrize("url", [
    "rows/?measure=timeliness&counted=numerator&month=2026-03&until=2026-13",
    "rows/?measure=timeliness&counted=numerator&month=2026-03&until=2026-02",
    "rows/?measure=timeliness&counted=numerator&month=9999-12",
    "rows/?measure=everything&counted=numerator&month=2026-03",
    "rows/?measure=timeliness&counted=all&month=2026-03",
    "rows/?measure=timeliness&counted=numerator&month=2026-03&store=x",
    "orders/?counted=repeated&month=2026-03&until=2026-02",
    "orders/?counted=everything&month=2026-03",
    "orders/?counted=numerator&month=0000-01",
    "orders/?counted=numerator&month=2026-03&store=-1",
])
def test_it_refuses_a_bad_filter_with_a_named_error_never_a_500(client, users, url):
    client.force_login(users[Role.CS_MANAGER])
    response = client.get(f"/complaints/measures/{url}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()


@pytest.mark.parametrize("url,bound", [
    ("rows/?measure=timeliness&counted=denominator", 15),
    ("orders/?counted=denominator", 16),  # and the repeat repairs of the page's orders
], ids=["forms", "repair-orders"])
def test_it_lists_in_a_fixed_number_of_queries(client, users, march, store_b_march, store_a, url, bound):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(users[Role.CS_MANAGER])
    counts = []
    with time_machine.travel(sh(2026, 4, 20, 9), tick=False):
        for query in ("month=2026-03", "month=2026-01&until=2026-05"):
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(f"/complaints/measures/{url}&store={store_a.pk}&{query}")
                assert response.status_code == 200
            counts.append(len(ctx))
    assert counts[0] == counts[1] and counts[0] <= bound, counts


def test_it_lists_the_repeated_repair_orders_with_their_repeat(client, users, march, store_b_march, store_a):  # noqa: F811
    client.force_login(users[Role.CS_MANAGER])
    with time_machine.travel(sh(2026, 4, 20, 9), tick=False):
        response = client.get("/complaints/measures/orders/", {"counted": "repeated", "store": store_a.pk,
                                                               "month": "2026-03"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    body = html.split("<tbody>", 1)[1]
    assert _rows(html) == 1
    # A (mechanical, 2 March) was repeated by B (warranty claim, 10 March) for the same fault
    assert "<td>A</td>" in body and "B · 2026-03-10" in body and "发动机异响" in body
