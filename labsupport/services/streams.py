"""A stream processor keeps window state in memory, so a crash must be planned for.

Each event carries its own time. The processor adds it to the open windows it
falls in -- tumbling (fixed, back to back), sliding (fixed, overlapping) or
session (ended by a quiet gap) -- and emits a window once the *watermark* (the
newest timestamp seen minus the allowed lateness) has passed its end. Kill the
processor and the open windows vanish, so they come out too small. A
checkpoint saves the windows together with the input position; a restarted
processor restores it, replays the input from there and gets every window
right. Chapter 07 uses this module.
"""

import collections
import contextlib
import dataclasses
import json
import math
import os
import pathlib
import random
import tempfile

from ..engine import workspace
from ..errors import ClusterClosedError, InvalidArgumentError

__all__ = ["Event", "Window", "TumblingWindows", "SlidingWindows", "SessionWindows", "make_windows",
           "generate_events", "CheckpointStore", "StreamProcessor", "WindowResult", "window_experiment"]

Event = collections.namedtuple("Event", "key value timestamp")
Window = collections.namedtuple("Window", "key start end count total")   # one emitted aggregate


def _check_int(what, value, minimum):
    if not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(f"{what} must be an int >= {minimum}, got {value!r}")


class TumblingWindows:
    """Back-to-back windows of ``size``: every event falls in exactly one."""
    merges = False

    def __init__(self, size=20):
        _check_int("size", size, 1)
        self.size = size

    def assign(self, timestamp):
        start = timestamp - timestamp % self.size
        return [(start, start + self.size)]


class SlidingWindows:
    """Windows of ``size`` starting every ``slide``: an event falls in size/slide of them."""
    merges = False

    def __init__(self, size=20, slide=5):
        _check_int("size", size, 1)
        _check_int("slide", slide, 1)
        if slide > size:
            raise InvalidArgumentError(f"slide ({slide}) must not exceed size ({size}), or events fall between windows")
        self.size, self.slide = size, slide

    def assign(self, timestamp):
        last = timestamp - timestamp % self.slide
        return [(start, start + self.size) for start in range(last, timestamp - self.size, -self.slide)][::-1]


class SessionWindows:
    """Per-key bursts of activity, ended by ``gap`` without events; overlapping sessions merge."""
    merges = True

    def __init__(self, gap=8):
        _check_int("gap", gap, 1)
        self.gap = gap

    def assign(self, timestamp):
        return [(timestamp, timestamp + self.gap)]


def make_windows(kind, **options):
    """The window definition for ``kind`` ("tumbling", "sliding", "session"); options such as size=30."""
    kinds = {"tumbling": TumblingWindows, "sliding": SlidingWindows, "session": SessionWindows}
    if kind not in kinds:
        raise InvalidArgumentError(f"kind must be one of {sorted(kinds)}, got {kind!r}")
    return kinds[kind](**options)


def generate_events(count, seed=7, keys=("sensor-a", "sensor-b", "sensor-c"), disorder=3):
    """``count`` events in roughly increasing time, up to ``disorder`` late, with occasional quiet spells."""
    _check_int("count", count, 0)
    rng = random.Random(seed)
    clock, events = 0, []
    for _ in range(count):
        clock += rng.choice((0, 1, 1, 2, 3)) + (rng.randint(15, 40) if rng.random() < 0.03 else 0)
        events.append(Event(rng.choice(keys), rng.randint(1, 9), max(0, clock - rng.randint(0, disorder))))
    return events


class CheckpointStore:
    """The newest checkpoint, in one JSON file that is replaced atomically.

    The snapshot goes to a temporary file beside it, is forced to disk, and
    then renamed over the old one: a crash mid-save leaves the previous
    checkpoint whole, never half of a new one.
    """

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.saves = 0

    def save(self, snapshot):
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(snapshot, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)
        self.saves += 1

    def load(self):
        """The last snapshot saved, or None if there is none."""
        if not self.path.exists():
            return None
        return json.loads(self.path.read_text(encoding="utf-8"))

    def clear(self):
        self.path.unlink(missing_ok=True)


class StreamProcessor:
    """Aggregates events per key and window (count and sum of values) in memory.

    Closed windows go to ``sink``, a dict owned by the caller (the output
    table): keyed by (key, start, end), so writing a window again after a
    replay leaves the same value. ``position`` counts the input events read.
    """

    def __init__(self, windows, allowed_lateness=5, sink=None, checkpoints=None, checkpoint_every=None):
        _check_int("allowed_lateness", allowed_lateness, 0)
        if checkpoint_every is not None:
            _check_int("checkpoint_every", checkpoint_every, 1)
            if checkpoints is None:
                raise InvalidArgumentError("checkpoint_every needs checkpoints=CheckpointStore(path) to save to")
        self.windows, self.allowed_lateness = windows, allowed_lateness
        self.sink = {} if sink is None else sink
        self.checkpoints, self.checkpoint_every = checkpoints, checkpoint_every
        self.position, self.late, self.alive = 0, 0, True
        self.max_timestamp = None
        self._open = {}   # (key, start, end) -> [count, total]: the state a crash loses

    @property
    def watermark(self):
        """Event time before which no more events are expected (-inf before the first event)."""
        return -math.inf if self.max_timestamp is None else self.max_timestamp - self.allowed_lateness

    @property
    def open_windows(self):
        return len(self._open)

    def process(self, event):
        """Add one event; returns the windows this closed (already written to the sink)."""
        if not self.alive:
            raise ClusterClosedError("this processor was killed; start a new StreamProcessor (and restore() it)")
        spans = [(start, end) for start, end in self.windows.assign(event.timestamp) if end > self.watermark]
        if not spans:                 # all its windows were emitted already: too late, dropped
            self.late += 1
        for start, end in spans:
            window = (event.key, start, end)
            if self.windows.merges:
                window = self._merge_sessions(*window)
            state = self._open.setdefault(window, [0, 0])
            state[0] += 1
            state[1] += event.value
        if self.max_timestamp is None or event.timestamp > self.max_timestamp:
            self.max_timestamp = event.timestamp
        self.position += 1
        emitted = self._emit_until(self.watermark)
        if self.checkpoint_every and self.position % self.checkpoint_every == 0:
            self.checkpoint()
        return emitted

    def finish(self):
        """End of input: emit every window still open."""
        return self._emit_until(math.inf)

    def checkpoint(self):
        """Save the open windows, the watermark and the input position, together."""
        windows = [[key, start, end, count, total] for (key, start, end), (count, total) in self._open.items()]
        self._store().save({"position": self.position, "max_timestamp": self.max_timestamp,
                               "late": self.late, "windows": windows})

    def restore(self):
        """Load the last checkpoint; returns the input position to replay from (0 without one)."""
        snapshot = self._store().load() or {"position": 0, "max_timestamp": None, "late": 0, "windows": []}
        self.position, self.max_timestamp, self.late = snapshot["position"], snapshot["max_timestamp"], snapshot["late"]
        self._open = {(key, start, end): [count, total] for key, start, end, count, total in snapshot["windows"]}
        return self.position

    def kill(self):
        """Crash: the open windows and the watermark were only in memory, so they are gone."""
        self.alive = False
        self._open, self.max_timestamp = {}, None

    def _store(self):
        if self.checkpoints is None:
            raise InvalidArgumentError("no checkpoint store; pass checkpoints=CheckpointStore(path) when creating it")
        return self.checkpoints

    def _merge_sessions(self, key, start, end):
        """Fold this key's open sessions that overlap [start, end) into one; returns its window."""
        count = total = 0
        for window in [w for w in self._open if w[0] == key and w[1] < end and start < w[2]]:
            found_count, found_total = self._open.pop(window)
            count, total = count + found_count, total + found_total
            start, end = min(start, window[1]), max(end, window[2])
        self._open[(key, start, end)] = [count, total]
        return key, start, end

    def _emit_until(self, watermark):
        closed = sorted((w for w in self._open if w[2] <= watermark), key=lambda w: (w[2], w[1], w[0]))
        emitted = []
        for key, start, end in closed:
            count, total = self._open.pop((key, start, end))
            self.sink[(key, start, end)] = (count, total)
            emitted.append(Window(key, start, end, count, total))
        return emitted


@dataclasses.dataclass(frozen=True)
class WindowResult:
    """A crashed (and restarted) run's windows, compared with a run that never crashed."""
    kind: str
    kill_at: object
    checkpoint_every: object
    windows: int          # windows of the crash-free run
    correct: int          # ... that the run emitted with the same count and sum
    wrong: int            # ... that it emitted with other values, or never emitted
    spurious: int         # windows it emitted that the crash-free run does not have
    counted: int          # events counted, summed over all emitted windows
    expected: int         # the same sum for the crash-free run
    checkpoints: int      # checkpoints written: part of the price of keeping state
    replayed: int         # events read a second time after the restore

    def __repr__(self):
        crash = "no crash" if self.kill_at is None else f"killed after {self.kill_at} events"
        saves = f"checkpoint every {self.checkpoint_every} events" if self.checkpoint_every else "no checkpoints"
        rows = [("windows", self.windows), ("correct", self.correct), ("wrong or missing", self.wrong),
                ("spurious", self.spurious), ("events counted", self.counted), ("... expected", self.expected),
                ("checkpoints written", self.checkpoints), ("events replayed", self.replayed)]
        return "\n".join([f"{self.kind} windows, {crash}, {saves}"] + [f"  {n:<22}{v:>6}" for n, v in rows])


def _run_job(kind, stream, kill_at, store, checkpoint_every):
    """Run one job over ``stream``, killing and restarting it after ``kill_at`` events; returns (sink, replayed)."""
    job = StreamProcessor(make_windows(kind), checkpoints=store, checkpoint_every=checkpoint_every)
    for event in stream[:kill_at]:
        job.process(event)
    replayed = 0
    if kill_at is not None:
        job.kill()
        job = StreamProcessor(make_windows(kind), sink=job.sink, checkpoints=store, checkpoint_every=checkpoint_every)
        if store is not None:
            job.restore()
        else:
            job.position = kill_at    # no checkpoint: the input simply reads on from where it was
        replayed = kill_at - job.position
    for event in stream[job.position:]:
        job.process(event)
    job.finish()
    return job.sink, replayed


def window_experiment(kind="tumbling", events=1000, kill_at=650, checkpoint_every=None, seed=7, directory=None):
    """Run a window job, kill it after ``kill_at`` events, restart it, and check its output.

    Without checkpoints the restarted job starts empty and reads on from event
    ``kill_at``; with them it restores the last checkpoint and replays from its
    position. ``kill_at=None`` runs without a crash. Checkpoints go to
    ``directory`` (default: a temporary directory, removed afterwards).
    """
    stream = generate_events(events, seed)
    if kill_at is not None and (not isinstance(kill_at, int) or not 0 <= kill_at <= events):
        raise InvalidArgumentError(f"kill_at must be None or an int from 0 to {events}, got {kill_at!r}")
    expected, _ = _run_job(kind, stream, None, None, None)
    workdir = tempfile.TemporaryDirectory(prefix="streams-", dir=workspace.lab_folder()) if directory is None else contextlib.nullcontext(directory)
    with workdir as path:
        store = None if checkpoint_every is None else CheckpointStore(pathlib.Path(path) / f"{kind}-checkpoint.json")
        if store is not None:
            store.clear()     # a checkpoint left by an earlier run would restore the wrong job
        output, replayed = _run_job(kind, stream, kill_at, store, checkpoint_every)
    correct = sum(1 for window, value in expected.items() if output.get(window) == value)
    return WindowResult(kind, kill_at, checkpoint_every, len(expected), correct, len(expected) - correct,
                        sum(1 for window in output if window not in expected),
                        sum(count for count, _ in output.values()), sum(count for count, _ in expected.values()),
                        0 if store is None else store.saves, replayed)
