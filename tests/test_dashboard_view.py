"""dashboard_view.py: the colours carry the lesson, and the chart's rates are counted right.

Green means disposable, pink means it holds state, red means dead; a
stateful tile makes the sessions in its memory the big number; the chart
turns running totals into actions per second.
"""

from labsupport.widgets import dashboard_view


def test_tile_colour_follows_the_articles_diagrams():
    assert dashboard_view.tile_colour("stateless", "up") == dashboard_view.DISPOSABLE
    assert dashboard_view.tile_colour("stateful", "up") == dashboard_view.HOLDS_STATE
    assert dashboard_view.tile_colour("stateless", "dead") == dashboard_view.tile_colour("stateful", "dead") == dashboard_view.DEAD
    assert len({dashboard_view.tile_colour("stateful", s) for s in ("draining", "stopped", "dead")}) == 3


def test_stateful_tile_makes_the_sessions_the_big_number():
    card = dashboard_view.tile_html("shop-2", "stateful", "up", "v1", requests=12, sessions=7)
    assert "font-size:30px;font-weight:700;line-height:1.1;margin-top:6px'>7<" in card
    assert "12 requests served" in card and dashboard_view.HOLDS_STATE in card
    assert "carts live in the database" in dashboard_view.tile_html("shop-2", "stateless", "up", "v1", 12, 0)


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
