"""Exercises: you write a small class, the lab runs it on real servers under a nemesis, a checker answers.

One exercise per chapter from 01 to 08 (03 has none), each in the spirit of
Gossip Glomers: the chapter's notebook has a scaffold cell you edit, then one
call such as ``check_logout(Denylist)`` that answers "passed: ..." or
"not yet: ..." with the first concrete anomaly and the ledger behind it.
Hints unfold one at a time (``hints("logout")``); reference solutions live in
``solutions/`` at the repository root, which the course never imports.

* ``checker.py``: what every checker shares (calling your code safely, trimming
  its tracebacks, the ``Verdict``, saving a pass with your answers).
* ``logout.py`` (01): a token denylist that every instance consults and that forgets expired tokens.
* ``handoff.py`` (02): a drain that spills a stateful instance's sessions for its peers to take.
* ``idempotency.py`` (04): adds applied once per Idempotency-Key, despite kills mid-request.
* ``game_snapshot.py`` (05): game rooms snapshotted to Redis and restored on another server.
* ``hash_ring.py`` (06): a consistent-hash ring with virtual nodes, also routing a live cluster.
* ``exactly_once.py`` (07): an exactly-once effect from an at-least-once broker.
* ``cart.py`` (08): carts moved out of instance memory, safe under concurrent adds; ``race.py``: how the
  checker makes two adds meet, so a lost update happens on every run.
* ``catalogue.py``: the list of exercises, ``hints(name)`` and ``overview()``.
"""

from .cart import CART, CartService, check_cart
from .catalogue import EXERCISES, hints, overview
from .checker import (
                      Crashed,
                      Exercise,
                      Problem,
                      TheirCode,
                      TheirCodeFailed,
                      Verdict,
                      cart_text,
                      send,
                      trimmed_traceback,
                      wrong_argument,
)
from .exactly_once import EXACTLY_ONCE, CrashingBalances, CrashingBroker, KillSwitch, check_exactly_once
from .game_snapshot import GAME_SNAPSHOT, SnapshotGameServer, check_game_snapshot
from .handoff import HANDOFF, SpillingShop, check_handoff
from .hash_ring import HASH_RING, RingPolicy, check_hash_ring
from .idempotency import IDEMPOTENCY, AddsApp, CrashingDatabase, CrashPlan, check_idempotency
from .logout import LOGOUT, DenylistShop, check_logout
from .race import Race, RaceDatabase

__all__ = [
    "check_logout", "check_handoff", "check_idempotency", "check_game_snapshot", "check_hash_ring",
    "check_exactly_once", "check_cart", "hints", "overview", "EXERCISES",
    "LOGOUT", "HANDOFF", "IDEMPOTENCY", "GAME_SNAPSHOT", "HASH_RING", "EXACTLY_ONCE", "CART",
    "Exercise", "Verdict", "Problem", "TheirCode", "TheirCodeFailed", "Crashed", "trimmed_traceback",
    "wrong_argument", "send", "cart_text",
    "DenylistShop", "SpillingShop", "AddsApp", "CrashingDatabase", "CrashPlan", "SnapshotGameServer", "RingPolicy",
    "KillSwitch", "CrashingBroker", "CrashingBalances", "CartService", "Race", "RaceDatabase",
]
