"""chaos.py under load: the lab's core promise, checked with many users and many kills.

Fast versions of the soak in benchmarks/chaos_soak.py (which prints the long-run figures).
How each outcome class is counted is pinned in test_teeth.py against outcomes the test itself causes;
here "accounted for" means every user made every action (``ok + failed + unknown == actions`` would be
true whatever the ledger did, so it is not asserted).
"""

import pytest

from labsupport import Chaos, Cluster, InvalidArgumentError, RestartChaos


def test_stateless_shop_under_repeated_kills_loses_nothing_and_accounts_for_every_action():
    with Cluster.stateless(instances=4, seed=11) as shop:
        report = shop.run_traffic(users=30, actions=40, seed=11, chaos=Chaos(every_actions=60, seed=11))
    assert report.actions == 1200
    assert len([e for e in report.chaos_events if e.startswith("killed")]) == 19
    assert (report.lost_sessions, report.lost_items, report.duplicated_items) == (0, 0, 0)
    # Retries make failures vanishingly rare; any that happen are reported, never silent.
    assert report.failed_actions + report.unknown_outcomes <= report.actions // 100


def test_without_idempotency_keys_every_action_is_still_accounted_for():
    with Cluster.stateless(instances=3, seed=5, service_ms=3) as shop:
        report = shop.run_traffic(users=20, actions=30, seed=5, chaos=Chaos(every_actions=50, seed=5),
                                  idempotent=False)
    assert report.actions == 600                                # every user made every one of their actions
    assert report.lost_sessions == 0 and report.lost_items == 0
    # Without keys, a retried add can apply twice: the ledger sees it instead of hiding it.
    assert report.duplicated_items <= report.unknown_outcomes * 3


def test_stateful_shop_under_one_kill_loses_exactly_the_pinned_users():
    with Cluster.stateful(instances=3, seed=3) as shop:
        people = [shop.user(f"user-{i:02d}") for i in range(12)]
        for person in people:
            person.add("book")
        pinned = {p.name for p in people if p.last_instance == "shop-3"}
        shop.kill("shop-3")
        report = shop.run_traffic(users=1, actions=1)           # unrelated traffic meanwhile
        for person in people:
            person.cart()
    assert {p.name for p in people if p.session_lost} == pinned and len(pinned) == 4
    assert report.lost_sessions == 0


def test_stateful_shop_under_repeated_kills_loses_sessions_but_never_silently():
    with Cluster.stateful(instances=3, seed=9) as shop:
        report = shop.run_traffic(users=20, actions=30, seed=9, chaos=Chaos(every_actions=100, seed=9))
    assert report.lost_sessions > 0 and report.lost_items > 0
    assert report.actions == 600 and report.relogins >= report.lost_sessions
    assert report.lost_sessions <= 20                           # counted in users: each user at most once


def test_the_restart_verb_restarts_its_victims_at_once_instead_of_killing_them():
    with Cluster.stateful(instances=3, seed=9) as shop:
        schedule = Chaos.parse("restart one instance every 100 actions", seed=9)
        report = shop.run_traffic(users=20, actions=30, seed=9, chaos=schedule)
        generations = {i.name: i.generation for i in shop.instances}
    assert isinstance(schedule, RestartChaos)
    assert len(report.chaos_events) == 5 and all(e.startswith("restarted shop-") for e in report.chaos_events)
    assert sum(generations.values()) == 5                       # each strike crashed one instance...
    assert report.lost_sessions > 0                             # ...and took its sessions along


def test_a_restart_leaves_no_instance_down_where_a_kill_without_healing_does():
    with Cluster.stateless(instances=4, seed=4) as shop:
        shop.run_traffic(users=5, actions=10, seed=4, chaos=RestartChaos(every_actions=20, seed=4))
        assert all(i.alive for i in shop.instances) and sum(i.generation for i in shop.instances) == 2
    with Cluster.stateless(instances=4, seed=4) as shop:
        shop.run_traffic(users=5, actions=10, seed=4, chaos=Chaos(every_actions=20, seed=4, restart=False))
        assert sum(not i.alive for i in shop.instances) == 2


def test_chaos_schedules_parse_and_reject_nonsense():
    assert Chaos.parse("kill one instance every 100 actions").every_actions == 100
    assert type(Chaos.parse("kill one instance every 100 actions")) is Chaos
    assert Chaos.parse("Kill one instance every 0.5 s").every_s == 0.5
    assert Chaos.parse("restart one instance every 0.5 s").every_s == 0.5
    with pytest.raises(InvalidArgumentError, match="restart one instance"):
        Chaos.parse("reboot one instance every 2 s")
    with pytest.raises(InvalidArgumentError):
        Chaos(every_s=1, every_actions=1)
    with pytest.raises(InvalidArgumentError):
        Chaos(every_actions=0)
