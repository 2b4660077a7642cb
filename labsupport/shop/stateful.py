"""The same shop, keeping sessions and carts in the instance's own memory.

Login creates a session in a dict inside *this* instance and hands the
client a cookie naming it. Later requests work only if they reach the same
instance: another instance has never heard of the session and answers 401,
and if this instance dies or restarts, the dict, and every cart in it, is
gone. That is the whole lesson of chapter 02: fast, simple, and tied to one
process. Sticky sessions in the balancer keep a user on "their" instance.

The class says so to the rest of the lab: it runs behind sticky sessions, a
drain waits until its sessions end, and it shows pink (it holds state). How
many sessions it holds is not its own count: ``held_state()`` walks the
object like any other application and finds them in ``self.sessions``.
"""

import secrets
import threading
import time

from .api import ShopAPI, unauthorized

__all__ = ["StatefulShop", "SESSION_COOKIE"]

SESSION_COOKIE = "session"


class StatefulShop(ShopAPI):
    """Shop API with every session and cart in ``self.sessions``, a plain dict."""

    kind = "stateful"
    default_policy = "sticky"           # a user must come back to the instance holding their session
    uses_shared_stores = False
    drain_waits_for_sessions = True     # draining ends when the last session does (or at the timeout)
    drain_timeout_s = 10.0
    colour_role = "holds_state"
    credential_kind = "session cookie"
    sessions_attribute = "sessions"
    memory_note = "one session per user, cart inside"
    best_for = "databases, message brokers, live real-time services, session-based apps"   # the article's advice
    not_state = {"session_ttl_s": "configuration", "_lock": "a lock guarding the sessions"}

    def __init__(self, session_ttl_s=300.0):
        self.session_ttl_s = session_ttl_s      # idle sessions are forgotten after this long
        self.sessions = {}                      # session id -> {"user", "cart", "last_seen"}
        self._lock = threading.Lock()

    @classmethod
    def for_cluster(cls, cluster):
        return cls(session_ttl_s=cluster.session_ttl_s)

    def login(self, user, trace):
        session_id = secrets.token_urlsafe(16)
        with self._lock:
            self.sessions[session_id] = {"user": user, "cart": None, "last_seen": time.monotonic()}
        trace.step("create session in this instance's memory")
        return session_id, {"Set-Cookie": f"{SESSION_COOKIE}={session_id}; Path=/; HttpOnly"}

    def authenticate(self, request, trace):
        session_id = self.bearer_token(request) or request.cookie(SESSION_COOKIE)
        if not session_id:
            raise unauthorized("no session: log in first (POST /login)", error=None)
        with self._lock:
            self._forget_idle_sessions()
            session = self.sessions.get(session_id)
            if session is None:
                raise unauthorized("unknown session: this instance does not hold it "
                                   "(it lives on another instance, or was lost); log in again")
            session["last_seen"] = time.monotonic()
        trace.step("look up session in memory")
        return {"user": session["user"], "session": session_id}

    def logout(self, principal, trace):
        with self._lock:
            self.sessions.pop(principal["session"], None)
        trace.step("delete session from memory")

    def _session(self, principal):
        session = self.sessions.get(principal["session"])
        if session is None:                     # logged out (or expired) since authenticate()
            raise unauthorized("session ended; log in again")
        return session

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
        trace.step("change cart in memory")
        return cart

    def held_state(self):
        """The walk every application gets, under this shop's lock so no request changes the dict meanwhile."""
        with self._lock:
            self._forget_idle_sessions()        # an expired session is no longer held
            return super().held_state()

    def _forget_idle_sessions(self):
        cutoff = time.monotonic() - self.session_ttl_s
        for session_id in [sid for sid, s in self.sessions.items() if s["last_seen"] < cutoff]:
            del self.sessions[session_id]
