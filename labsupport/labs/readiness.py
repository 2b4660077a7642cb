"""Readiness, liveness and failing open: what a balancer should do when a shared dependency fails.

The shop has two health endpoints. ``/health`` is a *readiness* check that
includes its dependencies: it answers 503 while the database or the cache is
down. ``/health/live`` is a *liveness* check: it answers whenever the process
does, and asks nobody.

Point the balancer's health checks at ``/health`` and take the database away:
every instance fails its check at the same moment, for the same shared reason,
so the balancer takes all of them out and answers every request itself with
"no healthy instance", including requests that never needed the database
(logging in signs a token; "who am I?" reads the token and the cache). One
shared outage became a total one. Two remedies, each one setting:

* **Fail open** (``balancer.defend(fail_open=0.5)``, Envoy's panic threshold;
  AWS target groups route to every target when none is healthy): when fewer
  than half of the instances pass, the balancer distrusts the checks and sends
  traffic to all of them.
* **Check liveness for routing** (``balancer.set_health_check("/health/live")``):
  an instance stays in rotation while its process answers; requests that need
  the database get the instance's own quick 503, which says what is wrong.

Kubernetes draws the same line: a *readiness* probe takes a pod out of the
Service's endpoints, a *liveness* probe restarts it. A liveness probe that
includes a shared database restarts every pod in a loop during its outage; a
readiness probe that includes it empties the Service. Both should check what
the instance itself can fix. ``readiness_experiment`` runs the three setups
during one database outage and records who answered what. Chapter 04 (E4).
"""

import http.client
import json
import urllib.parse
from dataclasses import dataclass

from ..checks import require_int
from ..engine.tables import ResultTable
from ..engine.waiting import wait_until
from ..shop.cluster import Cluster

__all__ = ["HealthSetup", "HEALTH_SETUPS", "ReadinessRow", "ReadinessResult", "readiness_experiment"]

WAIT_LIMIT_S = 10.0
CHECK_ROUNDS = 3              # health-check rounds to let pass before asking, so the balancer's view is settled


@dataclass(frozen=True)
class HealthSetup:
    """How the balancer decides who gets traffic: the path it checks, and its panic threshold (or False)."""
    label: str
    health_path: str
    fail_open: object = False


HEALTH_SETUPS = (
    HealthSetup("readiness check (/health includes the database)", "/health"),
    HealthSetup("readiness check, failing open below 50 % healthy", "/health", 0.5),
    HealthSetup("liveness check (/health/live)", "/health/live"),
)


@dataclass(frozen=True)
class ReadinessRow:
    """What the balancer did with three requests during the outage, under one setup."""
    setup: HealthSetup
    passing: int                  # instances passing the health check
    getting_traffic: int          # instances the balancer would send a new client to
    answers: tuple                # (request label, HTTP status, who answered: an instance's name or "balancer")


@dataclass(frozen=True, repr=False)
class ReadinessResult(ResultTable):
    """Every setup during the same database outage; shows itself as a table of statuses and who answered."""
    instances: int
    rows: tuple

    def row(self, label):
        return next(r for r in self.rows if r.setup.label == label)

    def answer(self, setup_label, request_label):
        """What one request got under one setup, in words: "503 from the balancer", "200 from an instance"."""
        status, who = next((status, who) for label, status, who in self.row(setup_label).answers
                           if label == request_label)
        return f"{status} from {'the balancer' if who == 'balancer' else 'an instance'}"

    def _table_data(self):
        requests = [label for label, _, _ in self.rows[0].answers]
        table = [[r.setup.label, f"{r.passing} of {self.instances}", f"{r.getting_traffic} of {self.instances}"]
                 + [self.answer(r.setup.label, label) for label in requests] for r in self.rows]
        return ("The database is down: what each health-check setup does",
                ["balancer setup", "passing the check", "getting traffic"] + requests, table)


def _settle(shop, rounds=CHECK_ROUNDS):
    """Let ``rounds`` health checks reach every instance (nobody else is asking them anything)."""
    seen = {i.name: i.stats["requests"] for i in shop.instances}
    return wait_until(lambda: all(i.stats["requests"] >= seen[i.name] + rounds for i in shop.instances),
                      timeout=WAIT_LIMIT_S)


def _through_balancer(shop, method, path, body=None, credential=None):
    """One request through the balancer: (HTTP status, the instance that answered, or "balancer")."""
    parts = urllib.parse.urlsplit(shop.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        answer = conn.getresponse()
        answer.read()
        return answer.status, answer.getheader("X-Instance") or "balancer"
    finally:
        conn.close()


def _row(shop, setup, credential):
    shop.balancer.set_health_check(setup.health_path)
    shop.balancer.defend(fail_open=setup.fail_open)
    _settle(shop)
    passing = sum(p.status == "up" for p in shop.balancer.instances())
    getting_traffic = len(shop.balancer.in_rotation())
    answers = tuple((label, *_through_balancer(shop, method, path, body, token)) for label, method, path, body, token
                    in (("log in", "POST", "/login", {"user": "newcomer"}, None),
                        ("who am I?", "GET", "/whoami", None, credential),
                        ("look at the cart", "GET", "/cart", None, credential)))
    return ReadinessRow(setup, passing, getting_traffic, answers)


def readiness_experiment(setups=HEALTH_SETUPS, instances=3, seed=7):
    """Take a stateless shop's database down and ask the balancer, once per setup; a ``ReadinessResult``."""
    require_int("instances", instances, 2)
    with Cluster.stateless(instances=instances, seed=seed, health_interval=0.05) as shop:
        credential = shop.user("alice").credential        # logged in before the outage
        shop.database.down()
        try:
            rows = tuple(_row(shop, setup, credential) for setup in setups)
        finally:
            shop.database.up()
    return ReadinessResult(instances, rows)
