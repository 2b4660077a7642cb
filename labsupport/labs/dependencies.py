"""What a stateless instance leans on: the store calls behind every request, and what an outage does.

An instance that keeps nothing must fetch everything: each request verifies
a token against the cache's denylist and reads or writes the database. So
the stores see every request, and their load grows with traffic, not with
the number of instances (chapter 04, claim E2). And the instances are only
as available as those stores: take the database away and every instance,
alive and well, answers 503 at once; bring it back and they serve again
with no restart (claim E4).

``count_store_calls(shop)`` counts the calls made inside a ``with`` block;
``ask_every_instance(shop, user)`` sends one request straight to each
instance, past the balancer, so you see each one's own answer.
"""

import http.client
import time

from ..engine.tables import Table
from ..engine.waiting import wait_until
from ..shop.users import SKUS

__all__ = ["StoreCalls", "count_store_calls", "load_by_traffic", "InstanceAnswers", "ask_every_instance",
           "wait_until_in_rotation"]


class StoreCalls:
    """Calls the shop's database and cache received between ``__enter__`` and ``__exit__``."""

    def __init__(self, shop):
        self.shop = shop
        self.database = self.cache = 0
        self._start = None

    def _now(self):
        cache = self.shop.cache if self.shop.cache is not self.shop.database else None
        return self.shop.database.calls, cache.calls if cache is not None else 0

    def __enter__(self):
        self._start = self._now()
        return self

    def __exit__(self, *exc):
        database, cache = self._now()
        self.database, self.cache = database - self._start[0], cache - self._start[1]

    def __repr__(self):
        return f"StoreCalls(database={self.database}, cache={self.cache})"


def count_store_calls(shop):
    """``with count_store_calls(shop) as calls: alice.add("book")`` then ``calls.database``, ``calls.cache``."""
    return StoreCalls(shop)


def load_by_traffic(shop, user_counts=(1, 2, 4, 8), actions=10):
    """More and more users, each doing ``actions`` actions; a ``Table`` of the store calls they caused.

    Users log in first (a JWT login touches no store), then take turns adding
    an item and viewing the cart, one after another, so the counts are exact
    and the same on every run: whichever instance serves it, each action is
    one database call and one cache call.
    """
    rows = []
    for users in user_counts:
        people = [shop.user(f"load-{users}-{i}") for i in range(users)]
        with count_store_calls(shop) as calls:
            for person in people:
                for step in range(actions):
                    if step % 2 == 0:
                        person.add(SKUS[step // 2 % len(SKUS)])
                    else:
                        person.cart()
        rows.append([users, users * actions, calls.database, calls.cache])
    return Table(["users", "user actions", "database calls", "cache calls"], rows,
                 title=f"Store load as traffic grows ({len(shop.instances)} instances)")


class InstanceAnswers:
    """One request's answer from each instance: ``statuses`` {name: HTTP status, 0 if none}, ``ms``, ``errors``."""

    def __init__(self):
        self.statuses, self.ms, self.errors = {}, {}, {}

    def all(self, status):
        """Did every instance answer with ``status``?"""
        return bool(self.statuses) and all(s == status for s in self.statuses.values())

    def __repr__(self):
        return f"InstanceAnswers({self.statuses})"


def ask_every_instance(shop, user, path="/cart", timeout=5.0):
    """Send ``GET path`` with ``user``'s token to every instance directly (not through the balancer).

    A status of 0 means no answer at all (refused or timed out after ``timeout`` s).
    """
    answers = InstanceAnswers()
    for instance in shop.instances:
        conn = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=timeout)
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {user.credential}"})
            answer = conn.getresponse()
            body = answer.read()
            answers.statuses[instance.name] = answer.status
            if answer.status >= 400:
                answers.errors[instance.name] = body.decode(errors="replace")[:200]
        except (OSError, http.client.HTTPException) as exc:
            answers.statuses[instance.name] = 0
            answers.errors[instance.name] = f"no answer: {exc.__class__.__name__}"
        finally:
            conn.close()
        answers.ms[instance.name] = (time.perf_counter() - started) * 1000
    return answers


def wait_until_in_rotation(shop, timeout=5.0):
    """Wait until the balancer's health checks count every live instance as up again; True if they do.

    While a store is down, each instance's ``/health`` answers 503 and the
    balancer takes it out; once the store is back, the checks put it back.
    """
    return wait_until(lambda: all(shop.status(i.name) == "up" for i in shop.instances if i.alive), timeout,
                      interval=0.01)
