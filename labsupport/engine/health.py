"""Health checks: how a balancer learns which instances can serve, and what asking cannot tell it.

Every ``health_interval`` seconds the balancer asks each instance one question,
``GET /health``, and waits a short while for the answer. An instance that fails
``UNHEALTHY_AFTER`` checks in a row is taken out of rotation; one good answer
puts it back. (A refused connection during a real request takes an instance
out at once, without waiting for the checks: that is the balancer's passive
detection, in ``balancer.py``.)

What the check asks decides what it can see (chapter 04). The shop's
``/health`` is a *readiness* check: it answers 503 when the instance's
database or cache is down, because then it cannot do its job. But every
instance shares that database, so one outage fails every check at once and
the balancer takes out the whole tier, including the requests that needed no
database. ``/health/live`` is a *liveness* check: "the process answers", which
no shared dependency can fail. Kubernetes keeps the two apart for this reason
(a readiness probe takes a pod out of a Service, a liveness probe restarts it),
and balancers that route on readiness can fail open instead (``defences.py``).

What no check can see (chapter 06): a slow instance still answers ``/health``
in time, so it stays green while it drags every request it serves (gray
failure); and a partitioned instance fails every check, so it looks dead
although its process lives and holds what it held.
"""

import http.client

from ..checks import require_number
from ..errors import InvalidArgumentError

__all__ = ["HealthCheck", "UNHEALTHY_AFTER"]

UNHEALTHY_AFTER = 2           # consecutive failed health checks before an instance is taken out


class HealthCheck:
    """What a health check asks (``path``) and how long it waits for the answer (``timeout_s``)."""

    def __init__(self, path="/health", timeout_s=1.0):
        self.path = path
        self.timeout_s = timeout_s

    def configure(self, path=None, timeout_s=None):
        """Change what is asked (e.g. "/health/live" for liveness only) or how long to wait; None keeps it."""
        if path is not None:
            if not isinstance(path, str) or not path.startswith("/"):
                raise InvalidArgumentError(f"path must be a path such as '/health', not {path!r}")
            self.path = path
        if timeout_s is not None:
            self.timeout_s = require_number("timeout_s", timeout_s, 0, 60, allow_minimum=False, unit="seconds")

    def passes(self, instance):
        """One check of ``instance`` (a ``PooledInstance``): reachable, and ``GET path`` answers 200 in time?"""
        if instance.partitioned:                  # the path is cut: the check cannot get through either
            return False
        conn = http.client.HTTPConnection(*instance.address, timeout=self.timeout_s)
        try:
            conn.request("GET", self.path, headers={"Connection": "close"})
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def __repr__(self):
        return f"HealthCheck(path={self.path!r}, timeout_s={self.timeout_s:g})"
