"""chaos.py under load: the lab's core promise, checked with many users and many kills.

Fast versions of the soak in benchmarks/chaos_soak.py (which prints the long-run figures).
The fault verbs (pause, slow, partition) strike and heal the same seeded victims on
every run, and a fault is never left in force after the traffic.
How each outcome class is counted is pinned in test_teeth.py against outcomes the test itself causes;
here "accounted for" means every user made every action (``ok + failed + unknown == actions`` would be
true whatever the ledger did, so it is not asserted).
"""

import pytest

from labsupport import Chaos, Cluster, InvalidArgumentError, RestartChaos, UnknownInstanceError
from labsupport.shop import PartitionChaos, PauseChaos, SlowChaos


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


# -- faults short of a crash on a timetable (pause, slow, partition) ---------------------------
def test_fault_sentences_parse_into_their_schedules():
    pause = Chaos.parse("pause one instance every 2 s for 0.5 s")
    assert type(pause) is PauseChaos and (pause.every_s, pause.lasting, pause.victims) == (2, 0.5, None)
    slow = Chaos.parse("Slow shop-2 by 200 ms")
    assert type(slow) is SlowChaos and (slow.ms, slow.victims, slow.every, slow.limit) == (200, ["shop-2"], None, 1)
    cut = Chaos.parse("partition shop-3 every 50 actions for 20 actions")
    assert type(cut) is PartitionChaos and (cut.every_actions, cut.lasting, cut.in_actions) == (50, 20, True)
    kill = Chaos.parse("kill shop-2 every 100 actions")
    assert type(kill) is Chaos and kill.victims == ["shop-2"] and kill.every_actions == 100


@pytest.mark.parametrize("sentence, problem", [
    ("slow shop-2", "slow shop-2 by 200 ms"),
    ("pause shop-2 by 20 ms", "only 'slow' takes"),
    ("pause one instance every 2 s for 5 actions", "in one unit"),
    ("restart one instance every 2 s for 1 s", "cannot last"),
    ("partition one instance every 0 s", "must be positive"),
    ("freeze one instance every 2 s", "pause one instance every 2 s for 0.5 s"),
])
def test_fault_sentences_that_make_no_sense_are_refused_with_an_example(sentence, problem):
    with pytest.raises(InvalidArgumentError, match=problem):
        Chaos.parse(sentence)


@pytest.mark.parametrize("sentence, inflicted, undone", [
    ("partition one instance every 30 actions for 10 actions", "partitioned", "healed"),
    ("slow one instance by 30 ms every 30 actions for 10 actions", "slowed", "healed"),
    ("kill one instance every 30 actions for 10 actions", "killed", "restarted"),
])
def test_fault_schedules_strike_and_heal_the_same_victims_on_every_run_with_a_seed(sentence, inflicted, undone):
    runs = []
    for _ in range(2):
        with Cluster.stateless(instances=3, seed=5) as shop:
            report = shop.run_traffic(users=6, actions=20, seed=5, chaos=Chaos.parse(sentence, seed=5))
            assert all(shop.faults(i.name) == [] and i.alive for i in shop.instances)   # all healed at the end
        assert (report.lost_sessions, report.lost_items, report.failed_actions) == (0, 0, 0)
        runs.append(report.chaos_events)
    assert runs[0] == runs[1] and len(runs[0]) == 6                 # strikes at 30, 60, 90; heals 10 actions later
    assert [e.split()[0] for e in runs[0]] == [inflicted, undone] * 3
    victims = [e.split()[1] for e in runs[0]]
    assert victims[0::2] == victims[1::2]                           # each strike heals its own victim


def test_a_fault_without_an_interval_lasts_the_whole_run_and_is_healed_at_the_end():
    with Cluster.stateless(instances=3, seed=2) as shop:
        report = shop.run_traffic(users=4, actions=10, seed=2, chaos="slow shop-2 by 20 ms")
        assert report.chaos_events == ["slowed shop-2 by 20 ms", "healed shop-2"]
        assert shop.faults("shop-2") == [] and report.by_instance["shop-2"] > 0


def test_pauses_on_a_clock_hold_sticky_users_for_a_moment_and_lose_nothing():
    with Cluster.stateful(instances=3, seed=3) as shop:
        report = shop.run_traffic(users=6, actions=60, seed=3, chaos="pause one instance every 0.05 s for 0.02 s")
        assert all(shop.faults(i.name) == [] for i in shop.instances)
    kinds = [e.split()[0] for e in report.chaos_events]
    assert kinds and kinds == ["paused", "healed"] * (len(kinds) // 2)
    assert (report.lost_sessions, report.failed_actions, report.unknown_outcomes) == (0, 0, 0)    # not a crash


def test_a_schedule_naming_an_unknown_instance_is_refused_in_the_callers_thread():
    with Cluster.stateless(instances=2, seed=1) as shop, pytest.raises(UnknownInstanceError, match="shop-9"):
        shop.run_traffic(users=1, actions=1, chaos="pause shop-9 every 1 s for 0.1 s")
