"""diagram.py: the live architecture diagram says who holds state, who is dead and who called what.

The Mermaid text follows the article's first diagram (client, balancer,
instances, and the database and cache a stateless shop keeps its state in),
coloured like the dashboard: green disposable, pink holds state, red dead.
Its arrows are measured: an instance has an arrow to a store only if it
called it, labelled with the count the store kept per caller. It must depend
only on what happened, never on ports or timings.
"""

import pytest

from labsupport import InvalidArgumentError
from labsupport.shop import Cluster
from labsupport.widgets import architecture_diagram, dashboard_view, mermaid_markdown, store_calls
from tests.leaky_shop import LeakyCluster


def ports_of(shop):
    return {shop.url.rsplit(":", 1)[1]} | {str(s.port) for s in shop.instances}


def test_stateless_diagram_draws_store_arrows_only_for_calls_that_happened_with_their_counts():
    with Cluster.stateless(instances=3, service_ms=0) as shop:
        fresh = architecture_diagram(shop)
        alice = shop.user("alice")                     # login: shop-1 signs a token, no store call
        for sku in ("book", "pen", "mug", "lamp"):     # each add: 1 denylist check + 1 cart transaction
            alice.add(sku)                             # round robin: shop-2, shop-3, shop-1, shop-2
        text = architecture_diagram(shop)
        counted = store_calls(shop)
    assert "--> DB" not in fresh and "--> Cache" not in fresh and "Response" not in fresh
    assert counted == {"shop-1": {"DB": 1, "Cache": 1}, "shop-2": {"DB": 2, "Cache": 2},
                       "shop-3": {"DB": 1, "Cache": 1}}
    assert "LB -->|round_robin: 2 requests| shop_1" in text and "LB -->|round_robin: 2 requests| shop_2" in text
    assert "shop_2 -->|2 calls| DB" in text and "shop_2 -->|2 calls| Cache" in text
    assert "shop_1 -->|1 call| DB" in text and "shop_3 -->|1 call| Cache" in text
    for node in ("shop_1", "shop_2", "shop_3"):
        assert f"style {node} fill:{dashboard_view.DISPOSABLE}" in text
    assert f"style DB fill:{dashboard_view.HOLDS_STATE}" in text and f"style Cache fill:{dashboard_view.HOLDS_STATE}" in text


def test_an_instance_that_served_nobody_has_no_arrow_to_the_stores():
    with Cluster.stateless(instances=2, service_ms=0) as shop:
        alice = shop.user("alice")
        alice.add("book")
        alice.add("pen")
        shop.scale(3)                                   # shop-3 joins and serves nobody
        text = architecture_diagram(shop)
    assert "LB -->|round_robin: 0 requests| shop_3" in text
    assert "shop_3 -->" not in text                     # no store arrow, no response arrow


def test_stateful_diagram_marks_a_killed_instance_dead():
    with Cluster.stateful(instances=2, service_ms=0) as shop:
        alice = shop.user("alice")
        home = alice.last_instance.replace("-", "_")
        before = architecture_diagram(shop)
        shop.kill(alice.last_instance)
        after = architecture_diagram(shop)
    assert "in memory: sessions (1)" in before and f"style {home} fill:{dashboard_view.HOLDS_STATE}" in before
    assert f"style {home} fill:{dashboard_view.DEAD}" in after and "dead<br/>memory lost" in after
    assert f"LB -.->|dead| {home}" in after and f"{home} -->|Response|" not in after
    assert "DB" not in after                       # the stateful shop keeps carts in its instances


def test_what_a_box_says_is_held_is_measured_not_assumed_from_the_kind():
    with LeakyCluster(instances=2, service_ms=0) as shop:
        alice = shop.user("alice")
        alice.add("book")
        text = architecture_diagram(shop)
    assert f"{alice.last_instance} (v1)<br/>up<br/>in memory: _recent (1)" in text
    assert text.count("keeps nothing in memory") == 1          # the other instance really holds nothing


def test_diagram_is_the_same_for_the_same_state_and_has_no_ports():
    with Cluster.stateless(instances=2, service_ms=0) as shop:
        first, second = architecture_diagram(shop), architecture_diagram(shop)
        ports = ports_of(shop)
    assert first == second
    assert not any(port in first for port in ports)


def test_a_closed_cluster_cannot_be_drawn():
    shop = Cluster.stateful(instances=1)
    shop.close()
    with pytest.raises(InvalidArgumentError, match="closed"):
        architecture_diagram(shop)


def test_mermaid_markdown_uses_a_mermaid_fence():
    assert mermaid_markdown("flowchart TB\n    A --> B").data == "```mermaid\nflowchart TB\n    A --> B\n```"
