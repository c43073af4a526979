"""`python -m bench appointments` on a tiny data set: the month view finds free starts among the held slots, both
throughput runs book through `booking_create` (threads included, no error), and the report gives the ratios."""

import pytest
from django.db import connection

from bench import appointmentsbench

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL"),
]

@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_times_the_month_view_and_booking_throughput_and_reports_the_ratios():
    data = appointmentsbench.load_data(600)  # around today: the view and the bookings look ahead of now
    assert 550 <= data["bookings"] <= 650
    month = appointmentsbench.bench_month(data, 3)
    assert len(month["ours"]) == 3 and month["slots"] > 0 and month["free"] > 0
    seq = appointmentsbench.bench_booking(data, 8, 1, 1)
    par = appointmentsbench.bench_booking(data, 8, 4, 3)
    hand = appointmentsbench.bench_hand_insert(data, 8, 5)
    assert seq["made"] == 8 and par["made"] + par["taken"] == 8 and par["made"] >= 1 and hand["made"] == 8
    lines = []
    appointmentsbench.report(data, month, {"seq": seq, "par": par, "hand": hand}, out=lines.append)
    text = "\n".join(lines)
    assert "availability(...)" in text and "ratio (p95)" in text and "booking_create, 4 threads" in text
    assert "target: month view p95 under 50 ms" in text
