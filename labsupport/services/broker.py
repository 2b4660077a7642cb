"""A message broker is stateful on purpose: partitioned logs and committed offsets on disk.

Each partition of a topic is an append-only log file; a message's *offset* is
its place in that log, and a stable hash of the key picks the partition, so one
key's messages stay in order. A consumer group stores its committed offset in
the broker, so a new consumer resumes where a dead one stopped. As in Kafka,
the committed offset is the *next* offset to read (one past the last message
handled), not the last one handled: commit 40 and the group resumes at message
40. Commit *before* processing and a crash loses messages (at-most-once),
commit *after* and it replays them (at-least-once). Chapter 07 uses this module.
"""

import collections
import contextlib
import dataclasses
import hashlib
import json
import os
import pathlib
import random
import re
import tempfile

from ..engine import registry, workspace
from ..engine.lifecycle import Closable
from ..errors import ClusterClosedError, InvalidArgumentError

__all__ = ["Message", "partition_for", "Broker", "Consumer", "ConsumerRun", "DeliveryResult", "delivery_experiment"]

Message = collections.namedtuple("Message", "topic partition offset key value")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def partition_for(key, partitions):
    """The partition for ``key``, from a hash that is the same in every process.

    (Python's ``hash()`` of a str changes per process: a restarted producer
    would scatter a key's messages over partitions and lose their order.)"""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % partitions


def _check_name(what, name):
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidArgumentError(f"{what} name {name!r} is not usable; use letters, digits, '.', '_', '-' ('orders')")


def _check_count(what, value, minimum=0):
    if not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(f"{what} must be an int >= {minimum}, got {value!r}")


def _read_records(path):
    """The JSON lines of ``path``; a torn last line (a crash mid-write) is cut off."""
    data = path.read_bytes() if path.exists() else b""
    complete = data[:data.rfind(b"\n") + 1]
    if len(complete) < len(data):
        os.truncate(path, len(complete))
    return [json.loads(line) for line in complete.splitlines()]


class Broker(Closable):
    """Topics of partitioned, append-only logs in ``directory``, plus committed offsets.

    ``close()`` stops gracefully, ``kill()`` crashes; a new ``Broker`` on the
    same directory is a restart (use one Broker per directory, from one thread).
    Each append is flushed to the operating system, which survives a crash of
    this process; ``fsync=True`` also forces it to the disk, which survives a
    power cut, at the price of a disk write per message.
    """

    def __init__(self, directory, partitions=3, fsync=False):
        _check_count("partitions", partitions, minimum=1)
        self.directory = pathlib.Path(directory)
        self.default_partitions = partitions
        self.fsync = fsync
        self._logs = {}     # (topic, partition) -> [Message]: a cache of the files, rebuilt after a restart
        self._files = {}    # (topic, partition) -> open append handle
        (self.directory / "topics").mkdir(parents=True, exist_ok=True)
        offsets_path = self.directory / "offsets.log"
        self._committed = {(r["group"], r["topic"], r["partition"]): r["offset"] for r in _read_records(offsets_path)}
        self._offsets_file = open(offsets_path, "a", encoding="utf-8")
        self._opened()

    def produce(self, topic, key, value):
        """Append ``value`` to the partition chosen by ``key``; returns ``(partition, offset)``."""
        self._check_open()
        _check_name("topic", topic)
        if not isinstance(key, str):
            raise InvalidArgumentError(f"key must be a str, got {key!r}; use for example the customer id as text")
        if not (self.directory / "topics" / topic).exists():   # a new topic: its partition count is fixed now
            (self.directory / "topics" / topic).mkdir()
            for partition in range(self.default_partitions):
                self._path(topic, partition).touch()
        partition = partition_for(key, self.partitions(topic))
        log = self._log(topic, partition)
        message = Message(topic, partition, len(log), key, value)
        self._append(self._file(topic, partition), {"offset": message.offset, "key": key, "value": value})
        log.append(message)
        return partition, message.offset

    def fetch(self, topic, partition, offset=0, max_messages=100):
        """Up to ``max_messages`` messages of one partition, starting at ``offset``."""
        self._check_partition(topic, partition)
        _check_count("offset", offset)
        _check_count("max_messages", max_messages, minimum=1)
        return self._log(topic, partition)[offset:offset + max_messages]

    def end_offset(self, topic, partition):
        """The offset the next message of this partition will get."""
        self._check_partition(topic, partition)
        return len(self._log(topic, partition))

    def topics(self):
        return sorted(path.name for path in (self.directory / "topics").iterdir())

    def partitions(self, topic):
        """How many partitions ``topic`` has (fixed when the topic was created)."""
        _check_name("topic", topic)
        path = self.directory / "topics" / topic
        if not path.is_dir():
            raise InvalidArgumentError(f"no topic {topic!r} yet; produce to it first (topics: {self.topics()})")
        return len(list(path.glob("partition-*.log")))

    def commit(self, group, topic, partition, offset):
        """Record that ``group`` is done with every message before ``offset``: ``offset`` is the next one to read."""
        self._check_open()
        _check_name("group", group)
        end = self.end_offset(topic, partition)
        if not isinstance(offset, int) or not 0 <= offset <= end:
            raise InvalidArgumentError(f"offset must be an int from 0 to {end} (the log's end), got {offset!r}")
        self._append(self._offsets_file, {"group": group, "topic": topic, "partition": partition, "offset": offset})
        self._committed[(group, topic, partition)] = offset

    def committed(self, group, topic, partition):
        """The next offset ``group`` will read in this partition (0 if it never committed)."""
        self._check_open()
        return self._committed.get((group, topic, partition), 0)

    def _close(self):
        """Graceful stop (what ``close()`` runs): force every log to the disk, then close the files."""
        self._shut_down(graceful=True)

    def kill(self):
        """Crash: drop the in-memory caches and file handles, as a dying process would."""
        if not self.closed:
            self.closed = True
            self._shut_down(graceful=False)
            registry.unregister(self)

    def _shut_down(self, graceful):
        for handle in [*self._files.values(), self._offsets_file]:
            if graceful:
                handle.flush()
                os.fsync(handle.fileno())
            handle.close()
        self._files, self._logs, self._committed = {}, {}, {}

    def _check_open(self):
        if self.closed:
            raise ClusterClosedError(f"this broker was stopped; restart it with Broker({str(self.directory)!r})")

    def _check_partition(self, topic, partition):
        self._check_open()
        count = self.partitions(topic)
        if not isinstance(partition, int) or not 0 <= partition < count:
            raise InvalidArgumentError(f"topic {topic!r} has partitions 0 to {count - 1}, not {partition!r}")

    def _path(self, topic, partition):
        return self.directory / "topics" / topic / f"partition-{partition}.log"

    def _log(self, topic, partition):
        if (topic, partition) not in self._logs:
            self._logs[(topic, partition)] = [Message(topic, partition, r["offset"], r["key"], r["value"])
                                              for r in _read_records(self._path(topic, partition))]
        return self._logs[(topic, partition)]

    def _file(self, topic, partition):
        if (topic, partition) not in self._files:
            self._files[(topic, partition)] = open(self._path(topic, partition), "a", encoding="utf-8")
        return self._files[(topic, partition)]

    def _append(self, handle, record):
        try:
            handle.write(json.dumps(record) + "\n")
        except TypeError as error:
            raise InvalidArgumentError(f"value must be JSON-serialisable (dict, list, str, number): {error}") from None
        handle.flush()              # to the operating system: survives a crash of this process
        if self.fsync:
            os.fsync(handle.fileno())   # to the disk: survives a power cut


@dataclasses.dataclass(frozen=True)
class ConsumerRun:
    """What one ``Consumer.run`` did. ``in_flight``: messages a crash caught between commit and processing,
    committed but never handled ("before": lost) or handled but not committed ("after": handled again)."""
    handled: int
    crashed: bool
    in_flight: int


class Consumer:
    """One member of consumer group ``group``; it starts from the group's committed offsets.

    ``commit="before"`` commits a batch before handling it (at-most-once),
    ``commit="after"`` once it is handled (at-least-once). ``seed`` decides
    the order in which partitions are polled.
    """

    def __init__(self, broker, group, topic, partitions=None, commit="after", batch_size=10, seed=None):
        if commit not in ("before", "after"):
            raise InvalidArgumentError(f"commit must be 'before' or 'after' (processing), got {commit!r}")
        _check_count("batch_size", batch_size, minimum=1)
        _check_name("group", group)
        available = range(broker.partitions(topic))
        self.partitions = list(available) if partitions is None else sorted(partitions)
        if not set(self.partitions) <= set(available):
            raise InvalidArgumentError(f"topic {topic!r} has partitions {list(available)}, not {partitions!r}")
        self.broker, self.group, self.topic = broker, group, topic
        self.commit, self.batch_size = commit, batch_size
        self.crashed, self._rng = False, random.Random(seed)
        self.positions = {p: broker.committed(group, topic, p) for p in self.partitions}

    def run(self, handler, crash_after=None):
        """Give every available message to ``handler(message)``; returns a ``ConsumerRun``.

        ``crash_after=n``: the consumer dies right after handling the n-th message.
        """
        if self.crashed:
            raise ClusterClosedError(f"this consumer crashed; a new Consumer in group {self.group!r} resumes its work")
        if crash_after is not None:
            _check_count("crash_after", crash_after, minimum=1)
        handled = 0
        while True:
            order = self._rng.sample(self.partitions, len(self.partitions))
            batches = {p: self.broker.fetch(self.topic, p, self.positions[p], self.batch_size) for p in order}
            if not any(batches.values()):
                return ConsumerRun(handled, False, 0)
            for partition, batch in batches.items():
                if not batch:
                    continue
                end = batch[-1].offset + 1
                if self.commit == "before":
                    self.broker.commit(self.group, self.topic, partition, end)
                for done, message in enumerate(batch, 1):
                    handler(message)
                    handled += 1
                    if handled == crash_after:
                        self.crashed = True
                        return ConsumerRun(handled, True, len(batch) - done if self.commit == "before" else done)
                if self.commit == "after":
                    self.broker.commit(self.group, self.topic, partition, end)
                self.positions[partition] = end


@dataclasses.dataclass(frozen=True)
class DeliveryResult:
    """Counts from ``delivery_experiment``; its repr is a small table."""
    commit: str
    produced: int
    in_flight: int          # between commit and processing when the consumer died
    processed_unique: int
    lost: int
    duplicated: int

    def __repr__(self):
        guarantee = {"before": "at-most-once", "after": "at-least-once"}[self.commit]
        rows = [("produced", self.produced), ("in flight at the crash", self.in_flight),
                ("processed (unique)", self.processed_unique), ("lost", self.lost), ("duplicated", self.duplicated)]
        return "\n".join([f"commit {self.commit} processing ({guarantee})"] +
                         [f"  {name:<24}{value:>6}" for name, value in rows])


def delivery_experiment(directory=None, messages=100, crash_after=37, commit="after",
                        partitions=3, batch_size=10, seed=7):
    """Produce orders, crash a consumer after ``crash_after`` messages, resume with a new one.

    ``directory`` must be new or empty; by default a temporary one is used and removed."""
    _check_count("messages", messages)
    if directory is not None and pathlib.Path(directory).exists() and any(pathlib.Path(directory).iterdir()):
        raise InvalidArgumentError(f"{str(directory)!r} is not empty; pass a new directory (or None: a temporary one)")
    if directory is None:
        workdir = tempfile.TemporaryDirectory(prefix="broker-", dir=workspace.lab_folder())
    else:
        workdir = contextlib.nullcontext(directory)
    rng = random.Random(seed)
    handled = collections.Counter()
    with workdir as path, Broker(path, partitions=partitions) as broker:
        for number in range(messages):
            broker.produce("orders", f"customer-{rng.randrange(10)}", {"order": number})

        def handle(message):
            handled[message.value["order"]] += 1

        crash = Consumer(broker, "billing", "orders", commit=commit, batch_size=batch_size, seed=seed).run(
            handle, crash_after=crash_after)
        Consumer(broker, "billing", "orders", commit=commit, batch_size=batch_size, seed=seed).run(handle)
    processed, unique = sum(handled.values()), len(handled)
    return DeliveryResult(commit, messages, crash.in_flight, unique, messages - unique, processed - unique)
