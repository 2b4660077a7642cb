"""Recovery time against state size: a log-backed stateful node, the same with a snapshot, a stateless node.

Each size is run ``--repeats`` times (the seeded writes are the same every
time) and the median restart time is printed, with the time per replayed
entry and how many times longer the biggest state took than the smallest.
Chapter 07 shows one run of the same experiment and checks only its counts;
this is where the growth is measured. Timings vary run to run and with how
busy the machine is. Run from the repository root:

    .venv/bin/python benchmarks/recovery_time.py            # 1k, 10k, 100k entries; about 15 s
    .venv/bin/python benchmarks/recovery_time.py --quick    # 1k and 10k, once; about a second
"""

import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))   # run from anywhere

from labsupport.engine import text_table  # noqa: E402
from labsupport.labs import recovery_experiment  # noqa: E402

SEED = 7


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small sizes, one run each (about a second)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size; the median is shown")
    args = parser.parse_args(argv)
    sizes, repeats = ((1_000, 10_000), 1) if args.quick else ((1_000, 10_000, 100_000), args.repeats)
    started = time.perf_counter()
    results = [recovery_experiment(sizes, seed=SEED) for _ in range(repeats)]
    rows, medians = [], []
    for index, size in enumerate(sizes):
        runs = [result.runs[index] for result in results]
        full = statistics.median(run.seconds for run in runs) * 1000
        snapshot = statistics.median(run.seconds_with_snapshot for run in runs) * 1000
        stateless = statistics.median(run.stateless_seconds for run in runs) * 1000
        medians.append((full, stateless))
        rows.append([f"{size:,}", f"{runs[0].replayed:,}", f"{full:.1f}", f"{full * 1000 / size:.1f}",
                     f"{runs[0].replayed_after_snapshot:,}", f"{snapshot:.1f}", f"{stateless:.1f}",
                     "yes" if all(run.restored and run.restored_with_snapshot for run in runs) else "NO"])
    print(f"Restart until serving again, median of {repeats} run(s), seed {SEED}")
    print(text_table(["entries", "replayed", "replay ms", "µs per entry", "replayed (snapshot)",
                      "snapshot ms", "stateless ms", "state back"], rows))
    grew = medians[-1][0] / medians[0][0]
    flat = medians[-1][1] / medians[0][1]
    print(f"{sizes[-1] // sizes[0]}x the entries: the stateful restart took {grew:.0f}x as long, "
          f"the stateless one {flat:.1f}x")
    print(f"wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
