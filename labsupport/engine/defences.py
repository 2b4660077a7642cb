"""A balancer's defences against gray failure: timeouts, a retry budget, outlier ejection, failing open.

Health checks catch an instance that is dead. They miss one that is slow (it
still answers ``/health`` in time), and they do harm when every instance fails
them for the same reason. Real balancers (Envoy, nginx, HAProxy, the clouds'
load balancers) carry more settings for that, and so does ours. Each is off
until you switch it on with ``Balancer.defend(...)``:

* **Request timeout** (``request_timeout_s``). An attempt that brings no answer
  within this many seconds is given up: the client gets 504 and "outcome
  unknown", because the instance may still do the work later (a paused one
  will, when it wakes up). A timeout does not take an instance out of rotation
  by itself: it may only be slow.
* **Retries with a budget** (``retry_timeouts``, ``retry_budget``). With
  ``retry_timeouts=True``, a request that is safe to repeat (GET, or a POST with
  an Idempotency-Key) and timed out is tried on another instance. Retries add
  load exactly when the system struggles: if every instance is slow, each
  request becomes two or three, a *retry storm*. A ``RetryBudget`` caps them:
  every request earns a fraction of a retry (``ratio``), and a retry spends a
  whole one, so retries can add at most about ``ratio`` to the load. With the
  budget spent, the failure goes back to the client and the refusal is counted.
  The budget covers every retry the balancer makes, also those after a refused
  connection. Without a budget retries are unlimited (but still counted).
* **Outlier ejection** (``outlier_ejection``, ``outliers.py``, after Envoy's
  outlier detection): an instance whose recent answers are far slower or far
  more often failed than the other instances' gets no new clients for a
  cool-off, then is let back in.
* **Failing open** (``fail_open``, Envoy's *panic threshold*; AWS target groups
  do the same when every target is unhealthy). When fewer than this share of
  the instances is healthy, the balancer stops trusting its health checks and
  sends traffic to all of them. If most instances fail at once, the check or
  something they all share is more likely broken than all of them, and an
  instance that can answer some requests beats "no healthy instance" for all.

A defence that is off is a do-nothing object (``UnlimitedRetries``,
``NoEjection``, ``FailClosed``) with the same methods, so the balancer calls
them the same way whatever is switched on and never asks which it holds.
``Defences`` holds the set and counts what they did. Chapter 06 (claim W10)
and chapter 04 (E4: readiness, liveness and failing open) use them.
"""

import threading

from ..checks import is_number, require_int, require_number
from ..errors import InvalidArgumentError
from .outliers import NoEjection, OutlierEjection

# OutlierEjection and NoEjection are re-exported: they are one of the settings.
__all__ = ["Defences", "RetryBudget", "UnlimitedRetries", "OutlierEjection", "NoEjection", "FailOpen", "FailClosed"]


class UnlimitedRetries:
    """No budget: every retry the balancer wants to make is made (and counted)."""

    refused = 0

    def __init__(self):
        self.retries = 0
        self._lock = threading.Lock()

    def deposit(self):
        """A request arrived (a budget would earn a share of a retry here)."""

    def withdraw(self):
        """May the balancer retry once more? Always."""
        with self._lock:
            self.retries += 1
        return True

    def __repr__(self):
        return "UnlimitedRetries()"


class RetryBudget(UnlimitedRetries):
    """Every request earns ``ratio`` of a retry, each retry spends one: retries stay near ``ratio`` of the load.

    The budget starts with ``initial`` retries in hand, so a quiet balancer can
    still retry, and never holds more than ``cap``, so a long calm spell cannot
    save up for a storm. ``retries`` and ``refused`` count what it allowed and
    what it refused.
    """

    def __init__(self, ratio=0.2, initial=3, cap=10):
        super().__init__()
        self.ratio = require_number("ratio", ratio, 0, 1, allow_minimum=False)
        self.cap = require_int("cap", cap, 1)
        self.tokens = float(require_int("initial", initial, 0, self.cap))
        self.refused = 0

    def deposit(self):
        with self._lock:
            self.tokens = min(self.cap, self.tokens + self.ratio)

    def withdraw(self):
        with self._lock:
            if self.tokens >= 1:
                self.tokens -= 1
                self.retries += 1
                return True
            self.refused += 1
            return False

    def __repr__(self):
        return f"RetryBudget(ratio={self.ratio:g})"


class FailClosed:
    """No panic threshold: only healthy instances get traffic, even when none is healthy."""

    def pool(self, healthy, everyone):
        """Which instances a new client may go to: here always the healthy ones."""
        return healthy

    def __repr__(self):
        return "FailClosed()"


class FailOpen(FailClosed):
    """Below ``panic_threshold`` healthy, route to every instance, healthy or not (Envoy's panic mode)."""

    def __init__(self, panic_threshold=0.5):
        self.panic_threshold = require_number("panic_threshold", panic_threshold, 0, 1, allow_minimum=False)

    def pool(self, healthy, everyone):
        if everyone and len(healthy) < self.panic_threshold * len(everyone):
            return everyone                       # too few pass: distrust the checks, use everyone
        return healthy

    def __repr__(self):
        return f"FailOpen(panic_threshold={self.panic_threshold:g})"


class Defences:
    """The balancer's settings against gray failure, all off to begin with; ``update(**settings)`` switches them.

    ``request_timeout_s`` (None or seconds), ``retry_timeouts`` (bool), and the
    three mechanisms ``retries`` (``UnlimitedRetries`` or a ``RetryBudget``),
    ``outliers`` (``NoEjection`` or an ``OutlierEjection``), ``fail_open``
    (``FailClosed`` or a ``FailOpen``). ``stats()`` says what they did.

    The balancer asks it two things: ``for_new_client(instances, exclude)``,
    who may take a new client (healthy instances that are not ejected, or all
    of them while failing open), and ``note(instance, ms, failed, count)``
    after every attempt. What they change goes to ``events``.
    """

    SETTINGS = ("request_timeout_s", "retry_timeouts", "retry_budget", "outlier_ejection", "fail_open")

    def __init__(self, events):
        self.events = events
        self.request_timeout_s = None
        self.retry_timeouts = False
        self.retries = UnlimitedRetries()
        self.outliers = NoEjection()
        self.fail_open = FailClosed()
        self.panicking = False            # is the balancer failing open right now?
        self.panic_requests = 0           # requests routed while it was

    def update(self, **settings):
        """Change the settings named (see ``Balancer.defend``); the others stay as they are."""
        unknown = set(settings) - set(self.SETTINGS)
        if unknown:
            raise InvalidArgumentError(f"unknown defence {', '.join(sorted(unknown))}; the balancer knows "
                                       f"{', '.join(self.SETTINGS)}")
        if "request_timeout_s" in settings:
            timeout = settings["request_timeout_s"]
            if timeout is not None and not is_number(timeout, 0, 600, allow_minimum=False):
                raise InvalidArgumentError(f"request_timeout_s must be None (off) or a number of seconds > 0, "
                                           f"not {timeout!r}")
            self.request_timeout_s = timeout
        if "retry_timeouts" in settings:
            if not isinstance(settings["retry_timeouts"], bool):
                raise InvalidArgumentError(f"retry_timeouts must be True or False, not {settings['retry_timeouts']!r}")
            self.retry_timeouts = settings["retry_timeouts"]
        if "retry_budget" in settings:
            self.retries = _retries(settings["retry_budget"])
        if "outlier_ejection" in settings:
            self.outliers = _outliers(settings["outlier_ejection"])
        if "fail_open" in settings:
            self.fail_open = _fail_open(settings["fail_open"])

    def pool(self, instances):
        """(instances a new client may go to, failing open?): the healthy ones that are not ejected outliers,
        or, when too few are healthy and the balancer fails open, every one that is not draining."""
        everyone = [i for i in instances if i.status != "draining"]
        healthy = [i for i in everyone if i.status == "up" and not self.outliers.ejected(i.name)]
        chosen = self.fail_open.pool(healthy, everyone)
        return chosen, chosen is not healthy

    def for_new_client(self, instances, exclude):
        """``pool`` minus ``exclude``, counting and logging failing open (the balancer holds its lock)."""
        chosen, panicking = self.pool(instances)
        if panicking:
            self.panic_requests += 1
        if panicking != self.panicking:
            self.panicking = panicking
            healthy = sum(i.status == "up" for i in chosen)
            self.events.add("balancer", "panic", f"failing open: {healthy} of {len(chosen)} instances healthy, so "
                                                 "every instance gets traffic" if panicking
                            else "enough instances healthy again: traffic to healthy ones only")
        return [i for i in chosen if i.name not in exclude]

    def note(self, name, ms, failed, instances):
        """One attempt on ``name`` took ``ms`` and ``failed`` or not; outlier ejection may eject it."""
        why = self.outliers.record(name, ms, failed, instances)
        if why is not None:
            self.events.add("balancer", "eject", f"{name} ejected as an outlier: {why}")

    def stats(self):
        """What the defences did so far: retries made and refused, ejections, requests routed in panic."""
        return {"retries": self.retries.retries, "retries_refused": self.retries.refused,
                "ejections": self.outliers.ejections, "panic_requests": self.panic_requests}

    def __repr__(self):
        timeout = "off" if self.request_timeout_s is None else f"{self.request_timeout_s:g} s"
        return (f"Defences(request timeout {timeout}, retry timeouts {self.retry_timeouts}, {self.retries!r}, "
                f"{self.outliers!r}, {self.fail_open!r})")


def _retries(budget):
    """None: unlimited; a ratio such as 0.2; or a ``RetryBudget``."""
    if budget is None:
        return UnlimitedRetries()
    if isinstance(budget, UnlimitedRetries):
        return budget
    if not is_number(budget, 0, 1, allow_minimum=False):
        raise InvalidArgumentError(f"retry_budget must be None (no budget), a share of the requests such as 0.2, "
                                   f"or a RetryBudget(...), not {budget!r}")
    return RetryBudget(ratio=budget)


def _outliers(setting):
    """False/None: off; True: Envoy-like defaults; or an ``OutlierEjection``."""
    if setting is None or setting is False:
        return NoEjection()
    if setting is True:
        return OutlierEjection()
    if isinstance(setting, NoEjection):
        return setting
    raise InvalidArgumentError(f"outlier_ejection must be True, False or an OutlierEjection(...), not {setting!r}")


def _fail_open(setting):
    """False/None: fail closed; a panic threshold such as 0.5; or a ``FailOpen``."""
    if setting is None or setting is False:
        return FailClosed()
    if isinstance(setting, FailClosed):
        return setting
    if not is_number(setting, 0, 1, allow_minimum=False):
        raise InvalidArgumentError(f"fail_open must be False, a panic threshold such as 0.5 (route to every "
                                   f"instance when fewer than half are healthy) or a FailOpen(...), not {setting!r}")
    return FailOpen(panic_threshold=setting)
