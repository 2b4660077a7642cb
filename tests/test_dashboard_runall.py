"""After Run All, every dashboard of a chapter is live and its buttons work.

The course's advice for a lost kernel is "Run All Cells", so nothing later
in a chapter may close the cluster a dashboard shows: the learner scrolls up
to "Try it yourself" and presses Kill. Each chapter with a dashboard runs top
to bottom in a fresh kernel (as JupyterLab runs it); then, in the same
kernel and without re-running anything, every dashboard on the page is
looked at: its cluster must be open and its live thread running (or, if a
newer dashboard of the same cluster took over, that one must be), and a
Kill on an UP tile must kill that instance and turn the tile dead.
The browser test (tests/browser/) does the same through the page for chapters
00, 02 and 06, so they are left out here to keep the suite's time down.
"""

import json
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow          # runs whole chapters

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
WITH_DASHBOARDS = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb") if "ClusterDashboard(" in path.read_text())
IN_THE_BROWSER_TEST = {"00_the_thirty_second_deploy.ipynb", "02_stateful.ipynb", "06_why_stateless_won.ipynb"}

LOOK_AT_EVERY_DASHBOARD = """
import gc, json
from labsupport.widgets import ClusterDashboard
from labsupport.widgets import dashboard as _dashboard

seen = []
for board in [o for o in gc.get_objects() if isinstance(o, ClusterDashboard)]:
    replaced = board._ended == _dashboard.REPLACED_MESSAGE
    seen.append({"cluster": repr(board.cluster), "open": not board.cluster.closed, "replaced": replaced,
                 "live": board.updates.thread.is_alive()})
    if replaced or board.cluster.closed:
        continue
    up = [name for name, tile in board.tiles.items() if tile.status == "up"]
    board.tiles[up[0]].kill_button.click()
    seen[-1].update(killed=board.cluster.status(up[0]), tile=board.tiles[up[0]].status)
print(json.dumps(seen))
"""


def test_the_chapters_with_a_dashboard_are_found():
    assert IN_THE_BROWSER_TEST < set(WITH_DASHBOARDS)


@pytest.mark.parametrize("name", sorted(set(WITH_DASHBOARDS) - IN_THE_BROWSER_TEST))
def test_after_run_all_every_dashboard_is_live_and_kill_works(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    check = nbformat.v4.new_code_cell(LOOK_AT_EVERY_DASHBOARD)
    nb.cells.append(check)                      # run after the chapter, in the same kernel
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
    printed = "".join(output.get("text", "") for output in check.outputs if output.get("name") == "stdout")
    boards = json.loads(printed)
    assert boards, f"{name}: no dashboard found after Run All"
    shown = [board for board in boards if not board["replaced"]]
    assert shown, f"{name}: every dashboard was replaced by another"
    for board in shown:
        assert board["open"] and board["live"], f"{name}: {board['cluster']} was closed by a later cell: {board}"
        assert board["killed"] == "dead" and board["tile"] == "dead", f"{name}: Kill did nothing: {board}"
