"""The exercises, one per chapter from 01 to 08, and their hints by name.

Each exercise module describes itself with an ``Exercise`` (its chapter, the
class you write, its hints, where its reference solution lives); this module
lists them in chapter order, so a notebook can ask for ``hints("logout")``,
``overview()`` can show them all at once, and a test can check that every
exercise has its solution file and its chapter.
Chapter 03 has none: its "Your turn" changes one setting instead. The
reference solutions stay outside the package, in ``solutions/``; the
course shows their path and never imports them.
"""

from ..engine.tables import Table
from ..errors import InvalidArgumentError
from .cart import CART
from .exactly_once import EXACTLY_ONCE
from .game_snapshot import GAME_SNAPSHOT
from .handoff import HANDOFF
from .hash_ring import HASH_RING
from .idempotency import IDEMPOTENCY
from .logout import LOGOUT

__all__ = ["EXERCISES", "hints", "overview"]

EXERCISES = {exercise.name: exercise
             for exercise in (LOGOUT, HANDOFF, IDEMPOTENCY, GAME_SNAPSHOT, HASH_RING, EXACTLY_ONCE, CART)}


def hints(name):
    """The hints of exercise ``name`` ("logout", "hash_ring", ...), unfolding one at a time (a widget)."""
    if name not in EXERCISES:
        raise InvalidArgumentError(f"no exercise called {name!r}; the exercises are {', '.join(EXERCISES)}")
    return EXERCISES[name].hint_widget()


def overview():
    """Every exercise at a glance: chapter, what it asks, the class you write, its checker, its solution file."""
    rows = [[exercise.number, exercise.title, exercise.writes, f"check_{exercise.name}", exercise.solution]
            for exercise in EXERCISES.values()]
    return Table(["chapter", "exercise", "you write", "checked by", "reference solution"], rows,
                 title="The exercises, one per chapter (03 has none)")
