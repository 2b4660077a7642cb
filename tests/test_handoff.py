"""handoff.py and transfer.py: a draining stateful instance moves its sessions to peers instead of losing them.

Real clusters, real HTTP between instances. What is pinned: nobody is logged
out by a hand-off even while users shop (and a plain drain with a timeout does
log them out); a crash in the middle loses exactly the sessions not moved
yet; a request for a session that already moved is forwarded, one for a
session on its way waits and is applied at the new instance; a login that
still reaches the leaving instance is sent to a peer; the balancer's table
keeps finding moved sessions after the old instance stopped; and the
internal routes refuse anyone without the cluster's secret.
"""

import threading
import time

import pytest

from labsupport.engine import HTTPError, Request
from labsupport.labs import compare_drains, crash_during_handoff
from labsupport.shop import Cluster, HandOff, StatefulShop, User, transfer
from labsupport.widgets import ClusterDashboard
from tests.conftest import wait_for
from tests.http_util import call


def pinned_users(shop, count, prefix="u"):
    """``count`` users, each with two books, and the instance that holds the most of them."""
    people = [shop.user(f"{prefix}{i}") for i in range(count)]
    for person in people:
        person.add("book", 2)
    busiest = max(shop.held_sessions().items(), key=lambda item: item[1])[0]
    return people, busiest


def test_a_hand_off_under_traffic_logs_nobody_out():
    with Cluster.stateful(instances=3, service_ms=1) as shop:
        shop.start_traffic(users=12, think_ms=2, seed=3)
        assert wait_for(lambda: len(shop.ledger.versions_by_user) == 12, timeout=10)   # everyone has a cart
        victim = max(shop.held_sessions().items(), key=lambda item: item[1])[0]
        held = shop.held_sessions()[victim]
        result = shop.drain(victim, handoff=True)
        served = shop.ledger.snapshot()["actions"]
        assert wait_for(lambda: shop.ledger.snapshot()["actions"] > served + 24, timeout=10)  # shopping goes on
        shop.stop_traffic()
        counts = shop.ledger.snapshot()
        assert (counts["lost_sessions"], counts["lost_items"], counts["failed"], counts["unknown"]) == (0, 0, 0, 0)
        assert result["sessions_moved"] == held > 0 and result["sessions_lost"] == 0 and result["bytes_moved"] > 0
        assert shop.status(victim) == "stopped"
        assert sum(shop.held_sessions().values()) == 12          # every session lives on, on a peer


def test_a_plain_drain_with_a_timeout_loses_the_sessions_a_hand_off_keeps():
    outcomes = {}
    for handoff in (False, True):
        with Cluster.stateful(instances=3) as shop:
            people, victim = pinned_users(shop, 9)
            on_victim = [p for p in people if p.last_instance == victim]
            result = shop.drain(victim, timeout=0.2, handoff=handoff)
            for person in people:
                person.cart()
            outcomes[handoff] = (result["sessions_lost"], sorted(p.name for p in people if p.session_lost))
            expected_lost = sorted(p.name for p in on_victim)
    assert outcomes[False] == (len(expected_lost), expected_lost)    # plain: every idle session on it
    assert outcomes[True] == (0, [])                                 # hand-off: nobody


def test_a_kill_during_a_hand_off_loses_exactly_the_sessions_not_yet_moved():
    with Cluster.stateful(instances=3) as shop:
        people, victim = pinned_users(shop, 12)
        handoff = HandOff(shop, victim).start()
        order = [session_id for session_id, _ in handoff.pending]
        assert len(order) >= 3
        assert handoff.move(2) == 2
        shop.kill(victim)                                  # the crash comes between two moves
        result = handoff.finish()
        not_moved = {p.name for p in people if p.credential in order[2:]}
        for person in people:
            person.cart()
        assert result["sessions_moved"] == 2 and result["sessions_lost"] == len(order) - 2
        assert {p.name for p in people if p.session_lost} == not_moved


def test_a_request_for_a_session_that_moved_is_forwarded_and_its_cookie_follows():
    with Cluster.stateful(instances=2) as shop:
        alice = shop.user("alice")
        alice.add("book", 2)
        source = shop.instance(alice.last_instance)
        peer = next(i for i in shop.instances if i is not source)
        # Move her session between the two instances, but leave the balancer's table alone: only the 421 can help.
        transfer.call(transfer.address_of(source), "POST", "/internal/move",
                      {"to": peer.name, "address": transfer.address_of(peer), "sessions": [alice.credential]},
                      shop.secret)
        assert source.held_state().entries_in("sessions") == 0
        assert source.held_state().entries_in("moved") == 1       # a forwarding address: state the walk finds
        assert alice.cart() == {"book": 2} and not alice.session_lost
        assert alice.last_instance == peer.name and alice.cookies["lb-instance"] == peer.name
        assert shop.balancer.moved.followed == 1
        alice.add("pen")                                   # the cookie goes straight to the peer now
        assert alice.last_instance == peer.name and shop.balancer.moved.followed == 1


def test_after_the_hand_off_the_balancer_still_finds_the_moved_sessions():
    with Cluster.stateful(instances=3) as shop:
        people, victim = pinned_users(shop, 9)
        shop.drain(victim, handoff=True)
        assert shop.status(victim) == "stopped"
        moved = [p for p in people if p.cookies["lb-instance"] == victim]   # their cookie names a stopped instance
        assert moved
        for person in moved:
            assert person.cart() == {"book": 2} and not person.session_lost
        assert shop.balancer.moved.followed == 0           # found through the table, not by a redirect


class SlowImport(StatefulShop):
    """A stateful shop that takes half a second to store sessions sent to it, so a move stays in flight."""

    def take(self, sessions):
        time.sleep(0.5)
        super().take(sessions)


def test_a_write_to_a_session_on_its_way_waits_and_is_applied_at_the_new_instance():
    with Cluster.stateful(instances=2, shop_class=SlowImport) as shop:
        alice = shop.user("alice")
        alice.add("book", 2)
        source = shop.instance(alice.last_instance)
        peer = next(i for i in shop.instances if i is not source)
        mover = threading.Thread(target=transfer.call, args=(
            transfer.address_of(source), "POST", "/internal/move",
            {"to": peer.name, "address": transfer.address_of(peer), "sessions": [alice.credential]}, shop.secret))
        mover.start()
        assert wait_for(lambda: source.app.transfer.moving)        # her session is on its way
        assert alice.add("pen") == {"book": 2, "pen": 1}           # waited, then was forwarded
        mover.join()
        assert alice.last_instance == peer.name and not alice.session_lost
        assert alice.cart() == {"book": 2, "pen": 1}
        assert source.app.transfer.counts["waited"] == 1 and source.app.transfer.counts["forwarded"] == 1


def test_a_login_that_still_reaches_the_leaving_instance_is_sent_to_a_peer():
    with Cluster.stateful(instances=3) as shop:
        _, victim = pinned_users(shop, 6)
        handoff = HandOff(shop, victim).start()
        late = User(shop.url, "late-comer")
        late.cookies["lb-instance"] = victim                # pinned by an old cookie
        late.login()
        assert late.last_instance != victim
        handoff.move()
        result = handoff.finish()
        assert result["sessions_lost"] == 0 and result["forwarded"] == 1
        late.add("lamp")
        assert late.cart() == {"lamp": 1} and not late.session_lost
        late.close()


def test_the_internal_routes_refuse_anyone_without_the_clusters_secret():
    with Cluster.stateful(instances=2) as shop:
        alice = shop.user("alice")
        instance = shop.instance(alice.last_instance)
        for url in (instance.url, shop.url):               # straight to an instance, and through the balancer
            assert call(url, "GET", "/internal/sessions")[0] == 403
            assert call(url, "GET", "/internal/sessions", headers={"X-Cluster-Secret": "guess"})[0] == 403
            planted = {"sessions": {"forged": {"user": "mallory", "cart": None, "idle_s": 0}}}
            assert call(url, "POST", "/internal/import", planted)[0] == 403
        status, _, body = call(instance.url, "GET", "/internal/sessions", headers={"X-Cluster-Secret": shop.secret})
        assert status == 200 and [entry["key"] for entry in body["sessions"]] == ["alice"]
        assert "forged" not in instance.app.sessions


@pytest.mark.parametrize("body", [{"sessions": {"x": {"user": "a", "cart": {"items": {"book": True}, "keys": []},
                                                      "idle_s": 0}}},
                                  {"sessions": {"x": {"user": 7, "cart": None, "idle_s": 0}}},
                                  {"sessions": []}, {"to": "shop-9", "address": "10.0.0.1:80", "sessions": "all"}])
def test_a_malformed_internal_request_is_a_400_even_with_the_secret(body):
    with Cluster.stateful(instances=1) as shop:
        url = shop.instances[0].url
        for path in ("/internal/import", "/internal/move"):
            assert call(url, "POST", path, body, headers={"X-Cluster-Secret": shop.secret})[0] == 400


def test_a_shop_started_without_a_secret_serves_no_internal_route():
    app = StatefulShop()
    request = Request("GET", "/internal/sessions", {"X-Cluster-Secret": ""}, b"")
    with pytest.raises(HTTPError) as refused:
        app.transfer.handle(app, request, "shop-1")
    assert refused.value.status == 403


def test_a_stateless_drain_with_hand_off_has_nothing_to_move_and_loses_nothing():
    with Cluster.stateless(instances=2) as shop:
        alice = shop.user("alice")
        alice.add("book")
        result = shop.drain(alice.last_instance, handoff=True)
        assert (result["sessions_moved"], result["bytes_moved"], result["sessions_lost"]) == (0, 0, 0)
        assert alice.cart() == {"book": 1}


def test_the_dashboards_hand_off_button_moves_the_sessions():
    with Cluster.stateful(instances=2, service_ms=0.5) as shop:
        board = ClusterDashboard(shop, refresh_s=0.1)
        alice = shop.user("alice")
        alice.add("book")
        tile = board.tiles[alice.last_instance]
        tile.handoff_button.click()
        assert board.wait_idle(10) and shop.status(tile.name) == "stopped"
        assert "handed off 1 session" in board.message.value and "0 lost" in board.message.value
        assert alice.cart() == {"book": 1} and not alice.session_lost
        board.close()


def test_only_a_shop_whose_sessions_can_move_shows_the_hand_off_button():
    with Cluster.stateless(instances=1, service_ms=0.5) as shop:
        board = ClusterDashboard(shop, refresh_s=0.1)
        assert board.tiles["shop-1"].handoff_button.layout.display == "none"
        board.close()


def test_the_chapter_02_experiment_sets_both_drains_side_by_side():
    comparison = compare_drains(users=6, timeout=0.3, think_ms=5)
    plain, handed = comparison.runs
    assert (plain.held, plain.result["sessions_lost"], plain.users_logged_out) == (2, 2, 2)
    assert (handed.held, handed.result["sessions_moved"], handed.result["sessions_lost"], handed.users_logged_out) \
        == (2, 2, 0, 0)
    assert handed.report.failed_actions == 0 and "hand-off" in repr(comparison)


def test_a_crash_during_the_hand_off_costs_exactly_the_sessions_not_moved():
    crash = crash_during_handoff(users=12, moved=1)
    assert (crash.held, crash.moved, crash.lost) == (4, 1, 3)
    assert crash.users_who_lost == crash.not_moved_users and len(crash.users_who_lost) == 3
