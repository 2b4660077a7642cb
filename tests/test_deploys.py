"""deploys.py: rolling, blue-green and canary deploys, with users shopping meanwhile.

Also state_sync.py: a blue-green that copies blue's sessions to green (with
the writes made during the copy) loses none, where a plain switch logs out
everyone on blue; and the canary split each shop class asks for: whole users
for the stateful shop, single requests for the stateless one.
"""

import threading

import pytest

from labsupport import Cluster
from labsupport.engine import stable_hash
from labsupport.shop import SessionSync, User
from tests.conftest import wait_for


def deploy_during_traffic(shop, deploy, users=10, actions=40):
    report = {}
    traffic = threading.Thread(target=lambda: report.update(r=shop.run_traffic(users=users, actions=actions, seed=3)))
    traffic.start()
    result = deploy()
    traffic.join()
    return report["r"], result


def test_rolling_deploy_of_the_stateless_shop_loses_nothing():
    with Cluster.stateless(instances=3, service_ms=5) as shop:
        report, deploy = deploy_during_traffic(shop, lambda: shop.rolling_deploy("v2"))
        assert (report.failed_actions, report.unknown_outcomes, report.lost_sessions, report.lost_items) == (0, 0, 0, 0)
        assert {s.version for s in shop.instances} == {"v2"} and len(deploy.replaced) == 3


def test_a_rolling_deploy_counts_the_request_in_flight_when_a_drain_began_and_lets_it_finish():
    # One old instance, so her request is inside the instance the deploy drains first, and a slow answer (1.5 s),
    # so starting its replacement (first, in a rolling deploy) takes less time. Her request is counted by the
    # balancer, which forwards only users' requests; the instance's own count includes health checks.
    with Cluster.stateless(instances=1, service_ms=1500) as shop:
        alice = shop.user("alice")
        answers = []
        adding = threading.Thread(target=lambda: answers.append(alice.add("book")))
        adding.start()
        assert wait_for(lambda: shop.balancer.instance("shop-1").in_flight == 1, timeout=30)   # her add is inside
        deploy = shop.rolling_deploy("v2")
        adding.join()
    assert deploy.in_flight_at_drain == 1                 # one request was inside an old instance as it drained
    assert deploy.answered_while_draining >= 1            # ... and that instance answered before it stopped
    assert answers == [{"book": 1}] and alice.ledger.snapshot()["ok"] == 1


def test_blue_green_of_the_stateless_shop_loses_nothing():
    with Cluster.stateless(instances=2, service_ms=5) as shop:
        report, deploy = deploy_during_traffic(shop, lambda: shop.blue_green("v2"))
        assert (report.failed_actions, report.unknown_outcomes, report.lost_sessions, report.lost_items) == (0, 0, 0, 0)
        assert [s.version for s in shop.instances] == ["v2", "v2"]


def test_rolling_deploy_of_the_stateful_shop_without_draining_loses_every_session():
    with Cluster.stateful(instances=3) as shop:
        users = [shop.user(f"u{i}") for i in range(6)]
        for u in users:
            u.add("book")
        deploy = shop.rolling_deploy("v2", drain=False)
        assert deploy.sessions_lost == 6
        for u in users:
            assert u.cart() == {} and u.session_lost


def test_rolling_deploy_of_the_stateful_shop_with_a_drain_timeout_still_loses_open_sessions():
    with Cluster.stateful(instances=2) as shop:
        users = [shop.user(f"u{i}") for i in range(4)]
        for u in users:
            u.add("book")
        deploy = shop.rolling_deploy("v2", drain=True, timeout=0.2)
        assert deploy.sessions_lost == 4            # nobody logged out within the drain timeout


def test_canary_promote_and_rollback():
    with Cluster.stateless(instances=2) as shop:
        shop.canary("v2", percent=50)
        assert sorted(s.version for s in shop.instances) == ["v1", "v1", "v2"]
        rollback = shop.rollback_canary()
        assert [s.version for s in shop.instances] == ["v1", "v1"]
        assert (rollback.strategy, rollback.version, rollback.replaced, rollback.sessions_lost) == \
            ("rollback", "v1", ["shop-3"], 0)
        shop.canary("v2", percent=50)
        shop.promote_canary()
        assert {s.version for s in shop.instances} == {"v2"}


def test_rolling_back_a_stateful_canary_reports_the_sessions_it_took_along():
    with Cluster.stateful(instances=2) as shop:
        shop.canary("v2", percent=100)                          # every new session lands on the canary
        people = [shop.user(name) for name in ("alice", "bob")]
        assert {p.last_instance for p in people} == {"shop-3"}
        rollback = shop.rollback_canary(timeout=0.2)            # nobody logs out within the drain
        assert (rollback.replaced, rollback.sessions_lost) == (["shop-3"], 2)
        assert "rollback to v1: replaced 1 instances, 2 sessions lost" in repr(rollback)


# -- blue-green with state synchronization (chapter 06, W9) -----------------------------------------
def test_blue_green_with_state_sync_loses_no_session_while_users_shop():
    with Cluster.stateful(instances=3, service_ms=1) as shop:
        shop.start_traffic(users=12, think_ms=3, seed=3)
        assert wait_for(lambda: len(shop.ledger.versions_by_user) == 12, timeout=10)
        deploy = shop.blue_green("v2", timeout=0.2, sync_state=True)
        assert wait_for(lambda: all("v2" in seen for seen in shop.ledger.versions_by_user.values()), timeout=10)
        shop.stop_traffic()
        counts = shop.ledger.snapshot()
        assert (counts["lost_sessions"], counts["lost_items"], counts["failed"], counts["unknown"]) == (0, 0, 0, 0)
        assert deploy.sessions_lost == 0 and deploy.sync.moved == deploy.sync.sessions == 12
        assert deploy.sync.first_copy == 12 and deploy.sync.rounds >= 1
        assert {i.version for i in shop.instances} == {"v2"} and sum(shop.held_sessions().values()) == 12


def test_a_plain_blue_green_switch_logs_out_everyone_on_blue():
    with Cluster.stateful(instances=3) as shop:
        people = [shop.user(f"u{i}") for i in range(6)]
        for person in people:
            person.add("book")
        deploy = shop.blue_green("v2", timeout=0.2)
        for person in people:
            person.cart()
        assert deploy.sessions_lost == 6 and deploy.sync is None
        assert all(person.session_lost and person.cart() == {} for person in people)


def test_writes_made_while_blue_is_copied_reach_green():
    with Cluster.stateful(instances=1) as shop:
        alice, bob, dave = (shop.user(name) for name in ("alice", "bob", "dave"))
        for person in (alice, bob, dave):
            person.add("book")
        green = shop.add_instance("v2", standby=True)
        sync = SessionSync(shop, {"shop-1": green})
        assert sync.copy() == 3                         # everything, and the change log starts
        alice.add("pen")                                # blue keeps serving: these land in the change log
        bob.logout()
        carol = shop.user("carol")
        assert sync.copy() == 3                         # alice's cart, bob's logout, carol's login
        dave.add("mug")                                 # written after the last round: sent during the freeze
        report = sync.commit()
        assert (report.first_copy, report.recopied, report.final_changes, report.moved) == (3, 3, 1, 3)
        shop.balancer.set_draining(green, False)        # the switch
        shop.balancer.set_draining("shop-1")
        assert shop.remove_instance("shop-1", timeout=0.2)["sessions_lost"] == 0
        assert alice.cart() == {"book": 1, "pen": 1} and dave.cart() == {"book": 1, "mug": 1}
        assert carol.cart() == {} and not any(p.session_lost for p in (alice, carol, dave))
        assert sorted(s["user"] for s in shop.instance(green).app.sessions.values()) == ["alice", "carol", "dave"]


def test_a_stateless_blue_green_has_nothing_to_copy():
    with Cluster.stateless(instances=2) as shop:
        alice = shop.user("alice")
        alice.add("book")
        deploy = shop.blue_green("v2", sync_state=True)
        assert (deploy.sync.sessions, deploy.sync.first_copy, deploy.sync.moved, deploy.sessions_lost) == (0, 0, 0, 0)
        assert alice.cart() == {"book": 1}


# -- canaries: per request for a stateless shop, per user for a sticky one ----------------------------
def test_a_stateful_canary_takes_whole_users_each_for_good():
    names = [f"shopper-{i:02d}" for i in range(40)]
    expected = {name for name in names if stable_hash("canary:" + name) / 2 ** 64 < 0.3}
    with Cluster.stateful(instances=3) as shop:
        shop.canary("v2", percent=30)
        people = [shop.user(name) for name in names]
        for person in people:
            for _ in range(4):
                person.add("pen")
        versions = {person.name: set(person.instances_seen) for person in people}
        assert all(len(seen) == 1 for seen in versions.values())          # nobody torn between two instances
        on_canary = {name for name, seen in versions.items() if seen == {"shop-4"}}
        assert on_canary == expected and 4 < len(on_canary) < 24
        again = [User(shop.url, name).login() for name in names]           # the same users, from a new device
        for person in again:
            person.cart()
        assert {p.name for p in again if p.last_version == "v2"} == expected
        for person in again:
            person.close()


@pytest.mark.parametrize("percent, v2_share", [(0, "none"), (50, "some"), (100, "all")])
def test_a_stateless_canary_splits_every_users_requests(percent, v2_share):
    with Cluster.stateless(instances=3) as shop:
        shop.canary("v2", percent=percent)
        alice = shop.user("alice")
        seen = []
        for _ in range(40):
            alice.cart()
            seen.append(alice.last_version)
        share = {0: "none", len(seen): "all"}.get(seen.count("v2"), "some")
        assert share == v2_share                  # at 50 % one user meets both versions
