"""Chapter 10's experiments: the course's two central claims, re-run on OS processes behind nginx.

``processes.py`` starts the shop as separate processes behind nginx; here the
same virtual users and the same ledger as in every other chapter go through it:

* ``kill_mid_traffic`` (claim G1): SIGKILL one stateless process while users
  shop. Their identity is in a token and their carts are in the database, so
  the ledger should read 0 lost sessions and 0 lost items, as in chapter 01.
* ``kill_pinned_process`` (claim G2): the stateful shop behind nginx's
  consistent hash. Killing one process should cost exactly the users pinned to
  it, and nobody else, as in chapter 02.
* ``compare_proxies``: the same traffic through nginx, through the lab's own
  balancer and straight to one process, in one run, for the latencies (shown,
  never checked: they depend on the machine).
"""

import collections
import dataclasses
import random
import time

from ..engine.balancer import Balancer
from ..engine.tables import Table
from ..shop.chaos import Chaos
from ..shop.ledger import Ledger, Report, ledger_table
from ..shop.traffic import run_traffic
from ..shop.users import SKUS, User

__all__ = ["KillResult", "PinnedKillResult", "ProxyComparison", "kill_mid_traffic", "kill_pinned_process",
           "compare_proxies"]


G1_COUNTS = ("actions", "lost_sessions", "lost_items", "duplicated_items", "failed", "unknown")


@dataclasses.dataclass
class KillResult:
    """G1: what users noticed while one process was SIGKILLed under them."""

    victim: str
    report: Report
    exit_status: int                # -9 on Linux: killed by SIGKILL, no handler ran
    victim_log: str                 # its stderr: a start line, and no stop line

    def table(self):
        """The ledger's counts, each with its one definition, as in every chapter."""
        counts = self.report.counts()
        return ledger_table({key: counts[key] for key in G1_COUNTS}, title=f"{self.victim} SIGKILLed mid-traffic")


def kill_mid_traffic(cluster, victim="shop-2", users=20, actions=40, seed=7):
    """Users shop through ``cluster``'s proxy; halfway through, ``victim`` gets SIGKILL. A ``KillResult``."""
    chaos = Chaos(every_actions=max(1, users * actions // 2), victims=[victim], restart=False, seed=seed)
    report = cluster.run_traffic(users=users, actions=actions, seed=seed, chaos=chaos)
    process = cluster.process(victim)
    return KillResult(victim, report, process.exit_status, process.log())


@dataclasses.dataclass
class PinnedKillResult:
    """G2: who lost a session when the process most users were pinned to was killed."""

    victim: str
    pinned: list                    # users whose requests went to the victim before the kill
    lost: list                      # users who then found their session gone
    items_pinned: int               # what the pinned users had in their carts
    report: Report

    @property
    def exactly_its_users(self):
        return bool(self.pinned) and self.lost == self.pinned

    @property
    def who_lost(self):
        """In words, what chapter 10's prediction asks: "nobody", "exactly its users", "some of its users"
        or "others too"."""
        if not self.lost:
            return "nobody"
        if not set(self.lost) <= set(self.pinned):
            return "others too"
        return "exactly its users" if self.exactly_its_users else "some of its users"

    def table(self):
        others = sorted(set(self.lost) - set(self.pinned))
        return Table(["what the users noticed", "result"], [
            ["users who lost their session are exactly the killed process's users", self.exactly_its_users],
            ["users on the other processes who lost a session", len(others)],
            ["items lost = items the killed process's users had", self.report.lost_items == self.items_pinned],
        ], title="The process holding the most sessions SIGKILLed")


def kill_pinned_process(cluster, users=12, seed=7):
    """Users log in and fill carts; the process holding most of them dies; everyone shops on."""
    rng = random.Random(seed)
    ledger = Ledger()
    started = time.perf_counter()
    people = [User(cluster.url, f"user-{n:02d}", ledger).login() for n in range(users)]
    for person in people:
        for _ in range(2):
            person.add(rng.choice(SKUS), rng.randint(1, 3))
    held = collections.Counter(person.last_instance for person in people)
    victim = max(sorted(held), key=held.get)
    pinned = sorted(person.name for person in people if person.last_instance == victim)
    items_pinned = sum(sum(person.expected.values()) for person in people if person.name in pinned)
    cluster.kill(victim)
    for person in people:
        person.cart()
        person.add(rng.choice(SKUS))
        person.close()
    report = Report(users, ledger, time.perf_counter() - started, [f"killed {victim}"])
    return PinnedKillResult(victim, pinned, report.users_losing_sessions, items_pinned, report)


@dataclasses.dataclass
class ProxyComparison:
    """The same traffic by three routes, measured in one run: {route: Report}."""

    reports: dict
    note: str

    def table(self):
        rows = [[route, r.latency_ms(50), r.latency_ms(99), round(r.throughput), r.ok]
                for route, r in self.reports.items()]
        return Table(["route", "p50 ms", "p99 ms", "actions/s", "ok"], rows, title="One run, three routes")


def compare_proxies(cluster, users=10, actions=30, seed=7):
    """Run the same users through the cluster's proxy, the lab's balancer and one process directly."""
    balancer = Balancer(cluster.lab_policy, seed=seed, name="lab-balancer").start()
    try:
        for process in cluster.processes:
            balancer.add_instance(process.name, process.address)
        routes = {"straight to shop-1 (no proxy)": cluster.processes[0].url,
                  f"through {cluster.proxy_name}": cluster.url}
        if cluster.behind_nginx:
            routes["through the lab's balancer"] = balancer.url
        reports = {route: run_traffic(url=url, users=users, actions=actions, seed=seed)
                   for route, url in routes.items()}
    finally:
        balancer.close()
    return ProxyComparison(reports, cluster.proxy_note)
