"""How much memory does the course need? All ten chapters, in order, in one kernel, sampled every 0.2 s.

Run from the repository root:

    .venv/bin/python benchmarks/course_memory.py            (every chapter, a few minutes)
    .venv/bin/python benchmarks/course_memory.py --quick    (one small chapter: the same code path)

A learner's kernel lives through every chapter they open, so this runs them all
in ONE kernel started from notebooks/ (as JupyterLab does) and samples the
resident memory (RSS) of the kernel process plus its children (redis-server,
the chaos soak's helpers, ...) while each chapter runs. It prints one row per
chapter (wall seconds, RSS after the chapter, peak RSS during it) and then the
overall peak against Binder's guaranteed 450 MB. MB here is 10^6 bytes, the
unit of Binder's limit; the JupyterLab server itself is not counted.
"""

import argparse
import os
import pathlib
import tempfile
import threading
import time

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SAMPLE_SECONDS = 0.2
BINDER_GUARANTEE_MB = 450
MB = 10**6
QUICK_CHAPTER = "00_the_thirty_second_deploy.ipynb"


def rss_with_children(process):
    """Bytes of RSS of ``process`` and all its descendants (those that vanish mid-count count as 0)."""
    total = 0
    for each in [process, *process.children(recursive=True)]:
        try:
            total += each.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


class Sampler:
    """A daemon thread that keeps the highest RSS seen since the last ``reset()``."""

    def __init__(self, process):
        self.process = process
        self.peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def _run(self):
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def sample(self):
        rss = rss_with_children(self.process)
        with self._lock:
            self.peak = max(self.peak, rss)
        return rss

    def reset(self):
        """Start a new peak from the current RSS; returns the peak of the period that just ended."""
        rss = rss_with_children(self.process)
        with self._lock:
            peak, self.peak = max(self.peak, rss), rss
        return peak

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_notebook(client, nb):
    client.nb = nb
    client.reset_execution_trackers()
    for index, cell in enumerate(nb.cells):
        client.execute_cell(cell, index)


def run_code(client, source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    run_notebook(client, nb)
    return "".join(o.text for o in nb.cells[0].outputs if o.get("name") == "stdout")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"run only {QUICK_CHAPTER}")
    quick = parser.parse_args(argv).quick
    paths = [NOTEBOOKS / QUICK_CHAPTER] if quick else sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="course-memory-") as folder:
        # Saved answers go to a throwaway file, not the machine's home folder; the kernel imports this checkout.
        env = dict(os.environ, LABSUPPORT_PROGRESS=os.path.join(folder, "progress.json"),
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        start_rss, rows, after_shutdown = measure(env, paths)
    report(start_rss, rows, after_shutdown)


def measure(env, paths):
    """Run the chapters in one kernel; returns (RSS at start, rows, RSS after shutdown_all)."""
    client = NotebookClient(nbformat.v4.new_notebook(), kernel_name="python3", timeout=300,
                            store_widget_state=False, resources={"metadata": {"path": str(NOTEBOOKS)}})
    rows = []
    with client.setup_kernel(cwd=str(NOTEBOOKS), env=env):
        kernel = psutil.Process(int(run_code(client, "import os; print(os.getpid())")))
        start_rss = rss_with_children(kernel)
        with Sampler(kernel) as sampler:
            sampler.reset()
            for path in paths:
                started = time.perf_counter()
                run_notebook(client, nbformat.read(path, as_version=4))
                seconds = time.perf_counter() - started
                after = sampler.sample()
                rows.append((path.stem, seconds, after, sampler.reset()))
            run_code(client, "import labsupport; labsupport.shutdown_all()")
            after_shutdown = sampler.sample()
    return start_rss, rows, after_shutdown


def report(start_rss, rows, after_shutdown):
    width = max(len(r[0]) for r in rows)
    print(f"{'chapter':<{width}}  {'seconds':>7}  {'RSS after':>9}  {'peak during':>11}")
    print(f"{'(kernel at start)':<{width}}  {'':>7}  {start_rss / MB:>6.0f} MB")
    for name, seconds, after, peak in rows:
        print(f"{name:<{width}}  {seconds:>7.1f}  {after / MB:>6.0f} MB  {peak / MB:>8.0f} MB")
    print(f"{'(after shutdown_all)':<{width}}  {'':>7}  {after_shutdown / MB:>6.0f} MB")
    peak = max(r[3] for r in rows)
    total = sum(r[1] for r in rows)
    print()
    print(f"{len(rows)} chapter(s) in one kernel: {total:.0f} s; kernel + children sampled every {SAMPLE_SECONDS} s")
    print(f"peak {peak / MB:.0f} MB = {peak / MB / BINDER_GUARANTEE_MB:.2f} of {BINDER_GUARANTEE_MB} MB "
          f"(Binder's guarantee; JupyterLab's own server not included)")


if __name__ == "__main__":
    main()
