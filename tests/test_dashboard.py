"""dashboard.py: every button does what the same public Cluster call does, and the picture follows.

Real clusters, no browser. A click on Kill must crash that instance and the
tile must turn dead (vermillion, class lab-tile-dead); Restart brings it back;
Drain ends in stopped while the picture keeps moving; tiles come and go with
instances; the traffic button moves the ledger; the status line keeps the
last few results. The live thread must never outlive its cluster, its
dashboard, or a newer dashboard for the same cluster. A closed cluster is
shown as closed (grey STOPPED tiles, no button to press) with a "Start a
fresh cluster" button that builds the same kind and size and shows it here.
"""

import re
import threading

import pytest

from labsupport import InvalidArgumentError
from labsupport.engine import POLICIES, shutdown_all
from labsupport.shop import Cluster
from labsupport.widgets import ClusterDashboard, dashboard_view, next_version
from labsupport.widgets import dashboard as dashboard_module
from tests.conftest import wait_for

KINDS = ("stateless", "stateful")


def dashboard_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith("lab-dashboard") and t.is_alive()]


@pytest.fixture
def make():
    """make(kind, instances) -> (cluster, dashboard); both closed after the test."""
    made = []

    def build(kind, instances=2, **options):
        cluster = getattr(Cluster, kind)(instances=instances, service_ms=0.5, **options)
        dashboard = ClusterDashboard(cluster, refresh_s=0.1)
        made.append((cluster, dashboard))
        return cluster, dashboard

    yield build
    for cluster, dashboard in made:
        dashboard.close()
        cluster.close()


@pytest.mark.parametrize("kind", KINDS)
def test_kill_button_crashes_that_instance_and_the_tile_turns_dead(make, kind):
    shop, board = make(kind)
    tile = board.tiles["shop-1"]
    assert tile.status == "up" and "lab-tile-up" in tile._dom_classes
    tile.kill_button.click()
    board.refresh()
    assert shop.status("shop-1") == "dead" and shop.status("shop-2") == "up"
    assert tile.status == "dead" and "dead" in tile.card.value
    assert "lab-tile-dead" in tile._dom_classes and "lab-tile-up" not in tile._dom_classes
    assert tile.kill_button.disabled


@pytest.mark.parametrize("kind", KINDS)
def test_restart_button_brings_a_dead_instance_back(make, kind):
    shop, board = make(kind)
    board.tiles["shop-2"].kill_button.click()
    board.tiles["shop-2"].restart_button.click()
    board.refresh()
    assert shop.status("shop-2") == "up"
    assert board.tiles["shop-2"].status == "up" and "lab-tile-up" in board.tiles["shop-2"]._dom_classes


def test_tile_colour_says_who_holds_state(make):
    _, stateless = make("stateless")
    _, stateful = make("stateful")
    assert dashboard_view.DISPOSABLE in stateless.tiles["shop-1"].card.value      # green: disposable
    assert dashboard_view.HOLDS_STATE in stateful.tiles["shop-1"].card.value      # pink: holds sessions
    assert dashboard_view.DISPOSABLE != dashboard_view.HOLDS_STATE


def test_stateful_tile_counts_sessions_held_in_memory(make):
    shop, board = make("stateful")
    alice = shop.user("alice")
    board.refresh()
    home = board.tiles[alice.last_instance]
    assert re.search(r">1</div><div[^>]*>entries in its memory", home.card.value)
    assert "in memory: sessions (1)" in home.card.value
    home.kill_button.click()
    board.refresh()
    assert "memory gone" in home.card.value


def test_drain_runs_in_the_background_and_ends_stopped(make):
    shop, board = make("stateful")
    alice = shop.user("alice")                      # a session pinned to one instance: the drain waits for it
    name = alice.last_instance
    board.tiles[name].drain_button.click()
    assert wait_for(lambda: shop.status(name) == "draining")
    board.refresh()
    assert f"draining {name}..." in board.message.value
    assert board.tiles[name].status == "draining" and board.deploy_button.disabled
    board.deploy_button.click()                     # one slow operation at a time
    assert f"draining {name}..." in board.message.value
    assert "refused, one operation at a time" in board.earlier.value
    alice.logout()                                  # the session ends, so the drain can finish
    assert board.wait_idle(timeout=15)
    assert shop.status(name) == "stopped" and board.tiles[name].status == "stopped"
    assert "lab-tile-stopped" in board.tiles[name]._dom_classes
    assert f"draining {name}: done" in board.message.value and "0 sessions lost" in board.message.value


@pytest.mark.parametrize("kind", KINDS)
def test_add_and_remove_buttons_change_the_tiles(make, kind):
    shop, board = make(kind)
    board.add_button.click()
    assert list(board.tiles) == ["shop-1", "shop-2", "shop-3"]
    assert "lab-tile-name-shop-3" in board.tiles["shop-3"]._dom_classes
    assert board.grid.children[-1] is board.tiles["shop-3"]
    board.remove_button.click()
    assert board.wait_idle(timeout=15)
    assert [s.name for s in shop.instances] == ["shop-1", "shop-2"]
    assert list(board.tiles) == ["shop-1", "shop-2"] and len(board.grid.children) == 2


def test_a_failing_click_is_explained_in_the_status_line_not_raised(make):
    shop, board = make("stateless")
    stale = board.tiles["shop-2"]
    shop.remove_instance("shop-2")                  # removed in code; the tile is still on screen
    stale.kill_button.click()
    assert "kill shop-2 failed: no instance named" in board.message.value
    assert "shop-2" not in board.tiles


def test_remove_keeps_the_last_instance(make):
    shop, board = make("stateless", instances=1)
    board.remove_button.click()
    assert board.wait_idle(timeout=5)
    assert len(shop.instances) == 1 and "at least one instance" in board.message.value


def test_deploy_button_rolls_to_the_next_version(make):
    shop, board = make("stateless")
    assert board.deploy_button.description == "Deploy v2 (rolling)"
    board.deploy_button.click()
    assert board.wait_idle(timeout=20)
    assert shop.version == "v2" and {s.version for s in shop.instances if s.alive} == {"v2"}
    assert all(tile.status == "up" and "v2" in tile.card.value for tile in board.tiles.values())
    assert board.deploy_button.description == "Deploy v3 (rolling)"


@pytest.mark.parametrize("kind", KINDS)
def test_traffic_button_moves_the_ledger(make, kind):
    shop, board = make(kind)
    board.traffic_button.click()
    assert shop.traffic_running and board.traffic_button.description == "Stop traffic"

    def counted():
        board.refresh()
        return board.counts["actions"] > 0 and board.counts["ok"] > 0
    assert wait_for(counted, timeout=10)
    assert "polyline" in board.chart.value and "lab-ledger" in board.ledger_view._dom_classes
    board.traffic_button.click()
    assert not shop.traffic_running and board.traffic_button.description == "Start traffic"


def test_closing_the_cluster_stops_the_thread_and_shows_stopped_tiles(make):
    shop, board = make("stateless")
    assert board.updates.thread.name in dashboard_threads()
    shop.close()
    assert wait_for(lambda: not dashboard_threads())
    assert dashboard_module.CLOSED_MESSAGE in board.message.value
    for tile in board.tiles.values():
        assert tile.status == "stopped" and "lab-tile-stopped" in tile._dom_classes
        assert "stopped" in tile.card.value and dashboard_view.STOPPED in tile.card.value
        assert dashboard_view.DISPOSABLE not in tile.card.value                # not green "UP" any more
        assert tile.kill_button.disabled and tile.restart_button.disabled and tile.drain_button.disabled
    assert all(b.disabled for b in (board.add_button, board.remove_button, board.deploy_button,
                                    board.traffic_button))
    assert board.fresh_button.layout.display is None and not board.fresh_button.disabled
    board.tiles["shop-1"].kill_button.click()     # a click on a closed cluster is refused quietly


@pytest.mark.parametrize("kind", KINDS)
def test_start_a_fresh_cluster_builds_the_same_kind_and_size_and_shows_it(make, kind):
    old, board = make(kind, instances=3)
    board.remove_button.click()                   # the dashboard remembers the size it showed last: 2
    assert board.wait_idle(timeout=15)
    old.close()
    assert wait_for(lambda: not dashboard_threads())
    board.fresh_button.click()
    new = board.cluster
    try:
        assert new is not old and not new.closed and old.closed
        assert (new.kind, new.policy, new.seed, new.service_ms) == (old.kind, old.policy, old.seed, old.service_ms)
        assert [i.name for i in new.instances] == ["shop-1", "shop-2"] == list(board.tiles)
        assert all(tile.status == "up" for tile in board.tiles.values())
        assert board.fresh_button.layout.display == "none" and not board.traffic_button.disabled
        assert "started a fresh" in board.message.value
        assert board.updates.thread.is_alive() and dashboard_threads() == [board.updates.thread.name]
        board.tiles["shop-2"].kill_button.click()           # the buttons act on the new cluster
        assert new.status("shop-2") == "dead" and board.tiles["shop-2"].status == "dead"
    finally:
        new.close()


def test_shutdown_all_leaves_a_stopped_picture_with_a_way_back(make):
    shop, board = make("stateful")
    shutdown_all()
    assert shop.closed and not dashboard_threads()
    assert dashboard_module.SHUT_DOWN_MESSAGE in board.message.value
    assert all(tile.status == "stopped" for tile in board.tiles.values())
    board.fresh_button.click()
    try:
        assert not board.cluster.closed and board.cluster.kind == "stateful"
    finally:
        board.cluster.close()


def test_a_cluster_the_dashboard_cannot_rebuild_offers_no_fresh_button():
    class Special(Cluster):
        pass
    shop = Special("stateless", instances=1)
    board = ClusterDashboard(shop, refresh_s=0.1)
    try:
        shop.close()
        board.refresh()
        assert board.fresh_button.layout.display == "none"
        assert dashboard_module.NO_FRESH_MESSAGE in board.message.value
        with pytest.raises(InvalidArgumentError, match="cannot rebuild"):
            board.start_fresh()
    finally:
        board.close()


def test_a_running_cluster_is_not_replaced_by_start_fresh(make):
    shop, board = make("stateless")
    with pytest.raises(InvalidArgumentError, match="still runs"):
        board.start_fresh()
    assert board.cluster is shop


def test_the_status_line_keeps_the_last_few_results(make):
    _, board = make("stateless", instances=3)
    for name in ("shop-1", "shop-2", "shop-3"):
        board.tiles[name].kill_button.click()
    board.tiles["shop-1"].restart_button.click()
    board.tiles["shop-2"].restart_button.click()
    assert "restart shop-2: done" in board.message.value
    earlier = board.earlier.value
    assert [text for text, _ in board.history] == ["restart shop-1: done", "kill shop-3: done",
                                                   "kill shop-2: done", "kill shop-1: done"]
    assert earlier.index("restart shop-1") < earlier.index("kill shop-3") < earlier.index("kill shop-1")
    board.tiles["shop-3"].restart_button.click()            # only the last few are kept
    assert len(board.history) == dashboard_module.HISTORY_SHOWN and "kill shop-1" not in board.earlier.value


def test_every_button_has_a_name_of_its_own(make):
    _, board = make("stateful", instances=3)
    names = [b.description for tile in board.tiles.values()
             for b in (tile.kill_button, tile.restart_button, tile.drain_button, tile.handoff_button,
                       tile.pause_button, tile.slow_button, tile.partition_button, tile.heal_button)]
    names += [b.description for b in (board.add_button, board.remove_button, board.deploy_button,
                                      board.traffic_button, board.fresh_button)]
    assert len(names) == len(set(names)) and {"Kill shop-2", "Pause shop-2", "Heal shop-3"} <= set(names)


def test_the_status_line_is_announced_to_screen_readers(make):
    _, board = make("stateless")
    from labsupport.widgets import LiveHTML
    assert isinstance(board.message, LiveHTML) and "lab-status" in board.message._dom_classes


def test_a_kill_hands_the_keyboard_focus_to_the_tiles_restart_button(make, monkeypatch):
    _, board = make("stateless")
    focused = []
    tile = board.tiles["shop-1"]
    monkeypatch.setattr(type(tile.restart_button), "focus", lambda button: focused.append(button))
    tile.kill_button.click()                      # Kill is now disabled: its focus must go somewhere useful
    assert focused == [tile.restart_button]
    tile.restart_button.click()                   # Restart stays enabled: focus stays where it is
    assert focused == [tile.restart_button]


def test_a_dashboard_for_a_closed_cluster_starts_no_thread():
    shop = Cluster.stateless(instances=2)
    shop.close()
    board = ClusterDashboard(shop)
    try:
        assert repr(board) == "ClusterDashboard(stateless cluster, closed)"
        assert dashboard_module.CLOSED_MESSAGE in board.message.value and not dashboard_threads()
    finally:
        board.close()


def test_a_new_dashboard_replaces_the_old_ones_thread(make):
    shop, old = make("stateful")
    new = ClusterDashboard(shop, refresh_s=0.1)
    try:
        assert not old.updates.thread.is_alive() and new.updates.thread.is_alive()
        assert dashboard_module.REPLACED_MESSAGE in old.message.value and old.traffic_button.disabled
        assert dashboard_threads() == [new.updates.thread.name]
    finally:
        new.close()


def test_close_and_shutdown_all_stop_the_thread(make):
    _, first = make("stateless")
    first.close()
    assert not first.updates.thread.is_alive()
    _, second = make("stateful")
    shutdown_all()
    assert not dashboard_threads()
    assert dashboard_module.SHUT_DOWN_MESSAGE in second.message.value


def test_repr_is_fixed_at_construction_and_has_no_ports(make):
    shop, board = make("stateless", instances=3)
    assert repr(board) == "ClusterDashboard(stateless cluster, 3 instances)"
    board.add_button.click()
    assert repr(board) == "ClusterDashboard(stateless cluster, 3 instances)"
    ports = {shop.url.rsplit(":", 1)[1]} | {str(s.port) for s in shop.instances}
    assert not any(port in repr(board) for port in ports)
    assert board._repr_mimebundle_()["text/plain"] == repr(board)


def test_css_classes_for_the_browser_test(make):
    _, board = make("stateful")
    tile = board.tiles["shop-1"]
    assert "lab-dashboard" in board._dom_classes and "lab-tile" in tile._dom_classes
    for button, css in ((tile.kill_button, "lab-kill"), (tile.restart_button, "lab-restart"),
                        (tile.drain_button, "lab-drain"), (board.add_button, "lab-add"),
                        (board.remove_button, "lab-remove"), (board.deploy_button, "lab-deploy"),
                        (board.traffic_button, "lab-traffic")):
        assert css in button._dom_classes


def test_bad_arguments_say_what_to_do():
    with pytest.raises(InvalidArgumentError, match="needs a Cluster"):
        ClusterDashboard("shop")
    with Cluster.stateful(instances=1) as shop:
        with pytest.raises(InvalidArgumentError, match="refresh_s"):
            ClusterDashboard(shop, refresh_s=0)


def test_next_version_counts_up():
    assert [next_version(v) for v in ("v1", "v9", "blue")] == ["v2", "v10", "blue-2"]


@pytest.mark.parametrize("kind", KINDS)
def test_fault_buttons_inflict_each_fault_show_it_in_words_and_heal_it(make, kind):
    shop, board = make(kind)
    tile = board.tiles["shop-1"]
    assert tile.heal_button.disabled and not tile.pause_button.disabled
    for press, label, key in ((tile.pause_button, "PAUSED", "paused"), (tile.slow_button, "SLOW +200 ms", "slow"),
                              (tile.partition_button, "PARTITIONED", "partitioned")):
        press.click()
        board.refresh()
        assert [fault.label for fault in shop.faults("shop-1")] == [label]       # the same as shop.pause(...) etc.
        assert label in tile.card.value and f"lab-fault-{key}" in tile._dom_classes
        assert press.disabled and not tile.heal_button.disabled
        assert "done" in board.message.value
        tile.heal_button.click()
        board.refresh()
        assert shop.faults("shop-1") == [] and label not in tile.card.value
        assert f"lab-fault-{key}" not in tile._dom_classes and tile.heal_button.disabled
    assert shop.faults("shop-2") == []                                            # the other tile's instance


def test_a_partitioned_tile_turns_unhealthy_while_its_process_lives(make):
    shop, board = make("stateless", health_interval=0.05)
    board.tiles["shop-2"].partition_button.click()
    assert wait_for(lambda: shop.status("shop-2") == "unhealthy")
    board.refresh()
    tile = board.tiles["shop-2"]
    assert tile.status == "unhealthy" and "PARTITIONED" in tile.card.value and shop.instance("shop-2").alive


def test_pause_and_slow_are_offered_only_for_a_running_instance(make):
    _, board = make("stateful")
    tile = board.tiles["shop-2"]
    tile.kill_button.click()
    board.refresh()
    assert tile.pause_button.disabled and tile.slow_button.disabled and not tile.partition_button.disabled
    tile.partition_button.click()
    board.refresh()
    assert "PARTITIONED" in tile.card.value and not tile.heal_button.disabled


def test_add_and_remove_on_a_rebalancing_cluster_scale_so_the_carts_follow_their_owner(make):
    shop, board = make("stateful", instances=3, policy="consistent_hash", rebalance=True)
    users = {name: shop.user(name) for name in (f"user-{i:02d}" for i in range(12))}
    for user in users.values():
        user.add("book", 1)
    ring = POLICIES["consistent_hash"].build()
    three, four = ["shop-1", "shop-2", "shop-3"], ["shop-1", "shop-2", "shop-3", "shop-4"]
    newcomers = [name for name in users if ring.owner(name, four) == "shop-4"]
    assert newcomers                                         # some users belong to the new instance
    board.add_button.click()
    assert board.wait_idle(timeout=30)
    assert list(board.tiles) == four and shop.held_sessions()["shop-4"] == len(newcomers)   # scale() moved them
    assert f"{len(newcomers)} of 12 sessions moved to their new owner, 0 lost" in board.message.value
    assert all(user.cart() == {"book": 1} and not user.session_lost for user in users.values())
    board.remove_button.click()
    assert board.wait_idle(timeout=30)
    assert list(board.tiles) == three and sum(shop.held_sessions().values()) == 12
    assert all(user.cart() == {"book": 1} and not user.session_lost for user in users.values())
    assert [ring.owner(name, three) for name in newcomers] == [users[n].last_instance for n in newcomers]
