"""held_state.py: what an instance holds in memory is measured by walking its application, never declared.

The same walk measures every application. A "stateless" shop that keeps a
dict of carts in any attribute shows it; the stateful shop's numbers are its
sessions because the walk finds them in its dict; handles to shared
infrastructure (stores, the token issuer, the event log) and what a class
declares in ``not_state`` are left out, and say why.
"""

import secrets
import threading

from labsupport import Cluster
from labsupport.engine import Application, EventLog, HeldState, Instance
from labsupport.exercises import CartService, TheirCode
from labsupport.state import SQLiteStore, TokenIssuer
from tests.leaky_shop import LeakyCluster, LeakyStatelessShop


def test_a_stateless_shop_that_secretly_keeps_carts_shows_them():
    with LeakyCluster(instances=2, service_ms=0) as shop:
        people = [shop.user(name) for name in ("alice", "bob", "carol")]
        for person in people:
            person.add("book")
        held = shop.held_state()
        assert sum(h.entries_in("_recent") for h in held.values()) == 3       # one cart per user, wherever served
        busy = held[people[0].last_instance]
        assert busy.entries == busy.entries_in("_recent") > 0 and busy.breakdown["_recent"].bytes > 0
        assert set(busy.left_out) == {"tokens", "database", "cache"}          # the shared handles, left out


def test_the_honest_stateless_shop_holds_nothing_even_after_traffic():
    with Cluster.stateless(instances=2, service_ms=0) as shop:
        shop.run_traffic(users=4, actions=10, seed=1)
        for held in shop.held_state().values():
            assert (held.entries, held.bytes, held.breakdown) == (0, 0, {})
            assert held.describe() == "keeps nothing in memory"


def test_the_stateful_shops_numbers_are_its_sessions_found_by_the_walk():
    with Cluster.stateful(instances=1, service_ms=0) as shop:
        people = [shop.user(name) for name in ("alice", "bob", "carol")]
        for person in people:
            person.add("pen", 2)
        instance = shop.instances[0]
        held = instance.held_state()
        assert held.entries == held.entries_in("sessions") == len(instance.app.sessions) == 3
        assert set(held.left_out) == {"session_ttl_s", "_lock", "transfer"}
        assert held.entries_in("moved") == 0 and "moved" in held.breakdown    # no forwarding address yet
        assert shop.held_sessions() == {"shop-1": 3}
        people[0].logout()
        assert instance.held_state().entries_in("sessions") == 2


def test_the_walk_counts_what_a_stateful_shop_adds_beyond_its_sessions():
    """Entries come from the walk, not from a count the shop keeps: an extra dict adds to the total."""
    with Cluster.stateful(instances=1, service_ms=0) as shop:
        shop.user("alice")
        app = shop.instances[0].app
        app.notes = {"a": 1, "b": 2}                     # something a subclass might keep
        held = shop.instances[0].held_state()
        assert (held.entries_in("sessions"), held.entries_in("notes"), held.entries) == (1, 2, 3)


class _HoldsOnlyInfrastructure(Application):
    not_state = {"_lock": "a lock", "limit": "configuration"}

    def __init__(self, database):
        self.database = database
        self.tokens = TokenIssuer(secrets.token_hex(32))
        self.events = EventLog()
        self._lock = threading.Lock()
        self.limit = 10

    def handle(self, request, instance):
        raise NotImplementedError


def test_shared_infrastructure_and_declared_attributes_are_left_out_with_their_reasons():
    with SQLiteStore() as database:
        for number in range(50):
            database.put(f"cart:user-{number}", {"items": {"book": number}})
        app = _HoldsOnlyInfrastructure(database)
        app.events.add("test", "note", "something happened")
        held = app.held_state()
    assert (held.entries, held.bytes) == (0, 0)
    assert held.left_out == {"database": "a handle to shared infrastructure (SQLiteStore)",
                             "tokens": "a handle to shared infrastructure (TokenIssuer)",
                             "events": "a handle to shared infrastructure (EventLog)",
                             "_lock": "a lock", "limit": "configuration"}


class InMemoryCartStorage:
    """Chapter 08's exercise scaffold: carts in a dict inside the instance."""

    def __init__(self, database):
        self.carts = {}

    def get(self, user):
        return self.carts.get(user)

    def update(self, user, change):
        self.carts[user] = change(self.carts.get(user))
        return self.carts[user]


def test_objects_the_application_holds_are_walked_too():
    """The exercise's cart service: carts kept by a learner's storage class, one level down, still count."""
    tokens = TokenIssuer(secrets.token_hex(32))
    service = CartService(tokens, InMemoryCartStorage(None), TheirCode(InMemoryCartStorage, "CartStorage"))
    service.storage.update("alice", lambda cart: {"items": {"book": 1}, "keys": []})
    service.storage.update("bob", lambda cart: {"items": {"pen": 2}, "keys": []})
    held = service.held_state()
    assert held.entries_in("storage") == 2 and set(held.left_out) == {"tokens", "their_code"}


def test_a_stopped_or_crashed_instance_holds_nothing():
    instance = Instance(lambda: LeakyStatelessShop(None, None, None), name="leaky").start()
    instance.app._recent["alice"] = {"items": {"book": 1}}
    assert instance.held_state().entries == 1
    instance.kill()
    assert instance.held_state().entries == 0 and instance.held_state().breakdown == {}
    instance.close()


def test_the_walk_survives_cycles_and_requests_changing_the_data_meanwhile():
    class Node:
        def __init__(self):
            self.peer = self
            self.items = {}

    class Busy(Application):
        def __init__(self):
            self.node = Node()

        def handle(self, request, instance):
            raise NotImplementedError

    app = Busy()
    stop = threading.Event()

    def writer():
        number = 0
        while not stop.is_set():
            app.node.items[number % 500] = [number] * (number % 7)
            app.node.items.pop((number * 7) % 500, None)
            number += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        results = [app.held_state() for _ in range(200)]
    finally:
        stop.set()
        thread.join()
    assert all(isinstance(held, HeldState) and held.entries >= 0 for held in results)


def test_the_table_shows_every_attribute_and_why_some_are_not_counted():
    with Cluster.stateful(instances=1, service_ms=0) as shop:
        shop.user("alice")
        text = repr(shop.instances[0].held_state())
    assert text.startswith("What StatefulShop holds in memory: 1 entry, ")
    assert "sessions" in text and "yes: the instance's own data" in text
    assert "no: a lock guarding the sessions" in text and "no: configuration" in text
