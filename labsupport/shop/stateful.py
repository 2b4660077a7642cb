"""The same shop, keeping sessions and carts in the instance's own memory.

Login creates a session in a dict inside *this* instance and hands the
client a cookie naming it. Later requests work only if they reach the same
instance: another instance has never heard of the session and answers 401,
and if this instance dies or restarts, the dict, and every cart in it, is
gone. That is the whole lesson of chapter 02: fast, simple, and tied to one
process. Sticky sessions in the balancer keep a user on "their" instance.

The class says so to the rest of the lab: it runs behind sticky sessions, a
drain waits until its sessions end, a canary takes whole users, and it shows
pink (it holds state). How many sessions it holds is not its own count:
``held_state()`` walks the object like any other application and finds them
in ``self.sessions``.

Its sessions can also *move* (chapters 02 and 06): a peer in the same cluster
may ask for them or send some over (``transfer.py``, routes under
``/internal/``). Every look-up of a session therefore goes through
``_held``: a session on its way to a peer makes the request wait; one that
has left answers "moved to" its new instance (``self.moved`` remembers where
each went), and the balancer sends the request on.
"""

import secrets
import threading
import time

from ..engine.instance import HTTPError
from ..engine.policies import SplitByUser, route_key
from .api import MAX_QTY, NAME_PATTERN, ShopAPI, unauthorized
from .transfer import INTERNAL_PREFIX, Transfer

__all__ = ["StatefulShop", "SESSION_COOKIE"]

SESSION_COOKIE = "session"


class StatefulShop(ShopAPI):
    """Shop API with every session and cart in ``self.sessions``, a plain dict."""

    kind = "stateful"
    default_policy = "sticky"           # a user must come back to the instance holding their session
    uses_shared_stores = False
    drain_waits_for_sessions = True     # draining ends when the last session does (or at the timeout)
    drain_timeout_s = 10.0
    moves_sessions = True               # its sessions can be handed to a peer (transfer.py)
    canary_split = SplitByUser          # a user logs in on the canary, or never meets it
    colour_role = "holds_state"
    credential_kind = "session cookie"
    sessions_attribute = "sessions"
    memory_note = "one session per user, cart inside"
    best_for = "databases, message brokers, live real-time services, session-based apps"   # the article's advice
    not_state = {"session_ttl_s": "configuration", "_lock": "a lock guarding the sessions",
                 "transfer": "how sessions move to a peer: the cluster's secret, sessions in transit, counters"}

    def __init__(self, session_ttl_s=300.0, cluster_secret=None):
        self.session_ttl_s = session_ttl_s      # idle sessions are forgotten after this long
        self.sessions = {}                      # session id -> {"user", "cart", "last_seen"}
        self.moved = {}                         # session id -> the instance it was handed to
        self._lock = threading.Lock()
        self.transfer = Transfer(cluster_secret, self._lock)   # without the secret, /internal/ refuses everyone

    @classmethod
    def for_cluster(cls, cluster):
        return cls(session_ttl_s=cluster.session_ttl_s, cluster_secret=cluster.secret)

    @staticmethod
    def session_key(request):
        """The session a request belongs to: its bearer credential or its session cookie."""
        return ShopAPI.bearer_token(request) or request.cookie(SESSION_COOKIE)

    def _route(self, request, trace, instance):
        if request.path.startswith(INTERNAL_PREFIX):
            return self.transfer.handle(self, request, instance.name)
        return super()._route(request, trace, instance)

    def login(self, user, trace):
        session_id = secrets.token_urlsafe(16)
        with self._lock:
            owner = self.transfer.plan.elsewhere(user) if self.transfer.plan else None
            if owner is not None:               # the user's key belongs to another instance now
                raise self.transfer.redirect(owner)
            self.sessions[session_id] = {"user": user, "cart": None, "last_seen": time.monotonic()}
            self.transfer.note_change(session_id)
        trace.step("create session in this instance's memory")
        return session_id, {"Set-Cookie": f"{SESSION_COOKIE}={session_id}; Path=/; HttpOnly"}

    def authenticate(self, request, trace):
        session_id = self.session_key(request)
        if not session_id:
            raise unauthorized("no session: log in first (POST /login)", error=None)
        with self._lock:
            self._forget_idle_sessions()
            session = self._held(session_id, route_key(request), "unknown session: this instance does not hold "
                                 "it (it lives on another instance, or was lost); log in again")
            session["last_seen"] = time.monotonic()
        trace.step("look up session in memory")
        return {"user": session["user"], "session": session_id}

    def logout(self, principal, trace):
        with self._lock:
            self._held(principal["session"], principal["user"], "session ended; log in again")
            self.sessions.pop(principal["session"], None)
            self.transfer.note_change(principal["session"])
        trace.step("delete session from memory")

    def _held(self, session_id, key, unknown):
        """The session, from under the lock: wait while it is on its way to a peer; if it left (or
        ``key`` belongs to another instance now), a 421 naming where; if nobody has it, 401 ``unknown``."""
        self.transfer.wait_while_moving(session_id)
        if session_id in self.moved:
            raise self.transfer.redirect(self.moved[session_id])
        session = self.sessions.get(session_id)
        if session is None:
            owner = self.transfer.plan.elsewhere(key) if self.transfer.plan else None
            if owner is not None:
                raise self.transfer.redirect(owner)
            raise unauthorized(unknown)
        return session

    def _session(self, principal):
        """The session again, after ``authenticate`` (it may have moved, ended or expired since)."""
        return self._held(principal["session"], principal["user"], "session ended; log in again")

    def load_cart(self, principal, trace):
        with self._lock:
            cart = self._session(principal)["cart"]
        trace.step("read cart from memory")
        return cart

    def change_cart(self, principal, change, trace):
        with self._lock:
            session = self._session(principal)
            session["cart"] = change(session["cart"])
            cart = session["cart"]
            self.transfer.note_change(principal["session"])
        trace.step("change cart in memory")
        return cart

    def held_state(self):
        """The walk every application gets, under this shop's lock so no request changes the dict meanwhile."""
        with self._lock:
            self._forget_idle_sessions()        # an expired session is no longer held
            return super().held_state()

    def _forget_idle_sessions(self):
        cutoff = time.monotonic() - self.session_ttl_s
        for session_id in [sid for sid, s in self.sessions.items()
                           if s["last_seen"] < cutoff and sid not in self.transfer.moving]:
            del self.sessions[session_id]
            self.transfer.note_change(session_id)

    # -- sessions as data, for moving them (transfer.py calls these under the lock) ----------
    def export(self, session_id):
        """One session as JSON-able data (None if it is gone): user, cart and how long it has been idle."""
        session = self.sessions.get(session_id)
        if session is None:
            return None
        return {"user": session["user"], "cart": session["cart"],
                "idle_s": max(0.0, time.monotonic() - session["last_seen"])}

    def take(self, sessions):
        """Keep sessions sent by a peer ({id: data, or None for one the peer deleted}); 400 if malformed."""
        checked = {sid: _checked_session(sid, data) for sid, data in sessions.items()}
        for sid, data in checked.items():
            self.moved.pop(sid, None)           # a session that comes back is here again
            if data is None:
                self.sessions.pop(sid, None)
            else:
                self.sessions[sid] = {"user": data["user"], "cart": data["cart"],
                                      "last_seen": time.monotonic() - data["idle_s"]}


def _checked_session(session_id, data):
    """``data`` for one imported session, or a 400 saying what is wrong with it."""
    if not isinstance(session_id, str) or not NAME_PATTERN.match(session_id):
        raise HTTPError(400, f"bad session id {session_id!r}")
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("user"), str) or not NAME_PATTERN.match(data["user"]):
        raise HTTPError(400, f"session {session_id!r} needs a 'user' name")
    idle = data.get("idle_s")
    if isinstance(idle, bool) or not isinstance(idle, (int, float)) or not 0 <= idle < 10 ** 9:
        raise HTTPError(400, f"session {session_id!r} needs 'idle_s', the seconds since it was last used")
    cart = data.get("cart")
    if cart is not None:
        items, keys = (cart.get("items"), cart.get("keys")) if isinstance(cart, dict) else (None, None)
        good_items = isinstance(items, dict) and all(
            isinstance(sku, str) and NAME_PATTERN.match(sku) and isinstance(qty, int) and not isinstance(qty, bool)
            and 0 < qty <= MAX_QTY * 1000 for sku, qty in items.items())
        if not good_items or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise HTTPError(400, f"session {session_id!r} has a malformed cart")
    return data
