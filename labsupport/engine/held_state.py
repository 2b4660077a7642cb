"""Held state, measured by looking: what an application keeps in its own memory between requests.

"This instance is stateless" is a claim about memory, so the lab checks it the
way a debugger would: it looks. ``measure(app)`` walks the application
object's own data, every attribute, the containers in it and whatever they
reach, and reports per attribute how many *entries* it holds (the items of a
dict, list or set; for an object, the sum over its own attributes; 1 for a
plain value; 0 for None) and how many *bytes* the objects reached take
(``sys.getsizeof`` of each object once).

Two kinds of attribute are left out, because they are not this instance's state:

* a handle to shared infrastructure, whose class says so by inheriting the
  marker ``Infrastructure``: a store client (the database, the cache), the
  token issuer, the event log. Every instance holds the same handle; the data
  it leads to lives elsewhere and survives the instance.
* what the application's class lists in ``not_state`` with the reason: a lock,
  a configuration value, code.

Nothing else is guessed from names or types: a "stateless" shop that quietly
keeps a dict of carts in any attribute shows it here, and the stateful shop's
session count comes from this same walk. Chapters 01, 02, 03 and 05, the
dashboard and the architecture diagram use it.
"""

import collections
import dataclasses
import sys
import types
from collections.abc import Mapping

from .tables import ResultTable

__all__ = ["Infrastructure", "HeldState", "AttributeState", "measure"]

SEQUENCES = (list, tuple, set, frozenset, collections.deque)


class Infrastructure:
    """Marker base: an object of this class is a handle to something shared, never an instance's own state.

    Stores, the token issuer and the event log inherit it. It has no methods:
    it only lets ``measure`` leave such handles out without guessing.
    """


@dataclasses.dataclass(frozen=True)
class AttributeState:
    """One attribute of an application: entries it holds and bytes it reaches."""

    entries: int
    bytes: int


class HeldState(ResultTable):
    """What one application held when it was measured.

    ``entries`` and ``bytes`` are the totals; ``breakdown`` maps each counted
    attribute to its ``AttributeState``; ``left_out`` maps each attribute that
    was not counted to the reason. ``entries_in(name)`` reads one attribute.
    """

    def __init__(self, owner, breakdown, left_out):
        self.owner = owner                    # the application's class name, for the table's title
        self.breakdown = dict(breakdown)
        self.left_out = dict(left_out)

    @classmethod
    def nothing(cls, owner="no application"):
        """What a stopped or crashed instance holds: nothing (its memory is gone)."""
        return cls(owner, {}, {})

    @property
    def entries(self):
        return sum(part.entries for part in self.breakdown.values())

    @property
    def bytes(self):
        return sum(part.bytes for part in self.breakdown.values())

    def entries_in(self, attribute):
        """Entries held in ``attribute`` (0 if it holds none or was left out)."""
        part = self.breakdown.get(attribute)
        return part.entries if part is not None else 0

    def describe(self):
        """A few words for a diagram or a tile: "keeps nothing in memory" or "in memory: sessions (3)"."""
        holding = [f"{name} ({part.entries})" for name, part in self.breakdown.items() if part.entries]
        return "in memory: " + ", ".join(holding) if holding else "keeps nothing in memory"

    def _table_data(self):
        rows = [[name, part.entries, part.bytes, "yes: the instance's own data"]
                for name, part in self.breakdown.items()]
        rows += [[name, "-", "-", f"no: {why}"] for name, why in self.left_out.items()]
        entries = f"{self.entries} entr{'y' if self.entries == 1 else 'ies'}"
        return (f"What {self.owner} holds in memory: {entries}, {self.bytes} bytes",
                ["attribute", "entries", "bytes", "counted?"], rows)


def measure(app, not_state=None):
    """Walk ``app``'s attributes and return a ``HeldState`` (see the module docstring for the rules).

    ``not_state`` maps attribute names to why they are not state (``Application.not_state``).
    """
    not_state = not_state or {}
    breakdown, left_out, seen = {}, {}, {}
    for name, value in list(vars(app).items()):
        if name in not_state:
            left_out[name] = not_state[name]
        elif isinstance(value, Infrastructure):
            left_out[name] = f"a handle to shared infrastructure ({type(value).__name__})"
        else:
            breakdown[name] = AttributeState(_entries(value), _bytes(value, seen))
    return HeldState(type(app).__name__, breakdown, left_out)


def _entries(value, inside=frozenset()):
    """How many things ``value`` holds: a container's items, the sum over an object's attributes, 1 for a
    plain value. ``inside`` holds the ids of the objects being counted, so an object that refers back to
    its owner is not counted twice (or forever)."""
    if value is None or isinstance(value, Infrastructure) or id(value) in inside:
        return 0
    if isinstance(value, Mapping) or isinstance(value, SEQUENCES):
        return len(value)
    fields = _fields(value)
    if fields is not None:
        return sum(_entries(v, inside | {id(value)}) for v in fields)
    return 1


def _bytes(value, seen):
    """Bytes of every object reachable from ``value`` that was not counted before (``seen``: id -> object)."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen or isinstance(item, Infrastructure):
            continue                        # None holds nothing; a handle's data lives elsewhere
        seen[id(item)] = item               # keep it referenced, so its id is not reused during the walk
        total += sys.getsizeof(item)
        stack.extend(_parts(item))
    return total


def _parts(item):
    """What ``item`` refers to. ``list(...)`` copies a container in one step, so a request changing it
    meanwhile cannot break the walk."""
    if isinstance(item, Mapping):
        return [part for pair in list(item.items()) for part in pair]
    if isinstance(item, SEQUENCES):
        return list(item)
    return _fields(item) or []


def _fields(item):
    """The values of an ordinary object's attributes; None for a class, a module or a builtin value.

    Only the application itself can declare attributes that are not state; an
    object it holds (say, a cart storage) counts with all of its attributes.
    """
    if isinstance(item, (type, types.ModuleType)):
        return None
    attributes = getattr(item, "__dict__", None)
    return list(attributes.values()) if isinstance(attributes, dict) else None
