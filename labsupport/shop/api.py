"""The shop's HTTP API, shared by both shops so every comparison is like for like.

The routes, the input checks and the shape of every answer live here. What
differs between the two shops is only *where the state is*: a subclass says
how to log a user in, how to recognise them on the next request, and where
their cart is kept (``stateless.py``: a signed token and a database;
``stateful.py``: a session in the instance's memory). What a login hands the
client is its *credential*: a signed token from one shop, a session id from
the other (the JSON field is called "token" in both).

Each shop class also carries what the rest of the lab needs to know about it,
so nothing elsewhere asks "is this the stateful one?": the balancing policy
it is meant to run behind, whether draining an instance must wait for its
sessions to end and for how long, whether its sessions can be handed to a
peer (``moves_sessions``), how a canary picks its share (``canary_split``:
any request, or whole users), how its instances look on the dashboard
and the diagram (``colour_role``), and the attribute that holds sessions in
memory, if any (``sessions_attribute``).

| request                      | answer                                  |
| ---------------------------- | --------------------------------------- |
| POST /login {"user"}         | {"token", "user"}                       |
| POST /logout                 | {"user", "logged_out": true}            |
| GET /cart                    | {"user", "items": {sku: qty}}           |
| POST /cart/items {"sku","qty"} | the cart (Idempotency-Key honoured)   |
| DELETE /cart/items/<sku>     | the cart                                |
| GET /whoami                  | {"user", "instance", "version"}         |
| GET /health                  | {"status": "ok"} or 503                 |
| GET /health/live             | {"status": "alive"}                     |

``/health`` is a *readiness* check: it answers 503 while a store the shop
needs is down. ``/health/live`` is a *liveness* check: it answers whenever the
process does, and asks no dependency (chapter 04: which one a balancer should
use, and why).

Send ``X-Trace: 1`` and the answer lists the steps the request went
through, with who did them and how long they took (chapter 01, claim S3).
Each step is an event recorded at the moment it happened, by the code that
did it (``Trace``): a shop's read, its change and its write of a cart are
three events even when one transaction holds them (chapter 05, claim R1).
A request without a usable credential gets 401 with a ``WWW-Authenticate:
Bearer`` challenge, as RFC 6750 asks (``unauthorized``).
"""

import re
import time

from ..checks import is_whole_number
from ..engine.application import Application
from ..engine.instance import HTTPError, Response
from ..engine.policies import SplitByRequest
from ..state.stores import StoreUnavailable

__all__ = ["ShopAPI", "Trace", "NAME_PATTERN", "MAX_QTY", "unauthorized"]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_QTY = 1000
REMEMBERED_KEYS = 100           # how many Idempotency-Keys a cart remembers


class Trace:
    """Records the steps of one request, as they happen, when the client asked for them.

    ``step(what, where)`` is called by the code that has just done ``what``, so
    each entry is an event of this request, in the order the events happened:
    ``where`` says who did it (this instance, by default, or a store's kind),
    ``ms`` how long since the previous event, and ``detail`` (optional) what the
    step found or changed. ``instance`` is the name of the instance serving the
    request: a store call names it as its ``caller``.
    """

    def __init__(self, enabled, instance):
        self.enabled = enabled
        self.instance = instance
        self.steps = []
        self._last = time.perf_counter()

    def step(self, what, where=None, detail=None):
        if self.enabled:
            now = time.perf_counter()
            event = {"step": what, "where": where or self.instance, "ms": round((now - self._last) * 1000, 3)}
            if detail is not None:
                event["detail"] = detail
            self.steps.append(event)
            self._last = now

    def change(self, change, store_kind):
        """Wrap a cart ``change`` so that, run inside a store's transaction, it records three events.

        The store calls the wrapped change with the value it has just read: that
        moment is the read (``store_kind``); the change itself runs here, on the
        instance (the business logic, with the items before and after). The write
        is recorded by the caller once the store's ``update`` has returned.
        """
        def traced(cart):
            self.step("read cart (transaction open)", where=store_kind)
            before = dict((cart or {}).get("items", {}))
            changed = change(cart)
            self.step("change the cart", detail=f"{before} -> {dict(changed['items'])}")
            return changed
        return traced


def _text(data, field):
    value = data.get(field)
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise HTTPError(400, f"field {field!r} must be a string of 1-64 letters, digits, '.', '_' or '-'; got {value!r}")
    return value


def unauthorized(message, error="invalid_token"):
    """A 401 with the challenge RFC 6750 asks for: ``WWW-Authenticate: Bearer``, plus
    ``error="invalid_token"`` when a credential was sent and is no good (bad signature,
    expired, revoked, an unknown session). ``error=None`` when none was sent at all."""
    challenge = "Bearer" if error is None else f'Bearer error="{error}"'
    return HTTPError(401, message, headers={"WWW-Authenticate": challenge})


def _quantity(data):
    qty = data.get("qty", 1)
    if not is_whole_number(qty, 1, MAX_QTY):
        raise HTTPError(400, f"field 'qty' must be a whole number from 1 to {MAX_QTY}; got {qty!r}")
    return qty


def add_to_cart(cart, sku, qty, key):
    """The cart after adding ``qty`` of ``sku``, unless request ``key`` was applied already.

    ``cart`` is ``{"items": {...}, "keys": [...]}``. Remembering the last
    Idempotency-Keys inside the cart makes "apply once" and "change the cart"
    one atomic write: a retried request cannot add the item twice.
    """
    cart = cart or {"items": {}, "keys": []}
    if key and key in cart["keys"]:
        return cart
    cart["items"][sku] = cart["items"].get(sku, 0) + qty
    if key:
        cart["keys"] = (cart["keys"] + [key])[-REMEMBERED_KEYS:]
    return cart


def remove_from_cart(cart, sku):
    cart = cart or {"items": {}, "keys": []}
    cart["items"].pop(sku, None)
    return cart


class ShopAPI(Application):
    """Routes and validation. Subclasses implement the state-keeping methods below and set the traits."""

    kind = "shop"                       # a readable label: "stateless", "stateful"

    # -- what a subclass says about itself (read by the cluster, the dashboard, the diagram) --
    default_policy = "round_robin"      # the balancing policy this shop is meant to run behind
    uses_shared_stores = False          # does it need the cluster's database, cache and token issuer?
    drain_waits_for_sessions = False    # must a drain wait until the instance holds no session?
    drain_timeout_s = 5.0               # how long a drain waits at most
    moves_sessions = False              # can its sessions be handed to a peer (a drain with hand-off)?
    canary_split = SplitByRequest       # which clients a canary takes (engine.policies: by request, by user)
    colour_role = "disposable"          # dashboard and diagram: "disposable" (green) or "holds_state" (pink)
    credential_kind = "credential"      # what a client sends with each request, in a diagram's words
    sessions_attribute = None           # the attribute holding sessions in memory, if any (found by the walk)
    memory_note = ""                    # one line for the dashboard tile, under what the instance holds
    best_for = ""                       # what the article recommends this kind of service for

    @classmethod
    def for_cluster(cls, cluster):
        """The application one new instance of ``cluster`` runs (a fresh one per start)."""
        raise NotImplementedError

    @staticmethod
    def session_key(request):
        """The key of the session ``request`` belongs to, for the balancer's table of moved sessions.

        None here: a shop whose instances hold no sessions has none to move.
        """
        return None

    # -- what a subclass decides: where the state lives ------------------------
    def login(self, user, trace):
        """Start a session for ``user``; returns (credential, extra response headers)."""
        raise NotImplementedError

    def authenticate(self, request, trace):
        """Who sent this request (a ``dict`` with at least "user"), or a 401 (``unauthorized``)."""
        raise NotImplementedError

    def logout(self, principal, trace):
        raise NotImplementedError

    def load_cart(self, principal, trace):
        raise NotImplementedError

    def change_cart(self, principal, change, trace):
        """Apply ``change(cart) -> cart`` atomically and return the new cart."""
        raise NotImplementedError

    def healthy(self):
        return True

    # -- the HTTP side ---------------------------------------------------------
    def handle(self, request, instance):
        trace = Trace(request.headers.get("X-Trace") == "1", instance.name)
        try:
            body = self._route(request, trace, instance)
        except StoreUnavailable as exc:
            raise HTTPError(503, f"{exc}; this instance cannot serve until it is back") from None
        trace.step("respond")
        if isinstance(body, Response):
            response = body
        else:
            response = Response(200, body)
        if trace.enabled:
            response.body = dict(response.body, trace=trace.steps)
        return response

    def _route(self, request, trace, instance):
        path, method = request.path.rstrip("/") or "/", request.method
        if path == "/health":
            self._allow(method, "GET", "HEAD")
            if not self.healthy():
                raise HTTPError(503, "a dependency is down")
            return {"status": "ok"}
        if path == "/health/live":                 # liveness: this process answers; no dependency is asked
            self._allow(method, "GET", "HEAD")
            return {"status": "alive"}
        if path == "/login":
            self._allow(method, "POST")
            user = _text(request.json(), "user")
            credential, headers = self.login(user, trace)
            return Response(200, {"token": credential, "user": user}, headers=headers)
        if path == "/whoami":
            self._allow(method, "GET")
            principal = self.authenticate(request, trace)
            return {"user": principal["user"], "instance": instance.name, "version": instance.version}
        if path == "/logout":
            self._allow(method, "POST")
            principal = self.authenticate(request, trace)
            self.logout(principal, trace)
            return {"user": principal["user"], "logged_out": True}
        if path == "/cart":
            self._allow(method, "GET")
            principal = self.authenticate(request, trace)
            return self._cart_body(principal, self.load_cart(principal, trace))
        if path == "/cart/items":
            self._allow(method, "POST")
            data = request.json()
            sku, qty = _text(data, "sku"), _quantity(data)
            principal = self.authenticate(request, trace)
            key = request.headers.get("Idempotency-Key")
            if key is not None and not NAME_PATTERN.match(key):
                raise HTTPError(400, "Idempotency-Key must be 1-64 letters, digits, '.', '_' or '-'")
            cart = self.change_cart(principal, lambda c: add_to_cart(c, sku, qty, key), trace)
            return self._cart_body(principal, cart)
        if path.startswith("/cart/items/"):
            self._allow(method, "DELETE")
            sku = path[len("/cart/items/"):]
            if not NAME_PATTERN.match(sku):
                raise HTTPError(400, f"bad sku {sku!r} in the path")
            principal = self.authenticate(request, trace)
            cart = self.change_cart(principal, lambda c: remove_from_cart(c, sku), trace)
            return self._cart_body(principal, cart)
        raise HTTPError(404, f"no route {path!r}; try GET /cart, POST /cart/items, GET /whoami")

    @staticmethod
    def _allow(method, *allowed):
        if method not in allowed:
            raise HTTPError(405, f"{method} is not allowed here; use {' or '.join(allowed)}",
                            headers={"Allow": ", ".join(allowed)})

    @staticmethod
    def _cart_body(principal, cart):
        return {"user": principal["user"], "items": dict((cart or {}).get("items", {}))}

    @staticmethod
    def bearer_token(request):
        auth = request.headers.get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None
