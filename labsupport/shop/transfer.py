"""Moving sessions between instances: the routes a stateful instance serves to its peers, and nobody else.

A session that lives in one instance's memory is lost with that instance,
unless the instance sends it somewhere first. Chapters 02 and 06 do exactly
that, over the same HTTP the users speak, with the cluster as the conductor
(like ``redis-cli --cluster reshard``, which asks each source node to
``MIGRATE`` its keys to a target node):

| request (with ``X-Cluster-Secret``)            | what the instance does                               |
| ---------------------------------------------- | ---------------------------------------------------- |
| GET /internal/sessions                         | lists the sessions it holds: id, key (the user), bytes |
| POST /internal/plan {"policy", "names"}        | from now on, a key hashed to another name is not mine |
| POST /internal/move {"to", "address", "sessions"} | freezes them, sends them to the peer, forgets them |
| POST /internal/copy {"to", "address"}          | sends what changed since the last copy, keeps serving |
| POST /internal/import {"sessions"}             | takes sessions from a peer                            |

**Move** (a drain with hand-off, rebalancing): while a session is on its way
its requests *wait*; once it has arrived the instance answers them ``421`` with
``X-Moved-To: <peer>``, and the balancer *forwards* them there. Nothing is
applied twice or lost: a change either happened before the session was
serialized (and travels with it) or waits and happens at the peer.

**Copy, then move** (blue-green with state synchronization): the first copy
sends every session and starts a *change log*, the set of sessions written
since; each later copy sends only those. The final move freezes the sessions
just long enough to send the last few changes: the switch waits for a
handful of sessions, not for all of them.

**A plan** says who owns which key (a hash ring of the new instance names),
for keys that are not here yet: a login whose user now belongs elsewhere, or
a session created elsewhere, gets the same ``421``.

The routes refuse anyone without the cluster's shared secret (``403``):
the users must never be able to dump or plant sessions. ``call`` is the small
HTTP client that instances and the cluster use to talk to these routes.
"""

import collections
import http.client
import json
import secrets
import threading
import time

from ..engine.instance import HTTPError
from ..engine.moved import MOVED_HEADER
from ..engine.policies import POLICIES, HashPolicy
from ..errors import LabError

__all__ = ["Transfer", "Plan", "TransferFailed", "call", "address_of", "moved_elsewhere", "INTERNAL_PREFIX",
           "SECRET_HEADER"]

INTERNAL_PREFIX = "/internal/"
SECRET_HEADER = "X-Cluster-Secret"
WAIT_CHECK_S = 0.5              # a waiting request re-checks its session this often
CALL_TIMEOUT_S = 10.0


class TransferFailed(LabError):
    """An internal call between instances failed: the peer refused it, or could not be reached."""


def moved_elsewhere(owner):
    """The answer for a request whose session (or key) belongs to ``owner`` now: 421, nothing applied."""
    return HTTPError(421, f"this instance does not hold that session any more; {owner} does",
                     headers={MOVED_HEADER: owner})


def address_of(instance):
    """An instance's address as the internal routes write it: "127.0.0.1:8001"."""
    return "%s:%d" % instance.address


def call(address, method, path, body, secret, timeout=CALL_TIMEOUT_S):
    """One internal request to the instance at ``address`` ("127.0.0.1:port"); returns (JSON answer, bytes sent).

    Raises ``TransferFailed`` when the instance cannot be reached or answers anything but 200.
    """
    host, _, port = address.partition(":")
    payload = json.dumps(body).encode() if body is not None else None
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers={SECRET_HEADER: secret, "Content-Type": "application/json"})
        answer = conn.getresponse()
        raw = answer.read()
    except (OSError, http.client.HTTPException) as exc:
        raise TransferFailed(f"{method} {path} to {address} failed: {exc.__class__.__name__}") from None
    finally:
        conn.close()
    try:
        data = json.loads(raw)
    except ValueError:
        data = {"error": "the answer was not JSON"}
    if answer.status != 200:
        raise TransferFailed(f"{method} {path} to {address} answered {answer.status}: {data.get('error')}")
    return data, len(payload or b"")


class Plan:
    """Who owns which key: ``policy`` (a hash policy's name) over ``names``; ``me`` is this instance."""

    def __init__(self, policy, names, me):
        if policy not in POLICIES or not issubclass(POLICIES[policy], HashPolicy):
            hashing = [name for name, cls in POLICIES.items() if issubclass(cls, HashPolicy)]
            raise HTTPError(400, f"a plan needs a hashing policy ({', '.join(hashing)}), not {policy!r}")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise HTTPError(400, "a plan needs 'names': a non-empty list of instance names")
        self.policy, self.names, self.me = POLICIES[policy].build(), names, me

    def elsewhere(self, key):
        """The instance that owns ``key`` if it is not this one, else None."""
        owner = self.policy.owner(key, self.names)
        return owner if owner != self.me else None


def _address(data):
    """The peer's address from a request body: loopback only."""
    address = data.get("address")
    host, _, port = address.partition(":") if isinstance(address, str) else ("", "", "")
    if host != "127.0.0.1" or not port.isdigit():
        raise HTTPError(400, f"'address' must look like '127.0.0.1:8001', not {address!r}")
    return address


def _peer(data):
    name = data.get("to")
    if not isinstance(name, str) or not name:
        raise HTTPError(400, "'to' must name the peer instance")
    return name


class Transfer:
    """One instance's side of moving sessions. The shop calls the first three methods under its own lock.

    ``moving`` holds the sessions on their way to a peer; ``changed`` is the change
    log (None while no copy is running); ``counts`` says what happened to requests
    meanwhile (waited, forwarded) and what was sent.
    """

    def __init__(self, secret, lock):
        self.secret = secret
        self.moving = set()
        self.plan = None
        self.changed = None
        self.copy_target = None
        self.counts = collections.Counter()
        self._arrived = threading.Condition(lock)

    # -- called by the shop, under its lock -----------------------------------------------
    def wait_while_moving(self, session_id):
        """Block until ``session_id`` is not on its way to a peer (the lock is released meanwhile)."""
        if session_id in self.moving:
            self.counts["waited"] += 1
            while session_id in self.moving:
                self._arrived.wait(WAIT_CHECK_S)

    def redirect(self, owner):
        """Count a request sent on to ``owner`` and return the 421 that sends it."""
        self.counts["forwarded"] += 1
        return moved_elsewhere(owner)

    def note_change(self, session_id):
        """Record a written session in the change log, if a copy is running."""
        if self.changed is not None:
            self.changed.add(session_id)

    # -- the routes -----------------------------------------------------------------------
    def handle(self, shop, request, me):
        """Serve one internal request for ``shop`` (instance ``me``); 403 without the cluster's secret."""
        sent = request.headers.get(SECRET_HEADER) or ""
        if not self.secret or not secrets.compare_digest(sent.encode(), self.secret.encode()):
            raise HTTPError(403, "internal route: only the cluster's own instances may call it")
        path, method = request.path, request.method
        routes = {"/internal/sessions": ("GET", lambda: self._sessions(shop)),
                  "/internal/plan": ("POST", lambda: self._set_plan(request.json(), me)),
                  "/internal/move": ("POST", lambda: self._move(shop, request.json())),
                  "/internal/copy": ("POST", lambda: self._copy(shop, request.json())),
                  "/internal/import": ("POST", lambda: self._import(shop, request.json()))}
        if path not in routes:
            raise HTTPError(404, f"no internal route {path!r}")
        allowed, serve = routes[path]
        if method != allowed:
            raise HTTPError(405, f"{method} is not allowed here; use {allowed}", headers={"Allow": allowed})
        return serve()

    def _sessions(self, shop):
        with self._arrived:
            listed = [{"id": sid, "key": session["user"], "bytes": len(json.dumps(shop.export(sid)))}
                      for sid, session in shop.sessions.items()]
            return {"sessions": listed, "counts": dict(self.counts)}

    def _set_plan(self, data, me):
        plan = None if data.get("names") is None else Plan(data.get("policy"), data.get("names"), me)
        with self._arrived:
            self.plan = plan
        return {"plan": None if plan is None else plan.names}

    def _import(self, shop, data):
        sessions = data.get("sessions")
        if not isinstance(sessions, dict):
            raise HTTPError(400, "'sessions' must be an object: session id -> session (or null: deleted)")
        with self._arrived:
            shop.take(sessions)
            for sid in sessions:
                self.note_change(sid)
            self.counts["imported"] += len(sessions)
        return {"imported": len(sessions)}

    def _copy(self, shop, data):
        """Send what changed since the last copy to the same peer (the first time: everything)."""
        to, address = _peer(data), _address(data)
        with self._arrived:
            fresh = self.changed is None or self.copy_target != to
            ids = list(shop.sessions) if fresh else list(self.changed)
            self.changed, self.copy_target = set(), to
            payload = {sid: shop.export(sid) for sid in ids}
        try:
            _, sent = call(address, "POST", "/internal/import", {"sessions": payload}, self.secret)
        except TransferFailed as exc:
            with self._arrived:
                self.changed.update(ids)           # not sent: send them with the next copy
            raise HTTPError(502, str(exc)) from None
        with self._arrived:
            self.counts["copied"] += len(payload)
            return {"copied": len(payload), "bytes": sent, "counts": dict(self.counts)}

    def _move(self, shop, data):
        """Freeze the sessions, send what the peer lacks, forget them here and point their users at the peer."""
        to, address, wanted = _peer(data), _address(data), data.get("sessions")
        if wanted != "all" and not (isinstance(wanted, list) and all(isinstance(s, str) for s in wanted)):
            raise HTTPError(400, "'sessions' must be a list of session ids, or \"all\"")
        with self._arrived:
            ids = [sid for sid in (list(shop.sessions) if wanted == "all" else wanted)
                   if sid in shop.sessions and sid not in self.moving]
            self.moving.update(ids)
            frozen_at = time.perf_counter()
            copied_already = self.changed is not None and self.copy_target == to
            if copied_already:                     # the peer has the rest: send the change log
                send = list(self.changed) if wanted == "all" else [sid for sid in ids if sid in self.changed]
            else:
                send = ids
            payload = {sid: shop.export(sid) for sid in send}
        try:
            _, sent = call(address, "POST", "/internal/import", {"sessions": payload}, self.secret)
        except TransferFailed as exc:
            with self._arrived:
                self.moving.difference_update(ids)
                self._arrived.notify_all()         # the waiting requests are served here after all
            raise HTTPError(502, str(exc)) from None
        with self._arrived:
            for sid in ids:
                shop.sessions.pop(sid, None)
                shop.moved[sid] = to
            if copied_already:
                self.changed.difference_update(send)
            self.moving.difference_update(ids)
            frozen_ms = (time.perf_counter() - frozen_at) * 1000
            self._arrived.notify_all()
            self.counts["moved"] += len(ids)
            self.counts["sent"] += len(payload)
            return {"moved": ids, "sent": len(payload), "bytes": sent, "frozen_ms": frozen_ms,
                    "counts": dict(self.counts)}
