"""Nothing left behind: one private lab folder per process, removed at exit; a killed kernel's Redis dies with it
(the watchdog) and the next lab process removes the folder it left (workspace, registry, watchdog)."""

import json
import os
import stat
import subprocess
import sys
import textwrap

import psutil
import pytest

from labsupport import RedisServer, SQLiteStore, shutdown_all
from labsupport.engine import lab_folder, remove_leftovers, watchdog

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python(code, tmpdir=None, **popen_options):
    """Start ``code`` in a new Python process that imports this checkout's labsupport (like a kernel would);
    ``tmpdir`` gives it a temp root of its own (TMPDIR), which no other process sweeps meanwhile."""
    env = dict(os.environ, PYTHONPATH=ROOT, **({"TMPDIR": str(tmpdir)} if tmpdir else {}))
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen_options)


def gone(pid, timeout):
    """Wait up to ``timeout`` s for process ``pid`` to end; True if it did (a zombie counts as ended)."""
    try:
        process = psutil.Process(pid)
        process.wait(timeout=timeout)
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        return process.status() == psutil.STATUS_ZOMBIE
    return True


def test_the_lab_folder_is_private_and_says_whose_it_is():
    folder = lab_folder()
    assert folder.name.startswith(f"labsupport-{os.getpid()}-")
    owner = json.loads((folder / "owner.json").read_text())
    assert owner["pid"] == os.getpid() and owner["started"] == psutil.Process().create_time()
    if sys.platform != "win32":
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    with SQLiteStore() as store:                        # the lab's temp files go inside it
        assert os.path.dirname(os.path.dirname(store.path)) == str(folder)


def test_shutdown_all_removes_the_folder_once_it_is_empty():
    folder = lab_folder()
    store = SQLiteStore()
    kept = folder / "learner-notes.txt"
    shutdown_all()                                      # the store is not registered: the folder stays for it
    assert folder.exists()
    store.close()
    kept.write_text("something the learner keeps")
    shutdown_all()
    assert kept.exists()                                # never removes what is still in use
    kept.unlink()
    shutdown_all()
    assert not folder.exists()
    assert lab_folder() != folder and lab_folder().exists()   # a fresh one on demand


def leftover(tmp_path, pid, started, suffix):
    folder = tmp_path / f"labsupport-{pid}-{suffix}"
    folder.mkdir()
    (folder / "owner.json").write_text(json.dumps({"pid": pid, "started": started}))
    (folder / "db-1").mkdir()
    return folder


def test_leftovers_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    ended = python("pass")
    ended.communicate()
    dead = leftover(tmp_path, ended.pid, 1_000.0, "a")
    alive = leftover(tmp_path, os.getpid(), psutil.Process().create_time(), "b")
    recycled = leftover(tmp_path, os.getpid(), psutil.Process().create_time() - 3600, "c")  # same pid, other process
    unrelated = tmp_path / "not-the-lab"
    unrelated.mkdir()
    assert sorted(remove_leftovers(tmp_path)) == sorted([dead, recycled])
    assert alive.exists() and unrelated.exists() and not dead.exists() and not recycled.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_a_link_named_like_a_lab_folder_is_never_followed(tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "owner.json").write_text(json.dumps({"pid": 999_999_999, "started": 1.0}))
    (tmp_path / "labsupport-999999999-x").symlink_to(target)
    assert remove_leftovers(tmp_path) == []
    assert (target / "owner.json").exists()


def test_interpreter_exit_stops_redis_and_removes_the_folder():
    child = python("""
        import json
        from labsupport import SQLiteStore
        from labsupport.engine import lab_folder
        from labsupport.state import start_redis
        redis = start_redis()
        store = SQLiteStore()                         # never closed: exit must clean up anyway
        print(json.dumps({"redis": redis.pid, "folder": str(lab_folder())}))
    """)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    started = json.loads(out)
    assert not os.path.exists(started["folder"])
    if started["redis"] is not None:                   # None on the fakeredis rung: it lived in the process
        assert gone(started["redis"], timeout=0)


def test_a_killed_kernels_redis_dies_and_the_next_start_removes_its_folder(tmp_path):
    """Issue 14: a kernel-like process builds a cluster and is killed outright (SIGKILL / TerminateProcess).

    Both processes share a temp root of their own, so a labsupport started by another test meanwhile
    cannot be the one that removes the leftover folder."""
    kernel = python("""
        import json, sys
        from labsupport import Cluster
        from labsupport.engine import lab_folder
        shop = Cluster.stateless(instances=2, seed=7)
        shop.user("alice").add("book")
        print(json.dumps({"redis": shop.redis.pid, "folder": str(lab_folder())}), flush=True)
        sys.stdin.readline()                          # wait to be killed
    """, tmpdir=tmp_path, stdin=subprocess.PIPE)
    try:
        started = json.loads(kernel.stdout.readline())
    finally:
        kernel.kill()
        kernel.wait()
        kernel.stdin.close()
        kernel.stdout.close()
        kernel.stderr.close()
    if started["redis"] is None:
        pytest.skip("no redis-server here: the fakeredis rung lives and dies inside the kernel")
    assert gone(started["redis"], timeout=10), "the killed kernel's redis-server is still running"
    assert os.path.isdir(started["folder"])            # nobody could clean up: the kernel was killed
    assert os.path.dirname(started["folder"]) == str(tmp_path)
    next_start = python("from labsupport.engine import lab_folder; lab_folder()", tmpdir=tmp_path)
    _, err = next_start.communicate(timeout=60)
    assert next_start.returncode == 0, err
    assert not os.path.exists(started["folder"])


def test_the_watchdog_runs_only_while_it_has_a_child_to_watch():
    before = {p.pid for p in psutil.Process().children()}
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        watchdog.guard(sleeper)
        watchdog_pid = watchdog._watchdog.pid
        assert watchdog_pid in {p.pid for p in psutil.Process().children()} - before
        sleeper.kill()
        sleeper.wait()
        watchdog.release(sleeper)
        assert watchdog._watchdog.pid is None and gone(watchdog_pid, timeout=0)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_the_watchdog_stops_its_children_when_the_lab_process_dies():
    lab = python("""
        import subprocess, sys
        from labsupport.engine import guard
        child = guard(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        print(child.pid, flush=True)
        sys.stdin.readline()
    """, stdin=subprocess.PIPE)
    try:
        child_pid = int(lab.stdout.readline())
    finally:
        lab.kill()
        lab.communicate()
    assert gone(child_pid, timeout=10)


def test_redis_is_guarded_while_it_runs_and_released_when_it_stops():
    before = {p.pid for p in psutil.Process().children()}      # e.g. a JupyterLab the browser tests share
    server = RedisServer().start()
    try:
        if server.pid is None:
            pytest.skip("the fakeredis rung has no process to guard")
        assert watchdog._watchdog.pid is not None
    finally:
        server.close()
    assert watchdog._watchdog.pid is None
    assert [p for p in psutil.Process().children() if p.status() != psutil.STATUS_ZOMBIE and p.pid not in before] == []



def test_a_watchdog_that_died_is_replaced_and_told_every_child():
    lab = python("""
        import subprocess, sys
        from labsupport.engine import guard, watchdog
        sleep = [sys.executable, "-c", "import time; time.sleep(60)"]
        first = guard(subprocess.Popen(sleep))
        old = watchdog._watchdog._process
        old.kill()
        old.wait()                                    # the watchdog is gone; the lab does not know yet
        second = guard(subprocess.Popen(sleep))
        print(first.pid, second.pid, flush=True)
        sys.stdin.readline()
    """, stdin=subprocess.PIPE)
    try:
        pids = [int(pid) for pid in lab.stdout.readline().split()]
    finally:
        lab.kill()
        lab.communicate()
    assert len(pids) == 2 and all(gone(pid, timeout=10) for pid in pids)
