"""`python -m bench today`: the per-role table marks a p95 at or above the 150 ms bound, and the bench times the
start page of the demo users of every role (docs/benchmarks.md, "Start page per role")."""

from bench.todaybench import BOUND_MS, _table


def test_it_marks_a_role_whose_p95_passes_the_bound():
    fast = [0.010] * 200
    slow = [0.010] * 180 + [BOUND_MS / 1000 + 0.001] * 20
    lines = _table([("cs_specialist", "fs_cs", "14/14", fast), ("store_manager", "fs_manager", "35/15", slow)])
    rows = lines.splitlines()
    assert rows[1].endswith("yes") and rows[2].endswith("NO")
    assert " 10.0 " in rows[1]
