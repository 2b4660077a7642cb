"""The horizontal pod autoscaler's rule on its own: given how busy the instances are, how many should run?

Kubernetes' HorizontalPodAutoscaler (HPA) decides in three steps, every
sync period (15 s by default). ``ScalingRule`` does the same, with no clock
and no threads of its own, so that the simulated day (``autoscaling.py``,
one decision every 15 simulated seconds) and the live lab's autoscaler
(``labsupport.shop.autoscaler``, one every 0.1 s) follow one rule:

1. **Propose.** ``desired = ceil(current x metric / target)``: if the
   instances are 90 % busy against a 70 % target, ask for 90/70 as many.
   Here the metric is the *load*: busy worker share summed over the ready
   instances (2.1 = two instances' worth of busy workers), so the proposal
   is ``ceil(load / target)``. Within the tolerance (10 %: a ratio between
   0.9 and 1.1) nothing changes, in both directions. Instances still
   starting count as idle when the rule would scale up, as the HPA counts
   not-yet-ready pods at 0 %, which keeps it from adding twice for one rush.
2. **Stabilise.** Scale down only to the *highest* proposal of the last
   ``scale_down_window_s`` (300 s by default): a short lull does not throw
   away capacity needed again a moment later. Scale-up has no window.
3. **Limit the rate** with *policies*: by default at most double, or add
   4, whichever is more, per 15 s (``Percent(100, 15)``, ``Instances(4,
   15)``; the HPA calls the second kind ``Pods``); remove up to 100 % per
   15 s. Then keep within ``min_instances`` and ``max_instances``.

Source: "Horizontal Pod Autoscaling", kubernetes.io, sections "Algorithm
details" and "Configurable scaling behavior" (default behavior). What this
rule leaves out: missing metrics (pods without a reading are assumed at 0 %
or 100 %), several metrics at once (the largest proposal wins),
``selectPolicy: Min`` / ``Disabled`` (only the default, ``Max``, is here),
and the metrics pipeline's own delay and averaging.
"""

import math
from dataclasses import dataclass

from ..checks import require_int, require_number

__all__ = ["ScalingRule", "Percent", "Instances"]


def _ceil(x):
    """Round up, ignoring float dust: 1.4 / 0.7 is 2.0000000000000004, and that asks for 2, not 3."""
    return math.ceil(round(x, 9))


@dataclass(frozen=True)
class Percent:
    """Change the count by at most ``value`` % of what it was ``period_s`` seconds ago (HPA: ``type: Percent``)."""
    value: float
    period_s: float

    def most_up(self, start):
        return _ceil(start * (1 + self.value / 100))           # rounded up, so a small fleet can still grow

    def least_down(self, start):
        return math.floor(start * (1 - self.value / 100))


@dataclass(frozen=True)
class Instances:
    """Change the count by at most ``value`` instances per ``period_s`` seconds (HPA: ``type: Pods``)."""
    value: int
    period_s: float

    def most_up(self, start):
        return start + self.value

    def least_down(self, start):
        return start - self.value


class ScalingRule:
    """The HPA's decision, step by step; ``decide()`` once per sync period, with the time in seconds.

    ``decide`` remembers its proposals (for the stabilisation window) and the
    changes it asked for (for the rate limits), so the caller must carry out
    what it returns.
    """

    def __init__(self, target, min_instances, max_instances, tolerance=0.1, scale_down_window_s=300.0,
                 scale_up=(Percent(100, 15), Instances(4, 15)), scale_down=(Percent(100, 15),)):
        self.target = require_number("target", target, maximum=1.0, allow_minimum=False)
        self.min_instances = require_int("min_instances", min_instances)
        self.max_instances = require_int("max_instances", max_instances, minimum=self.min_instances)
        self.tolerance = require_number("tolerance", tolerance, maximum=1.0)
        self.scale_down_window_s = require_number("scale_down_window_s", scale_down_window_s)
        self.scale_up, self.scale_down = tuple(scale_up), tuple(scale_down)
        self.proposals = []          # (time_s, proposal) within the stabilisation window
        self.changes = []            # (time_s, +added or -removed) within the longest policy period

    # -- step 1 ------------------------------------------------------------------------------------
    def propose(self, load, ready, starting=0):
        """How many instances the load asks for, before stabilisation and limits.

        ``load`` is the busy share summed over the ``ready`` instances;
        ``starting`` instances exist but do not serve yet.
        """
        current = ready + starting
        if ready == 0:
            return current                            # nothing measured yet: no opinion
        ratio = load / (ready * self.target)
        if starting and ratio > 1:                    # would scale up: count the starting ones as idle
            wider = load / (current * self.target)
            if wider <= 1 + self.tolerance:           # within tolerance, or no longer a scale-up
                return current
            return _ceil(wider * current)
        if abs(ratio - 1) <= self.tolerance:
            return current
        return _ceil(ratio * ready)

    # -- steps 2 and 3 -------------------------------------------------------------------------------
    def decide(self, now, load, ready, starting=0):
        """The instance count to run from ``now`` on (the caller adds or removes the difference)."""
        current = ready + starting
        proposal = self.propose(load, ready, starting)
        self.proposals = [(t, p) for t, p in self.proposals if t > now - self.scale_down_window_s]
        self.proposals.append((now, proposal))
        if proposal < current:                        # scale down no lower than the window's highest proposal
            proposal = min(current, max(p for _, p in self.proposals))
        wanted = self._within_limits(now, current, proposal)
        if wanted != current:
            self.changes.append((now, wanted - current))
        return wanted

    def _period_start(self, now, current, period_s):
        """How many instances ran ``period_s`` seconds ago: the current count minus the changes since."""
        return current - sum(change for t, change in self.changes if t > now - period_s)

    def _within_limits(self, now, current, wanted):
        longest = max(p.period_s for p in self.scale_up + self.scale_down)
        self.changes = [(t, c) for t, c in self.changes if t > now - longest]
        if wanted > current:
            most = max(p.most_up(self._period_start(now, current, p.period_s)) for p in self.scale_up)
            wanted = min(wanted, max(most, current), self.max_instances)
        elif wanted < current:
            least = min(p.least_down(self._period_start(now, current, p.period_s)) for p in self.scale_down)
            wanted = max(wanted, min(least, current), self.min_instances)
        return min(self.max_instances, max(self.min_instances, wanted))
