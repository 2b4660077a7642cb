"""The stateful game server: rooms live in one server's memory, results in SQLite.

Pins the claims of chapter 05 (R3, R4) and 07 (M4) on real WebSockets: moves
are broadcast to every player of a room and to no one else; killing a server
drops its players and loses its rooms while another server plays on and saved
results survive; bad messages become error events, never crashes; stop() is
graceful, restart() comes back empty, close() leaks no threads, sockets or
file descriptors.
"""

import contextlib
import gc
import json
import os
import socket
import sqlite3
import threading
import urllib.error
import urllib.request

import psutil
import pytest
from websockets.sync.client import connect

from labsupport import InvalidArgumentError
from labsupport.engine import registry
from labsupport.game import (
    GamePlayer,
    GameServer,
    Rejected,
    load_results,
    play_game,
    quiet_logger,
    rules,
)
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "results.db")


@pytest.fixture
def server(db):
    with GameServer("game-1", "v1", db_path=db) as game:
        yield game


@pytest.fixture
def players():
    """Creates GamePlayers and closes every one of them after the test."""
    made = []

    def make(url, player, room):
        made.append(GamePlayer(url, player, room))
        return made[-1]
    yield make
    for player in made:
        player.close()


def raw_client(url):
    return connect(url, open_timeout=5, close_timeout=2, ping_interval=None, logger=quiet_logger())


def ask(ws, message):
    """Send one message on a raw connection and return the next reply as a dict."""
    ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))
    return json.loads(ws.recv(timeout=5))


def listening_ports():
    return {c.laddr.port for c in psutil.Process().net_connections("tcp") if c.status == psutil.CONN_LISTEN}


# --- the game rules, without sockets -----------------------------------------

def test_rules_detect_a_win_a_draw_and_refuse_bad_moves():
    room = rules.new_room("A")
    assert rules.take_seat(room, "x") == "X" and room["status"] == "waiting"
    assert rules.take_seat(room, "o") == "O" and (room["status"], room["turn"]) == ("playing", "x")
    with pytest.raises(Rejected, match="full"):
        rules.take_seat(room, "eve")
    for player, cell in [("x", 0), ("o", 3), ("x", 1), ("o", 4), ("x", 2)]:
        rules.play(room, player, cell)
    assert (room["status"], room["winner"], room["moves"]) == ("over", "x", 5)
    draw = rules.new_room("B")
    draw["players"], draw["status"], draw["turn"] = ["x", "o"], "playing", "x"
    for i, cell in enumerate([0, 1, 2, 4, 3, 5, 7, 6, 8]):
        rules.play(draw, "xo"[i % 2], cell)
    assert (draw["status"], draw["winner"], draw["moves"]) == ("over", None, 9)
    fresh = rules.new_room("C")
    fresh["players"], fresh["status"], fresh["turn"] = ["x", "o"], "playing", "x"
    for player, cell in [("o", 0), ("x", 9), ("x", True), ("x", "4")]:
        with pytest.raises(Rejected):
            rules.play(fresh, player, cell)
    assert fresh["moves"] == 0


def test_parse_message_and_paths_refuse_what_they_do_not_understand():
    assert rules.parse_message('{"type": "move", "cell": 4}') == {"type": "move", "cell": 4}
    for bad in [b"\x00", "{", "[1, 2]", '{"type": "dance"}', "[" * 5000, "x" * 70_000]:
        with pytest.raises(Rejected):
            rules.parse_message(bad)
    assert rules.room_from_path("/") is None and rules.room_from_path("/rooms/A-1?x=1") == "A-1"
    for bad in ["/rooms/", "/rooms/a b", "/admin", "/rooms/A/extra"]:
        with pytest.raises(Rejected):
            rules.room_from_path(bad)
    assert rules.refuse_http("/rooms/A", {"Upgrade": "websocket"}) is None
    assert rules.refuse_http("/rooms/A", {})[0] == 426 and rules.refuse_http("/admin", {"Upgrade": "websocket"})[0] == 404


# --- rooms, broadcast, results ----------------------------------------------

def test_moves_are_broadcast_to_every_player_of_the_room_and_no_other(server, players):
    alice, bob = players(server.url, "alice", "A"), players(server.url, "bob", "A")
    carol, dave = players(server.url, "carol", "B"), players(server.url, "dave", "B")
    assert [p.mark for p in (alice, bob, carol, dave)] == ["X", "O", "X", "O"]
    assert alice.instance == "game-1" and alice.messages[0]["version"] == "v1"
    assert alice.move(4)["type"] == "state"
    assert bob.move(0)["type"] == "state"
    assert carol.move(8)["type"] == "state"
    for player in (alice, bob):
        assert wait_for(lambda: player.state["moves"] == 2)
        assert player.state["board"][4] == "X" and player.state["board"][0] == "O"
    assert wait_for(lambda: dave.state["moves"] == 1)
    assert {m["room"] for p in (carol, dave) for m in p.messages if m["type"] == "state"} == {"B"}
    assert {m["room"] for p in (alice, bob) for m in p.messages if m["type"] == "state"} == {"A"}
    rooms = server.rooms()
    assert rooms["A"] == {"players": ["alice", "bob"], "connected": ["alice", "bob"], "moves": 2, "status": "playing"}
    assert rooms["B"]["moves"] == 1 and server.connections == 4


def test_a_finished_game_is_saved_in_sqlite_before_players_hear_it_is_over(server, db):
    result = play_game(server.url, "A", seed=3)
    assert result["type"] == "over" and result["saved"] is True
    rows = load_results(db)
    assert [(r["room"], r["winner"], r["moves"], r["instance"]) for r in rows] == \
        [("A", result["winner"], result["moves"], "game-1")]
    assert server.saved_results() == rows
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert wait_for(lambda: server.rooms() == {})    # both players left: the room's memory is freed


def test_play_game_is_deterministic_for_a_seed(server):
    first = play_game(server.url, "A", seed=11)
    second = play_game(server.url, "B", seed=11)
    assert (first["winner"], first["moves"]) == (second["winner"], second["moves"])


def test_results_are_not_saved_without_a_database():
    with GameServer("game-9") as game:
        result = play_game(game.url, "A", seed=1)
        assert result["saved"] is False and game.saved_results() == []


# --- a crash ---------------------------------------------------------------------

def test_killing_a_server_drops_its_players_and_rooms_but_not_the_other_server_or_saved_results(db, players):
    with GameServer("game-1", db_path=db) as one, GameServer("game-2", db_path=db) as two:
        assert play_game(one.url, "done", seed=1)["saved"]
        alice, bob = players(one.url, "alice", "A"), players(one.url, "bob", "A")
        carol, dave = players(two.url, "carol", "B"), players(two.url, "dave", "B")
        alice.move(0), bob.move(4), carol.move(0), dave.move(4)
        one.kill()
        assert alice.wait_disconnected() and bob.wait_disconnected()
        assert (alice.close_code, bob.close_code) == (1006, 1006)     # no goodbye: a crash
        assert one.rooms() == {} and not one.alive and one.status == "dead"
        assert alice.move(1) is None and not carol.disconnected
        assert two.rooms()["B"]["moves"] == 2
        for player, cell in [(carol, 1), (dave, 5), (carol, 2)]:
            assert player.move(cell)["type"] == "state"
        assert carol.wait_for("over") and carol.result["winner"] == "carol"
        one.kill()                                                    # idempotent
        saved = [(r["room"], r["instance"]) for r in load_results(db)]
    assert saved == [("done", "game-1"), ("B", "game-2")]


# --- robustness ------------------------------------------------------------------

def test_bad_messages_before_joining_get_error_events_and_the_connection_stays_usable(server):
    with raw_client(server.url) as ws:
        assert json.loads(ws.recv(timeout=5)) == {"type": "welcome", "instance": "game-1", "version": "v1",
                                                  "room": None}
        bad = ["{not json", "[1, 2]", '{"type": "dance"}', b"\x01\x02", "x" * 70_000, "[" * 5000,
               {"type": "move", "cell": 4}, {"type": "join", "room": "no spaces", "player": "eve"}]
        replies = [ask(ws, message) for message in bad]
        assert [r["type"] for r in replies] == ["error"] * len(bad)
        assert "join a room before moving" in replies[6]["message"]
        assert ask(ws, {"type": "join", "room": "A", "player": "eve"})["type"] == "joined"
    assert server.alive and len(server.events.recent(0, kind="bad-message")) == len(bad)


def test_bad_moves_get_error_events_and_the_game_goes_on(server, players):
    alice, bob = players(server.url, "alice", "A"), players(server.url, "bob", "A")
    assert "alice's turn" in bob.move(0)["message"]                   # out of turn
    for cell in [9, -1, True, "4", None]:
        assert alice.move(cell)["type"] == "error"                     # not a cell
    assert alice.move(4)["type"] == "state"
    assert "already taken" in bob.move(4)["message"]
    for raw in ["{", b"\x00", "x" * 70_000, '{"type": "dance"}']:
        assert alice.send_raw(raw)
    assert alice.wait_for("error", count=9)
    assert bob.move(0)["type"] == "state"
    assert wait_for(lambda: alice.state["moves"] == 2) and server.connections == 2
    assert not alice.disconnected and not bob.disconnected


def test_join_rules_and_a_reconnect_to_the_same_server_finds_the_room_as_it_was(server, players):
    alice, bob = players(server.url, "alice", "A"), players(server.url, "bob", "A")
    alice.move(0)
    eve = players(server.url, "eve", "A")
    assert not eve.joined and "is full" in eve.errors[0]
    twin = players(server.url, "alice", "A")
    assert not twin.joined and "already connected" in twin.errors[0]
    alice.send({"type": "join", "room": "C", "player": "alice"})
    assert alice.wait_for("error") and "already joined" in alice.errors[-1]
    with raw_client(server.url + "/rooms/A") as ws:
        assert json.loads(ws.recv(timeout=5))["room"] == "A"
        assert "from the URL" in ask(ws, {"type": "join", "room": "B", "player": "zed"})["message"]
    alice.close()
    assert wait_for(lambda: server.rooms()["A"]["connected"] == ["bob"])
    back = players(server.url, "alice", "A")                           # the room is still in memory
    assert back.joined and back.mark == "X" and back.state["moves"] == 1 and back.state["board"][0] == "X"


def test_plain_http_requests_get_a_clean_json_error(server):
    http_url = server.url.replace("ws://", "http://")
    for path, status in [("/", 426), ("/rooms/A", 426), ("/nope", 404)]:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(http_url + path, timeout=5)
        error = info.value
        assert error.code == status and error.headers["X-Instance"] == "game-1" and error.headers["X-Version"] == "v1"
        assert error.headers["Upgrade"] == ("websocket" if status == 426 else None)   # 426 names the protocol
        assert "error" in json.loads(error.read())
        error.close()
    assert play_game(server.url, "A", seed=2)["type"] == "over"        # still serving


def test_server_threads_stay_quiet(server, players, capfd):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        assert sock.recv(100) == b""                                   # not HTTP: closed, quietly
    alice = players(server.url, "alice", "A")
    alice.send_raw("{")
    alice.wait_for("error")
    server.kill()
    assert alice.wait_disconnected()
    assert capfd.readouterr() == ("", "")


# --- lifecycle -------------------------------------------------------------------

def test_stop_lets_running_games_finish_then_closes_with_going_away(server, players, db):
    alice, bob = players(server.url, "alice", "A"), players(server.url, "bob", "A")
    carol = players(server.url, "carol", "W")                           # alone: no game running
    alice.move(0)
    stopper = threading.Thread(target=server.stop, kwargs={"timeout": 20})
    stopper.start()
    assert wait_for(lambda: server.status == "draining")
    late = players(server.url, "late", "Z")
    assert late.disconnected and "could not connect" in late.error      # no newcomers while draining
    for player, cell in [(bob, 3), (alice, 1), (bob, 4), (alice, 2)]:
        assert player.move(cell)["type"] == "state"
    stopper.join(20)
    assert not stopper.is_alive() and server.status == "stopped" and not server.alive
    assert [(p.wait_disconnected(), p.close_code) for p in (alice, bob, carol)] == [(True, 1001)] * 3
    assert [(r["room"], r["winner"]) for r in load_results(db)] == [("A", "alice")]
    server.stop(), server.kill(), server.stop()                          # idempotent
    assert server.status == "stopped"


def test_stop_cuts_off_games_still_running_after_the_grace_period(server, players, db):
    alice, bob = players(server.url, "alice", "A"), players(server.url, "bob", "A")
    alice.move(0)
    server.stop(timeout=0.2)
    assert alice.wait_disconnected() and bob.wait_disconnected()
    assert (alice.close_code, bob.close_code) == (1001, 1001)
    assert server.rooms() == {} and load_results(db) == []


def test_kill_during_a_drain_wins_and_stop_returns(server, players):
    alice, bob = players(server.url, "alice", "A"), players(server.url, "bob", "A")
    alice.move(0)
    stopper = threading.Thread(target=server.stop, kwargs={"timeout": 30})
    stopper.start()
    assert wait_for(lambda: server.status == "draining")
    server.kill()
    stopper.join(10)
    assert not stopper.is_alive() and server.status == "dead" and server.rooms() == {}
    assert alice.wait_disconnected() and alice.close_code == 1006


def test_restart_comes_back_with_no_rooms(server, players):
    alice, bob = players(server.url, "alice", "A"), players(server.url, "bob", "A")
    alice.move(0)
    port = server.port
    assert server.restart() is server
    assert server.alive and server.rooms() == {}
    assert server.port == port or server.events.recent(1, kind="port-taken")
    assert alice.wait_disconnected() and alice.close_code == 1006
    again = players(server.url, "alice", "A")
    assert again.joined and again.state["moves"] == 0 and again.state["status"] == "waiting"
    server.kill()
    assert server.restart().alive                                       # a dead server restarts too


def test_shutdown_all_closes_servers_and_players(db):
    game = GameServer(db_path=db).start()
    alice = GamePlayer(game.url, "alice", "A")
    assert {game, alice} <= set(registry.running())
    registry.shutdown_all()
    assert not game.alive and alice.wait_disconnected()
    assert not {game, alice} & set(registry.running())


def test_ten_create_close_cycles_leave_no_threads_sockets_or_file_descriptors(db):
    threads_before, fds_before = set(threading.enumerate()), len(os.listdir("/proc/self/fd"))
    ports = []
    for i in range(10):
        with GameServer(f"game-{i}", db_path=db) as game:
            ports.append(game.port)
            with GamePlayer(game.url, "alice", "A") as alice:
                assert alice.joined
            bob = GamePlayer(game.url, "bob", "A")                      # still connected at close()
        assert bob.wait_disconnected() and bob.close_code == 1001
        bob.close()
        assert game not in registry.running()
    assert set(threading.enumerate()) == threads_before
    assert not listening_ports() & set(ports)
    gc.collect()      # websockets' serve_forever() leaves its epoll selector to the garbage collector
    assert len(os.listdir("/proc/self/fd")) <= fds_before


def test_misuse_raises_lab_errors_and_a_dead_server_is_reported_not_raised(server, tmp_path):
    with pytest.raises(InvalidArgumentError, match="name"):
        GameServer("bad name")
    with pytest.raises(InvalidArgumentError, match="results database"):
        GameServer(db_path=str(tmp_path / "missing" / "results.db")).start()
    with pytest.raises(InvalidArgumentError, match="WebSocket URL"):
        GamePlayer("http://127.0.0.1:1", "alice", "A")
    with pytest.raises(InvalidArgumentError, match="player"):
        GamePlayer(server.url, "a b", "A")
    url = server.url
    server.kill()
    with GamePlayer(url, "ghost", "A") as ghost:
        assert ghost.disconnected and not ghost.joined and "could not connect" in ghost.error
