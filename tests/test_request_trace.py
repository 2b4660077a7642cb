"""request_trace.py: one request through the article's eight steps, on the live stateless cluster.

Pins chapter 05, claim R1: the traced request passes client, balancer,
token check, database read, logic, database write and response, and the
instance holds nothing afterwards: step 8 is measured by walking the
instance's memory, so a shop that secretly keeps the cart shows it there.
"""

import pytest

from labsupport import Cluster, InvalidArgumentError
from labsupport.labs import request_trace, trace_request
from tests.leaky_shop import LeakyCluster

pytestmark = pytest.mark.timeout(60)


def test_a_request_goes_through_the_eight_steps_and_leaves_nothing_behind():
    with Cluster.stateless(instances=3) as shop:
        alice = shop.user("alice")
        trace = trace_request(shop, alice, "book", 2)
        assert [s[0] for s in trace.steps] == list(request_trace.STEPS)
        assert [s[1] for s in trace.steps] == ["client", "load balancer", "API instance + cache", "database",
                                               "API instance", "database", "API instance", "API instance"]
        assert trace.steps[2][2] == "verify token signature; check token denylist"
        assert trace.steps[7][2] == "walked its memory: entries held 0; left out as shared: tokens, database, cache"
        assert trace.held.entries == 0
        assert trace.status == 200 and trace.cart == {"book": 2}
        assert trace.instance in {"shop-1", "shop-2", "shop-3"}
        assert {s["where"] for s in trace.instance_steps} == {trace.instance, "cache", "database"}
        assert repr(trace) == repr(trace_request(shop, alice, "book", 2))     # the same text every time
        assert alice.cart() == {"book": 4}


def test_step_eight_is_measured_so_a_shop_that_keeps_the_cart_in_memory_is_caught():
    with LeakyCluster(instances=2) as shop:
        trace = trace_request(shop, shop.user("alice"), "book", 1)
    assert trace.steps[7][2].startswith("walked its memory: entries held 1;")
    assert trace.held.entries_in("_recent") == 1


def test_the_stateful_shop_is_refused():
    with Cluster.stateful(instances=2) as shop:
        with pytest.raises(InvalidArgumentError, match="stateless"):
            trace_request(shop, shop.user("alice"))
