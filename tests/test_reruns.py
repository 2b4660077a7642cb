"""A learner may run a chapter again in the same kernel, and shutdown_all() leaves nothing behind.

Every chapter runs twice, top to bottom, in ONE long-lived kernel started from
notebooks/ (as JupyterLab does): the second run must be as clean as the first
(no cell raises unless it is tagged `raises-exception`, and each tagged cell
still raises; nothing is written to stderr). Re-running is what fails when a
server keeps its port, a thread survives its cluster, or state leaks between
runs. Chapters no longer stop their servers in a last cell (after Run All the
learner plays with them), so each run leaves its lab running. After all the
chapters, one cell calls `labsupport.shutdown_all()` and lists what the
kernel still holds beyond what it held at start: threads, child processes,
listening sockets and temporary folders. All must be empty. Finally a chapter
runs once more and the kernel is shut down as JupyterLab does it, with the
chapter's servers still running: its exit must stop every redis-server it
started and remove its lab folder.
"""

import json
import os
import pathlib

import nbformat
import psutil
import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reruns")]   # minutes; one long-lived kernel for all

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT = 180

# Threads ipykernel and IPython run for themselves, by name or by the module of their class.
KERNEL_THREAD_NAMES = ("IOPub", "Heartbeat", "Control", "Shell channel", "IPythonHistorySavingThread")
KERNEL_THREAD_MODULES = ("ipykernel", "IPython", "jupyter_client", "zmq")

SNAPSHOT = '''
import json as _json, os as _os, tempfile as _tempfile, threading as _threading, psutil as _psutil
print(_json.dumps({
    "threads": [t.ident for t in _threading.enumerate()],
    "listening": [f"{c.laddr.ip}:{c.laddr.port}" for c in _psutil.Process().net_connections("inet")
                  if c.status == _psutil.CONN_LISTEN],
    "temp": sorted(_os.listdir(_tempfile.gettempdir())),
}))
'''

LEFTOVERS = '''
import json as _json, os as _os, tempfile as _tempfile, threading as _threading, time as _time, psutil as _psutil
import labsupport as _labsupport
_labsupport.shutdown_all()
_before = _json.loads({before!r})

def _leftovers():
    me = _psutil.Process()
    threads = [f"{{t.name}} ({{type(t).__module__}})" for t in _threading.enumerate()
               if t is not _threading.main_thread() and t.is_alive() and t.ident not in _before["threads"]
               and not t.name.startswith({names!r}) and not type(t).__module__.startswith({modules!r})]
    children = []
    for child in me.children(recursive=True):
        try:
            children.append(f"{{child.pid}} {{child.name()}} ({{child.status()}})")
        except _psutil.NoSuchProcess:
            continue
    listening = [f"{{c.laddr.ip}}:{{c.laddr.port}}" for c in me.net_connections("inet")
                 if c.status == _psutil.CONN_LISTEN and f"{{c.laddr.ip}}:{{c.laddr.port}}" not in _before["listening"]]
    temp = sorted(set(_os.listdir(_tempfile.gettempdir())) - set(_before["temp"]))
    return {{"threads": sorted(threads), "children": children, "listening": sorted(listening), "temp_dirs": temp}}

_deadline = _time.monotonic() + 10          # threads told to stop may need a moment to finish
while True:
    _found = _leftovers()
    if not any(_found.values()) or _time.monotonic() > _deadline:
        break
    _time.sleep(0.1)
print(_json.dumps(_found))
'''


class Kernel:
    """One kernel that runs chapter after chapter, as a learner's JupyterLab tab would."""

    def __init__(self, client):
        self.client = client
        self.before = "{}"          # the SNAPSHOT the kernel printed at start (JSON)

    def run_notebook(self, nb):
        self.client.nb = nb
        self.client.reset_execution_trackers()
        for index, cell in enumerate(nb.cells):
            self.client.execute_cell(cell, index)
        return nb

    def run_code(self, source):
        """Run ``source`` as one cell and return what it printed (its stdout)."""
        nb = self.run_notebook(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]))
        outputs = nb.cells[0].outputs
        errors = [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
        assert not errors, errors
        return "".join(o.text for o in outputs if o.get("name") == "stdout")


@pytest.fixture(scope="module")
def kernel_temp(tmp_path_factory):
    """The kernel's own temp folder: what appears in it came from the lab."""
    return tmp_path_factory.mktemp("reruns")


@pytest.fixture(scope="module")
def kernel(kernel_temp):
    folder = kernel_temp
    temp = folder / "tmp"
    temp.mkdir()
    env = dict(os.environ, LABSUPPORT_PROGRESS=str(folder / "progress.json"), TMPDIR=str(temp))
    client = NotebookClient(nbformat.v4.new_notebook(), kernel_name="python3", timeout=CELL_TIMEOUT,
                            allow_errors=True, store_widget_state=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    with client.setup_kernel(cwd=str(NOTEBOOKS), env=env):
        shared = Kernel(client)
        shared.before = shared.run_code(SNAPSHOT)
        yield shared


def problems(nb, run):
    """Cells that raised without the raises-exception tag, tagged cells that did not raise, stderr output."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        expected = "raises-exception" in cell.get("metadata", {}).get("tags", [])
        outputs = cell.get("outputs", [])
        raised = [o for o in outputs if o.output_type == "error"]
        if raised and not expected:
            found.append(f"run {run}, cell {index} raised {raised[0].ename}: {raised[0].evalue}")
        if expected and not raised:
            found.append(f"run {run}, cell {index} is tagged raises-exception but did not raise")
        for output in outputs:
            if output.get("name") == "stderr":
                found.append(f"run {run}, cell {index} wrote to stderr: {output.text[:300]!r}")
    return found


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_twice_in_the_same_kernel(kernel, path):
    found = []
    for run in (1, 2):
        nb = kernel.run_notebook(nbformat.read(path, as_version=4))
        found += problems(nb, run)
    assert found == [], "\n".join(found)


def test_shutdown_all_leaves_no_threads_processes_sockets_or_temp_dirs(kernel):
    source = LEFTOVERS.format(before=kernel.before, names=KERNEL_THREAD_NAMES, modules=KERNEL_THREAD_MODULES)
    leftovers = json.loads(kernel.run_code(source))
    assert leftovers == {"threads": [], "children": [], "listening": [], "temp_dirs": []}


CHILDREN = """
import json as _json, psutil as _psutil
print(_json.dumps([child.pid for child in _psutil.Process().children(recursive=True)]))
"""


def test_the_kernels_exit_stops_everything_and_removes_its_folder(kernel, kernel_temp):
    """Issue 14: nothing outlives the kernel, though no chapter ends with shutdown_all() any more."""
    path = NOTEBOOKS / "04_state_exists_somewhere.ipynb"         # Redis, SQLite, object store, job queue
    assert problems(kernel.run_notebook(nbformat.read(path, as_version=4)), 1) == []
    children = json.loads(kernel.run_code(CHILDREN))
    redis_servers = [pid for pid in children if "redis" in psutil.Process(pid).name()]
    temp = kernel_temp / "tmp"
    assert any(p.name.startswith("labsupport-") for p in temp.iterdir())   # the chapter's lab is still there
    # Shut down as JupyterLab does: ask, then kill if the kernel has not exited after shutdown_wait_time
    # (5 s by default). A kernel that is killed runs no atexit, so its lab folder would stay behind.
    run_sync(kernel.client.km.shutdown_kernel)(now=False)
    for pid in children:
        try:
            psutil.Process(pid).wait(timeout=10)
        except psutil.NoSuchProcess:
            continue
    assert [pid for pid in redis_servers if psutil.pid_exists(pid)] == []
    assert sorted(p.name for p in temp.iterdir()) == []
