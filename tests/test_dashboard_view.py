"""dashboard_view.py: the colours carry the lesson, and the chart's rates are counted right.

Green means disposable, pink means it holds state, red means dead (the
shop class's colour role decides while it runs); the big number on a tile is
what the walk of the instance's memory found; the chart turns running totals
into actions per second.
"""

from labsupport.engine import AttributeState, HeldState
from labsupport.shop import StatefulShop, StatelessShop
from labsupport.widgets import dashboard_view


def test_tile_colour_follows_the_articles_diagrams():
    disposable, holds_state = StatelessShop.colour_role, StatefulShop.colour_role
    assert dashboard_view.tile_colour(disposable, "up") == dashboard_view.DISPOSABLE
    assert dashboard_view.tile_colour(holds_state, "up") == dashboard_view.HOLDS_STATE
    assert dashboard_view.tile_colour(disposable, "dead") == dashboard_view.tile_colour(holds_state, "dead") \
        == dashboard_view.DEAD
    assert len({dashboard_view.tile_colour(holds_state, s) for s in ("draining", "stopped", "dead")}) == 3


def test_the_big_number_is_what_the_walk_found():
    held = HeldState("StatefulShop", {"sessions": AttributeState(7, 900)}, {"_lock": "a lock"})
    card = dashboard_view.tile_html("shop-2", "holds_state", "up", "v1", requests=12, held=held)
    assert "font-size:30px;font-weight:700;line-height:1.1;margin-top:6px'>7<" in card
    assert "in memory: sessions (7)" in card
    assert "12 requests served" in card and dashboard_view.HOLDS_STATE in card
    empty = dashboard_view.tile_html("shop-2", "disposable", "up", "v1", 12, HeldState("StatelessShop", {}, {}),
                                     note=StatelessShop.memory_note)
    assert "margin-top:6px'>0<" in empty and "keeps nothing in memory" in empty
    assert "carts live in the database" in empty
    dead = dashboard_view.tile_html("shop-2", "holds_state", "dead", "v1", 12, held)
    assert "margin-top:6px'>0<" in dead and "memory gone" in dead


def test_rates_are_per_whole_second_from_running_totals():
    history = dashboard_view.RateHistory(seconds=4)
    for t, ok, failed in ((0.0, 0, 0), (1.0, 10, 0), (2.0, 30, 5)):
        history.add(t, ok, failed)
    ok_rates, failed_rates = history.per_second(now=2.0)
    assert ok_rates == [0, 0, 10, 20] and failed_rates == [0, 0, 0, 5]
    history.clear()
    assert history.per_second(now=9.0) == ([0, 0, 0, 0], [0, 0, 0, 0])


def test_chart_draws_one_line_for_ok_and_one_for_failed():
    svg = dashboard_view.rate_chart_svg([0, 5, 10], [0, 1, 0])
    assert svg.count("<polyline") == 2 and ">10</text>" in svg


def test_trouble_counters_turn_red():
    quiet = dashboard_view.ledger_html({"actions": 5, "ok": 5, "failed": 0})
    noisy = dashboard_view.ledger_html({"actions": 5, "ok": 4, "failed": 1})
    assert "#b3261e" not in quiet and "#b3261e'>1<" in noisy
