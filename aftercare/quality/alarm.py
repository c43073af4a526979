"""The batch-defect alarm's statistic (issue 20, docs/quality.md "The batch-defect alarm"): pure functions on arrays.

One series is one part family x build month (x supplier batch where known): `x[t]` the failures observed in month t,
`mu0[t]` the failures expected in that month from the vehicles at risk and the baseline rate by months in service.
Two tests watch it, and either alarms:

* a one-sided Poisson CUSUM tuned to a doubling: k_t = (mu1 - mu0) / ln(mu1 / mu0) with mu1 = 2 mu0,
  S_t = max(0, S_{t-1} + x_t - k_t), alarm when S_t > h (a slow, lasting rise);
* an exact Poisson upper-tail test: P(X >= x_t | mu0_t) < alpha (a sudden jump in one month).

The operating characteristics (average run length in control, detection delay after a 2x or 3x rise) are computed
exactly by a Markov chain on S (Brook & Evans 1972) and checked by simulation (`oc_table`). For the exact chain k
is put on a grid of 1/GRID of a failure (k = 2.885 -> 2.89 at GRID = 100), and the simulation and `cusum` with
`grid=GRID` use the same k, so all three agree exactly; the grid moves k by at most 1/(2 GRID).
"""

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats
from scipy.sparse import linalg as sparse_linalg

GRID = 100  # S is kept in 1/GRID failures for the exact chain
ALPHA = 0.001  # the tail test's level (one false jump alarm in 1000 months per family at most)
ARL0_TARGET = 150.0  # in-control average run length to reach, months per family (issue 20)
H_MAX = 64  # h_for_arl looks no further (the exact chain has 64 x GRID states there)
HEAD_START = 0.5  # ours: S starts (and restarts after an alarm) at h / 2 (fast initial response)


def reference_value(mu0, factor=2.0):
    """k of the Poisson CUSUM tuned to detect mu1 = factor * mu0 (the likelihood-ratio optimum, Lucas 1985)."""
    mu0 = np.asarray(mu0, dtype=float)
    return mu0 * (factor - 1.0) / math.log(factor)


def _on_grid(value, grid):
    return np.round(np.asarray(value, dtype=float) * grid) / grid if grid else np.asarray(value, dtype=float)


def _start(h, head_start, grid):
    """S at the start (and after an alarm): `head_start` x h, on the grid (down) when there is one."""
    if not head_start:
        return 0.0
    return math.floor(head_start * h * grid + 1e-9) / grid if grid else head_start * h


def cusum(x, mu0, h, *, factor=2.0, reset=True, grid=None, head_start=0.0):
    """The upper Poisson CUSUM of the series `x` against the expected `mu0` (a scalar or one value a month).

    Returns (S, alarms): S after each month, and the indices of the months that alarm (S > h). With `reset` S starts
    again after an alarm (the alarm was looked into); without, it runs on. `grid` rounds k to 1/grid. `head_start`:
    S starts (and restarts) at head_start x h instead of 0, the fast initial response of Lucas & Crosier (1982)."""
    result = monitor(x, mu0, h, alpha=None, factor=factor, reset=reset, grid=grid, head_start=head_start)
    return result["S"], [t for t, _ in result["alarms"]]


def tail_pvalue(x, mu0):
    """P(X >= x | Poisson(mu0)), exact: the chance of at least this many failures in a month if nothing is wrong."""
    x = np.asarray(x, dtype=float)
    return stats.poisson.sf(x - 1, mu0)


@functools.lru_cache(maxsize=4096)  # the h search asks it for the same mu0 and alpha at every step
def tail_critical(mu0, alpha=ALPHA):
    """The smallest count c with P(X >= c | mu0) < alpha: the tail test alarms on x >= c."""
    c = int(stats.poisson.ppf(1 - alpha, mu0))
    while stats.poisson.sf(c - 1, mu0) >= alpha:
        c += 1
    while c > 0 and stats.poisson.sf(c - 2, mu0) < alpha:
        c -= 1
    return c


def monitor(x, mu0, h, *, alpha=ALPHA, factor=2.0, reset=True, grid=None, head_start=0.0):
    """Both tests on one series. Returns a dict: S, the tail p-values, and `alarms`: (month index, reason) with
    reason "cusum", "tail" or "both". An alarm of either test resets S (with `reset`); `head_start` as in `cusum`."""
    x = np.asarray(x, dtype=float)
    mu0 = np.broadcast_to(np.asarray(mu0, dtype=float), x.shape)
    k = _on_grid(reference_value(mu0, factor), grid)
    p = tail_pvalue(x, mu0)
    s_values = np.empty_like(x)
    alarms = []
    s = start = _start(h, head_start, grid)
    for t in range(len(x)):
        s = max(0.0, s + x[t] - k[t])
        s_values[t] = s
        by_cusum, by_tail = s > h + 1e-9, (alpha is not None and p[t] < alpha)
        if by_cusum or by_tail:
            alarms.append((t, "both" if by_cusum and by_tail else "cusum" if by_cusum else "tail"))
            if reset:
                s = start
    return {"S": s_values, "p": p, "alarms": alarms}


# ---- operating characteristics ----


def _integer_design(mu0, h, *, alpha, factor, grid):
    """h and k in 1/grid failures (H = floor(h grid), K = k rounded to the grid) and the tail test's critical count
    c (None without it): what the exact chain and the simulation both run on."""
    big_h = int(math.floor(h * grid + 1e-9))
    big_k = int(round(float(reference_value(mu0, factor)) * grid))
    return big_h, big_k, (tail_critical(float(mu0), float(alpha)) if alpha is not None else None)


def _chain(mu0, h, mu, *, alpha, factor, grid):
    """The substochastic transition matrix Q of S, sparse (in 1/grid failures, states 0..H = floor(h grid)) while the
    failures are Poisson(mu); the mass that leaves Q is the alarm."""
    big_h, big_k, c = _integer_design(mu0, h, alpha=alpha, factor=factor, grid=grid)
    n = big_h + 1
    states = np.arange(n)
    x_max = (big_h + big_k) // grid + 1  # more failures than this always alarm
    if c is not None:
        x_max = min(x_max, c - 1)  # c or more: the tail test alarms
    pmf = stats.poisson.pmf(np.arange(x_max + 1), mu)
    rows, cols, values = [], [], []
    for x in range(x_max + 1):
        target = states + x * grid - big_k
        stay = target <= big_h
        rows.append(states[stay])
        cols.append(np.maximum(target[stay], 0))
        values.append(np.full(int(stay.sum()), pmf[x]))
    # sparse: a month's count moves S to one state per count (a few per row); duplicates are summed
    return sparse.csc_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


def arl_exact(mu0, h, mu=None, *, alpha=ALPHA, factor=2.0, grid=GRID, head_start=0.0):
    """Average run length (months until the first alarm, the alarm month counted) from S = head_start x h (default
    0) with failures Poisson(mu) (default mu0: in control), both tests, exact for k on the grid. alpha=None: the
    CUSUM alone."""
    q = _chain(mu0, h, mu0 if mu is None else mu, alpha=alpha, factor=factor, grid=grid)
    n = q.shape[0]
    lengths = np.atleast_1d(sparse_linalg.spsolve(sparse.identity(n, format="csc") - q, np.ones(n)))
    return float(lengths[int(round(_start(h, head_start, grid) * grid))])


def run_lengths_simulated(mu0, h, mu=None, *, alpha=ALPHA, factor=2.0, grid=GRID, runs=10_000, seed=1,
                          max_months=100_000, head_start=0.0):
    """Run lengths of `runs` independent series (fixed seed) with failures Poisson(mu), S = head_start x h at the
    start, the same integer arithmetic as the exact chain. Returns an int array."""
    rng = np.random.default_rng(seed)
    mu = mu0 if mu is None else mu
    big_h, big_k, c = _integer_design(mu0, h, alpha=alpha, factor=factor, grid=grid)
    s = np.full(runs, int(round(_start(h, head_start, grid) * grid)), dtype=np.int64)
    lengths = np.zeros(runs, dtype=np.int64)
    active = np.arange(runs)
    month = 0
    while len(active) and month < max_months:
        month += 1
        x = rng.poisson(mu, size=len(active))
        s_new = np.maximum(0, s[active] + x * grid - big_k)
        alarm = s_new > big_h
        if c is not None:
            alarm |= x >= c
        lengths[active[alarm]] = month
        s[active] = s_new
        active = active[~alarm]
    lengths[active] = max_months
    return lengths


def h_for_arl(mu0, target=ARL0_TARGET, *, alpha=ALPHA, factor=2.0, grid=GRID, head_start=0.0, h_max=H_MAX):
    """The smallest h (on the grid) whose in-control ARL is at least `target` (the ARL grows with h). ValueError when
    no h up to `h_max` does (the tail test alone alarms more often than that: its chain would outgrow the memory)."""
    def arl(h):
        return arl_exact(mu0, h, alpha=alpha, factor=factor, grid=grid, head_start=head_start)

    low, high = 0, grid
    while arl(high / grid) < target:
        if high >= h_max * grid:
            raise ValueError(f"no h up to {h_max} reaches an in-control run length of {target} at mu0 = {mu0}")
        low, high = high, min(high * 2, h_max * grid)
    while high - low > 1:
        mid = (low + high) // 2
        if arl(mid / grid) >= target:
            high = mid
        else:
            low = mid
    return high / grid


@dataclass(frozen=True)
class OCRow:
    label: str
    mu0: float
    h: float
    alpha: float | None
    head_start: float  # S at the start, a fraction of h
    shift: float  # 1 in control, 2 a doubling, 3 a tripling
    exact: float  # from the head start
    simulated: float
    simulated_se: float
    exact_from_zero: float  # from S = 0: a rise that starts mid-series, after S has fallen back to 0


def oc_rows(label, mu0, h, *, alpha, head_start=0.0, shifts=(1.0, 2.0, 3.0), runs=10_000, seed=1, grid=GRID):
    """Exact and simulated ARL of one design for each rise (1 = in control: the ARL; 2, 3: the detection delay)."""
    rows = []
    for i, shift in enumerate(shifts):
        exact = arl_exact(mu0, h, mu0 * shift, alpha=alpha, grid=grid, head_start=head_start)
        sim = run_lengths_simulated(mu0, h, mu0 * shift, alpha=alpha, grid=grid, runs=runs, seed=seed + i,
                                    head_start=head_start)
        se = float(sim.std(ddof=1) / math.sqrt(runs))
        from_zero = arl_exact(mu0, h, mu0 * shift, alpha=alpha, grid=grid) if head_start else exact
        rows.append(OCRow(label, mu0, h, alpha, head_start, shift, exact, float(sim.mean()), se, from_zero))
    return rows


def oc_table(mu0=2.0, h=4.5, *, runs=10_000, seed=1, large_mu0=20.0, alpha=ALPHA, target=ARL0_TARGET,
             head_start=HEAD_START):
    """The published comparison at mu0 and at a large group's volume `large_mu0`: the baseline (plain CUSUM, the given
    h; at the large volume h for `target`), CUSUM + tail test and ours (CUSUM + tail test with the head start), each
    with h chosen so the in-control ARL (from its start) is at least `target`."""
    rows = []
    for volume in (mu0, large_mu0):
        if volume is None:
            continue
        base_h = h if volume == mu0 else h_for_arl(volume, target, alpha=None)
        rows += oc_rows("CUSUM", volume, base_h, alpha=None, runs=runs, seed=seed)
        ours_h = h_for_arl(volume, target, alpha=alpha)
        rows += oc_rows("CUSUM + tail", volume, ours_h, alpha=alpha, runs=runs, seed=seed)
        fir_h = h_for_arl(volume, target, alpha=alpha, head_start=head_start)
        rows += oc_rows("ours (+ FIR)", volume, fir_h, alpha=alpha, head_start=head_start, runs=runs, seed=seed)
    return rows
