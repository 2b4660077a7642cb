"""Chaos schedules: crash, restart, pause, slow or cut off instances on a timetable, reproducibly.

An experiment about failure is only convincing if you can run it again and
get the same story. A ``Chaos`` schedule says *when* to strike (every N
seconds, or every N user actions, which gives the same number of strikes on
every run; or once, as the traffic starts), *whom* (a named instance, or a
seeded random pick among the live ones) and *what* a strike does, which is
the class's business:

* ``Chaos`` kills its victim. By default the victim is restarted at the next
  strike, as a supervisor such as Kubernetes would, so at most one instance is
  down at a time.
* ``RestartChaos`` restarts its victim at once: the process crashes and is
  straight back, empty, so no instance is ever missing, only memory.
* ``PauseChaos``, ``SlowChaos`` and ``PartitionChaos`` inflict a fault short of
  a crash (``Cluster.pause``, ``slow``, ``partition``; see ``engine/faults.py``)
  and ``heal`` it later.

``lasting_s`` or ``lasting_actions`` says how long a strike lasts; without it,
the victim is healed (or restarted) at the next strike.
Whatever is still broken when the traffic ends is healed then. A strike never
takes the last live instance: that would be an outage, not chaos. Sentences
work too (``Chaos.parse``); the verb picks the class:

    Chaos(every_actions=100)                          # kill a random instance every 100 actions
    Chaos.parse("kill one instance every 0.5 s")      # the same idea, on a clock
    Chaos.parse("restart one instance every 100 actions")
    Chaos.parse("pause one instance every 2 s for 0.5 s")
    Chaos.parse("slow shop-2 by 200 ms")              # from the start of the traffic to its end
    Chaos.parse("partition shop-3 every 50 actions for 20 actions")

A pause scheduled in actions heals only when other users' actions reach the
mark, and users waiting on the paused instance make none: schedule pauses in
seconds, or give the balancer a request timeout. Chapters 00 to 08 use kills;
chapter 06 the faults.
"""

import random
import re
import threading
import time

from ..errors import InvalidArgumentError, UnknownInstanceError

__all__ = ["Chaos", "RestartChaos", "FaultChaos", "PauseChaos", "SlowChaos", "PartitionChaos"]

_UNITS = r"(s|sec|seconds?|actions?)"
_SENTENCE = re.compile(
    r"^\s*(?P<verb>[a-z]+)"
    r"(?:\s+(?:one(?:\s+instance)?|instance|(?P<name>(?!every\b|for\b|by\b)[a-z0-9][a-z0-9_.-]*)))?"
    r"(?:\s+by\s+(?P<ms>[\d.]+)\s*ms)?"
    r"(?:\s+every\s+(?P<every>[\d.]+)\s*" + _UNITS.replace("(", "(?P<unit>", 1) + r")?"
    r"(?:\s+for\s+(?P<lasting>[\d.]+)\s*" + _UNITS.replace("(", "(?P<lasting_unit>", 1) + r")?"
    r"\s*$")
_EXAMPLES = ("'kill one instance every 0.5 s', 'restart one instance every 100 actions', "
             "'pause one instance every 2 s for 0.5 s', 'slow shop-2 by 200 ms' or 'partition shop-3 for 1 s'")


class _Seconds:
    """A schedule's clock in seconds since the traffic started."""

    def __init__(self):
        self.started = time.monotonic()

    def now(self):
        return time.monotonic() - self.started

    def past_the_end(self, mark, total):
        return False                              # a clock runs until the traffic stops it

    def wait_until(self, mark, stop):
        """Wait until ``mark``; False if ``stop`` was set first."""
        return not stop.wait(max(0.0, mark - self.now()))


class _Actions:
    """A schedule's clock in user actions done so far (the ledger's count)."""

    def __init__(self, ledger):
        self.ledger = ledger

    def now(self):
        return self.ledger.snapshot()["actions"]

    def past_the_end(self, mark, total):
        return mark >= total                      # no run of ``total`` actions ever gets there

    def wait_until(self, mark, stop):
        while self.now() < mark:
            if stop.wait(0.002):
                return False
        return True


def _timing(what, unit, value):
    """{"every_s": 0.5} or {"every_actions": 100} (``what`` is "every" or "lasting") from a sentence's unit."""
    return {f"{what}_actions": int(value)} if unit.startswith("action") else {f"{what}_s": value}


def _number(text, what):
    value = float(text)
    if value <= 0:
        raise InvalidArgumentError(f"{what} must be positive, not {text}; write it like {_EXAMPLES}")
    return value


class Chaos:
    """When and whom to strike; a strike kills. ``events`` lists what was done, in order.

    ``every_s`` or ``every_actions`` (at most one; neither: one strike as the
    traffic starts), ``victims`` (names, taken in turn; None: a seeded random
    live instance), ``restart`` (bring a killed victim back at the next strike
    or when its strike ends), ``lasting_s`` or ``lasting_actions`` (how long a
    strike lasts, in the same unit as the interval), ``limit`` (at most this
    many strikes), ``seed``. For subclasses: ``_hit(cluster, victim)`` is what
    one strike does, ``_undo(cluster, victim)`` what healing it does.
    """

    verb = "kill"

    def __init__(self, every_s=None, every_actions=None, victims=None, restart=True, limit=None, seed=0,
                 lasting_s=None, lasting_actions=None):
        in_seconds, in_actions = (every_s, lasting_s), (every_actions, lasting_actions)
        if any(v is not None for v in in_seconds) and any(v is not None for v in in_actions):
            raise InvalidArgumentError("give the interval and how long a strike lasts in one unit: seconds "
                                       "(every_s, lasting_s) or user actions (every_actions, lasting_actions)")
        for name, value in (("every_s", every_s), ("every_actions", every_actions), ("lasting_s", lasting_s),
                            ("lasting_actions", lasting_actions)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
                                      or name.endswith("actions") and value < 1):
                raise InvalidArgumentError(f"{name} must be a positive number, not {value!r}")
        self.every_s = every_s
        self.every_actions = every_actions
        self.victims = list(victims) if victims else None
        self.restart = restart
        self.every = every_s if every_s is not None else every_actions         # None: once, as the traffic starts
        self.lasting = lasting_s if lasting_s is not None else lasting_actions
        self.in_actions = any(v is not None for v in in_actions)
        self.limit = 1 if self.every is None else limit
        self.events = []
        self.strikes = 0
        self.error = None                         # a LabError that stopped the schedule, raised by finish()
        self._rng = random.Random(seed)
        self._down = None                         # the victim to heal (or restart) next
        self._heal_at = None                      # when, if the strike has a ``lasting``
        self._clock = None
        self._stop = threading.Event()
        self._thread = None

    @classmethod
    def parse(cls, chaos, seed=0):
        """A schedule from a sentence such as "kill one instance every 0.5 s" (or a ``Chaos``, unchanged)."""
        if isinstance(chaos, Chaos):
            return chaos
        match = _SENTENCE.match(str(chaos).lower())
        if not match or match["verb"] not in SCHEDULES:
            raise InvalidArgumentError(f"cannot read the chaos schedule {chaos!r}; write it like {_EXAMPLES}")
        schedule = SCHEDULES[match["verb"]]
        every, unit, lasting, lasting_unit = match.group("every", "unit", "lasting", "lasting_unit")
        timing = {}
        if every is not None:
            timing.update(_timing("every", unit, _number(every, "the interval")))
        if lasting is not None:
            timing.update(_timing("lasting", lasting_unit, _number(lasting, "how long a strike lasts")))
        victims = [match["name"]] if match["name"] else None
        return schedule.from_sentence(match["ms"], chaos, victims=victims, seed=seed, **timing)

    @classmethod
    def from_sentence(cls, ms, sentence, **options):
        """The schedule a parsed sentence asks for (``ms`` is what "by N ms" said, if anything)."""
        if ms is not None:
            raise InvalidArgumentError(f"only 'slow' takes 'by N ms'; {sentence!r} cannot be read")
        return cls(**options)

    # -- running alongside the traffic ---------------------------------------------------
    def start(self, cluster, ledger, total):
        """Strike in a background thread while traffic runs; ``finish()`` stops it and heals the cluster."""
        names = [instance.name for instance in cluster.instances]
        for name in self.victims or ():           # an unknown victim is refused here, not in the thread
            if name not in names:
                raise UnknownInstanceError(name, names)
        self._clock = _Actions(ledger) if self.in_actions else _Seconds()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(cluster, total), name="chaos", daemon=True)
        self._thread.start()
        return self._thread

    def finish(self, cluster, aborted=False):
        """After the traffic: let strikes that fell due happen (so the count never depends on timing), heal.

        ``aborted`` means the traffic was stopped early: no more strikes will fall due.
        """
        if not self.in_actions or aborted:
            self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._stop.set()
        self._heal(cluster)
        if self.error is not None:
            raise self.error

    def _run(self, cluster, total):
        try:
            self._strike_on_time(cluster, total)
        except Exception as exc:                  # kept for finish() to raise in the caller's thread
            self.error = exc

    def _strike_on_time(self, cluster, total):
        """Wait for each strike and each heal that falls due, in order, and do it."""
        clock = self._clock
        next_strike = self.every if self.every is not None else 0
        attempts = 0
        while not self._stop.is_set():
            striking = self.limit is None or attempts < self.limit
            due = [mark for mark in (next_strike if striking else None, self._heal_at) if mark is not None]
            if not due or clock.past_the_end(min(due), total):
                return                            # every strike and heal due in this run has happened
            if not clock.wait_until(min(due), self._stop):
                return
            if self._heal_at is not None and clock.now() >= self._heal_at:
                self._heal(cluster)
                continue
            self._strike(cluster)
            attempts += 1                         # counts attempts, so a skipped strike still moves the clock on
            next_strike = next_strike + self.every if self.every is not None else None

    def _strike(self, cluster):
        self._heal(cluster)
        alive = [i.name for i in cluster.instances if i.alive]
        if len(alive) < 2:
            return                                # never take the last instance: that is an outage, not chaos
        if self.victims:
            victim = self.victims[self.strikes % len(self.victims)]
            if victim not in alive:
                return
        else:
            victim = self._rng.choice(sorted(alive))
        self._hit(cluster, victim)
        self.strikes += 1
        if self._down is not None and self.lasting is not None:
            self._heal_at = self._clock.now() + self.lasting

    def _hit(self, cluster, victim):
        """Kill ``victim``; with ``restart`` it comes back at the next strike, after ``lasting`` or at the end."""
        cluster.kill(victim)
        self.events.append(f"killed {victim}")
        self._down = victim if self.restart else None

    def _heal(self, cluster):
        self._heal_at = None
        if self._down is not None:
            victim, self._down = self._down, None
            self._undo(cluster, victim)

    def _undo(self, cluster, victim):
        cluster.restart(victim)
        self.events.append(f"restarted {victim}")


class RestartChaos(Chaos):
    """Restart instances on a timetable: each victim crashes and is back at once, with empty memory.

    Nothing is ever down for long, so a stateless shop barely notices; a
    stateful one loses every session the victim held, just as with a kill.
    """

    verb = "restart"

    def __init__(self, *args, **options):
        if options.get("lasting_s") is not None or options.get("lasting_actions") is not None:
            raise InvalidArgumentError("a restart is over at once; it cannot last (drop 'for ...')")
        super().__init__(*args, **options)

    def _hit(self, cluster, victim):
        cluster.restart(victim)
        self.events.append(f"restarted {victim}")


class FaultChaos(Chaos):
    """Inflict a fault short of a crash on each victim and ``heal`` it afterwards. Subclasses say which."""

    def _hit(self, cluster, victim):
        self._inflict(cluster, victim)
        self._down = victim

    def _inflict(self, cluster, victim):
        raise NotImplementedError

    def _undo(self, cluster, victim):
        cluster.heal(victim)
        self.events.append(f"healed {victim}")


class PauseChaos(FaultChaos):
    """Pause victims (a long GC pause): they hold their connections and answer nothing until healed."""

    verb = "pause"

    def _inflict(self, cluster, victim):
        cluster.pause(victim)
        self.events.append(f"paused {victim}")


class SlowChaos(FaultChaos):
    """Slow victims down by ``ms`` milliseconds per answer until healed."""

    verb = "slow"

    def __init__(self, ms, **options):
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or not ms > 0:
            raise InvalidArgumentError(f"ms must be a positive number of milliseconds, not {ms!r}")
        super().__init__(**options)
        self.ms = ms

    @classmethod
    def from_sentence(cls, ms, sentence, **options):
        if ms is None:
            raise InvalidArgumentError(f"say how much slower, e.g. 'slow shop-2 by 200 ms'; {sentence!r} does not")
        return cls(_number(ms, "the delay"), **options)

    def _inflict(self, cluster, victim):
        cluster.slow(victim, self.ms)
        self.events.append(f"slowed {victim} by {self.ms:g} ms")


class PartitionChaos(FaultChaos):
    """Cut the balancer's path to victims until healed; their processes live on."""

    verb = "partition"

    def _inflict(self, cluster, victim):
        cluster.partition(victim)
        self.events.append(f"partitioned {victim}")


SCHEDULES = {cls.verb: cls for cls in (Chaos, RestartChaos, PauseChaos, SlowChaos, PartitionChaos)}
