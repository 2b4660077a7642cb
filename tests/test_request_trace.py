"""request_trace.py: one request through the article's eight steps, on the live stateless cluster.

Pins chapter 05, claim R1: the traced request passes client, balancer,
token check, database read, logic, database write and response, each row
filled from something recorded while the request ran (the balancer's
counters, the instance's events, the client's own record), and the instance
holds nothing afterwards: step 8 is measured by walking the instance's
memory, so a shop that secretly keeps the cart shows it there.
"""

import pytest

from labsupport import Cluster, InvalidArgumentError
from labsupport.labs import request_trace, trace_request
from labsupport.shop import StatelessShop
from tests.leaky_shop import LeakyCluster

pytestmark = pytest.mark.timeout(60)


def test_a_request_goes_through_the_eight_steps_and_leaves_nothing_behind():
    with Cluster.stateless(instances=3) as shop:
        alice = shop.user("alice")                                  # shop-1 signs her token
        trace = trace_request(shop, alice, "book", 2)               # round robin: shop-2 serves it
        again = trace_request(shop, alice, "book", 2)               # ... and shop-3 the next one
        assert alice.cart() == {"book": 4}
    assert [s[0] for s in trace.steps] == list(request_trace.STEPS)
    assert trace.instance == "shop-2" and trace.chosen == {"shop-2": 1}
    assert [s[1] for s in trace.steps] == ["client", "load balancer", "shop-2 + cache", "database",
                                           "shop-2", "database", "shop-2", "shop-2"]
    assert trace.steps[1][2] == "round_robin; requests it handed out: shop-2 +1"
    assert trace.steps[2][2] == "verify token signature; check token denylist"
    assert trace.steps[3][2] == "read cart (transaction open)"
    assert trace.steps[4][2] == "change the cart: {} -> {'book': 2}"        # what the logic did, recorded as it ran
    assert trace.steps[5][2] == "write cart and commit"
    assert trace.steps[6][2] == "respond; the client received HTTP 200"
    assert trace.steps[7][2] == "walked its memory: entries held 0; left out as shared: tokens, database, cache"
    assert trace.held.entries == 0
    assert trace.status == 200 and trace.cart == {"book": 2}
    assert [s["where"] for s in trace.instance_steps] == ["shop-2", "cache", "database", "shop-2", "database",
                                                          "shop-2"]
    assert again.steps[4][2] == "change the cart: {'book': 2} -> {'book': 4}"
    assert again.instance == "shop-3" and again.steps[1][2].endswith("shop-3 +1")


class OneStepShop(StatelessShop):
    """Changes the cart in one store call and records one event for it, as the lab once did."""

    def change_cart(self, principal, change, trace):
        cart = self.database.update("cart:" + principal["user"], change)
        trace.step("read, change and write cart in one transaction", where=self.database.kind)
        return cart


def test_each_row_comes_from_an_event_so_a_step_nobody_recorded_says_so():
    with Cluster("stateless", 2, shop_class=OneStepShop) as shop:
        trace = trace_request(shop, shop.user("alice"), "book", 1)
    assert trace.status == 200 and trace.cart == {"book": 1}
    for number in (3, 4, 5):                          # read, logic, write: no event for any of them
        assert trace.steps[number][2] == request_trace.NOT_RECORDED


def test_step_eight_is_measured_so_a_shop_that_keeps_the_cart_in_memory_is_caught():
    with LeakyCluster(instances=2) as shop:
        trace = trace_request(shop, shop.user("alice"), "book", 1)
    assert trace.steps[7][2].startswith("walked its memory: entries held 1;")
    assert trace.held.entries_in("_recent") == 1


def test_the_stateful_shop_is_refused():
    with Cluster.stateful(instances=2) as shop:
        with pytest.raises(InvalidArgumentError, match="stateless"):
            trace_request(shop, shop.user("alice"))
