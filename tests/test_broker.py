"""The broker's state lives on disk: logs and committed offsets survive a restart, and when a consumer
commits decides what its crash costs (commit before: lost messages; commit after: duplicates)."""

import os
import pathlib
import subprocess
import sys
import threading

import pytest

from labsupport import ClusterClosedError, InvalidArgumentError
from labsupport.engine import lab_folder, running
from labsupport.services import Broker, Consumer, delivery_experiment, partition_for
from labsupport.services import broker as broker_module


@pytest.fixture
def broker(tmp_path):
    with Broker(tmp_path / "broker", partitions=3) as opened:
        yield opened


def all_messages(a_broker, topic):
    return [m for p in range(a_broker.partitions(topic)) for m in a_broker.fetch(topic, p, 0, 10_000)]


def test_partition_for_is_the_same_in_every_process():
    """Python's hash() of a str differs per process; the broker's key hash must not."""
    code = "from labsupport.services import partition_for; print([partition_for(f'k{i}', 3) for i in range(20)])"
    env_root = str(pathlib.Path(broker_module.__file__).resolve().parents[1])
    seen = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": env_root}
        seen.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                check=True).stdout.strip())
    assert seen == {str([partition_for(f"k{i}", 3) for i in range(20)])}


def test_the_log_survives_a_broker_restart(tmp_path):
    first = Broker(tmp_path / "b")
    sent = [first.produce("orders", f"customer-{i % 7}", {"n": i}) for i in range(40)]
    first.commit("billing", "orders", 0, 2)
    before = all_messages(first, "orders")
    first.kill()
    with pytest.raises(ClusterClosedError):
        first.produce("orders", "customer-1", {"n": 99})
    with Broker(tmp_path / "b") as restarted:
        assert all_messages(restarted, "orders") == before
        assert len(before) == len(sent) == 40
        assert restarted.committed("billing", "orders", 0) == 2
        assert restarted.produce("orders", "customer-0", {"n": 40})[1] == restarted.end_offset(
            "orders", partition_for("customer-0", 3)) - 1


def test_a_key_stays_in_one_partition_in_order(broker):
    for n in range(60):
        broker.produce("orders", ["alice", "bob", "carol"][n % 3], {"n": n})
    for key in ("alice", "bob", "carol"):
        mine = [m for m in all_messages(broker, "orders") if m.key == key]
        assert {m.partition for m in mine} == {partition_for(key, 3)}
        assert [m.value["n"] for m in sorted(mine, key=lambda m: m.offset)] == [n for n in range(60)
                                                                               if n % 3 == "abc".index(key[0])]


def test_offsets_are_positions_in_the_partition_log(broker):
    offsets = [broker.produce("t", "same-key", i)[1] for i in range(5)]
    assert offsets == [0, 1, 2, 3, 4]
    partition = partition_for("same-key", 3)
    assert [m.value for m in broker.fetch("t", partition, 2, 2)] == [2, 3]
    assert broker.fetch("t", partition, 5) == []


def test_a_topic_keeps_its_partition_count_after_restart(tmp_path):
    with Broker(tmp_path / "b", partitions=3) as first:
        first.produce("orders", "k", 1)
    with Broker(tmp_path / "b", partitions=5) as second:
        assert second.partitions("orders") == 3
        second.produce("payments", "k", 1)
        assert second.partitions("payments") == 5


def test_a_torn_last_line_is_cut_off_on_restart(tmp_path):
    with Broker(tmp_path / "b") as first:
        partition, _ = first.produce("orders", "k", {"n": 0})
    log = tmp_path / "b" / "topics" / "orders" / f"partition-{partition}.log"
    with open(log, "a", encoding="utf-8") as file:
        file.write('{"offset": 1, "key": "k", "val')      # a crash in the middle of a write
    with Broker(tmp_path / "b") as restarted:
        assert [m.value for m in restarted.fetch("orders", partition)] == [{"n": 0}]
        assert restarted.produce("orders", "k", {"n": 1}) == (partition, 1)
    with Broker(tmp_path / "b") as again:
        assert [m.value for m in again.fetch("orders", partition)] == [{"n": 0}, {"n": 1}]


def test_a_new_consumer_resumes_from_the_committed_offsets(broker):
    for n in range(50):
        broker.produce("orders", f"c{n % 5}", n)
    handled = []
    run = Consumer(broker, "g", "orders", commit="after", seed=1).run(handled.append, crash_after=23)
    assert run.crashed and run.handled == 23
    committed = {p: broker.committed("g", "orders", p) for p in range(3)}
    replacement = Consumer(broker, "g", "orders", seed=1)
    assert replacement.positions == committed
    resumed = []
    replacement.run(resumed.append)
    assert {(m.partition, m.offset) for m in resumed} == {
        (p, o) for p in range(3) for o in range(committed[p], broker.end_offset("orders", p))}


def test_a_consumer_on_a_restarted_broker_resumes_where_the_group_stopped(tmp_path):
    with Broker(tmp_path / "b", fsync=True) as first:
        for n in range(30):
            first.produce("orders", f"c{n % 4}", n)
        Consumer(first, "g", "orders").run(lambda message: None, crash_after=12)
        committed = {p: first.committed("g", "orders", p) for p in range(3)}
        first.kill()
    with Broker(tmp_path / "b") as restarted:
        assert Consumer(restarted, "g", "orders").positions == committed
        rest = []
        Consumer(restarted, "g", "orders").run(rest.append)
        assert len(rest) == 30 - sum(committed.values())


def test_a_crashed_consumer_refuses_to_run_again(broker):
    broker.produce("orders", "k", 1)
    consumer = Consumer(broker, "g", "orders")
    assert consumer.run(lambda message: None, crash_after=1).crashed
    with pytest.raises(ClusterClosedError):
        consumer.run(lambda message: None)


@pytest.mark.parametrize("crash_after", [1, 10, 37, 64, 99])
def test_commit_before_processing_loses_exactly_the_in_flight_messages(crash_after):
    result = delivery_experiment(commit="before", crash_after=crash_after)
    assert result.lost == result.in_flight
    assert result.duplicated == 0
    assert result.processed_unique == result.produced - result.in_flight


@pytest.mark.parametrize("crash_after", [1, 10, 37, 64, 99])
def test_commit_after_processing_replays_the_in_flight_messages_and_loses_none(crash_after):
    result = delivery_experiment(commit="after", crash_after=crash_after)
    assert result.lost == 0
    assert result.duplicated == result.in_flight > 0
    assert result.processed_unique == result.produced


def test_the_default_experiment_shows_loss_and_duplication():
    before, after = delivery_experiment(commit="before"), delivery_experiment(commit="after")
    assert before.lost > 0 and before.duplicated == 0
    assert after.lost == 0 and after.duplicated > 0


def test_without_a_crash_every_message_is_handled_once():
    for commit in ("before", "after"):
        result = delivery_experiment(commit=commit, crash_after=None)
        assert (result.lost, result.duplicated, result.processed_unique) == (0, 0, 100)


def test_the_experiment_is_deterministic():
    first = [repr(delivery_experiment(commit=c, seed=3)) for c in ("before", "after")]
    assert first == [repr(delivery_experiment(commit=c, seed=3)) for c in ("before", "after")]
    assert "lost" in first[0] and "at-most-once" in first[0]


def test_misuse_gets_a_clear_error(broker, tmp_path):
    broker.produce("orders", "k", 1)
    with pytest.raises(InvalidArgumentError, match="topic name"):
        broker.produce("../etc", "k", 1)
    with pytest.raises(InvalidArgumentError, match="key must be a str"):
        broker.produce("orders", 42, 1)
    with pytest.raises(InvalidArgumentError, match="JSON"):
        broker.produce("orders", "k", object())
    with pytest.raises(InvalidArgumentError, match="no topic 'missing'"):
        broker.fetch("missing", 0)
    with pytest.raises(InvalidArgumentError, match="partitions 0 to 2"):
        broker.fetch("orders", 3)
    with pytest.raises(InvalidArgumentError, match="offset"):
        broker.commit("g", "orders", 0, 99)
    with pytest.raises(InvalidArgumentError, match="'before' or 'after'"):
        Consumer(broker, "g", "orders", commit="sometimes")
    with pytest.raises(InvalidArgumentError, match="partitions"):
        Broker(tmp_path / "x", partitions=0)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    with pytest.raises(InvalidArgumentError, match="not empty"):
        delivery_experiment(tmp_path / "full")


def test_nothing_is_left_behind(tmp_path):
    lab_files = set(lab_folder().iterdir())       # the experiment's own folder goes in the lab's folder
    threads = threading.active_count()
    delivery_experiment(commit="after")
    with Broker(tmp_path / "kept") as kept:
        kept.produce("orders", "k", 1)
    killed = Broker(tmp_path / "killed")
    killed.kill()
    killed.kill()          # idempotent
    assert running() == []
    assert threading.active_count() == threads
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "killed"]
    assert set(lab_folder().iterdir()) == lab_files
