"""Two tiers an autoscaler can grow and shrink: where each keeps its users' sessions.

``StatelessTier`` keeps sessions in a shared store, so its instances are just
a number: a new one takes a fair share of requests at once, a removed one
takes nothing with it. ``StatefulTier`` keeps each session in the instance
that created it: a new instance starts empty and only receives new sessions,
and a removed instance either drains (stays up, taking no new sessions, until
its sessions end or a timeout passes) or loses its sessions. The autoscaling
model in ``autoscaling.py`` drives both through the same day (chapter 06, W2,
at the scale of chapter 02's F4).

Simplifications: sessions are counted, not tracked one by one; they end after
an exponential time, so an instance's sessions are just a (fractional) count.
New sessions go to the serving instances with the fewest sessions, which is
the best case for the stateful tier.
"""

from operator import attrgetter

from ..engine.tables import format_duration

__all__ = ["StatelessTier", "StatefulTier", "CAPACITY_RPS", "SESSION_RPS"]

CAPACITY_RPS = 100           # requests/s one instance can serve
SESSION_RPS = 0.1            # each active session sends a request every 10 s


class StatelessTier:
    """Sessions live in a shared store; instances are interchangeable, so a count is enough.

    Both tiers offer the autoscaler the same methods: ``end_sessions`` and
    ``start_sessions`` (users come and go), ``demand_rps`` and
    ``over_capacity_rps`` (what it measures), ``instance_ready`` and
    ``remove`` (what it changes), and ``finish_drains`` (called at every autoscaler decision).
    """

    def __init__(self, instances, sessions):
        self.label = "stateless"
        self.serving_count, self.booting, self.sessions = instances, 0, sessions
        self.lost, self.drain_minutes, self.draining_count = 0.0, [], 0

    def end_sessions(self, keep):
        self.sessions *= keep

    def start_sessions(self, count):
        self.sessions += count

    def demand_rps(self):
        return self.sessions * SESSION_RPS

    def over_capacity_rps(self):
        return max(0.0, self.demand_rps() - self.serving_count * CAPACITY_RPS)

    def instance_ready(self):
        self.serving_count += 1

    def remove(self, count, now):
        self.serving_count -= count         # nothing lives on an instance, nothing is lost

    def finish_drains(self, now):
        """Stateless instances drain their in-flight requests in well under a decision period."""


class _Pinned:
    """One stateful instance: the sessions it holds and when it started draining."""
    __slots__ = ("sessions", "drain_started")

    def __init__(self, sessions):
        self.sessions, self.drain_started = sessions, None


class StatefulTier:
    """Sessions live in the instance that created them, until they end."""

    def __init__(self, instances, sessions, drain, drain_timeout_s):
        self.label = "stateful, drain" if drain else "stateful, no drain"
        if drain and drain_timeout_s is not None:
            self.label += f" <= {format_duration(drain_timeout_s)}"
        self.drain, self.drain_timeout_s = drain, drain_timeout_s
        self.serving = [_Pinned(sessions / instances) for _ in range(instances)]
        self.booting, self.draining, self.lost, self.drain_minutes = 0, [], 0.0, []

    @property
    def draining_count(self):
        return len(self.draining)

    def end_sessions(self, keep):
        for inst in self.serving + self.draining:
            inst.sessions *= keep

    def start_sessions(self, count):
        """Least-sessions routing in bulk: fill the emptiest instances up to a common level."""
        ordered = sorted(self.serving, key=attrgetter("sessions"))
        total, k = count, 0
        while k < len(ordered):
            total += ordered[k].sessions
            k += 1
            if k == len(ordered) or total / k <= ordered[k].sessions:
                break
        for inst in ordered[:k]:
            inst.sessions = total / k

    def demand_rps(self):
        return sum(inst.sessions for inst in self.serving + self.draining) * SESSION_RPS

    def over_capacity_rps(self):
        return sum(max(0.0, inst.sessions * SESSION_RPS - CAPACITY_RPS)
                   for inst in self.serving + self.draining)

    def instance_ready(self):
        self.serving.append(_Pinned(0.0))

    def remove(self, count, now):
        """Take the emptiest instances out: drain them, or drop their sessions."""
        ordered = sorted(self.serving, key=attrgetter("sessions"))
        victims, self.serving = ordered[:count], ordered[count:]
        for inst in victims:
            if self.drain:
                inst.drain_started = now
                self.draining.append(inst)
            else:
                self.lost += inst.sessions

    def finish_drains(self, now):
        """Stop the draining instances whose last session ended, or whose timeout passed."""
        still = []
        for inst in self.draining:
            waited = now - inst.drain_started
            if inst.sessions < 1:                       # empty: stop it, nobody notices
                self.drain_minutes.append(waited / 60)
            elif self.drain_timeout_s is not None and waited >= self.drain_timeout_s:
                self.lost += inst.sessions              # out of patience: stop it anyway
                self.drain_minutes.append(waited / 60)
            else:
                still.append(inst)
        self.draining = still

    @property
    def serving_count(self):
        return len(self.serving)
