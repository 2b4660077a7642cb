"""A real broker keeps the consumers' state: Redis Streams consumer groups (chapter 10, claim G3).

Chapter 07's teaching broker showed the idea with files: the broker, not the
consumer, remembers how far a consumer group got. Redis Streams keep the same
state in a real server, with one refinement: for every message a consumer has
*read* but not yet *acknowledged*, the group's pending entries list (PEL)
records who holds it, since when, and how often it was delivered.

* ``XADD`` appends a message to the stream (a log; its id is its position).
* ``XREADGROUP ... >`` hands a consumer messages nobody in the group has seen;
  from then on they are pending, owned by that consumer.
* ``XACK`` says "done": the message leaves the pending list.
* ``XPENDING`` shows what is pending, per consumer, and for how long.
* ``XAUTOCLAIM`` lets another consumer take over messages that have been
  pending longer than an idle time: the way work of a crashed consumer is
  rescued. A claimed message is delivered again, so a message the crashed
  consumer had already handled (but not acknowledged) is handled twice.

That is at-least-once delivery, counted below. A sink that remembers which
message ids it has applied turns it into an effect that happens exactly once.
``STREAM_CONCEPTS`` names the same ideas in chapter 07's broker, Kafka and Redis.
"""

import dataclasses
import random
import secrets

import redis

from ..engine.tables import Table
from ..engine.waiting import wait_until
from ..errors import DependencyMissingError, InvalidArgumentError
from ..state.redis_server import INSTALL_HINT, start_redis

__all__ = ["StreamConsumer", "CountingSink", "IdempotentSink", "StreamRun", "consumer_group_experiment",
           "STREAM_CONCEPTS", "stream_concepts"]

# (concept, chapter 07's teaching broker, Kafka, Redis Streams)
STREAM_CONCEPTS = (
    ("the log of messages", "a topic's partition (a file)", "a topic's partition", "a stream (one key)"),
    ("a message's position", "its offset", "its offset", "its entry id (time-sequence)"),
    ("consumers sharing the work", "a consumer group", "a consumer group", "a consumer group (XGROUP CREATE)"),
    ("read what is new", "fetch after the committed offset", "poll()", "XREADGROUP ... >"),
    ("say a message is done", "commit the offset", "commit the offset", "XACK its id"),
    ("what the broker remembers", "the committed offset", "the committed offset", "last id given + pending list"),
    ("read but not yet done", "all after the committed offset", "all after the committed offset",
     "XPENDING, per consumer"),
    ("rescue a dead consumer's work", "the next consumer resumes at the offset", "a rebalance moves its partitions",
     "XAUTOCLAIM after an idle time"),
)


def stream_concepts():
    """The table of the same ideas in chapter 07's broker, Kafka and Redis Streams."""
    return Table(["concept", "chapter 07's broker", "Kafka", "Redis Streams"], [list(row) for row in STREAM_CONCEPTS],
                 title="One idea, three names")


class CountingSink:
    """Applies every delivery it is given: a redelivered message is counted twice."""

    def __init__(self):
        self.total = 0
        self.applied = 0

    def apply(self, message_id, amount):
        self.total += amount
        self.applied += 1


class IdempotentSink(CountingSink):
    """Remembers the ids it applied and ignores a message it has seen: the effect happens once."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def apply(self, message_id, amount):
        if message_id in self.seen:
            return
        self.seen.add(message_id)
        super().apply(message_id, amount)


class _Crash(Exception):
    """The consumer process dies here: no XACK is sent for what it holds."""


class StreamConsumer:
    """One consumer of a group: reads, handles, acknowledges; ``handled`` counts every delivery it handled."""

    def __init__(self, client, stream, group, name):
        self.client, self.stream, self.group, self.name = client, stream, group, name
        self.handled = []                       # message ids, in the order this consumer handled them

    def read_new(self, count):
        """XREADGROUP ... >: up to ``count`` messages nobody in the group has been given yet."""
        answer = self.client.xreadgroup(self.group, self.name, {self.stream: ">"}, count=count)
        return answer[0][1] if answer else []

    def claim_idle(self, min_idle_ms):
        """XAUTOCLAIM: take over messages pending (with anyone) for at least ``min_idle_ms``."""
        reply = self.client.xautoclaim(self.stream, self.group, self.name, min_idle_ms, start_id="0-0")
        return reply[1]          # [next start id, messages]; Redis 7 adds a third item, the ids it deleted

    def handle(self, messages, sinks, crash_at=None):
        """Apply each message to every sink, then XACK it. ``crash_at``: die after applying that id, before its ACK."""
        for message_id, fields in messages:
            for sink in sinks:
                sink.apply(message_id, int(fields["amount"]))
            self.handled.append(message_id)
            if message_id == crash_at:
                raise _Crash(message_id)
            self.client.xack(self.stream, self.group, message_id)


@dataclasses.dataclass
class StreamRun:
    """What one run of the consumer-group experiment counted; both sinks were given the same deliveries."""

    produced: int
    pending_at_crash: dict          # consumer name -> messages it held when it crashed (from XPENDING)
    claimed_too_early: int          # what XAUTOCLAIM took before the idle time had passed
    claimed: int                    # what it took after
    deliveries_handled: int         # every handling, redeliveries included
    handled_twice: int              # messages handled more than once
    never_handled: int
    pending_at_end: int
    expected_total: int             # the sum of every message's amount, once
    counting_total: int             # what a sink that applies every delivery summed
    idempotent_total: int           # what a sink that remembers message ids summed


def consumer_group_experiment(messages=100, crash_after=37, batch=10, min_idle_ms=1000, seed=7, redis_url=None):
    """Produce ``messages``; worker-1 crashes after handling message ``crash_after`` (before its XACK) with
    the rest of its batch pending; worker-2 reads on, then claims the pending ones after ``min_idle_ms``.
    Every delivery goes to two sinks, one counting each delivery and one idempotent. Returns a ``StreamRun``.
    Uses ``redis_url``, else the lab's Redis (``start_redis``).
    """
    if not isinstance(messages, int) or messages < 1 or not isinstance(crash_after, int) \
            or not 1 <= crash_after <= messages:
        raise InvalidArgumentError(f"need 1 <= crash_after <= messages, got crash_after={crash_after!r}, "
                                   f"messages={messages!r}")
    if not isinstance(batch, int) or batch < 1 or not isinstance(min_idle_ms, int) or min_idle_ms < 1:
        raise InvalidArgumentError(f"batch and min_idle_ms must be whole numbers >= 1, not {batch!r}, {min_idle_ms!r}")
    server = None
    if redis_url is None:
        server = start_redis()
        if server is None:
            raise DependencyMissingError(f"this experiment needs a Redis server; {INSTALL_HINT}")
        redis_url = server.url
    client = redis.Redis.from_url(redis_url, decode_responses=True, socket_timeout=5)
    stream, group = f"lab-orders-{secrets.token_hex(4)}", "billing"
    try:
        return _run(client, stream, group, messages, crash_after, batch, min_idle_ms, seed)
    finally:
        client.delete(stream)
        client.close()
        if server is not None:
            server.close()


def _run(client, stream, group, messages, crash_after, batch, min_idle_ms, seed):
    rng = random.Random(seed)
    amounts = [rng.randint(1, 99) for _ in range(messages)]
    client.xgroup_create(stream, group, id="0", mkstream=True)
    ids = [client.xadd(stream, {"order": n, "amount": amount}) for n, amount in enumerate(amounts, start=1)]
    counting, idempotent = CountingSink(), IdempotentSink()
    sinks = (counting, idempotent)
    first, second = StreamConsumer(client, stream, group, "worker-1"), StreamConsumer(client, stream, group, "worker-2")
    try:
        while True:                                     # worker-1 works until it dies
            first.handle(first.read_new(batch), sinks, crash_at=ids[crash_after - 1])
    except _Crash:
        pass                                            # the process is gone; what it held stays pending in Redis
    summary = client.xpending(stream, group)
    pending_at_crash = {c["name"]: c["pending"] for c in summary["consumers"]}
    too_early = len(second.claim_idle(min_idle_ms))     # right away: worker-1 might still be working on them
    while True:                                         # worker-2 reads what nobody has seen yet
        fresh = second.read_new(batch)
        if not fresh:
            break
        second.handle(fresh, sinks)
    wait_until(lambda: _least_idle_ms(client, stream, group) >= min_idle_ms, timeout=10 + min_idle_ms / 1000)
    claimed = second.claim_idle(min_idle_ms)            # now they are idle long enough: rescue them
    second.handle(claimed, sinks)
    handled = first.handled + second.handled
    return StreamRun(produced=len(ids), pending_at_crash=pending_at_crash, claimed_too_early=too_early,
                     claimed=len(claimed), deliveries_handled=len(handled),
                     handled_twice=sum(1 for i in set(handled) if handled.count(i) > 1),
                     never_handled=len(set(ids) - set(handled)),
                     pending_at_end=client.xpending(stream, group)["pending"],
                     expected_total=sum(amounts), counting_total=counting.total, idempotent_total=idempotent.total)


def _least_idle_ms(client, stream, group):
    """How long the most recently delivered pending message has been idle (infinite: nothing is pending)."""
    entries = client.xpending_range(stream, group, "-", "+", 1000)
    return min((entry["time_since_delivered"] for entry in entries), default=float("inf"))
