"""How fast the simulations of labsupport.sim run at full scale.

Each model runs once at the size the course talks about (1,000 instances, a
whole day where the model covers a day) and the script prints one table:
simulated time, how much was simulated, wall-clock seconds, and simulated
units per wall second. Aggregated models (autoscaling, regions) count requests
without simulating each one, which is why they reach billions per second;
the rolling deploy simulates each session and the calibration model each
request. Run from the repository root:

    .venv/bin/python benchmarks/sim_speed.py
"""

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))   # run from anywhere

from labsupport.engine import format_duration, text_table  # noqa: E402
from labsupport.sim import (  # noqa: E402
    simulate_autoscaling,
    simulate_cluster,
    simulate_region_failure,
    simulate_rolling_deploy,
)

SEED = 7
DAY_S = 24 * 3600


def _runs():
    """(model, scale, function, how to read the result) for every full-scale run."""
    def autoscaling(tier, scale_down):
        return lambda: simulate_autoscaling(tier, peak_instances=1000, seed=SEED, scale_down=scale_down)

    def per_day(result):
        return DAY_S, result.requests_total, "requests"

    peak = "1,000 instances at peak"
    return [
        ("autoscaling, stateless", peak, autoscaling("stateless", "drain"), per_day),
        ("autoscaling, stateful, drain", peak, autoscaling("stateful", "drain"), per_day),
        ("autoscaling, stateful, no drain", peak, autoscaling("stateful", "kill"), per_day),
        ("rolling deploy, stateful, 5 min drain", "1,000 instances, batches of 100",
         lambda: simulate_rolling_deploy("stateful", instances=1000, drain_timeout_s=300, seed=SEED,
                                         batch_size=100),
         lambda r: (r.deploy_s, r.sessions_started, "sessions")),
        ("rolling deploy, stateful, wait for all", "10 instances, one at a time",
         lambda: simulate_rolling_deploy("stateful", instances=10, drain_timeout_s=None, seed=SEED),
         lambda r: (r.deploy_s, r.sessions_started, "sessions")),
        ("region failure, stateful, replica", "3 regions x 333 instances",
         lambda: simulate_region_failure("stateful", regions=3, instances_per_region=333,
                                         fail_at_s=DAY_S // 2, duration_s=DAY_S, replication_lag_s=5,
                                         seed=SEED),
         per_day),
        ("calibration, request by request", "100 instances x 4 workers, 400 clients",
         lambda: simulate_cluster(instances=100, workers=4, service_ms=20, clients=400, requests=100_000,
                                  seed=SEED),
         lambda r: (r.duration_s, r.requests, "requests")),
    ]


def main():
    rows = []
    for model, scale, run, measure in _runs():
        started = time.perf_counter()
        result = run()
        wall_s = time.perf_counter() - started
        simulated_s, count, unit = measure(result)
        rows.append([model, scale, format_duration(simulated_s), f"{count:,} {unit}", f"{wall_s:.2f}",
                     f"{count / wall_s:,.0f} {unit}/s"])
    headers = ("model", "scale", "simulated time", "simulated", "wall s", "simulated per wall second")
    print(text_table(headers, rows))


if __name__ == "__main__":
    main()
