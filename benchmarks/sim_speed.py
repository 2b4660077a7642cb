"""How fast the simulations of labsupport.sim run at full scale.

Each model runs once at the size the course talks about (1,000 instances, a
whole day where the model covers a day) and the script prints one table:
simulated time, how much was simulated, wall-clock seconds, and simulated
units per wall second. Aggregated models (autoscaling, regions) count requests
without simulating each one, which is why they reach billions per second;
the rolling deploy simulates each session and the calibration model each
request. Run from the repository root:

    .venv/bin/python benchmarks/sim_speed.py            (about fifteen seconds)
    .venv/bin/python benchmarks/sim_speed.py --quick    (seconds: the same models at a tenth of the scale)
"""

import argparse
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


def _runs(scale):
    """(model, scale, function, how to read the result) for every run; ``scale`` 1 is the course's full size."""
    instances = 1000 // scale
    per_region = 333 // scale
    region_s = DAY_S // scale if scale > 1 else DAY_S     # the region model's cost grows with simulated time

    def autoscaling(tier, scale_down):
        return lambda: simulate_autoscaling(tier, peak_instances=instances, seed=SEED, scale_down=scale_down)

    def per_day(result):
        return DAY_S, result.requests_total, "requests"

    peak = f"{instances:,} instances at peak"
    return [
        ("autoscaling, stateless", peak, autoscaling("stateless", "drain"), per_day),
        ("autoscaling, stateful, drain", peak, autoscaling("stateful", "drain"), per_day),
        ("autoscaling, stateful, no drain", peak, autoscaling("stateful", "kill"), per_day),
        ("rolling deploy, stateful, 5 min drain", f"{instances:,} instances, batches of {instances // 10}",
         lambda: simulate_rolling_deploy("stateful", instances=instances, drain_timeout_s=300, seed=SEED,
                                         batch_size=instances // 10),
         lambda r: (r.deploy_s, r.sessions_started, "sessions")),
        ("rolling deploy, stateful, wait for all", "10 instances, one at a time",
         lambda: simulate_rolling_deploy("stateful", instances=10, drain_timeout_s=None, seed=SEED),
         lambda r: (r.deploy_s, r.sessions_started, "sessions")),
        ("region failure, stateful, replica", f"3 regions x {per_region} instances",
         lambda: simulate_region_failure("stateful", regions=3, instances_per_region=per_region,
                                         fail_at_s=region_s // 2, duration_s=region_s, replication_lag_s=5,
                                         seed=SEED),
         lambda r: (region_s, r.requests_total, "requests")),
        ("calibration, request by request", f"{100 // scale} instances x 4 workers, {400 // scale} clients",
         lambda: simulate_cluster(instances=100 // scale, workers=4, service_ms=20, clients=400 // scale,
                                  requests=100_000 // scale, seed=SEED),
         lambda r: (r.duration_s, r.requests, "requests")),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds: every model at a tenth of the scale")
    quick = parser.parse_args(argv).quick
    rows = []
    for model, scale, run, measure in _runs(scale=10 if quick else 1):
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
