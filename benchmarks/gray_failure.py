"""Gray failure: one instance of four answers 200 ms late; p99 per balancer setup, against no slow instance.

The same traffic (16 users, 20 ms think time, closed loop) goes through a fresh
stateless cluster of four instances per setup; once everyone has logged in,
shop-2 slows down by 200 ms (its health check stays green). After a warm-up
the next actions are measured: how many the slow instance served, and the p50
and p99 the users saw. The first row has no slow instance, as the yardstick:
the last column is each setup's p99 over it. Setups: round robin, least
connections, round robin with outlier ejection (Envoy-like defaults), and
round robin with a 50 ms request timeout and retries of timed-out requests
within a 20 % retry budget. These are measurements, not tests: they vary from
run to run and with how busy the machine is. Run from the repository root:

    .venv/bin/python benchmarks/gray_failure.py            # about a minute
    .venv/bin/python benchmarks/gray_failure.py --quick    # a few seconds, same code path
"""

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))   # run from anywhere

from labsupport.engine import text_table  # noqa: E402
from labsupport.labs import Setup, slow_instance_experiment  # noqa: E402

SLOW_MS = 200
SEED = 7
SETUPS = (
    Setup("round robin", "round_robin"),
    Setup("least connections", "least_connections"),
    Setup("round robin + outlier ejection", "round_robin", {"outlier_ejection": True}),
    Setup("round robin + 50 ms timeout, retries", "round_robin",
          {"request_timeout_s": 0.05, "retry_timeouts": True, "retry_budget": 0.2}),
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a few seconds in all)")
    args = parser.parse_args(argv)
    users, actions, warmup_s = (8, 60, 0.3) if args.quick else (16, 1500, 1.0)
    started = time.perf_counter()
    options = {"instances": 4, "workers": 8, "users": users, "think_ms": 20, "warmup_s": warmup_s, "actions": actions,
               "seed": SEED}
    baseline = slow_instance_experiment(setups=SETUPS[:1], slow_ms=0, **options).runs[0]
    gray = slow_instance_experiment(setups=SETUPS, slow_ms=SLOW_MS, **options)
    yardstick = baseline.latency_ms(99)
    rows = [["no slow instance (round robin)", baseline.actions, "-", "-", f"{baseline.latency_ms(50):.1f}",
             f"{yardstick:.1f}", "1.0"]]
    for run in gray.runs:
        rows.append([run.setup.label, run.actions, run.slow_served, f"{run.slow_share:.1%}",
                     f"{run.latency_ms(50):.1f}", f"{run.latency_ms(99):.1f}",
                     f"{run.latency_ms(99) / yardstick:.1f}"])
    print(f"shop-2 of 4 instances slowed by {SLOW_MS} ms; {users} users; {actions} actions measured per setup; "
          f"seed {SEED}")
    print(text_table(("balancer", "actions", "served by slow", "share", "p50 ms", "p99 ms", "p99 / no slow"), rows))
    print(f"worst tail: {gray.worst_tail()}; wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
