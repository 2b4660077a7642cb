"""A database keeps what it committed: a writer process killed outright mid-transaction leaves
every committed row in SQLite and none of the uncommitted ones, and no process is left behind."""

import sqlite3
import threading

import psutil
import pytest

from labsupport import InvalidArgumentError, LabError
from labsupport.engine import lab_folder, running
from labsupport.services import KILLED_RETURNCODE, WriterProcess, crash_writer_experiment, expected_rows


@pytest.fixture(autouse=True)
def no_child_processes_left():
    yield
    assert psutil.Process().children(recursive=True) == []
    assert running() == []


def test_committed_rows_survive_and_the_open_transaction_is_gone():
    result = crash_writer_experiment(rows=1000, commit_every=100, kill_after=250)
    assert result.killed
    assert (result.committed_before_kill, result.rows_after_recovery, result.uncommitted_lost) == (200, 200, 50)
    assert result.intact


@pytest.mark.parametrize("commit_every, kill_after", [(1, 5), (7, 50), (100, 199), (100, 300), (500, 499)])
def test_recovery_keeps_exactly_the_committed_rows(commit_every, kill_after):
    result = crash_writer_experiment(rows=1000, commit_every=commit_every, kill_after=kill_after)
    committed = kill_after - kill_after % commit_every
    assert result.rows_written == kill_after
    assert result.committed_before_kill == result.rows_after_recovery == committed
    assert result.uncommitted_lost == kill_after % commit_every
    assert result.intact


def test_a_writer_that_is_not_killed_keeps_everything():
    result = crash_writer_experiment(rows=300, commit_every=100, kill_after=None)
    assert not result.killed
    assert (result.rows_after_recovery, result.uncommitted_lost) == (300, 0)


def test_the_database_file_can_be_kept_and_reopened(tmp_path):
    path = tmp_path / "orders.db"
    result = crash_writer_experiment(path, rows=100, commit_every=10, kill_after=35, seed=3)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT id, amount FROM orders ORDER BY id").fetchall()
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()
    assert rows == expected_rows(3, 30) and result.rows_after_recovery == 30


def test_the_writer_is_a_separate_process_paused_inside_a_transaction(tmp_path):
    path = tmp_path / "w.db"
    with WriterProcess(path, rows=50, commit_every=20, pause_after=45, seed=1) as writer:
        assert writer.wait_for_report() == (40, 5)
        child = psutil.Process(writer.pid)
        assert child.pid != psutil.Process().pid and child.is_running()
        with sqlite3.connect(path) as reader:          # another process sees only what was committed
            assert reader.execute("SELECT count(*) FROM orders").fetchone() == (40,)
        reader.close()
        writer.kill()
        writer.kill()                                   # idempotent
    assert writer.returncode == KILLED_RETURNCODE       # -9 (SIGKILL) on Linux and macOS, 1 on Windows


def test_the_experiment_is_deterministic():
    assert repr(crash_writer_experiment(seed=5)) == repr(crash_writer_experiment(seed=5))
    assert "uncommitted rows lost" in repr(crash_writer_experiment())


def test_a_writer_that_fails_is_reported_and_reaped(tmp_path):
    with pytest.raises(LabError, match="ended before reporting"):
        crash_writer_experiment(tmp_path / "no" / "such" / "dir.db")


def test_misuse_gets_a_clear_error(tmp_path):
    with pytest.raises(InvalidArgumentError, match="commit_every"):
        crash_writer_experiment(commit_every=0)
    with pytest.raises(InvalidArgumentError, match="kill_after"):
        crash_writer_experiment(rows=10, kill_after=11)
    (tmp_path / "exists.db").write_text("")
    with pytest.raises(InvalidArgumentError, match="already exists"):
        crash_writer_experiment(tmp_path / "exists.db")


def test_nothing_is_left_behind():
    lab_files = set(lab_folder().iterdir())       # the experiment's own folder goes in the lab's folder
    threads = threading.active_count()
    crash_writer_experiment()
    assert threading.active_count() == threads
    assert set(lab_folder().iterdir()) == lab_files


def test_commit_latency_runs_each_synchronous_setting_for_real(tmp_path):
    from labsupport.services import SYNCHRONOUS, commit_latency, open_with_synchronous
    table = commit_latency(commits=20, directory=tmp_path)
    assert [row[:3] for row in table.rows] == [["OFF", "never fsync", 20], ["FULL", "fsync at every commit", 20]]
    for setting, level in (("OFF", 0), ("FULL", 2)):          # SQLite's own numbers for the two settings
        db = open_with_synchronous(tmp_path / f"{setting}.db", setting)
        assert db.execute("PRAGMA synchronous").fetchone()[0] == level
        assert db.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 20
        db.close()
    assert set(SYNCHRONOUS) == {"OFF", "FULL"}
