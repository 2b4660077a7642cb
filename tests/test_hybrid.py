"""hybrid.py: in a hybrid shop each placement of state fails in its own way.

Pins chapter 08's table on real servers: killing a stateless catalog
instance costs nothing, killing a stateful cart instance costs exactly the
carts pinned to it, a database outage fails every catalog read while the
in-memory carts carry on; the same numbers on every run; nothing left behind.
"""

import http.client
import json

import pytest

from labsupport import InvalidArgumentError
from labsupport.engine import registry
from labsupport.labs import HybridShop, failure_cost, hybrid_chaos
from tests.conftest import lab_threads, wait_for


@pytest.fixture(scope="module")
def costs():
    return hybrid_chaos(seed=7)


def test_killing_a_catalog_instance_fails_no_read_and_loses_no_cart(costs):
    cost = costs.cost("catalog")
    assert (cost.reads, cost.failed_reads, cost.lost_carts) == (6, 0, 0)


def test_killing_a_cart_instance_loses_exactly_the_carts_pinned_to_it(costs):
    cost = costs.cost("cart")
    assert cost.failed_reads == 0
    assert cost.users_losing_carts == ("bob", "erin")       # sticky placement: every third shopper is on shop-2
    assert cost.lost_carts == 2 and cost.lost_items > 0


def test_a_database_outage_fails_every_catalog_read_but_no_in_memory_cart(costs):
    cost = costs.cost("database")
    assert (cost.failed_reads, cost.reads, cost.lost_carts) == (6, 6, 0)


def test_without_a_failure_nothing_is_lost(costs):
    cost = costs.cost("nothing")
    assert (cost.failed_reads, cost.lost_carts, cost.lost_items) == (0, 0, 0)


def test_the_table_is_the_same_on_every_run(costs):
    table = repr(costs)
    assert table.startswith("What each failure cost the hybrid shop")
    assert "cart shop-2 killed  0 of 6                2 of 6" in table
    assert repr(hybrid_chaos(seed=7)) == table


def test_a_shopper_reads_the_catalog_and_keeps_a_cart_on_the_stateful_service():
    with HybridShop() as shop:
        alice = shop.shopper("alice")
        assert alice.browse("book") == {"sku": "book", "price_eur": 10}
        assert alice.add("book", 2) == {"book": 2}
        assert alice.cart_instance == "shop-1"
        assert shop.carts.held_sessions()["shop-1"] == 1
        assert alice.browse("unicorn") is None and alice.failed_reads == 1


def _get(url, path, method="GET"):
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request(method, path)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


def test_the_catalog_answers_clear_errors_and_reports_its_dependency_in_health():
    with HybridShop(catalog_instances=1) as shop:
        url = shop.catalog.instances["catalog-1"].url
        assert _get(url, "/products/book")[0] == 200
        assert _get(url, "/products/nope") == (404, {"error": "no product 'nope'; try one of "
                                                             "book, pen, mug, lamp, desk, chair"})
        assert _get(url, "/products/book", "POST")[0] == 405
        assert _get(url, "/health")[0] == 200
        shop.database.down()
        assert _get(url, "/health")[0] == 503
        status, body = _get(url, "/products/book")
        assert status == 503 and "database is down" in body["error"]


def test_misuse_gets_errors_that_name_the_choices():
    with pytest.raises(InvalidArgumentError, match="catalog, cart, database"):
        failure_cost("balancer")
    with HybridShop(catalog_instances=2) as shop:
        with pytest.raises(InvalidArgumentError, match="catalog-1, catalog-2"):
            shop.kill_catalog("catalog-9")
        with pytest.raises(InvalidArgumentError, match="nothing, catalog"):
            shop.break_part("everything")


def test_closing_the_hybrid_shop_leaves_no_thread_and_nothing_registered():
    before = set(lab_threads())
    with HybridShop() as shop:
        shop.shopper("alice").add("pen")
    assert repr(shop) == "HybridShop(closed)"
    assert registry.running() == []
    assert wait_for(lambda: set(lab_threads()) <= before, timeout=5)


def test_a_bad_instance_count_is_refused_and_leaves_nothing_running():
    with pytest.raises(InvalidArgumentError, match="from 1 to 10"):
        HybridShop(catalog_instances=0)
    assert registry.running() == []
