"""deploys.py: rolling, blue-green and canary deploys, with users shopping meanwhile."""

import threading

from labsupport import Cluster
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
    with Cluster.stateless(instances=2, service_ms=300) as shop:
        alice = shop.user("alice")
        answers = []
        adding = threading.Thread(target=lambda: answers.append(alice.add("book")))
        adding.start()
        wait_for(lambda: any(i.stats["in_flight"] for i in shop.instances))     # her add is inside an instance
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
