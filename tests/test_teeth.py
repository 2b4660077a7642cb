"""Tests with teeth: each one fails if a specific piece of the lab is switched off.

Every test here was written against a mutation that once broke the code while
the suite stayed green. The mutation is named in the test's docstring; each
was applied by hand, seen to fail this test, and reverted:

1. the ledger stops counting duplicated items (``User._compare`` drops ``extra``);
2. the follow-up GET after an unknown outcome is removed (``User._find_out``);
3. ``Balancer.set_canary`` does nothing (under round robin one canary among
   four already gets 25 %, so a share near 25 % proves nothing);
4. a server silently drops the connection for any path containing '%';
5. the ledger's outcome classes are only checked by ``ok + failed + unknown
   == actions``, which is true by construction: here each class is checked
   against a ground truth the test sets up itself.
"""

import http.client

import pytest

from labsupport import Cluster
from labsupport.shop import StatelessShop

pytestmark = pytest.mark.timeout(120)


class ApplyThenFail(StatelessShop):
    """Applies every change to the cart, then fails (a 500) before answering: the client cannot know."""

    def change_cart(self, principal, change, trace):
        super().change_cart(principal, change, trace)
        raise RuntimeError("crashed after the commit")


def test_an_item_someone_else_added_is_counted_as_duplicated():
    """Mutation 1: ``_compare`` no longer adds ``duplicated_items``. This test then sees 0."""
    with Cluster.stateless(instances=2) as shop:
        phone, laptop = shop.user("alice"), shop.user("alice")    # one user, two devices, one cart
        phone.add("book")
        laptop.look_at_cart()
        laptop.add("book")                                        # the phone does not know about this one
        cart = phone.cart()
    assert cart == {"book": 2}
    assert phone.ledger.snapshot()["duplicated_items"] == 1       # one more book than the phone put in
    assert phone.ledger.snapshot()["lost_items"] == 0


def test_after_an_unknown_outcome_the_user_looks_and_believes_what_was_applied():
    """Mutation 2: ``_act`` no longer calls ``_find_out``. The user then keeps believing the add never
    happened, and the next look at the cart counts the book it did add as a duplicate."""
    with Cluster("stateless", 2, shop_class=ApplyThenFail) as shop:
        alice = shop.user("alice")
        believed = alice.add("book")                              # applied, then answered 500: unknown
        seen = alice.cart()
    counts = alice.ledger.snapshot()
    assert counts["unknown"] == 1
    assert believed == {"book": 1}                                # she looked, and saw it was applied
    assert seen == {"book": 1}
    assert (counts["duplicated_items"], counts["lost_items"]) == (0, 0)


@pytest.mark.parametrize("percent, low, high", [(10, 15, 70), (90, 330, 385)])
def test_the_canary_gets_its_percentage_not_its_round_robin_share(percent, low, high):
    """Mutation 3: ``set_canary`` does nothing. One canary among four instances then gets about 25 %
    (about 100 of 400 requests), outside both ranges: 10 % expects about 40, 90 % about 360."""
    with Cluster.stateless(instances=3, seed=3) as shop:
        shop.canary("v2", percent=percent)
        alice = shop.user("alice")
        served_by_v2 = 0
        for _ in range(400):
            alice.cart()
            served_by_v2 += alice.last_version == "v2"
    assert low <= served_by_v2 <= high


PERCENT_PATHS = ["/%", "/%00", "/%zz", "/cart%2Fitems", "/cart/items/%2e%2e%2f", "/%25", "/whoami%20",
                 "/cart?x=%", "/cart/items/book%"]


def _ask(address, method, path):
    conn = http.client.HTTPConnection(*address, timeout=5)
    try:
        conn.request(method, path)
        answer = conn.getresponse()
        return answer.status, answer.getheader("Content-Type"), answer.read()
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["stateless", "stateful"])
def test_a_path_with_a_percent_sign_gets_an_answer_not_a_closed_connection(kind):
    """Mutation 4: the listener closes the connection without a word when the path contains '%'.
    ``_ask`` then raises (RemoteDisconnected) instead of returning a status."""
    with Cluster(kind, 2) as shop:
        targets = [shop.balancer.server.address] + [instance.address for instance in shop.instances]
        for address in targets:
            for method in ("GET", "DELETE"):
                for path in PERCENT_PATHS:
                    status, content_type, body = _ask(address, method, path)
                    assert 400 <= status < 500, (address, method, path, status, body)
                    assert content_type.startswith("application/json") and body.startswith(b"{")


def test_each_outcome_class_counts_exactly_what_the_test_made_happen():
    """Mutation 5: outcomes were only checked by ``ok + failed + unknown == actions``, true whatever the
    ledger does. Here the test decides the truth: 3 adds that work, 2 with the database down (the shop
    refuses: failed), 1 applied and then crashed (unknown). Counting any of them in the wrong class, or
    not at all, fails; so does a ledger that stops counting actions."""
    with Cluster.stateless(instances=2) as healthy, Cluster("stateless", 2, shop_class=ApplyThenFail) as broken:
        alice = healthy.user("alice")
        for sku in ("book", "pen", "mug"):
            alice.add(sku)
        healthy.database.down()
        alice.add("lamp")
        alice.add("desk")
        healthy.database.up()
        bob = broken.user("bob")
        bob.ledger = alice.ledger                                 # one ledger for both, as a traffic run has
        bob.add("chair")
    counts = alice.ledger.snapshot()
    assert (counts["actions"], counts["ok"], counts["failed"], counts["unknown"]) == (6, 3, 2, 1)
    assert alice.expected == {"book": 1, "pen": 1, "mug": 1}       # the refused adds were not believed
