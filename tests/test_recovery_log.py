"""recovery_log.py: a node whose state is on disk rebuilds it on every start, and that takes work.

Pins chapter 07, claim M8: a restart replays every log entry and comes back
with exactly the state it had; a snapshot leaves fewer entries to replay;
a stateless node's restart reads nothing. (How the time grows with the size
is measured by benchmarks/recovery_time.py, never asserted here.)
"""

import importlib.util
import os
import pathlib

import pytest

from labsupport.labs import recovery_experiment, seeded_writes
from labsupport.services import DatabaseBackedNode, DiskLog, JsonClient, LogBackedNode

pytestmark = pytest.mark.timeout(120)


def test_a_restart_replays_every_entry_and_restores_exactly_the_written_state():
    writes = seeded_writes(500)
    with LogBackedNode() as node:
        node.start()
        node.fill(writes)
        node.timed_restart()
        assert node.recovery.entries_replayed == 500 and node.recovery.snapshot_keys == 0
        assert node.state == dict(writes)


def test_a_snapshot_leaves_only_the_later_entries_to_replay():
    writes = seeded_writes(400)
    with LogBackedNode() as node:
        node.start()
        node.fill(writes[:300])
        node.snapshot()
        assert node.disk.entries() == 0                 # the log before the snapshot is gone
        node.fill(writes[300:])
        node.timed_restart()
        recovery = node.recovery
        assert (recovery.snapshot_position, recovery.entries_replayed) == (300, 100)
        assert recovery.snapshot_keys == len(dict(writes[:300]))
        assert node.state == dict(writes)


def test_a_crash_after_an_acknowledged_put_keeps_it():
    with LogBackedNode() as node:
        node.start()
        client = JsonClient(node.url)
        assert client.call("PUT", "/kv/alice", {"value": 3}) == (200, {"key": "alice", "position": 1})
        client.close()
        node.instance.kill()                              # a crash: memory gone, the disk stays
        node.instance.start()
        client = JsonClient(node.url)
        assert client.call("GET", "/kv/alice") == (200, {"key": "alice", "value": 3})
        assert client.call("PUT", "/kv/bob", {"value": 1})[1]["position"] == 2    # the log goes on
        assert client.call("PUT", "/kv/bob", {"nope": 1})[0] == 400
        assert client.call("DELETE", "/kv/bob")[0] == 405
        assert client.call("GET", "/elsewhere")[0] == 404
        client.close()


def test_the_stateless_node_loads_nothing_and_keeps_its_rows():
    with DatabaseBackedNode() as node:
        node.start()
        node.fill(seeded_writes(200))
        node.timed_restart()
        assert node.instance.held_state().entries == 0
        assert node.rows() == len(dict(seeded_writes(200)))
        client = JsonClient(node.url)
        key, value = list(dict(seeded_writes(200)).items())[0]
        assert client.call("GET", f"/kv/{key}") == (200, {"key": key, "value": value})
        client.close()


def test_the_experiment_counts_replays_at_each_size():
    result = recovery_experiment(sizes=(100, 1000), seed=7)
    assert [run.replayed for run in result.runs] == [100, 1000]
    assert [run.replayed_after_snapshot for run in result.runs] == [10, 100]
    assert all(run.restored and run.restored_with_snapshot for run in result.runs)
    assert [run.stateless_rows for run in result.runs] == [run.keys for run in result.runs]
    assert result.replays_grow()
    assert "replayed" in repr(result) and "ms" in repr(result.timings)


def test_folders_are_removed_on_close(tmp_path):
    node = LogBackedNode().start()
    folder = node.folder
    node.close()
    assert not os.path.exists(folder)
    disk = DiskLog(tmp_path / "d")
    disk.append(1, "a", 1)
    assert disk.recover()[:2] == ({"a": 1}, 1)


def test_the_benchmark_runs_in_quick_mode(capsys):
    path = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "recovery_time.py"
    spec = importlib.util.spec_from_file_location("recovery_time_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--quick"])
    out = capsys.readouterr().out
    assert "10,000" in out and "stateless" in out and "NO" not in out


def test_a_node_that_is_not_running_says_so():
    from labsupport import InvalidArgumentError
    node = LogBackedNode()                               # created, not started: nothing in memory yet
    with pytest.raises(InvalidArgumentError, match="start"):
        node.fill([("a", 1)])
    node.close()
