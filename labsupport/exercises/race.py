"""Making a lost update certain: two requests that both read before either writes.

Two instances change one cart at the same moment. If each reads the cart,
changes it and writes it back in separate steps, the second write wipes out
the first: a *lost update*. On a busy shop this happens now and then, which
makes it the worst kind of bug: rare, real, and impossible to reproduce. The
checker of chapter 08's exercise makes it happen every time instead. While a
``Race`` runs, each read of a racing request waits until the other has read
too, and the racing writes go in a fixed order. Code that reads and writes in
separate steps then loses the first write on every run; code that uses the
database's ``update`` (one transaction) loses nothing, because nobody can slip
in between its read and its write. Used by ``cart.py`` (chapter 08, D3).
"""

import threading

from ..engine.held_state import Infrastructure

__all__ = ["Race", "RaceDatabase"]


class Race:
    """Two requests made to meet: both read before either writes, then they write in a fixed order.

    ``start(lanes)`` switches it on for requests served by the instances named
    in ``lanes``: each read waits until every lane has read (a barrier), and
    each lane's first write waits for the writes of the lanes before it. The
    interleaving is the one a busy shop meets sooner or later, made certain
    and the same on every run.
    """

    def __init__(self):
        self.lanes, self.written, self.barrier = (), set(), None
        self._changed = threading.Condition()

    def start(self, lanes):
        with self._changed:
            self.lanes, self.written = tuple(lanes), set()
            self.barrier = threading.Barrier(len(self.lanes), timeout=5.0)

    def stop(self):
        with self._changed:
            self.lanes, self.barrier = (), None

    def after_read(self, lane):
        barrier = self.barrier
        if barrier is not None and lane in self.lanes:
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass                              # the other request never read: nothing to interleave with

    def before_write(self, lane):
        with self._changed:
            if lane in self.lanes and lane not in self.written:
                earlier = set(self.lanes[:self.lanes.index(lane)])
                self._changed.wait_for(lambda: earlier <= self.written, timeout=5.0)

    def after_write(self, lane):
        with self._changed:
            if lane in self.lanes:
                self.written.add(lane)
                self._changed.notify_all()


class RaceDatabase(Infrastructure):
    """The shared database as one instance's ``CartStorage`` sees it, its reads and writes passing the race.

    ``update`` is one SQLite transaction: whatever the race does around it,
    nobody can slip in between its read and its write.
    """

    def __init__(self, database, race, lane):
        self.database, self.race, self.lane = database, race, lane

    def get(self, key, default=None):
        value = self.database.get(key, default)
        self.race.after_read(self.lane)
        return value

    def put(self, key, value, ttl_s=None):
        self._write(self.database.put, key, value, ttl_s)

    def update(self, key, change, ttl_s=None):
        return self._write(self.database.update, key, change, ttl_s)

    def delete(self, key):
        self._write(self.database.delete, key)

    def _write(self, operation, *args):
        self.race.before_write(self.lane)
        try:
            return operation(*args)
        finally:
            self.race.after_write(self.lane)
