"""The ledger of a game cluster: every game, where it ran, and how it ended.

A ``Game`` is what the cluster remembers about one room it started: the two
players (their connections and everything the server pushed to them), the
server it ran on, and its fate: still playing, finished (with the result the
server saved), or ended by a kill or a deploy. ``ledger(games)`` counts the
fates, which is how chapters 00 (I2) and 05 (R4) show what a stateful server's
death costs. ``play_moves`` plays seeded moves, so every run tells the same story.
"""

import random

__all__ = ["Game", "count_games", "play_moves"]


class Game:
    """One game the cluster's players joined: room, server, players, and how it ended."""

    def __init__(self, room, seed):
        self.room = room
        self.players = []
        self.ended_by = None               # e.g. "game-1 killed"; set when an operation cut the game off
        self.rng = random.Random(f"{seed}-{room}")

    @property
    def instance(self):
        return self.players[0].instance if self.players else None

    @property
    def result(self):
        return next((p.result for p in self.players if p.result is not None), None)

    @property
    def moves(self):
        state = self.players[0].state if self.players else None
        return state["moves"] if state else 0

    @property
    def status(self):
        """'finished', 'ended' (cut off by a kill or deploy), 'left', 'waiting' or 'playing'."""
        if self.result is not None:
            return "finished"
        if self.ended_by is not None:
            return "ended"
        if self.players and all(p.disconnected for p in self.players):
            return "left"
        return "playing" if len(self.players) == 2 else "waiting"

    def __repr__(self):
        return f"<Game room={self.room} on {self.instance}: {self.status}, {self.moves} moves>"


def count_games(games):
    """Counts of what happened to ``games``: started, finished, results saved, ended, still playing."""
    count = {status: sum(g.status == status for g in games) for status in ("finished", "ended", "playing")}
    return {"started": len(games), "finished": count["finished"],
            "results saved": sum(bool(g.result and g.result.get("saved")) for g in games),
            "ended by kill or deploy": count["ended"], "still playing": count["playing"]}


def play_moves(game, moves):
    """Play ``moves`` seeded moves in ``game`` (None: to the end), each seen by both players before the next."""
    by_name = {p.player: p for p in game.players}
    state, done = _latest_state(game.players), 0
    while (moves is None or done < moves) and state is not None and state["status"] == "playing" \
            and game.status == "playing":
        cell = game.rng.choice([i for i, mark in enumerate(state["board"]) if not mark])
        seen = [_count(p, "state") for p in game.players]
        state = by_name[state["turn"]].move(cell)         # the room's new state, as the mover sees it
        if state is None or state["type"] == "error":
            break
        for person, count in zip(game.players, seen):     # every player of the room receives the move
            person.wait_for("state", count=count + 1)
        done += 1
    if game.result is not None or (state is not None and state.get("status") == "over"):
        for person in game.players:
            person.wait_for("over")
            person.close()                                # a finished game frees its room


def _latest_state(players):
    """The newest state any player of a room has seen (a join adds no move, but starts the game)."""
    states = [p.state for p in players if p.state is not None]
    return max(states, key=lambda s: (s["moves"], s["status"] != "waiting"), default=None)


def _count(person, kind):
    return sum(m["type"] == kind for m in person.messages)
