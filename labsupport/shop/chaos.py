"""Chaos schedules: kill or restart instances on a timetable, reproducibly.

An experiment about failure is only convincing if you can run it again and
get the same story. A ``Chaos`` schedule says *when* to strike (every N
seconds, or every N user actions, which gives the same number of strikes on
every run) and *whom* (a fixed list of victims, or a seeded random pick
among the live instances). By default a killed instance is restarted at the
next strike, as a supervisor such as Kubernetes would, so at most one
instance is down at a time. A ``RestartChaos`` restarts its victim at once
instead: the process crashes and is straight back, empty, so there is no
window with an instance missing, only lost memory. Used from chapter 00 on.

    Chaos(every_actions=100)                          # kill a random instance every 100 actions
    Chaos.parse("kill one instance every 0.5 s")      # the same idea, on a clock
    Chaos.parse("restart one instance every 100 actions")   # a RestartChaos
"""

import random
import re
import threading
import time

from ..errors import InvalidArgumentError

__all__ = ["Chaos", "RestartChaos"]

_SENTENCE = re.compile(r"^\s*(kill|restart)\s+(?:one\s+)?(?:instance\s+)?every\s+([\d.]+)\s*"
                       r"(s|sec|seconds?|actions?)\s*$")


class Chaos:
    """When and whom to kill. ``events`` lists what was done, in order.

    For subclasses: ``_hit(cluster, victim)`` is what one strike does to its victim.
    """

    def __init__(self, every_s=None, every_actions=None, victims=None, restart=True, limit=None, seed=0):
        if (every_s is None) == (every_actions is None):
            raise InvalidArgumentError("give exactly one of every_s (seconds) or every_actions (user actions)")
        if every_s is not None and every_s <= 0 or every_actions is not None and every_actions < 1:
            raise InvalidArgumentError(f"the interval must be positive, not {every_s or every_actions!r}")
        self.every_s = every_s
        self.every_actions = every_actions
        self.victims = list(victims) if victims else None
        self.restart = restart
        self.limit = limit
        self.events = []
        self.strikes = 0
        self._rng = random.Random(seed)
        self._down = None
        self._stop = threading.Event()
        self._thread = None

    @classmethod
    def parse(cls, chaos, seed=0):
        """A schedule from a sentence like "kill one instance every 0.5 s" (or a ``Chaos``, unchanged).

        The verb picks the class: "kill" a ``Chaos``, "restart" a ``RestartChaos``.
        """
        if isinstance(chaos, Chaos):
            return chaos
        match = _SENTENCE.match(str(chaos).lower())
        if not match:
            raise InvalidArgumentError(f"cannot read the chaos schedule {chaos!r}; write it like "
                                       "'kill one instance every 0.5 s', 'kill one instance every 100 actions' "
                                       "or 'restart one instance every 100 actions'")
        verb, number, unit = match.groups()
        schedule = SCHEDULES[verb]
        if unit.startswith("action"):
            return schedule(every_actions=int(float(number)), seed=seed)
        return schedule(every_s=float(number), seed=seed)

    def start(self, cluster, ledger, total):
        """Strike in a background thread while traffic runs; ``finish()`` stops it and heals the cluster."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(cluster, ledger, total), name="chaos", daemon=True)
        self._thread.start()
        return self._thread

    def finish(self, cluster, aborted=False):
        """After the traffic: let strikes that fell due happen (so the count never depends on timing), heal.

        ``aborted`` means the traffic was stopped early: no more strikes will fall due.
        """
        if self.every_s is not None or aborted:
            self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._stop.set()
        self._heal(cluster)

    def _run(self, cluster, ledger, total):
        strikes = 0
        next_mark = self.every_actions
        started = time.monotonic()
        while not self._stop.is_set() and (self.limit is None or strikes < self.limit):
            if self.every_actions is not None:
                if next_mark >= total:
                    return                                # every strike due in this run has happened
                done = ledger.snapshot()["actions"]
                if done < next_mark:
                    self._stop.wait(0.002)
                    continue
                next_mark += self.every_actions
            elif self._stop.wait(max(0.0, started + (strikes + 1) * self.every_s - time.monotonic())):
                return
            self._strike(cluster)
            strikes += 1              # counts attempts, so a skipped strike still moves the clock on

    def _strike(self, cluster):
        self._heal(cluster)
        alive = [i.name for i in cluster.instances if i.alive]
        if len(alive) < 2:
            return                                    # never take the last instance: that is an outage, not chaos
        if self.victims:
            victim = self.victims[self.strikes % len(self.victims)]
        else:
            victim = self._rng.choice(sorted(alive))
        self._hit(cluster, victim)
        self.strikes += 1

    def _hit(self, cluster, victim):
        """Kill ``victim``; with ``restart`` it comes back at the next strike (or when the run ends)."""
        cluster.kill(victim)
        self.events.append(f"killed {victim}")
        self._down = victim if self.restart else None

    def _heal(self, cluster):
        if self._down is not None:
            cluster.restart(self._down)
            self.events.append(f"restarted {self._down}")
            self._down = None


class RestartChaos(Chaos):
    """Restart instances on a timetable: each victim crashes and is back at once, with empty memory.

    Nothing is ever down for long, so a stateless shop barely notices; a
    stateful one loses every session the victim held, just as with a kill.
    """

    def _hit(self, cluster, victim):
        cluster.restart(victim)
        self.events.append(f"restarted {victim}")


SCHEDULES = {"kill": Chaos, "restart": RestartChaos}      # the verb of a chaos sentence -> its class
