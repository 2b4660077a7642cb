"""Exercise 04: idempotent adds, so a retried POST after an instance died mid-request adds once.

When an instance dies handling ``POST /cart/items``, nobody knows whether the
add was applied: it may have died before writing, or after writing and before
answering. The balancer retries a POST that carries an ``Idempotency-Key`` on
another instance (chapters 04, E6, and 05, R2), so the shop must apply a key
once, and record "this key was applied" *in the same transaction* as the add:
recorded after it, a crash in between duplicates the item; before, it loses it.

You write ``CartAdds``. Each instance builds one as ``CartAdds(database)``
(the SQLite database every instance shares: ``get(key)``, ``put(key,
value)``, ``update(key, change)``, one transaction). The shop calls
``add(user, sku, qty, key)`` for every add (``key`` is the request's
Idempotency-Key, the same for every retry of one add; return the cart as
``{sku: qty}``) and ``items(user)`` to show a cart.

``check_idempotency(CartAdds)``: three instances behind a round-robin
balancer, four users making twelve adds one at a time. The nemesis kills the
instance serving some adds (seeded), right after your code's first write
(the outcome-unknown moment) or just before it; the balancer retries them on
another instance with the same key. 0 duplicated and 0 lost passes. Chapter 04 (E6).
"""

import random
import secrets
import threading

from ..engine.application import Application
from ..engine.balancer import Balancer
from ..engine.events import EventLog
from ..engine.held_state import Infrastructure
from ..engine.instance import Instance
from ..engine.lifecycle import Closable
from ..engine.messages import HTTPError, Response
from ..engine.waiting import wait_until
from ..shop.api import NAME_PATTERN, unauthorized
from ..shop.users import SKUS, User
from ..state.stores import SQLiteStore
from ..state.tokens import TokenIssuer, TokenRejected
from .checker import Crashed, Exercise, TheirCode, TheirCodeFailed, Verdict, cart_text, wrong_argument

__all__ = ["IDEMPOTENCY", "check_idempotency", "AddsApp", "CrashingDatabase", "CrashPlan"]

USERS = ("alice", "bob", "carol", "dave")
ADDS_PER_USER = 3
CRASHES_AFTER_WRITE = 4         # adds whose instance dies right after the first write (outcome unknown)
CRASHES_BEFORE_WRITE = 2        # adds whose instance dies just before writing anything

IDEMPOTENCY = Exercise(
    name="idempotency", chapter="04_state_exists_somewhere", title="idempotent adds", writes="CartAdds",
    hints=(
        "The retry carries the same `key` as the first attempt. Before adding, ask: was this key applied "
        "already? If so, do not add again; just return the cart.",
        "Where do you remember applied keys? Not in the instance: the retry runs on another one. In the "
        "database, then. But if the key is written in one step and the cart in another, a crash between the "
        "two steps either duplicates the item (key written second) or loses it (key written first).",
        "Keep the applied keys inside the cart's own record, e.g. `{\"items\": {...}, \"keys\": [...]}`, and "
        "change both in one `database.update(\"cart:\" + user, change)`: one transaction, so a crash leaves "
        "both changed or neither.",
        "A sketch:\n\n"
        "- in `add`, `def change(cart):` starts with `cart = cart or {\"items\": {}, \"keys\": []}`; if `key in "
        "cart[\"keys\"]`, return `cart` unchanged; else add `qty` to `cart[\"items\"][sku]`, append `key`, "
        "return `cart`\n"
        "- `return self.database.update(\"cart:\" + user, change)[\"items\"]`\n"
        "- `items`: `return (self.database.get(\"cart:\" + user) or {\"items\": {}})[\"items\"]`",
    ))


class CrashPlan:
    """When the nemesis strikes: during the current add, just before or right after the n-th write.

    ``arm(when, writes)`` prepares a crash for the next add ("before" or
    "after" write number ``writes``); the databases call ``before_write`` and
    ``after_write``, and the first one to reach the armed point kills its
    instance (in another thread: a handler cannot wait for its own death) and
    stops the learner's code with ``Crashed``.
    """

    def __init__(self):
        self.armed = None              # (when, write number) or None
        self.writes = 0
        self.crashes = []              # names of the instances killed, in order
        self.killers = []              # the threads doing the kills (join them before restarting anyone)
        self._lock = threading.Lock()

    def arm(self, when, writes=1):
        with self._lock:
            self.armed, self.writes = (when, writes), 0

    def disarm(self):
        with self._lock:
            self.armed = None

    def before_write(self, instance):
        with self._lock:
            self.writes += 1
            strike = self.armed == ("before", self.writes)
        if strike:
            self._crash(instance)

    def after_write(self, instance):
        with self._lock:
            strike = self.armed == ("after", self.writes)
        if strike:
            self._crash(instance)

    def _crash(self, instance):
        with self._lock:
            self.armed = None
            self.crashes.append(instance.name)
        generation = instance.generation
        killer = threading.Thread(target=instance.kill, name=f"nemesis-kills-{instance.name}", daemon=True)
        self.killers.append(killer)
        killer.start()
        wait_until(lambda: instance.generation != generation, timeout=5.0, interval=0.001)
        raise Crashed(f"{instance.name} was killed mid-request")


class CrashingDatabase(Infrastructure):
    """The shared database as one instance's ``CartAdds`` sees it: every write passes the crash plan."""

    def __init__(self, database, plan, instance):
        self.database, self.plan, self.instance = database, plan, instance

    def get(self, key, default=None):
        return self.database.get(key, default)

    def put(self, key, value, ttl_s=None):
        self._write(self.database.put, key, value, ttl_s)

    def update(self, key, change, ttl_s=None):
        return self._write(self.database.update, key, change, ttl_s)

    def delete(self, key):
        self._write(self.database.delete, key)

    def _write(self, operation, *args):
        self.plan.before_write(self.instance)
        result = operation(*args)
        self.plan.after_write(self.instance)
        return result


class AddsApp(Application):
    """A small cart API whose adds and cart views are the learner's ``CartAdds``; identity is a signed token."""

    not_state = {"their_code": "the checker's record of calls into your code, shared by every instance"}

    def __init__(self, tokens, adds, their_code):
        self.tokens, self.adds, self.their_code = tokens, adds, their_code

    def handle(self, request, instance):
        try:
            return self._route(request, instance)
        except Crashed:
            return None                       # the process died mid-request: no answer at all

    def _route(self, request, instance):
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        if request.path == "/login" and request.method == "POST":
            user = request.json().get("user")
            return Response(200, {"token": self.tokens.issue(user), "user": user})
        try:
            user = self.tokens.verify(request.headers.get("Authorization", "").partition(" ")[2])["sub"]
        except TokenRejected as exc:
            raise unauthorized(exc.reason, exc.error) from None
        if request.path == "/cart" and request.method == "GET":
            return Response(200, {"user": user, "items": self._cart("items", user)})
        if request.path == "/cart/items" and request.method == "POST":
            data, key = request.json(), request.headers.get("Idempotency-Key")
            if not key or not NAME_PATTERN.match(key):
                raise HTTPError(400, "send an Idempotency-Key header (1-64 letters, digits, '.', '_' or '-')")
            return Response(200, {"user": user, "items": self._cart("add", user, data["sku"], data["qty"], key)})
        raise HTTPError(404, "this lab serves POST /login, GET /cart and POST /cart/items")

    def _cart(self, method, *args):
        cart = self.their_code.call(self.adds, method, *args)
        if not isinstance(cart, dict):
            self.their_code.reject(method, f"returned {cart!r}; return the cart as a dict {{sku: qty}}")
        return cart


class _AddsLab(Closable):
    """Three instances running ``AddsApp`` behind a round-robin balancer, one shared database, a crash plan."""

    def __init__(self, their_code, seed):
        self.their_code = their_code
        self.plan = CrashPlan()
        self.tokens = TokenIssuer(secrets.token_hex(32))
        self.database = SQLiteStore()
        self.events = EventLog()
        self.instances, self.people = [], []
        # No health checks during the run: a cut connection takes an instance out at once and heal() puts it
        # back, so round robin picks the same instances on every run.
        self.balancer = Balancer("round_robin", seed=seed, health_interval=60.0, events=self.events)
        self._opened()
        try:
            self.balancer.start()
            for number in (1, 2, 3):
                self._start(f"shop-{number}")
        except BaseException:
            self.close()
            raise

    def _start(self, name):
        def new_app():             # each start (a new process) builds a new CartAdds
            return AddsApp(self.tokens, self.their_code.build(CrashingDatabase(self.database, self.plan, instance)),
                           self.their_code)
        instance = Instance(new_app, name=name, events=self.events)
        self.instances.append(instance)
        instance.start()
        self.balancer.add_instance(name, instance.address)

    def heal(self):
        """Once every kill has finished, restart the dead instances (a supervisor would) and put them back."""
        for killer in self.plan.killers:
            killer.join()
        for instance in self.instances:
            if not instance.alive:
                instance.restart()
                self.balancer.set_address(instance.name, instance.address)

    def _close(self):
        for person in self.people:
            person.close()
        self.balancer.close()
        for instance in self.instances:
            instance.close()
        self.database.close()


def _actions(rng):
    """The seeded adds: (user, sku, qty, crash) with crash None, "before" or "after"."""
    adds = [(user, rng.choice(SKUS), rng.randint(1, 3)) for _ in range(ADDS_PER_USER) for user in USERS]
    struck = rng.sample(range(len(USERS), len(adds)), CRASHES_AFTER_WRITE + CRASHES_BEFORE_WRITE)  # round 1 calm
    crash = {index: "after" for index in struck[:CRASHES_AFTER_WRITE]}
    crash.update({index: "before" for index in struck[CRASHES_AFTER_WRITE:]})
    return [(user, sku, qty, crash.get(index)) for index, (user, sku, qty) in enumerate(adds)]


def _explain(user, sku, qty, crash, killed, retried_on, expected, seen):
    moment = {"after": "right after your code's first write, before it answered",
              "before": "just before your code's first write"}
    what = f"{user} added {qty} {sku}"
    if killed:
        what += (f"; {killed} was killed {moment[crash]}, and the balancer sent the same request, with the same "
                 f"Idempotency-Key, to {retried_on}")
    missing = sum(max(0, q - seen.get(s, 0)) for s, q in expected.items())
    verdict = "an item was lost" if missing else "the add was applied twice"
    return f"{what}. The cart then held {cart_text(seen)}, where {user} expected {cart_text(expected)}: {verdict}."


def check_idempotency(CartAdds, seed=7):
    """Twelve adds under seeded in-flight kills and retries; returns a ``Verdict`` (and saves it)."""
    counts = {"adds": 0, "adds cut off by a kill mid-request": 0, "duplicated items": 0, "lost items": 0}
    mistake = wrong_argument(CartAdds, "CartAdds", "check_idempotency")
    if mistake:
        return Verdict(IDEMPOTENCY, False, mistake, counts).save()
    their = TheirCode(CartAdds, "CartAdds")
    rng = random.Random(seed)
    try:
        lab = _AddsLab(their, seed)
    except TheirCodeFailed as failure:
        return Verdict.from_problem(IDEMPOTENCY, failure.problem, counts, "while an instance started").save()
    reason, doing = None, "while the users shopped"
    with lab:
        people = {name: User(lab.balancer.url, name).login() for name in USERS}
        lab.people = list(people.values())
        for user, sku, qty, crash in _actions(rng):
            person = people[user]
            expected = dict(person.expected, **{sku: person.expected.get(sku, 0) + qty})
            crashes_before = len(lab.plan.crashes)
            if crash:
                lab.plan.arm(crash)
            doing = f"while {user} added {qty} {sku}"
            seen = person.add(sku, qty)
            lab.plan.disarm()
            killed = lab.plan.crashes[-1] if len(lab.plan.crashes) > crashes_before else None
            counts["adds"] += 1
            lab.heal()
            if their.problem is not None:
                break
            if seen == expected:
                seen = person.cart()
            if seen != expected:
                reason = _explain(user, sku, qty, crash, killed, person.last_instance, expected, seen)
                break
        counts["adds cut off by a kill mid-request"] = len(lab.plan.crashes)
        ledger = [p.ledger.snapshot() for p in people.values()]
        counts["duplicated items"] = sum(c["duplicated_items"] for c in ledger)
        counts["lost items"] = sum(c["lost_items"] for c in ledger)
    if their.problem is not None:
        return Verdict.from_problem(IDEMPOTENCY, their.problem, counts, doing).save()
    if reason:
        return Verdict(IDEMPOTENCY, False, reason, counts).save()
    return Verdict(IDEMPOTENCY, True, f"{counts['adds']} adds, {len(lab.plan.crashes)} of them cut off "
                                      "by a kill and retried on another instance with the same key: 0 duplicated, "
                                      "0 lost.", counts).save()
