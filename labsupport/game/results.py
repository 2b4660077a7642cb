"""Game results in SQLite: the only game state that outlives a game server.

Rooms live in a server's memory and die with it; when a game ends, the server
writes one row (room, winner, moves, instance, time) to a real SQLite file in
WAL mode, with parameters in every SQL statement. A killed server loses its
rooms, but ``load_results`` still reads every saved game. Chapters 05 and 07.
"""

import contextlib
import datetime
import os
import sqlite3

from ..errors import InvalidArgumentError

__all__ = ["save_result", "load_results", "check_results_db"]

RESULTS_TABLE = ("CREATE TABLE IF NOT EXISTS game_results (id INTEGER PRIMARY KEY, room TEXT NOT NULL, "
                 "winner TEXT, moves INTEGER NOT NULL, instance TEXT NOT NULL, finished_at TEXT NOT NULL)")


def _open_results(db_path):
    db = sqlite3.connect(db_path, timeout=5)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(RESULTS_TABLE)
    return db


def check_results_db(db_path):
    """Create the table now, so a bad path fails at start() with a clear message, not mid-game."""
    try:
        _open_results(db_path).close()
    except sqlite3.Error as exc:
        raise InvalidArgumentError(f"cannot use {db_path!r} as the results database ({exc}); "
                                   "pass a path in an existing, writable folder") from exc


def save_result(db_path, room, winner, moves, instance):
    """Append one finished game; committed (and the file closed) before this returns."""
    finished_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    with contextlib.closing(_open_results(db_path)) as db, db:     # closes, and commits on success
        db.execute("INSERT INTO game_results (room, winner, moves, instance, finished_at) VALUES (?, ?, ?, ?, ?)",
                   (room, winner, moves, instance, finished_at))


def load_results(db_path):
    """Every saved game result, oldest first, as dicts (winner None means a draw)."""
    if db_path is None or not os.path.exists(db_path):
        return []
    with contextlib.closing(_open_results(db_path)) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT room, winner, moves, instance, finished_at FROM game_results ORDER BY id")
        return [dict(row) for row in rows]
