"""The churn-risk model's backtest on simulated histories that follow the demo's hidden churn process
(`aftercare/care/churnsim.py`): per seed, train on the months before a split and test on the 6 months after.

    manage.py churn_backtest                       # 5 seeds, 3,000 customers each
    manage.py churn_backtest --seeds 2 --customers 1000

Pass (issue 18): mean AUC >= 0.80 and at least 0.03 above the rule "days since the last visit".
The demo app's `demo_churn_backtest` subclasses this command to run the same backtest on the demo generator's own
history (`backtest` is the one method it replaces).
"""

from django.core.management.base import BaseCommand, CommandError

from aftercare.care.churnsim import backtest

PASS_AUC, PASS_GAIN = 0.80, 0.03


class Command(BaseCommand):
    help = "Backtest the churn-risk model on simulated histories of the hidden churn process (AUC vs the rule)."

    def add_arguments(self, parser):
        parser.add_argument("--seeds", type=int, default=5, help="Number of generator seeds (0, 1, …)")
        parser.add_argument("--first-seed", type=int, default=0)
        parser.add_argument("--customers", type=int, default=3000, help="Customers per simulated history")

    def backtest(self, seed: int, opts: dict) -> dict:
        """One seed's backtest (a `churnsim.backtest_history` result)."""
        return backtest(seed=seed, customers=opts["customers"])

    def handle(self, *args, **opts):
        if opts["seeds"] < 1 or opts["customers"] < 200:
            raise CommandError("--seeds must be at least 1 and --customers at least 200")
        self.stdout.write(f"{'seed':>4} {'train':>7} {'test':>6} {'lost':>6} {'AUC model':>9} {'AUC rule':>9} "
                          f"{'gain':>6}")
        results = []
        for seed in range(opts["first_seed"], opts["first_seed"] + opts["seeds"]):
            r = self.backtest(seed, opts)
            results.append(r)
            self.stdout.write(f"{seed:>4} {r['train_rows']:>7} {r['test_rows']:>6} {r['test_lost']:>6.1%} "
                              f"{r['auc_model']:>9.3f} {r['auc_rule']:>9.3f} {r['gain']:>+6.3f}")
        auc = sum(r["auc_model"] for r in results) / len(results)
        rule = sum(r["auc_rule"] for r in results) / len(results)
        gain = auc - rule
        ok = auc >= PASS_AUC and gain >= PASS_GAIN
        self.stdout.write(f"mean AUC {auc:.3f}, rule {rule:.3f}, gain {gain:+.3f}: "
                          f"{'PASS' if ok else 'FAIL'} (AUC >= {PASS_AUC}, gain >= {PASS_GAIN})")
