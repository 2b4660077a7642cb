"""cluster.py and traffic.py: the course's central claims, measured on real clusters.

Killing a stateless instance loses nothing; killing a stateful one loses
exactly the sessions it held; a stateful shop behind round-robin "forgets"
carts; and misuse of the Python API gets a clear LabError.
"""

import threading

import psutil
import pytest

from labsupport import (
    Chaos,
    Cluster,
    ClusterClosedError,
    InvalidArgumentError,
    LabError,
    UnknownInstanceError,
    shutdown_all,
)
from labsupport.shop import StatefulShop
from tests.conftest import lab_threads, wait_for


def test_killing_a_stateless_instance_mid_run_loses_no_session_and_no_item():
    with Cluster.stateless(instances=3, seed=7) as shop:
        report = shop.run_traffic(users=20, actions=30, seed=7, chaos=Chaos(every_actions=200, restart=False))
        assert len(report.chaos_events) == 2 and all(e.startswith("killed") for e in report.chaos_events)
        assert report.actions == 600
        assert (report.lost_sessions, report.lost_items, report.failed_actions, report.duplicated_items) == (0, 0, 0, 0)


def test_a_user_keeps_the_cart_when_the_instance_that_served_it_dies():
    with Cluster.stateless(instances=3) as shop:
        alice = shop.user("alice")
        assert alice.add("book", 2) == {"book": 2}
        shop.kill(alice.last_instance)
        assert alice.cart() == {"book": 2} and not alice.session_lost


def test_killing_a_sticky_stateful_instance_loses_exactly_its_pinned_users():
    with Cluster.stateful(instances=3, policy="sticky") as shop:
        users = [shop.user(f"user-{i}") for i in range(9)]
        for u in users:
            u.add("book")
        pinned = {u.name: u.last_instance for u in users}
        assert shop.held_sessions() == {"shop-1": 3, "shop-2": 3, "shop-3": 3}
        shop.kill("shop-2")
        for u in users:
            u.cart()
        lost = {u.name for u in users if u.session_lost}
        assert lost == {name for name, instance in pinned.items() if instance == "shop-2"}
        assert sum(u.lost_items for u in users) == 3


def test_a_stateful_shop_behind_round_robin_loses_carts_between_requests():
    with Cluster.stateful(instances=3, policy="round_robin") as shop:
        report = shop.run_traffic(users=5, actions=10, seed=1)
        assert report.lost_sessions > 0 and report.lost_items > 0


def test_a_sticky_stateful_shop_without_failures_loses_nothing():
    with Cluster.stateful(instances=3, policy="sticky") as shop:
        report = shop.run_traffic(users=10, actions=20, seed=2)
        assert (report.lost_sessions, report.lost_items, report.failed_actions) == (0, 0, 0)


def test_the_balancer_stops_sending_to_a_killed_instance_within_its_health_interval():
    with Cluster.stateless(instances=3, health_interval=0.05) as shop:
        shop.kill("shop-2")
        assert wait_for(lambda: shop.status("shop-2") == "dead")
        assert wait_for(lambda: shop.balancer.instance("shop-2").status == "down", timeout=2.0)
        alice = shop.user("alice")
        served = set()
        for _ in range(12):
            alice.cart()
            served.add(alice.last_instance)
        assert served == {"shop-1", "shop-3"}


def test_a_restarted_instance_rejoins_rotation():
    with Cluster.stateless(instances=2) as shop:
        shop.kill("shop-1")
        shop.restart("shop-1")
        alice = shop.user("alice")
        seen = set()
        for _ in range(6):
            alice.cart()
            seen.add(alice.last_instance)
        assert seen == {"shop-1", "shop-2"}


def test_draining_a_stateful_instance_waits_for_its_sessions_to_end():
    with Cluster.stateful(instances=2) as shop:
        alice, bob = shop.user("alice"), shop.user("bob")
        alice.add("book")
        bob.add("pen")
        victim = alice.last_instance
        result = {}
        drainer = threading.Thread(target=lambda: result.update(shop.drain(victim, timeout=10)))
        drainer.start()
        assert wait_for(lambda: shop.status(victim) == "draining")
        assert alice.cart() == {"book": 1} and alice.last_instance == victim   # still served while draining
        carol = shop.user("carol")
        carol.cart()
        assert carol.last_instance != victim                                   # no new users
        owner = alice if alice.last_instance == victim else bob
        for u in (alice, bob):
            if u.last_instance == victim:
                u.logout()
        drainer.join()
        assert result["sessions_lost"] == 0 and shop.status(victim) == "stopped"
        assert owner.session_lost is False


class ImpatientStatefulShop(StatefulShop):
    """The stateful shop with two of its traits changed: no waiting for sessions, round robin by default."""

    drain_waits_for_sessions = False
    default_policy = "round_robin"


def test_the_shop_class_not_the_kind_decides_the_policy_and_how_a_drain_ends():
    with Cluster("stateful", instances=2, shop_class=ImpatientStatefulShop) as shop:
        assert shop.policy == "round_robin" and shop.kind == "stateful"
        alice = shop.user("alice")
        home = alice.last_instance
        result = {}
        drainer = threading.Thread(target=lambda: result.update(shop.drain(home, timeout=60)))
        drainer.start()
        drainer.join(timeout=20)              # the stateful default would wait up to 60 s for alice's session
        assert not drainer.is_alive() and result["sessions_lost"] == 1 and shop.status(home) == "stopped"
    with pytest.raises(InvalidArgumentError, match="StatelessShop or a subclass"):
        Cluster("stateless", shop_class=ImpatientStatefulShop)


def test_scaling_adds_and_removes_instances_and_new_ones_get_no_existing_users():
    with Cluster.stateful(instances=2) as shop:
        users = [shop.user(f"u{i}") for i in range(4)]
        for u in users:
            u.add("mug")
        shop.scale(3)
        assert [i.name for i in shop.instances] == ["shop-1", "shop-2", "shop-3"]
        for u in users:
            u.cart()
        assert shop.held_sessions()["shop-3"] == 0
        shop.scale(1, timeout=0.2)
        assert [i.name for i in shop.instances] == ["shop-1"]


def test_python_misuse_raises_lab_errors_that_say_what_to_do():
    with Cluster.stateless(instances=2) as shop:
        with pytest.raises(UnknownInstanceError, match="shop-1, shop-2"):
            shop.kill("shop-9")
        with pytest.raises(InvalidArgumentError, match="whole number"):
            shop.scale(-1)
        with pytest.raises(InvalidArgumentError):
            shop.run_traffic(users=0)
        with pytest.raises(InvalidArgumentError, match="every 0.5 s"):
            shop.run_traffic(users=1, actions=1, chaos="explode sometimes")
    with pytest.raises(ClusterClosedError):
        shop.kill("shop-1")
    with pytest.raises(LabError):
        Cluster("serverless")
    for bad in ({"service_ms": -5}, {"queue_limit": -1}, {"workers": 0}, {"session_ttl_s": "long"}):
        with pytest.raises(InvalidArgumentError, match=next(iter(bad))):
            Cluster.stateful(**bad)


def test_twenty_clusters_leave_no_threads_and_no_sockets():
    me = psutil.Process()
    shutdown_all()
    threads_before = set(lab_threads())
    children_before = {p.pid for p in me.children()}              # e.g. a JupyterLab the browser tests share
    sockets_before = len(me.net_connections(kind="inet"))
    for i in range(20):
        with (Cluster.stateless(instances=2) if i % 2 else Cluster.stateful(instances=2)) as shop:
            shop.user("alice").add("book")
            for conn in me.net_connections(kind="inet"):
                if conn.status == psutil.CONN_LISTEN:
                    assert conn.laddr.ip == "127.0.0.1"
    assert wait_for(lambda: set(lab_threads()) <= threads_before, timeout=5)
    assert wait_for(lambda: len([c for c in me.net_connections(kind="inet") if c.status != psutil.CONN_TIME_WAIT])
                    <= sockets_before, timeout=5)
    assert not [p for p in me.children() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
                and p.pid not in children_before]
