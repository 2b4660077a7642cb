"""Re-execute the course notebooks in place, so their committed outputs are fresh.

    .venv/bin/python scripts/refresh_notebooks.py              # every chapter
    .venv/bin/python scripts/refresh_notebooks.py 02 05        # chapters whose name starts with 02 or 05

Each notebook runs top to bottom in a new kernel started from the notebooks/
folder (as JupyterLab and nbval do). Widget state is not stored, and the
script refuses to save a notebook in which any cell raised an error or wrote
to stderr: a committed notebook must be one nbval can check.
"""

import os
import pathlib
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def problems(nb):
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            tags = cell.get("metadata", {}).get("tags", [])
            if output.get("output_type") == "error" and "raises-exception" not in tags:
                found.append(f"cell {index} raised {output.get('ename')}: {output.get('evalue')}")
            if output.get("name") == "stderr":
                found.append(f"cell {index} wrote to stderr: {output.get('text', '')[:200]!r}")
    return found


def refresh(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)       # run timestamps: noise in every diff and merge
    found = problems(nb)
    if found:
        print(f"{path.name}: NOT saved ({seconds:.1f} s)")
        for problem in found:
            print("   ", problem)
        return False
    nbformat.write(nb, path)
    print(f"{path.name}: refreshed in {seconds:.1f} s")
    return True


def main(prefixes):
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if prefixes:
        paths = [p for p in paths if p.name.startswith(tuple(prefixes))]
    with tempfile.TemporaryDirectory(prefix="lab-progress-") as scratch:
        # Quiz answers the notebooks save while refreshing go to a scratch file, not your own progress.
        os.environ.setdefault("LABSUPPORT_PROGRESS", os.path.join(scratch, "progress.json"))
        ok = all([refresh(p) for p in paths])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
