"""live_deploys.py: every deploy strategy under traffic, with the users' ledger.

The stateless shop loses nothing whichever strategy replaces its instances,
and every user ends up served by both versions; a stateful shop whose old
instances are replaced without draining loses sessions.
"""

import pytest

from labsupport import Cluster, InvalidArgumentError
from labsupport.labs import compare_blue_green, compare_deploys, deploy_under_traffic


def test_every_strategy_on_the_stateless_shop_loses_nothing():
    result = compare_deploys("stateless", users=4)
    for ledger in result.ledgers:
        report = ledger.report
        assert (report.failed_actions, report.unknown_outcomes, report.lost_sessions, report.lost_items) == (0, 0, 0, 0)
        assert ledger.versions_seen == ["v1", "v2"] and ledger.users_seeing_both == 4
    assert "users who saw both" in repr(result) and "deploy took ms" in result.timings().table()


def test_a_rolling_deploy_without_draining_loses_stateful_sessions():
    with Cluster.stateful(instances=2, service_ms=2) as shop:
        ledger = deploy_under_traffic(shop, "rolling", users=4, drain=False)
        assert ledger.report.lost_sessions > 0
        assert {s.version for s in shop.instances} == {"v2"}


def test_an_unknown_strategy_is_refused():
    with Cluster.stateless(instances=1) as shop:
        with pytest.raises(InvalidArgumentError):
            deploy_under_traffic(shop, "big_bang")
        assert not shop.traffic_running


def test_blue_green_on_three_shops_only_the_plain_stateful_switch_logs_anyone_out():
    comparison = compare_blue_green(users=6, think_ms=5)
    stateless, plain, synced = comparison.ledgers
    assert (stateless.sessions_held, stateless.deploy.sync.moved, stateless.deploy.sessions_lost) == (0, 0, 0)
    assert (plain.sessions_held, plain.deploy.sessions_lost, len(plain.report.users_losing_sessions)) == (6, 6, 6)
    assert (synced.sessions_held, synced.deploy.sync.moved, synced.deploy.sessions_lost) == (6, 6, 0)
    assert len(synced.report.users_losing_sessions) == 0 and synced.report.failed_actions == 0
