"""rebalance.py: scaling a hash-partitioned stateful shop moves exactly the carts whose owner changed.

Pinned: with rebalancing, growing from 4 to 5 instances (and back) moves the
sessions of exactly the users whose owner on the ring changed (about a fifth
with consistent hashing, most with modulo hashing) and nobody loses a cart
while shopping; without it those same users lose theirs; a cart that moved
before the ring switched is found at its new instance, and a login during the
move is placed where the new ring will look (the old owner forwards it, and
the newcomer's next request too); a stateless
shop has nothing to move; the balancer's ``settle`` waits for the requests
routed the old way.
"""

import threading

import pytest

from labsupport import InvalidArgumentError
from labsupport.engine import POLICIES, Application, Balancer, Instance, Response
from labsupport.labs import compare_rebalancing
from labsupport.shop import Cluster, Rebalance
from tests.conftest import wait_for
from tests.http_util import call

USERS = [f"user-{i:02d}" for i in range(24)]


def owner_changes(policy, before, after, users=USERS):
    """The users whose owner differs between the two lists of instance names (computed apart from the lab)."""
    ring = POLICIES[policy].build()
    return {user for user in users if ring.owner(user, before) != ring.owner(user, after)}


def shop_while_rebalancing(policy, *scales):
    """24 users shop (the traffic's users are USERS) while the shop scales to each of ``scales``."""
    with Cluster.stateful(instances=4, policy=policy, rebalance=True, service_ms=1) as shop:
        shop.start_traffic(users=len(USERS), think_ms=5, seed=5)
        assert wait_for(lambda: len(shop.ledger.versions_by_user) == len(USERS), timeout=15)
        reports = []
        for n in scales:
            reports.append(shop.scale(n))
            served = shop.ledger.snapshot()["actions"]
            assert wait_for(lambda served=served: shop.ledger.snapshot()["actions"] > served + len(USERS), timeout=15)
        shop.stop_traffic()
        return reports, shop.ledger.snapshot(), shop.held_sessions()


@pytest.mark.parametrize("policy", ["consistent_hash", "modulo_hash"])
def test_rebalancing_moves_exactly_the_carts_whose_owner_changed_and_loses_none_under_traffic(policy):
    (grow, shrink), counts, held = shop_while_rebalancing(policy, 5, 4)
    four, five = [f"shop-{i}" for i in range(1, 5)], [f"shop-{i}" for i in range(1, 6)]
    assert grow.moved == len(owner_changes(policy, four, five)) and grow.sessions == len(USERS)
    assert shrink.moved == len(owner_changes(policy, five, four))
    assert (grow.sessions_lost, shrink.sessions_lost) == (0, 0) and grow.bytes_moved > 0
    assert (counts["lost_sessions"], counts["lost_items"], counts["failed"], counts["unknown"]) == (0, 0, 0, 0)
    assert sum(held.values()) == len(USERS) and sorted(held) == four
    if policy == "consistent_hash":
        assert 0.05 < grow.moved_fraction < 0.4                  # about 1/5: only the new instance's arcs move
        assert all(route.endswith("-> shop-5") for route in grow.routes)     # only onto the new instance
    else:
        assert grow.moved_fraction > 0.6                          # hash mod N: most keys change owner


def test_without_rebalancing_the_users_whose_owner_changed_lose_their_carts():
    with Cluster.stateful(instances=4, policy="consistent_hash") as shop:
        people = [shop.user(name) for name in USERS]
        for person in people:
            person.add("book")
        shop.scale(5)
        for person in people:
            person.cart()
        moved = owner_changes("consistent_hash", [f"shop-{i}" for i in range(1, 5)],
                              [f"shop-{i}" for i in range(1, 6)])
        assert moved and {p.name for p in people if p.session_lost} == moved


def test_a_cart_that_moved_before_the_ring_switched_is_forwarded_and_a_login_meanwhile_lands_right():
    with Cluster.stateful(instances=4, policy="consistent_hash", rebalance=True) as shop:
        people = {name: shop.user(name) for name in USERS}
        for person in people.values():
            person.add("pen", 3)
        rebalance = Rebalance(shop, 5).prepare()
        rebalance.move()
        moved_users = [people[name] for name in owner_changes("consistent_hash", list(rebalance.old),
                                                              list(rebalance.after))]
        for person in moved_users:                      # the ring still says the old owner; the table knows better
            assert person.cart() == {"pen": 3} and person.last_instance == "shop-5"
        newcomer = next(f"new-{i}" for i in range(100) if POLICIES["consistent_hash"].build().owner(
            f"new-{i}", list(rebalance.after)) == "shop-5")
        late = shop.user(newcomer)                      # the old ring sends the login to an old instance...
        late.add("mug")
        assert late.last_instance == "shop-5"           # ...which sends it where the new ring will look
        rebalance.switch()
        report = rebalance.finish()
        assert report.forwarded == 2 and report.sessions_lost == 0     # the newcomer's login, then their add
        assert late.cart() == {"mug": 1} and not late.session_lost
        assert all(person.cart() == {"pen": 3} for person in people.values())
        assert not any(person.session_lost for person in people.values())
        assert all(instance.app.transfer.plan is None for instance in shop.instances)   # plans end with the move


def test_a_stateless_shop_has_nothing_to_move():
    with Cluster.stateless(instances=4, policy="consistent_hash", rebalance=True) as shop:
        people = [shop.user(name) for name in USERS[:8]]
        for person in people:
            person.add("book")
        report = shop.scale(5)
        assert (report.sessions, report.moved, report.bytes_moved, report.sessions_lost) == (0, 0, 0, 0)
        assert all(person.cart() == {"book": 1} for person in people)


def test_rebalancing_needs_a_policy_that_gives_every_key_an_owner():
    with pytest.raises(InvalidArgumentError, match="consistent_hash"):
        Cluster.stateful(instances=2, policy="sticky", rebalance=True)


class Gate(Application):
    """Answers once ``open`` is set, so a request can be held in flight as long as a test needs."""

    def __init__(self):
        self.open = threading.Event()

    def handle(self, request, instance):
        self.open.wait(10)
        return Response(200, {"ok": True})


def test_settle_waits_for_the_requests_routed_before_it():
    gate = Gate()
    with Instance(lambda: gate, name="gated").start() as instance, Balancer(health_interval=5).start() as balancer:
        balancer.add_instance("gated", instance.address)
        answers = []
        caller = threading.Thread(target=lambda: answers.append(call(balancer.url, "GET", "/slow")[0]))
        caller.start()
        assert wait_for(lambda: balancer.instance("gated").in_flight == 1)
        assert balancer.settle(timeout=0.2) is False           # routed before, still open
        gate.open.set()
        assert balancer.settle(timeout=10) is True
        caller.join()
        assert answers == [200]


def test_the_chapter_06_experiment_counts_moves_and_losses_from_the_ring():
    shops = (("stateful", "consistent_hash", True), ("stateful", "consistent_hash", False))
    comparison = compare_rebalancing(users=12, think_ms=5, shops=shops)
    changed = len(owner_changes("consistent_hash", [f"shop-{i}" for i in range(1, 5)],
                                [f"shop-{i}" for i in range(1, 6)], users=USERS[:12]))
    rebalanced, not_rebalanced = comparison.runs
    assert changed > 0 and rebalanced.changed == not_rebalanced.changed == changed
    assert (rebalanced.moved("grow"), rebalanced.moved("shrink"), len(rebalanced.report.users_losing_sessions)) \
        == (changed, changed, 0)
    assert (not_rebalanced.moved("grow"), len(not_rebalanced.report.users_losing_sessions)) == (0, changed)
