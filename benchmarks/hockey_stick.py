"""The hockey stick at 50, 80 and 95 % busy: a live instance, the simulation and the formula.

One real instance (4 workers, 20 ms per request) gets open-loop Poisson
traffic at each utilisation for a while, and reports how long requests
waited in its queue (measured inside the server, from arrival to admission
by a worker). Beside it: ``simulate_queue`` replaying the very same
arrivals, the same simulation over a long run (a million requests), and the
M/D/c formula (Cosmetatos). The last column is the live mean over the
formula: how close a run of this length gets to the long-run average. These
are measurements, not tests: they vary from run to run and with how busy
the machine is. Run from the repository root:

    .venv/bin/python benchmarks/hockey_stick.py            # about 40 s
    .venv/bin/python benchmarks/hockey_stick.py --quick    # a few seconds, same code path
"""

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))   # run from anywhere

from labsupport.engine import text_table  # noqa: E402
from labsupport.labs import measure_hockey_stick  # noqa: E402
from labsupport.sim import simulate_queue  # noqa: E402

UTILISATIONS = (0.5, 0.8, 0.95)
WORKERS = 4
SEED = 7


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a few seconds in all)")
    args = parser.parse_args(argv)
    service_ms, seconds, long_run = (10, 0.5, 50_000) if args.quick else (20, 8.0, 1_000_000)
    started = time.perf_counter()
    stick = measure_hockey_stick(UTILISATIONS, workers=WORKERS, service_ms=service_ms, seconds=seconds, seed=SEED)
    rows = []
    for point, replay, sent in zip(stick.live, stick.simulated, stick.requests):
        u = point.utilisation
        long = simulate_queue(WORKERS, service_ms, u, "poisson", "fixed", long_run, SEED)
        formula = stick.formula_ms(u)
        rows.append([f"{u:.0%}", f"{point.measured_utilisation:.1%}", sent,
                     f"{point.mean_wait_ms:.2f}", f"{point.wait_ms(99):.1f}",
                     f"{replay.mean_wait_ms:.2f}", f"{replay.p99_wait_ms:.1f}",
                     f"{long.mean_wait_ms:.2f}", f"{long.p99_wait_ms:.1f}",
                     f"{formula:.2f}", f"{point.mean_wait_ms / formula:.2f}"])
    headers = ("busy asked", "busy live", "requests", "live mean ms", "live p99 ms", "replay mean ms",
               "replay p99 ms", f"sim {long_run:,} mean ms", "sim long p99 ms", "formula mean ms",
               "live / formula")
    print(f"Waiting in the queue: {WORKERS} workers, {service_ms} ms per request, Poisson arrivals, seed {SEED}")
    print(text_table(headers, rows))
    print(f"wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
