"""How long does each chapter take to run? Every notebook top to bottom, each in a fresh kernel.

Run from the repository root:

    .venv/bin/python benchmarks/course_speed.py            (every chapter, a few minutes)
    .venv/bin/python benchmarks/course_speed.py --quick    (one small chapter: the same code path)

A learner opens a chapter and presses "Run All": this does the same with
nbclient, one fresh kernel per chapter started in notebooks/ (as JupyterLab
does), and times the cells from the first to the last. The kernel's own start
is shown apart, since a learner waits for it only once. The target: every
chapter runs in at most 20 s, so a learner is never left waiting; the table
gives each chapter's ratio to it and the whole course's total.

The kernel imports labsupport from this checkout (PYTHONPATH), and saved quiz
answers go to a throwaway file, not the learner's home folder.
"""

import argparse
import os
import pathlib
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TARGET_S = 20.0
QUICK_CHAPTER = "00_the_thirty_second_deploy.ipynb"      # a small chapter: the same code path in seconds


def run_chapter(path, env):
    """(seconds to start the kernel, seconds to run every cell, error or None) for one notebook."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=300, store_widget_state=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    started = time.perf_counter()
    with client.setup_kernel(cwd=str(NOTEBOOKS), env=env):
        ready = time.perf_counter()
        try:
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
        except CellExecutionError as exc:
            return ready - started, time.perf_counter() - ready, str(exc).strip().splitlines()[-1]
        return ready - started, time.perf_counter() - ready, None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"run only {QUICK_CHAPTER}")
    quick = parser.parse_args(argv).quick
    paths = [NOTEBOOKS / QUICK_CHAPTER] if quick else sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    rows, failures = [], 0
    with tempfile.TemporaryDirectory(prefix="course-speed-") as folder:
        env = dict(os.environ, LABSUPPORT_PROGRESS=os.path.join(folder, "progress.json"),
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        for path in paths:
            kernel_s, cells_s, error = run_chapter(path, env)
            failures += error is not None
            verdict = "ERROR: " + error if error else ("met" if cells_s <= TARGET_S else "MISSED")
            rows.append((path.stem, f"{kernel_s:.1f}", f"{cells_s:.1f}", f"{cells_s / TARGET_S:.2f}", verdict))
    total = sum(float(row[2]) for row in rows)
    rows.append(("whole course" if not quick else "total", "", f"{total:.1f}", "", ""))
    headers = ("chapter", "kernel start s", "run all s", f"ratio to {TARGET_S:g} s", "verdict")
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    slowest = max(rows[:-1], key=lambda row: float(row[2]))
    print(f"\nslowest chapter: {slowest[0]} ({slowest[2]} s); target: every chapter <= {TARGET_S:g} s")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
