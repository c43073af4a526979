"""The batch-defect alarm's operating characteristics (docs/quality.md, "Operating characteristics"): the average
run length in control and the detection delay after a 2x and a 3x rise, exact (Markov chain) and simulated, for the
baseline (plain Poisson CUSUM at the given h), CUSUM + tail test, and ours (CUSUM + tail test with S starting at
h / 2), h chosen for an in-control ARL >= 150, at the given volume and at a large group's. "from 0": the delay of a
rise that starts mid-series, after S has fallen back to 0.

    manage.py quality_alarm_oc [--mu0 2 --h 4.5 --runs 10000 --seed 1]
"""

from django.core.management.base import BaseCommand, CommandError

from aftercare.quality.alarm import ALPHA, ARL0_TARGET, oc_table


class Command(BaseCommand):
    help = "Print the batch-defect alarm's average run lengths (exact and simulated), baseline and ours."

    def add_arguments(self, parser):
        parser.add_argument("--mu0", type=float, default=2.0, help="Expected failures a month per family (2)")
        parser.add_argument("--h", type=float, default=4.5, help="The baseline CUSUM's decision limit (4.5)")
        parser.add_argument("--large-mu0", type=float, default=20.0, help="A large group's volume (20)")
        parser.add_argument("--alpha", type=float, default=ALPHA, help=f"The tail test's level ({ALPHA})")
        parser.add_argument("--runs", type=int, default=10_000, help="Simulated runs per cell (10000)")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (1)")

    def handle(self, *args, **opts):
        for name in ("mu0", "large_mu0"):
            if not 0 < opts[name] <= 500:
                raise CommandError(f"--{name.replace('_', '-')} must be above 0 and at most 500")
        if not 0 < opts["h"] <= 50:
            raise CommandError("--h must be above 0 and at most 50")
        if not 0 < opts["alpha"] < 1:
            raise CommandError("--alpha must be between 0 and 1")
        if not 100 <= opts["runs"] <= 1_000_000:
            raise CommandError("--runs must be between 100 and 1000000")
        if opts["seed"] < 0:
            raise CommandError("--seed must be 0 or more")  # numpy's generator refuses a negative seed
        rows = oc_table(opts["mu0"], opts["h"], runs=opts["runs"], seed=opts["seed"], large_mu0=opts["large_mu0"],
                        alpha=opts["alpha"])
        self.stdout.write(f"Average run length in months (rise 1x: in control, target >= {ARL0_TARGET:g}; 2x, 3x: "
                          f"detection delay) from S = S0; simulated: {opts['runs']} runs, seed {opts['seed']}")
        header = (f"{'design':<14}{'mu0':>6}{'h':>7}{'S0':>6}{'rise':>6}{'exact':>10}{'simulated':>11}{'± se':>8}"
                  f"{'from 0':>9}")
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in rows:
            self.stdout.write(f"{row.label:<14}{row.mu0:>6g}{row.h:>7.2f}{row.head_start * row.h:>6.2f}{row.shift:>5g}x"
                              f"{row.exact:>10.2f}{row.simulated:>11.2f}{row.simulated_se:>8.2f}"
                              f"{row.exact_from_zero:>9.2f}")
