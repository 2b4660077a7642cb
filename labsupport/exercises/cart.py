"""Exercise 08: move the cart service's state out of instance memory, and keep concurrent adds safe.

The cart service here is finished except for one small class you write,
``CartStorage``: where carts are kept. Each instance builds one as
``CartStorage(database)``, where ``database`` is a store every instance
shares (SQLite: ``get(key)``, ``put(key, value)``, and ``update(key,
change)``, which reads, changes and writes one key in a single transaction).
The service calls ``get(user)`` to show a cart and ``update(user, change)`` to
change one, where ``change(cart)`` returns the new cart (``cart`` is None for a
user without one). The starting point keeps carts in a dict inside the
instance, so a crash takes them along.

``check_cart(CartStorage)`` runs three tests on three instances behind sticky
sessions, with nine shoppers (alice to ivan), and answers with the first
anomaly:

1. **the kill test**: everyone fills a cart, shop-2 is killed, everyone looks again;
2. **the race**: three shoppers each add two items *at the same moment*, one
   through shop-1 and one through shop-3. The checker makes both requests read
   the cart before either writes it, and shop-1's write come first, the
   interleaving a busy shop meets sooner or later: a read-then-write that is
   not one transaction loses shop-1's add;
3. **where the carts are**: the shared database must hold them (a class
   attribute survives here only because the lab's instances share one process).

Chapter 08 (claim D3) uses it.
"""

import random
import secrets
import threading

from ..engine.balancer import Balancer
from ..engine.events import EventLog
from ..engine.instance import Instance
from ..engine.lifecycle import Closable
from ..shop.api import ShopAPI, unauthorized
from ..shop.users import SKUS, User
from ..state.stores import SQLiteStore
from ..state.tokens import TokenIssuer, TokenRejected
from .checker import Exercise, TheirCode, TheirCodeFailed, Verdict, cart_text, send, wrong_argument
from .race import Race, RaceDatabase

__all__ = ["CART", "check_cart", "CartService", "SHOPPERS", "KILLED"]

SHOPPERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan")
KILLED = "shop-2"
RACERS = 3                      # shoppers who each send two adds at the same moment
RACE_LANES = ("shop-1", "shop-3")

CART = Exercise(
    name="cart", chapter="08_decision_framework", title="move the carts out of memory", writes="CartStorage",
    hints=(
        "Every instance receives the same `database`. A cart one instance writes there, another instance can "
        "read, and it outlives any instance. Keys are plain strings, such as \"cart:\" + user.",
        "`get(user)` can simply return `self.database.get(\"cart:\" + user)` (None when there is none).",
        "For `update`, reading with `get`, changing, then writing with `put` loses updates when two instances do "
        "it at once: both read the old cart, and the second write wipes out the first. The database's "
        "`update(key, change)` runs your `change` inside one transaction, so nobody can write in between.",
        "A sketch:\n\n"
        "- `__init__`: keep `self.database = database` (and nothing else)\n"
        "- `get`: `return self.database.get(\"cart:\" + user)`\n"
        "- `update`: `return self.database.update(\"cart:\" + user, change)`",
    ))


class CartService(ShopAPI):
    """The shop API with signed tokens for identity and the learner's ``CartStorage`` for carts.

    Only the carts depend on your code: who the user is travels in the token,
    so it survives any instance. ``held_state()`` walks your storage too: with
    the starting point it finds the carts in its dict.
    """

    kind = "exercise"
    default_policy = "sticky"
    not_state = {"their_code": "the checker's record of calls into your code, shared by every instance"}

    def __init__(self, tokens, storage, their_code):
        self.tokens = tokens
        self.storage = storage
        self.their_code = their_code

    def login(self, user, trace):
        return self.tokens.issue(user), {}

    def authenticate(self, request, trace):
        try:
            claims = self.tokens.verify(self.bearer_token(request))
        except TokenRejected as exc:
            raise unauthorized(exc.reason, exc.error) from None
        return {"user": claims["sub"]}

    def logout(self, principal, trace):
        """Nothing to forget here: logging out is not part of this exercise."""

    def load_cart(self, principal, trace):
        return self.their_code.call(self.storage, "get", principal["user"])

    def change_cart(self, principal, change, trace):
        cart = self.their_code.call(self.storage, "update", principal["user"], change)
        if not isinstance(cart, dict):
            self.their_code.reject("update", f"returned {cart!r}; return the new cart, the dict change(cart) gave")
        return cart


class _CartLab(Closable):
    """The test bench: three cart-service instances behind a sticky balancer, one shared database."""

    def __init__(self, their_code, seed):
        self.their_code = their_code
        self.instances, self.people = [], []
        self.tokens = TokenIssuer(secrets.token_hex(32))
        self.sqlite = SQLiteStore()
        self.races = Race()
        self.events = EventLog()
        self.balancer = Balancer(CartService.default_policy, seed=seed, health_interval=0.1, events=self.events)
        self._opened()
        try:
            self.balancer.start()
            for number in (1, 2, 3):
                self._start(f"shop-{number}")
        except BaseException:
            self.close()
            raise

    def _start(self, name):
        database = RaceDatabase(self.sqlite, self.races, name)
        instance = Instance(lambda: CartService(self.tokens, self.their_code.build(database), self.their_code),
                            name=name, events=self.events)
        self.instances.append(instance)
        instance.start()
        self.balancer.add_instance(name, instance.address)

    def instance(self, name):
        return next(instance for instance in self.instances if instance.name == name)

    def shoppers(self, names):
        self.people = [User(self.balancer.url, name).login() for name in names]
        return self.people

    def race(self, person, adds):
        """Send ``adds`` [(instance name, sku, qty)] at the same moment, each straight to its instance."""
        self.races.start([name for name, _sku, _qty in adds])
        answers = [None] * len(adds)

        def add(index, name, sku, qty):
            answers[index] = send(self.instance(name).url, "POST", "/cart/items", {"sku": sku, "qty": qty},
                                  {"Authorization": f"Bearer {person.credential}"})

        threads = [threading.Thread(target=add, args=(i, *a), name=f"race-{person.name}-{i}", daemon=True)
                   for i, a in enumerate(adds)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.races.stop()
        return answers

    def _close(self):
        for person in self.people:
            person.close()
        self.balancer.close()
        for instance in self.instances:
            instance.close()
        self.sqlite.close()


def _fill_carts(lab, people, rng, counts):
    for person in people:
        for sku in rng.sample(SKUS, 2):
            person.add(sku, rng.randint(1, 3))
    forgetful = [p.name for p in people if p.lost_items]
    counts["carts that lost items before the kill"] = len(forgetful)
    if forgetful:
        return (f"{len(forgetful)} of {len(people)} carts lost items before any instance was killed (first: "
                f"{forgetful[0]}); get(user) must return the cart that update(user, change) produced.")
    return None


def _kill_test(lab, people, counts):
    lab.instance(KILLED).kill()
    for person in people:
        person.cart()
    losers = [p.name for p in people if p.lost_items]
    counts[f"carts lost when {KILLED} was killed"] = len(losers)
    if losers:
        return (f"{len(losers)} of {len(people)} carts lost when {KILLED} was killed ({', '.join(losers)}). "
                f"Those carts were only in {KILLED}'s memory; keep them somewhere every instance can reach.")
    return None


def _race_test(lab, people, rng, counts):
    racers = rng.sample(people, RACERS)
    lost = 0
    first = None
    for person in racers:
        before = person.cart()
        adds = [(lane, rng.choice(SKUS), rng.randint(1, 3)) for lane in RACE_LANES]
        lab.race(person, adds)
        expected = dict(before)
        for _lane, sku, qty in adds:
            expected[sku] = expected.get(sku, 0) + qty
        person.expected = expected            # the shopper saw both adds answered, so expects both
        after = person.cart()
        missing = sum(max(0, qty - after.get(sku, 0)) for sku, qty in expected.items())
        lost += missing
        if missing and first is None:
            (lane_a, sku_a, qty_a), (lane_b, sku_b, qty_b) = adds
            first = (f"{person.name} added {qty_a} {sku_a} through {lane_a} and {qty_b} {sku_b} through {lane_b} "
                     f"at the same moment; the cart then held {cart_text(after)}, not the {cart_text(expected)} both "
                     "answers promised. "
                     "Both requests read the cart before either wrote it, so the second write wiped out the "
                     "first: make read-change-write one transaction (database.update(key, change)).")
    counts["shoppers racing two adds"] = RACERS
    counts["items lost in the races"] = lost
    return first


def check_cart(CartStorage, seed=7):
    """Kill test, race and a look in the database for your ``CartStorage``; returns a ``Verdict`` (and saves it)."""
    counts = {"shoppers": len(SHOPPERS)}
    mistake = wrong_argument(CartStorage, "CartStorage", "check_cart")
    if mistake:
        return Verdict(CART, False, mistake, counts).save()
    their = TheirCode(CartStorage, "CartStorage")
    rng = random.Random(seed)
    try:
        lab = _CartLab(their, seed)
    except TheirCodeFailed as failure:
        return Verdict.from_problem(CART, failure.problem, counts, "while an instance started").save()
    try:
        people = lab.shoppers(SHOPPERS)
        reason = (_fill_carts(lab, people, rng, counts) or _kill_test(lab, people, counts)
                  or _race_test(lab, people, rng, counts))
        in_database = lab.sqlite.count("")
    finally:
        lab.close()
    if their.problem is not None:
        return Verdict.from_problem(CART, their.problem, counts, "while a shopper used the shop").save()
    if reason:
        return Verdict(CART, False, reason, counts).save()
    counts["keys in the shared database"] = in_database
    if in_database == 0:
        return Verdict(CART, False, "no cart was lost, but the shared database holds none of them. They live in "
                                    "this Python process (a class attribute or a global?), which the lab's "
                                    "instances share only because they run in one process; real instances are "
                                    "separate processes. Keep the carts in `database`.", counts).save()
    return Verdict(CART, True, f"0 of {len(SHOPPERS)} carts lost when {KILLED} was killed, 0 items lost when two "
                               "instances changed one cart at the same moment, and the carts are in the shared "
                               "database.", counts).save()
