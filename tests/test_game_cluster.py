"""game/cluster.py: a balancer pins each room to one game server; a server's failure ends exactly its games.

Pins chapter 05 (R3, R4) and chapter 00 (I2) on real WebSockets through the
real balancer: every player of a room reaches the same server; killing a
server ends the games it held and no others; saved results survive; a
rolling deploy ends the games on the servers it replaces and the ledger
counts them; closing leaves no threads behind.
"""

import json
import os

import pytest

from labsupport import ClusterClosedError, InvalidArgumentError, UnknownInstanceError
from labsupport.engine import ConsistentHash, registry
from labsupport.game import GameCluster
from labsupport.widgets import game_cluster_diagram
from tests.conftest import lab_threads

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def games():
    with GameCluster(servers=2, seed=7) as cluster:
        yield cluster


def test_every_player_of_a_room_reaches_the_server_the_ring_assigns_it(games):
    started = games.play(rooms=6, moves=2)
    assert len(started) == 6 and all(g.status == "playing" and g.moves == 2 for g in started)
    ring = ConsistentHash()
    for game in started:
        assert {p.instance for p in game.players} == {game.instance}
        assert game.instance == ring.owner(game.room, ["game-1", "game-2"])
    by_server = games.rooms_by_server()
    assert by_server == {name: sorted(g.room for g in started if g.instance == name) for name in ("game-1", "game-2")}
    assert all(by_server.values())                       # both servers hold rooms
    assert games.ledger() == {"started": 6, "finished": 0, "results saved": 0, "ended by kill or deploy": 0,
                              "still playing": 6}
    assert games.game("room-3") is started[2]


def test_moves_are_broadcast_to_both_players_through_the_balancer(games):
    alice, bob = games.player("alice", "A"), games.player("bob", "A")
    assert alice.move(4)["moves"] == 1
    assert bob.wait_for("state", count=2) and bob.state["board"][4] == "X"
    assert bob.move(0)["moves"] == 2
    assert alice.wait_for("state", count=4) and alice.state["board"][0] == "O"


def test_killing_a_server_ends_exactly_its_games_and_the_others_play_on(games):
    started = games.play(rooms=6, moves=2)
    victim = started[0].instance
    held = games.rooms_by_server()[victim]
    assert games.kill(victim) == held
    assert games.rooms_by_server()[victim] == []
    ended = [g for g in started if g.status == "ended"]
    assert sorted(g.room for g in ended) == held and {g.ended_by for g in ended} == {f"{victim} killed"}
    assert all(p.close_code == 1006 for g in ended for p in g.players)
    survivors = [g for g in started if g.instance != victim]
    assert games.finish_games() == len(survivors)
    assert all(g.status == "finished" for g in survivors)
    assert {r["room"] for r in games.saved_results()} == {g.room for g in survivors}
    assert games.ledger() == {"started": 6, "finished": len(survivors), "results saved": len(survivors),
                              "ended by kill or deploy": len(held), "still playing": 0}


def test_saved_results_survive_the_server_that_saved_them(games):
    finished = games.play(rooms=4)
    assert all(g.status == "finished" for g in finished)
    before = games.saved_results()
    assert len(before) == 4
    for server in games.servers:
        games.kill(server.name)
    assert games.saved_results() == before


def test_a_player_reconnecting_after_a_kill_lands_on_the_surviving_server(games):
    first = games.play(rooms=1, moves=1)[0]
    victim = first.instance
    games.kill(victim)
    again = games.player("p1", first.room)
    assert again.joined and again.instance != victim and again.state["moves"] == 0
    games.restart(victim)
    assert games.server(victim).alive and games.rooms_by_server()[victim] == []


def test_rolling_deploy_ends_the_games_on_replaced_servers_and_the_ledger_counts_them(games):
    games.play(rooms=4, moves=2)
    report = games.rolling_deploy("v2")
    assert (report.strategy, report.version, report.replaced, report.games_ended) == \
        ("rolling", "v2", ["game-1", "game-2"], 4)
    assert "replaced 2 game servers, 4 games ended" in repr(report)
    assert [(s.name, s.version) for s in games.servers] == [("game-3", "v2"), ("game-4", "v2")]
    assert games.ledger()["ended by kill or deploy"] == 4
    assert all(p.close_code == 1001 for g in games.games() for p in g.players)   # a shutdown, not a crash
    after = games.play(rooms=2)
    assert all(g.status == "finished" and g.instance in ("game-3", "game-4") for g in after)
    assert games.rolling_deploy("v2").replaced == []                            # nothing left to replace


def test_the_diagram_shows_rooms_per_server_and_a_dead_server(games):
    games.play(rooms=4, moves=1)
    text = game_cluster_diagram(games)
    assert text == game_cluster_diagram(games) and "127.0.0.1" not in text
    for name, rooms in games.rooms_by_server().items():
        assert ", ".join(rooms) in text
    games.kill("game-1")
    text = game_cluster_diagram(games)
    assert "game-1 (v1)<br/>dead<br/>no rooms in memory" in text and "LB -.->|dead| game_1" in text


def test_misuse_raises_lab_errors(games):
    with pytest.raises(InvalidArgumentError, match="servers"):
        GameCluster(servers=0)
    with pytest.raises(UnknownInstanceError, match="game-1, game-2"):
        games.kill("game-9")
    with pytest.raises(InvalidArgumentError, match="rooms"):
        games.play(rooms=-1)
    with pytest.raises(InvalidArgumentError, match="no game in room"):
        games.game("nowhere")
    with pytest.raises(InvalidArgumentError, match="version"):
        games.rolling_deploy("")
    games.close()
    with pytest.raises(ClusterClosedError):
        games.play()
    with pytest.raises(InvalidArgumentError):
        game_cluster_diagram(games)


def test_close_leaves_no_threads_and_keeps_a_given_database(tmp_path):
    before = set(lab_threads())
    db = tmp_path / "results.sqlite3"
    with GameCluster(servers=2, db_path=db) as cluster:
        assert cluster in registry.running()
        cluster.play(rooms=2)
        cluster.play(rooms=2, moves=1)                   # still connected at close()
        temp = GameCluster(servers=1)
        temp_db = temp.db_path
    assert cluster not in registry.running() and cluster.closed
    assert os.path.exists(db) and len(cluster.saved_results()) == 2
    registry.shutdown_all()                              # closes the second cluster, as the last cell does
    assert temp.closed and not os.path.exists(temp_db)
    assert set(lab_threads()) <= before
    cluster.close()                                      # idempotent
    assert set(lab_threads()) <= before


def test_the_balancer_health_checks_take_a_killed_game_server_out_on_their_own():
    import urllib.request

    from tests.conftest import wait_for
    with GameCluster(servers=2, seed=3) as games:
        server = games.servers[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=5) as answer:
            assert answer.status == 200 and json.load(answer)["status"] == "ok"
        games.kill(server.name)
        assert wait_for(lambda: games.balancer.instance(server.name).status == "down", timeout=5)
