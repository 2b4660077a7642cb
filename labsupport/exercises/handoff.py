"""Exercise 02: a drain that hands a stateful instance's sessions over, so nobody is logged out.

Draining a stateful instance the plain way means waiting until every session
on it has ended (chapter 02, F4 and F5), and losing the ones still open when
patience runs out. The alternative moves the state instead of waiting for it
(F7): when the instance has finished its last request, it writes its sessions
to a store its peers share, and a peer that meets a session id it does not
know takes the session from there and carries on. Nobody logs in again, and
the drain takes milliseconds instead of the longest visit.

You write ``SessionSpill``. Each instance of the stateful shop builds one as
``SessionSpill(store)``, where ``store`` is the Redis cache every instance
shares (``get(key)``, ``put(key, value, ttl_s=None)``, ``delete(key)``).
The shop calls ``spill(sessions)`` once, when it is drained, after its last
request: ``sessions`` maps each session id to ``{"user": ..., "cart": ...}``.
It calls ``take(session_id)`` when a request brings a session id it does not
hold: return that session (the same dict) and forget it, or None.

``check_handoff(SessionSpill)`` runs three instances behind sticky sessions.
Nine users log in and fill a cart, then shop at the same time; in the middle
of it shop-2 is drained. Users whose requests arrive in the very moment of the
hand-over get 503 (nothing applied, try again), which is a failed action, not
a lost one. Afterwards every user looks at the cart: 0 sessions and 0 items
lost passes. Chapter 02 (F7) uses it.
"""

import copy
import random
import threading
import time

from ..engine.instance import HTTPError
from ..engine.waiting import wait_until
from ..errors import DependencyMissingError
from ..shop.cluster import Cluster
from ..shop.ledger import Ledger
from ..shop.stateful import SESSION_COOKIE, StatefulShop
from ..shop.users import SKUS, User
from ..state.redis_server import INSTALL_HINT
from .checker import Exercise, TheirCode, TheirCodeFailed, Verdict, wrong_argument

__all__ = ["HANDOFF", "check_handoff", "SpillingShop"]

USERS = tuple(f"member-{i}" for i in range(1, 10))
DRAINED = "shop-2"
ACTIONS = 8                     # per user, all at once, after everyone filled a cart
DRAIN_AFTER = 20                # the drain starts once the users have made this many actions together

HANDOFF = Exercise(
    name="handoff", chapter="02_stateful", title="a drain that hands sessions over", writes="SessionSpill",
    hints=(
        "The draining instance's memory is about to vanish, and its users' next requests will reach another "
        "instance. What connects the two? Only the shared `store`.",
        "In `spill`, write each session to the store under a key made from its session id, e.g. "
        "\"session:\" + session_id. The next request of that user carries the session id, not the user name.",
        "In `take`, read that key; if something is there, delete the key (the session now lives in the new "
        "instance's memory) and return what you read. Keep the whole dict: a session restored without its "
        "cart loses the items.",
        "A sketch:\n\n"
        "- `spill`: `for session_id, session in sessions.items(): self.store.put(\"session:\" + session_id, "
        "session, ttl_s=600)`\n"
        "- `take`: `session = self.store.get(\"session:\" + session_id)`; if it is not None, "
        "`self.store.delete(\"session:\" + session_id)`; `return session`",
    ))


class SpillingShop(StatefulShop):
    """The stateful shop whose drain spills its sessions through the learner's ``SessionSpill``.

    ``close()`` runs after a graceful stop, when the last request has finished:
    that is when the sessions are final, so that is when they are spilled. A
    request for a session this instance does not hold asks ``take``; while a
    hand-over is under way it is answered 503 (try again in a moment) instead,
    so no peer looks before the spill is complete.
    """

    uses_shared_stores = True           # the spill goes to the cluster's shared cache
    drain_waits_for_sessions = False    # a drain hands the sessions over instead of waiting for them to end
    not_state = {**StatefulShop.not_state, "their_code": "the checker's record of calls into your code",
                 "handing_over": "a signal shared by the lab: a drain is handing sessions over",
                 "handed_over": "how many sessions this instance's drain handed over (a count for the checker)"}

    def __init__(self, session_ttl_s, store, their_code, handing_over):
        super().__init__(session_ttl_s)
        self.their_code = their_code
        self.handing_over = handing_over
        self.handed_over = 0
        self.spill = their_code.build(store)

    @classmethod
    def for_cluster(cls, cluster):
        return cls(cluster.session_ttl_s, cluster.cache, cluster.their_code, cluster.handing_over)

    def authenticate(self, request, trace):
        session_id = self.bearer_token(request) or request.cookie(SESSION_COOKIE)
        if session_id and not self._holds(session_id):
            if self.handing_over.is_set():      # it may be on its way: wait for the spill, do not log anyone out
                raise HTTPError(503, "a drain is handing sessions over; try again in a moment",
                                headers={"Retry-After": "0"})
            saved = self.their_code.call(self.spill, "take", session_id)
            if saved is not None:
                self._adopt(session_id, saved)
        return super().authenticate(request, trace)

    def close(self):
        """The drain hook: hand every session over (after the last request, so nothing changes meanwhile)."""
        with self._lock:
            sessions = {sid: {"user": s["user"], "cart": copy.deepcopy(s["cart"])} for sid, s in self.sessions.items()}
        self.handed_over = len(sessions)
        self.their_code.call(self.spill, "spill", sessions)

    def _holds(self, session_id):
        with self._lock:
            return session_id in self.sessions

    def _adopt(self, session_id, saved):
        if not (isinstance(saved, dict) and isinstance(saved.get("user"), str)):
            self.their_code.reject("take", f"returned {saved!r:.80}; return the session dict spill() was given, "
                                           "with its \"user\" and \"cart\"")
        with self._lock:
            self.sessions[session_id] = {"user": saved["user"], "cart": copy.deepcopy(saved.get("cart")),
                                         "last_seen": time.monotonic()}


class _HandoffLab(Cluster):
    """A stateful cluster of ``SpillingShop`` instances, with a real Redis for the spilled sessions."""

    def __init__(self, their_code, seed):
        self.their_code = their_code
        self.handing_over = threading.Event()
        super().__init__("stateful", instances=3, seed=seed, shop_class=SpillingShop, health_interval=0.2)

    def drain_with_handover(self, name):
        """Drain ``name``: its sessions are spilled when its last request ends. Returns how many it handed over."""
        app = self.instance(name).app
        self.handing_over.set()
        try:
            self.drain(name)
        finally:
            self.handing_over.clear()
        return app.handed_over


def _traffic(people, rng_seed, ledger, drain):
    """Everyone shops at once (adds and looks only); ``drain`` runs once the users made ``DRAIN_AFTER`` actions."""
    def shop(person):
        rng = random.Random(f"{rng_seed}-{person.name}")
        for _ in range(ACTIONS):
            if rng.random() < 0.6:
                person.add(rng.choice(SKUS), rng.randint(1, 3))
            else:
                person.cart()

    threads = [threading.Thread(target=shop, args=(person,), name=f"handoff-{person.name}", daemon=True)
               for person in people]
    for thread in threads:
        thread.start()
    wait_until(lambda: ledger.snapshot()["actions"] >= DRAIN_AFTER, timeout=30)
    result = drain()
    for thread in threads:
        thread.join()
    return result


def check_handoff(SessionSpill, seed=7):
    """Drain shop-2 while nine users shop; returns a ``Verdict`` (and saves it)."""
    counts = {"users": len(USERS), "sessions handed over by the drain": 0}
    mistake = wrong_argument(SessionSpill, "SessionSpill", "check_handoff")
    if mistake:
        return Verdict(HANDOFF, False, mistake, counts).save()
    their = TheirCode(SessionSpill, "SessionSpill")
    try:
        shop = _HandoffLab(their, seed)
    except TheirCodeFailed as failure:
        return Verdict.from_problem(HANDOFF, failure.problem, counts, "while an instance started").save()
    ledger = Ledger()
    outcome = {}
    with shop:
        if shop.redis is None:
            raise DependencyMissingError(f"this exercise needs a Redis server; {INSTALL_HINT}")
        people = [User(shop.url, name, ledger).login() for name in USERS]
        rng = random.Random(seed)
        for person in people:
            person.add(rng.choice(SKUS), rng.randint(1, 3))
        pinned = sorted(p.name for p in people if p.last_instance == DRAINED)

        def drain():
            try:
                outcome["handed over"] = shop.drain_with_handover(DRAINED)
            except TheirCodeFailed:
                outcome["handed over"] = 0          # recorded in their.problem; the verdict reports it

        _traffic(people, seed, ledger, drain)
        for person in people:
            person.cart()
        losers = sorted(ledger.users_losing_sessions)
        emptied = sorted(p.name for p in people if p.lost_items and p.name not in losers)
        for person in people:
            person.close()
    counts["sessions handed over by the drain"] = outcome.get("handed over", 0)
    counts[f"users whose session was on {DRAINED}"] = len(pinned)
    counts["users who lost their session"] = len(losers)
    counts["users who kept it but lost items"] = len(emptied)
    if their.problem is not None:
        return Verdict.from_problem(HANDOFF, their.problem, counts, f"while {DRAINED} was drained").save()
    if losers:
        return Verdict(HANDOFF, False, f"{', '.join(losers)} lost their session when {DRAINED} was drained: their "
                                       "next request reached another instance, which could not take the session "
                                       "(take(session_id) returned None), so they had to log in again and their "
                                       "carts were gone. Spill each session to the shared store under its session "
                                       "id.", counts).save()
    if emptied:
        return Verdict(HANDOFF, False, f"{', '.join(emptied)} kept their session when {DRAINED} was drained, but "
                                       "not everything in their cart: the session that take() returned was missing "
                                       "items. Spill the whole session dict, cart included.", counts).save()
    return Verdict(HANDOFF, True, f"{DRAINED} was drained while {len(USERS)} users shopped; it handed over "
                                  f"{counts['sessions handed over by the drain']} sessions and nobody lost a "
                                  "session or an item.", counts).save()
