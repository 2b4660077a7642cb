"""benchmarks/: every benchmark still runs, so none can rot unnoticed.

Each script in benchmarks/ runs with ``--quick`` (the same code path with
smaller numbers) in its own process, as a person would run it, and must exit 0
and print its table. Nothing here looks at a timing: the numbers belong to the
benchmarks, whose job is to print them. A new benchmark is picked up by the
glob; one missing from ``TABLE_HEADERS`` must still print a table of at least
two rows.
"""

import functools
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))
SLOW = {"course_memory.py", "course_speed.py"}             # these start Jupyter kernels: tens of seconds
TABLE_HEADERS = {                                          # the first columns of each benchmark's table
    "lab_speed.py": ["path", "p50 ms", "p99 ms", "requests/s"],
    "sim_speed.py": ["model", "scale", "simulated time", "simulated"],
    "chaos_soak.py": ["shop", "actions", "kills", "ok"],
    "course_memory.py": ["chapter", "seconds", "RSS after", "peak during"],
    "course_speed.py": ["chapter", "kernel start s", "run all s", "ratio to 20 s"],
}


def _columns(line):
    """The cells of one printed table row (cells are separated by two or more spaces)."""
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


def _is_rule(line):
    return set(line.replace(" ", "")) <= {"-"}


@functools.lru_cache(maxsize=None)
def run_quick(name, progress_file):
    """Run ``benchmarks/<name> --quick`` in its own process, with this checkout's labsupport."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), LABSUPPORT_PROGRESS=progress_file)
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("script", [pytest.param(path.name, id=path.name, marks=[pytest.mark.slow]
                                                 if path.name in SLOW else []) for path in BENCHMARKS])
def test_every_benchmark_runs_quick_and_prints_its_table(script, tmp_path_factory):
    done = run_quick(script, str(tmp_path_factory.getbasetemp() / "progress.json"))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip() and not _is_rule(line)]
    header = TABLE_HEADERS.get(script)
    if header is None:
        assert sum(len(_columns(line)) >= 2 for line in lines) >= 2, f"{script} printed no table:\n{done.stdout}"
        return
    starts = [i for i, line in enumerate(lines) if _columns(line)[:len(header)] == header]
    assert starts, f"{script} printed no table starting with {header}:\n{done.stdout}"
    rows = lines[starts[0] + 1:starts[0] + 2]
    assert rows and len(_columns(rows[0])) >= 2, done.stdout                 # at least one row of values


def test_the_quick_lab_speed_run_measures_all_three_paths_and_the_targets(tmp_path_factory):
    """lab_speed's table has a row for direct, nginx (or why it is missing) and balancer, and a verdict per target."""
    done = run_quick("lab_speed.py", str(tmp_path_factory.getbasetemp() / "progress.json"))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {(_columns(line) or [""])[0]: _columns(line) for line in done.stdout.splitlines()}
    assert {"direct", "nginx", "balancer"} <= rows.keys()
    assert rows["direct"][1].replace(".", "").isdigit() and rows["balancer"][1].replace(".", "").isdigit()
    verdicts = [row[-1] for name, row in rows.items() if name.startswith("balancer ") and "/" in name]
    assert len(verdicts) >= 2 and set(verdicts) <= {"met", "MISSED"}
