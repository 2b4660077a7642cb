"""ledger.py: what each count means, defined once, and the two units of a lost session kept apart.

Behind round-robin a stateful shop forgets a user on almost every request;
the user logs in again and retries, several times within one action. So
"re-logins" (events) and "users who lost a session" (people) are different
numbers, and every chapter prints the same definition beside them.
"""

from labsupport import Cluster
from labsupport.shop import DEFINITIONS, LABELS, Ledger, ledger_table


def test_one_action_behind_round_robin_is_one_user_who_lost_a_session_and_three_relogins():
    with Cluster.stateful(instances=3, policy="round_robin") as shop:
        alice = shop.user("alice")            # session on shop-1
        alice.add("book")                     # shop-2 does not know her; she logs in again (on shop-3) and
        report = alice.ledger.snapshot()      # retries on shop-1, and so on: three times, then she gives up
    assert report["relogins"] == 3
    assert report["lost_sessions"] == 1
    assert (report["actions"], report["failed"], report["ok"]) == (1, 1, 0)


def test_ten_users_behind_round_robin_are_at_most_ten_users_who_lost_a_session():
    with Cluster.stateful(instances=3, policy="round_robin", seed=7) as shop:
        report = shop.run_traffic(users=10, actions=10, seed=7)
    assert report.lost_sessions == len(report.users_losing_sessions) == 10
    assert report.relogins > 2 * report.lost_sessions          # many re-logins per user: the old "134 sessions lost"


def test_a_sticky_kill_counts_each_pinned_user_once_in_both_units():
    with Cluster.stateful(instances=3, seed=3) as shop:
        people = [shop.user(f"user-{i:02d}") for i in range(12)]
        ledger = Ledger()
        for person in people:
            person.ledger = ledger
            person.add("book")
        pinned = [p for p in people if p.last_instance == "shop-3"]
        shop.kill("shop-3")
        for person in people:
            person.cart()
    counts = ledger.snapshot()
    assert counts["lost_sessions"] == counts["relogins"] == len(pinned) == 4
    assert counts["lost_items"] == 4


def test_every_count_has_one_label_and_one_definition_shown_beside_it():
    assert set(LABELS) == set(DEFINITIONS) == set(Ledger().snapshot())
    with Cluster.stateless(instances=2) as shop:
        report = shop.run_traffic(users=2, actions=3, seed=1)
    text = report.table().table()
    for key, label in LABELS.items():
        assert f"{label}" in text and DEFINITIONS[key] in text
    both = ledger_table({"lost_sessions": {"round robin": 10, "sticky": 0},
                                      "relogins": {"round robin": 134, "sticky": 0}}).table()
    assert both.splitlines()[0].split() == ["ledger", "round", "robin", "sticky", "what", "it", "counts"]
    assert "users who lost a session" in both and "134" in both
