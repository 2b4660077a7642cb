"""The chapter 08 exercise: move the cart service's state out of instance memory.

The cart service below is finished except for one small part you write: the
``CartStorage`` class that decides where carts are kept. It has two methods,
``get(user)`` and ``put(user, cart)``, and is built once per instance as
``CartStorage(database)``, where ``database`` is a store that every instance
shares (a ``SQLiteStore``: ``get``, ``put``, ``delete``). The version you start
from keeps carts in a dict inside the instance, so a crash takes them along.
``check_cart_exercise(CartStorage)`` runs the kill test: three instances
behind sticky sessions, nine shoppers filling carts, shop-2 killed, and every
shopper looking at their cart again. It answers "pass" or says exactly what
was lost. Chapter 08 uses it (claim D3); ``show_solution()`` shows one answer.
"""

import inspect
import random
import secrets
import threading
from dataclasses import dataclass

from ..engine.balancer import Balancer
from ..engine.events import EventLog
from ..engine.instance import HTTPError, Instance
from ..engine.lifecycle import Closable
from ..errors import InvalidArgumentError
from ..shop.api import ShopAPI, unauthorized
from ..shop.users import SKUS, User
from ..state.stores import SQLiteStore
from ..state.tokens import TokenIssuer, TokenRejected

__all__ = ["MemoryCartStorage", "CartService", "ExerciseResult", "check_cart_exercise", "show_solution",
           "model_solution", "EXERCISE_SHOPPERS", "KILLED"]

EXERCISE_SHOPPERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan")
KILLED = "shop-2"


class MemoryCartStorage:
    """The starting point: carts in a dict inside this instance. A crash takes them along."""

    def __init__(self, database):
        self.carts = {}

    def get(self, user):
        return self.carts.get(user)

    def put(self, user, cart):
        self.carts[user] = cart


class SharedDatabaseCartStorage:
    """Carts in the database every instance shares: any instance can serve any shopper."""

    def __init__(self, database):
        self.database = database

    def get(self, user):
        return self.database.get("cart:" + user)

    def put(self, user, cart):
        self.database.put("cart:" + user, cart)


class CartService(ShopAPI):
    """The shop API with signed tokens for identity and a pluggable ``storage`` for carts.

    Only the carts depend on your code: who the user is travels in the token,
    so it survives any instance. Errors raised by your storage become a 500
    answer and are kept in ``problems`` so the checker can quote them.
    ``held_state()`` walks your storage too: with ``MemoryCartStorage`` it
    finds the carts in its dict.
    """

    kind = "exercise"
    default_policy = "sticky"
    not_state = {"problems": "the checker's list of problems, shared by every instance",
                 "_lock": "a lock"}

    def __init__(self, tokens, storage, problems):
        self.tokens = tokens
        self.storage = storage
        self.problems = problems            # shared list of "CartStorage.get raised ..." sentences
        self._lock = threading.Lock()

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
        return self._call("get", principal["user"])

    def change_cart(self, principal, change, trace):
        with self._lock:                    # one change at a time within this instance
            cart = change(self._call("get", principal["user"]))
            self._call("put", principal["user"], cart)
        return cart

    def _call(self, method, *args):
        try:
            return getattr(self.storage, method)(*args)
        except Exception as exc:            # your code's bug costs one request, and is reported
            self.problems.append(f"CartStorage.{method} raised {type(exc).__name__}: {exc}")
            raise HTTPError(500, f"CartStorage.{method} failed") from None


@dataclass(frozen=True)
class ExerciseResult:
    """The checker's answer: ``passed``, the ``message`` and the shoppers who lost their carts."""

    passed: bool
    message: str
    lost_carts: int
    shoppers: int
    losers: tuple

    def __repr__(self):
        return self.message


def _build_storage(storage_factory, database, problems):
    try:
        storage = storage_factory(database)
    except Exception as exc:
        problems.append(f"CartStorage(database) raised {type(exc).__name__}: {exc}")
        raise
    missing = [name for name in ("get", "put") if not callable(getattr(storage, name, None))]
    if missing:
        problems.append(f"CartStorage has no {' and no '.join(missing)} method")
    return storage


class _CartLab(Closable):
    """The test bench: three cart-service instances behind a sticky balancer, one shared database.

    ``started`` is False when the learner's storage could not even be built;
    ``problems`` collects what the storage raised. ``close()`` stops it all.
    """

    def __init__(self, storage_factory, seed):
        self.problems, self.instances, self.people = [], [], []
        self.tokens = TokenIssuer(secrets.token_hex(32))
        self.database = SQLiteStore()
        self.events = EventLog()
        self.balancer = Balancer(CartService.default_policy, seed=seed, health_interval=0.1, events=self.events)
        self.started = False
        self._opened()
        try:
            self.balancer.start()
            self.started = self._start_instances(storage_factory)
        except BaseException:
            self.close()
            raise

    def _start_instances(self, storage_factory):
        def new_app():
            return CartService(self.tokens, _build_storage(storage_factory, self.database, self.problems),
                               self.problems)

        for number in (1, 2, 3):
            instance = Instance(new_app, name=f"shop-{number}", events=self.events)
            self.instances.append(instance)
            try:
                instance.start()
            except Exception:
                if not self.problems:       # not the learner's code: a real failure of the lab
                    raise
                return False
            self.balancer.add_instance(instance.name, instance.address)
        return True

    def shoppers(self, names):
        self.people = [User(self.balancer.url, name).login() for name in names]
        return self.people

    def kill(self, name):
        next(instance for instance in self.instances if instance.name == name).kill()

    def _close(self):
        for person in self.people:
            person.close()
        self.balancer.close()
        for instance in self.instances:
            instance.close()
        self.database.close()


def check_cart_exercise(storage_factory, seed=7):
    """Kill test for your ``CartStorage``: returns an ``ExerciseResult`` saying "pass" or what was lost."""
    if not callable(storage_factory):
        raise InvalidArgumentError(f"pass your storage class itself, e.g. check_cart_exercise(CartStorage), "
                                   f"not {storage_factory!r}")
    rng = random.Random(seed)
    lab = _CartLab(storage_factory, seed)
    try:
        if not lab.started:
            return _storage_failed(lab.problems, len(EXERCISE_SHOPPERS))
        people = lab.shoppers(EXERCISE_SHOPPERS)
        for person in people:                               # 1. everyone fills a cart
            for sku in rng.sample(SKUS, 2):
                person.add(sku, rng.randint(1, 3))
        forgetful = tuple(p.name for p in people if p.lost_items)
        if lab.problems:
            return _storage_failed(lab.problems, len(people))
        if forgetful:
            return ExerciseResult(False, f"not yet: {len(forgetful)} of {len(people)} carts lost items before any "
                                         "instance was killed; get(user) must return the cart that put(user, cart) "
                                         "stored.", len(forgetful), len(people), forgetful)
        lab.kill(KILLED)                                    # 2. one instance crashes
        for person in people:                               # 3. everyone looks at their cart again
            person.cart()
        losers = tuple(p.name for p in people if p.lost_items)
        if lab.problems:
            return _storage_failed(lab.problems, len(people))
        if losers:
            return ExerciseResult(False, f"not yet: {len(losers)} of {len(people)} carts lost when {KILLED} was "
                                         f"killed ({', '.join(losers)}). Those carts were only in {KILLED}'s memory; "
                                         "keep them somewhere every instance can reach.",
                                  len(losers), len(people), losers)
        if lab.database.count("") == 0:                     # 4. survived, but only thanks to one shared process?
            return ExerciseResult(False, "not yet: no cart was lost, but the shared database holds none of them. "
                                         "They live in this Python process (a class attribute or a global?), which "
                                         "the lab's instances share only because they run in one process; real "
                                         "instances are separate processes. Keep the carts in `database`.",
                                  0, len(people), ())
        return ExerciseResult(True, f"pass: 0 of {len(people)} carts lost when {KILLED} was killed, and the carts "
                                    "are in the shared database.", 0, len(people), ())
    finally:
        lab.close()


def _storage_failed(problems, shoppers):
    return ExerciseResult(False, f"not yet: your storage raised an error, so the kill test could not finish. "
                                 f"{problems[0]}", 0, shoppers, ())


def model_solution():
    """One correct storage class (pass it to the checker without reading it, or read it with show_solution)."""
    return SharedDatabaseCartStorage


class _Source:
    """Source code that shows itself as text and as a highlighted block in a notebook."""

    def __init__(self, code):
        self.code = code

    def __repr__(self):
        return self.code

    def _repr_markdown_(self):
        return f"```python\n{self.code}```"


def show_solution():
    """The model solution's code, under the name the exercise uses (``CartStorage``)."""
    code = inspect.getsource(SharedDatabaseCartStorage)
    return _Source(code.replace("class SharedDatabaseCartStorage", "class CartStorage", 1))
