"""`python -m bench load` (bench/loadbench.py): the open-loop schedule, latency measured from the arrival time (no
coordinated omission), closed-loop clients, the summary, and one short run end to end through gunicorn."""

import argparse
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench import loadbench

ROOT = Path(__file__).resolve().parent.parent


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn answers
    delay = 0.1

    def do_GET(self):  # noqa: N802 (http.server's name)
        time.sleep(self.delay)
        body = b"ok" if self.path != "/fail/" else b"no"
        self.send_response(200 if self.path != "/fail/" else 500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_server():
    """A server that answers one request at a time, each after 0.1 s."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _SlowHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _pages() -> loadbench.Pages:
    return loadbench.Pages({"gz_cs": "sessionid=x", "gz_csm": "sessionid=y"}, customers=[1, 2, 3])


def test_it_draws_each_users_requests_with_exponential_gaps_at_the_asked_rate():
    schedule = loadbench.arrivals(users=30, think=3.0, duration=600, pages=["queue", "complaints"])
    assert [t for t, _ in schedule] == sorted(t for t, _ in schedule)
    assert all(0 <= t < 600 for t, _ in schedule)
    assert 5400 < len(schedule) < 6600  # 30 users / 3 s = 10 a second, 6,000 in 600 s
    assert {p for _, p in schedule} == {"queue", "complaints"}
    assert loadbench.arrivals(users=30, think=3.0, duration=600, pages=["queue"], seed=11) == loadbench.arrivals(
        users=30, think=3.0, duration=600, pages=["queue"], seed=11
    )


def test_it_times_an_open_loop_request_from_its_arrival_not_from_when_a_connection_was_free(slow_server, monkeypatch):
    """Ten requests due at once on one connection to a server taking 0.1 s each: the last waited ~1 s. A generator
    that timed from the moment it sent would report 0.1 s for all of them (coordinated omission)."""
    monkeypatch.setattr(loadbench.Pages, "request", lambda self, page: ("/", "sessionid=x"))
    samples = loadbench.open_loop(slow_server, _pages(), [(0.0, "queue")] * 10, connections=1)
    latencies = sorted(samples["queue"].latencies)
    assert len(latencies) == 10 and samples["queue"].errors == 0
    assert latencies[0] < 0.5
    assert latencies[-1] > 0.9


def test_it_runs_closed_loop_clients_for_the_duration_and_counts_errors(slow_server, monkeypatch):
    monkeypatch.setattr(loadbench.Pages, "request", lambda self, page: ("/fail/", "sessionid=x"))
    samples = loadbench.closed_loop(slow_server, _pages(), "queue", clients=1, duration=0.5)
    assert 3 <= len(samples.latencies) <= 7  # one at a time, 0.1 s each
    assert samples.errors == len(samples.latencies)  # a 500 is an error
    assert all(x >= 0.09 for x in samples.latencies)


def test_it_counts_a_refused_connection_as_an_error():
    client = loadbench.Client(loadbench._free_port())
    assert client.get("/", "sessionid=x") == 0


def test_it_summarises_rate_percentiles_errors_and_cpu_per_request():
    samples = loadbench.Samples([i / 1000 for i in range(1, 101)], errors=2)
    s = loadbench.summary(samples, seconds=10.0, cpu=0.5)
    assert s["requests"] == 100 and s["req_s"] == 10.0 and s["errors"] == 2
    assert s["p50_ms"] == pytest.approx(50.5) and s["p95_ms"] == pytest.approx(96.0)
    assert s["cpu_ms_per_req"] == pytest.approx(5.0) and s["db_cpu_ms_per_req"] is None
    assert "-" in loadbench._row("x", loadbench.summary(loadbench.Samples(), seconds=1.0))


def test_it_refuses_unknown_pages_and_a_non_postgresql_url():
    assert loadbench.run(_args(pages="queue,nope")) == 2
    assert loadbench.run(_args(database_url="mysql://x/y")) == 2


def _args(**kw) -> argparse.Namespace:
    defaults = dict(database_url="", database="aftercare_loadbench", customers=100_000, demo_customers=2000,
                    keep=False, reuse=False, sqlite="", mode="both", duration=1.0, pages="queue", workers=1,
                    max_clients=1, users=2, think=1.0, password="demo1234", plain_static=True, json=False)
    return argparse.Namespace(**(defaults | kw))


@pytest.mark.slow
@pytest.mark.once  # its own SQLite database, whatever the suite runs on
def test_it_runs_end_to_end_on_a_small_sqlite_demo():
    """Seeds a small demo into SQLite, starts gunicorn, logs in and loads the queue page for 2 s each way."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG", "DJANGO_SETTINGS_MODULE")}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "load", "--duration", "2", "--pages", "queue,customer360", "--max-clients",
         "2", "--users", "4", "--think", "0.3", "--demo-customers", "150", "--workers", "1", "--plain-static"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "queue, 1 closed-loop" in out and "customer360, 1 closed-loop" in out
    assert "queue, 4 users open loop" in out and "all pages, 4 users" in out
    row = next(line for line in out.splitlines() if line.startswith("queue, 1 closed-loop")).split()
    assert int(row[3].replace(",", "")) > 0  # requests answered
    assert row[-3] == "0"  # errors
