"""A virtual user: a browser in miniature that checks its own cart.

A ``User`` holds one keep-alive connection to the balancer, a cookie jar,
the credential it got at login (a signed token from the stateless shop, a
session id from the stateful one) and, crucially, its own belief about what
is in its cart. After every action it compares the cart the shop returns
with what it expects, so the ledger counts what a *person* would notice (an
emptied cart, a session that vanished, an item added twice), not only HTTP
errors.

Every action ends in one of four outcomes:

* ``ok``: done, and the cart is what the user expected;
* ``failed``: the shop said it did not do it (a 503: nothing applied);
* ``unknown``: the request died with an instance and nobody can say whether
  it was applied; the user looks at the cart to find out;
* ``session_lost``: the shop no longer knows the user; they log in again,
  and whatever was in the cart is counted as lost.

The counts go to a ``Ledger`` (``ledger.py``); ``traffic.py`` runs many
users at once. Every chapter uses it.
"""

import collections
import contextlib
import http.client
import json
import time
import urllib.parse
import uuid

from ..errors import LabError
from .ledger import Ledger

__all__ = ["User", "SKUS", "LoginFailed"]

SKUS = ("book", "pen", "mug", "lamp", "desk", "chair")


class LoginFailed(LabError, ConnectionError):
    """The shop did not log the user in (it is down, or refused); the message says what it answered."""


class User:
    """A logged-in client going through the balancer (``cluster.user("alice")``).

    ``add``, ``remove`` and ``cart`` return the cart as ``{sku: qty}``.
    ``session_lost`` turns True when the shop forgot this user; ``lost_items``
    counts what vanished with it. ``last_instance`` names who served the last
    request. ``credential`` is what login returned (a JWT or a session id);
    it goes with every request as ``Authorization: Bearer``.
    """

    def __init__(self, url, name, ledger=None, idempotent=True, timeout=5.0):
        parts = urllib.parse.urlsplit(url)
        self.name = name
        self.ledger = ledger if ledger is not None else Ledger()
        self.idempotent = idempotent          # send an Idempotency-Key with every add
        self._address = (parts.hostname, parts.port)
        self._timeout = timeout
        self._conn = None
        self.cookies = {}
        self.credential = None
        self.expected = {}                    # what this user believes is in the cart
        self.session_lost = False
        self.lost_items = 0
        self.last_instance = None
        self.last_version = None
        self.instances_seen = collections.Counter()
        self._steps = None                    # while tracing: the steps every answer reported

    # -- the public actions ------------------------------------------------------
    def login(self):
        # Logging in twice does no harm, so say the request is safe to retry (the balancer may resend it).
        status, body = self._send("POST", "/login", {"user": self.name}, key=self._new_key())
        if status != 200:
            raise LoginFailed(f"{self.name} could not log in: {body.get('error')}")
        self.credential = body["token"]             # the JSON field is "token" on both shops
        return self

    def look_at_cart(self):
        """Believe what the shop holds now (a returning user's cart may not be empty); not an action."""
        status, body = self._send("GET", "/cart")
        self.expected = dict(body["items"]) if status == 200 else {}
        return self

    def logout(self):
        status, _ = self._send("POST", "/logout")
        self.credential = None
        self.cookies.pop("session", None)
        return status == 200

    def add(self, sku, qty=1):
        """Add ``qty`` of ``sku``; returns the cart the shop now holds."""
        key = self._new_key() if self.idempotent else None
        return self._act("add", "POST", "/cart/items", {"sku": sku, "qty": qty}, key,
                         lambda cart: {**cart, sku: cart.get(sku, 0) + qty})

    def remove(self, sku):
        return self._act("remove", "DELETE", f"/cart/items/{sku}", None, None,
                         lambda cart: {k: v for k, v in cart.items() if k != sku})

    def cart(self):
        return self._act("view", "GET", "/cart", None, None, lambda cart: cart)

    def whoami(self):
        return self._send("GET", "/whoami")[1]

    def trace(self):
        """One GET /cart with ``X-Trace: 1``: the steps the request went through."""
        return self._send("GET", "/cart", headers={"X-Trace": "1"})[1].get("trace", [])

    @contextlib.contextmanager
    def tracing(self):
        """``with alice.tracing() as steps:`` every request inside asks for ``X-Trace: 1``, and the steps
        each answer reports are added to ``steps``, in order: who did what, for every action."""
        self._steps = steps = []
        try:
            yield steps
        finally:
            self._steps = None

    @staticmethod
    def _new_key():
        """An Idempotency-Key: unique per action, reused only when the same action is retried."""
        return uuid.uuid4().hex

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __repr__(self):
        return f"User({self.name!r}, cart={self.expected})"

    # -- checking the answer against what the user expects --------------------------
    def _act(self, action, method, path, payload, key, expect):
        """Do one action and record its outcome; ``expect(cart)`` is the cart the action should leave."""
        started = time.perf_counter()
        status, body = self._send(method, path, payload, key=key)
        for _retry in range(3):                    # a forgotten session: log in again and redo the action
            if status != 401 or self.credential is None:
                break
            self._session_vanished()
            try:
                self.login()
            except LoginFailed as exc:
                status, body = 503, {"error": str(exc), "outcome": "not_processed"}
                break
            status, body = self._send(method, path, payload, key=key)
        self.ledger.add(actions=1)
        self.ledger.served(self.name, self.last_instance, self.last_version,
                           (time.perf_counter() - started) * 1000)
        if status == 200:
            self._compare(body["items"], expect(self.expected))
            self.ledger.add(ok=1)
        elif status in (401, 503) or body.get("outcome") == "not_processed":
            self.ledger.add(failed=1)              # the shop says nothing was applied
        else:
            self.ledger.add(unknown=1)             # maybe applied, maybe not
            self._find_out(expect)
        return dict(self.expected)

    def _find_out(self, expect):
        """After an unknown outcome, look at the cart to learn whether the action was applied.

        If the cart is what the action would have made, it was applied: expect
        that. Otherwise expect the cart as it was before, so that ``_compare``
        counts whatever differs from it as lost or duplicated items. If even the
        look fails, the user keeps believing what they believed.
        """
        status, body = self._send("GET", "/cart")
        if status != 200:
            return
        actual, applied = body["items"], expect(self.expected)
        self._compare(actual, applied if actual == applied else self.expected)

    def _compare(self, actual, expected):
        """Count items that vanished or doubled, then believe the shop (the user sees their cart)."""
        lost = sum(max(0, qty - actual.get(sku, 0)) for sku, qty in expected.items())
        extra = sum(max(0, qty - expected.get(sku, 0)) for sku, qty in actual.items())
        if lost:
            self.lost_items += lost
            self.ledger.add(lost_items=lost)
        if extra:
            self.ledger.add(duplicated_items=extra)
        self.expected = dict(actual)

    def _session_vanished(self):
        """The shop no longer knows us: count what was lost (the caller logs in again)."""
        self.session_lost = True
        lost = sum(self.expected.values())
        self.lost_items += lost
        self.ledger.lost_session(self.name, lost)
        self.expected = {}
        self.cookies.pop("session", None)
        self.credential = None

    # -- HTTP ---------------------------------------------------------------------
    def _send(self, method, path, payload=None, key=None, headers=None):
        """One request; returns (status, JSON body). A connection failure reads as status 0."""
        headers = dict(headers or {})
        headers["X-Route-Key"] = self.name
        if self._steps is not None:
            headers["X-Trace"] = "1"
        if self.credential:
            headers["Authorization"] = f"Bearer {self.credential}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if key:
            headers["Idempotency-Key"] = key
        body = json.dumps(payload).encode() if payload is not None else None
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._conn is None:
            self._conn = http.client.HTTPConnection(*self._address, timeout=self._timeout)
        try:
            self._conn.request(method, path, body=body, headers=headers)
            answer = self._conn.getresponse()
            raw = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return 0, {"error": f"connection failed: {exc.__class__.__name__}", "outcome": "unknown"}
        for header, value in answer.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";")[0]
        self.last_instance = answer.getheader("X-Instance")
        self.last_version = answer.getheader("X-Version")
        if self.last_instance:
            self.instances_seen[self.last_instance] += 1
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            return answer.status, {"error": "answer was not JSON"}
        if self._steps is not None and isinstance(body, dict):
            self._steps.extend(body.get("trace", []))
        return answer.status, body
