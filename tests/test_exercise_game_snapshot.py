"""exercises/game_snapshot.py: a game passes only if it resumes at the same move on another server after a kill.

The reference solution (each room in Redis under its id) passes: game-2 dies
in the middle of two games, both resume on game-1 and every game is played to
its end, with the snapshots in Redis. The scaffold is "not yet" because load
is not written, the same on every run. Four plausible mistakes fail for their
own reason: snapshots in the server's own object (the game restarts at move
0), one key for all rooms (the wrong room comes back), the board alone (move
0, no players), and a class attribute (it works here, but Redis is empty).
"""

import pytest

from labsupport.exercises import GAME_SNAPSHOT, check_game_snapshot
from tests.exercise_mistakes import (
    x05_board_only,
    x05_class_attribute,
    x05_one_key_for_all_rooms,
    x05_snapshots_in_memory,
)
from tests.exercise_util import scaffold, solution

AT_MOVE_3 = "room-2 was at move 3 (board OX....X.., p4 to play) when game-2 was killed; after its players reconnected, "


def test_the_reference_solution_passes_and_every_game_ends():
    verdict = check_game_snapshot(solution(GAME_SNAPSHOT))
    assert verdict.passed, verdict
    counts = verdict.counts
    assert counts["games on the killed server"] == counts["games resumed on the other server"] == 2
    assert counts["games finished"] == counts["games started"] == 3
    assert counts["keys your snapshots left in Redis"] == 3


def test_the_scaffold_is_not_yet_because_load_is_not_written_the_same_way_every_run():
    first, second = check_game_snapshot(scaffold(GAME_SNAPSHOT)), check_game_snapshot(scaffold(GAME_SNAPSHOT))
    assert first.message == ("not yet: RoomSnapshots.load is not written yet: return what save() kept for room_id, "
                             "or None if nothing was kept (while the games were played).")
    assert repr(first) == repr(second)


@pytest.mark.parametrize("mistake, reason", [
    (x05_snapshots_in_memory, AT_MOVE_3 + "game-1 had it at move 0 (board ........., p3 to play)."),
    (x05_one_key_for_all_rooms, "after game-2 was killed, a player of room-2 could not rejoin: room 'room-2' is full "
                                "(p1 and p2)"),
    (x05_board_only, AT_MOVE_3 + "game-1 had it at move 0 (board OX....X.., p3 to play)."),
    (x05_class_attribute, "every game resumed, but Redis holds no snapshot"),
], ids=["in-the-object", "one-key", "board-only", "class-attribute"])
def test_a_plausible_mistake_is_not_yet_for_its_own_reason(mistake, reason):
    verdict = check_game_snapshot(mistake.RoomSnapshots)
    assert not verdict.passed
    assert verdict.message.startswith("not yet: " + reason)


def test_the_same_mistake_gets_the_same_verdict_twice():
    assert repr(check_game_snapshot(x05_board_only.RoomSnapshots)) == repr(check_game_snapshot(
        x05_board_only.RoomSnapshots))
