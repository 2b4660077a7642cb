"""Retries, and why a write must be safe to repeat before anyone repeats it.

Across a network, "no answer" does not mean "not done". A client that times
out and sends the same POST again may add the item twice: the first request
was applied, only its answer was late (chapter 04, claim E6). The fix is an
``Idempotency-Key``: the client sends the same key with every copy of one
request, and the shop applies a key only once.

The balancer faces the same question when an instance dies with a request
inside it (chapter 05, claim R2). A read, or a write with a key, it can
safely send to another instance; a plain POST it must not, so the client
gets 502 "outcome unknown" and has to look for itself.
``kill_mid_request`` stages exactly that moment.
"""

import http.client
import json
import threading
import time
import urllib.parse
import uuid

from ..engine.waiting import wait_until
from ..errors import InvalidArgumentError

__all__ = ["RetryingClient", "InFlightOutcome", "kill_mid_request", "wait_until_idle"]


def _post(address, path, payload, headers, timeout):
    """One POST; returns (status, headers, body) or raises OSError on a timeout or a cut connection."""
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        conn.request("POST", path, body=json.dumps(payload).encode(),
                     headers=dict(headers, **{"Content-Type": "application/json"}))
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), json.loads(answer.read() or b"{}")
    except http.client.HTTPException as exc:
        raise OSError(f"broken answer: {exc.__class__.__name__}") from None
    finally:
        conn.close()


class RetryingClient:
    """A shopper's app that gives up waiting after a timeout and sends the same request again.

    ``timeouts`` lists how long each attempt waits (one attempt per entry).
    With ``use_key`` every copy of one request carries the same Idempotency-Key.
    """

    def __init__(self, url, credential, timeouts=(0.1, 2.0), use_key=True):
        if not timeouts or any(not isinstance(t, (int, float)) or t <= 0 for t in timeouts):
            raise InvalidArgumentError(f"timeouts must be positive numbers of seconds, like (0.1, 2.0); "
                                       f"got {timeouts!r}")
        parts = urllib.parse.urlsplit(url)
        self.address = (parts.hostname, parts.port)
        self.credential, self.timeouts, self.use_key = credential, tuple(timeouts), use_key
        self.attempts = []                   # what happened to each attempt of the last request

    @classmethod
    def login(cls, url, name, timeouts=(0.1, 2.0), use_key=True):
        parts = urllib.parse.urlsplit(url)
        status, _, body = _post((parts.hostname, parts.port), "/login", {"user": name}, {}, timeout=10)
        if status != 200:
            raise InvalidArgumentError(f"{name} could not log in at {url}: {body.get('error')}")
        return cls(url, body["token"], timeouts, use_key)

    def add(self, sku, qty=1):
        """Add ``qty`` of ``sku``, retrying on timeouts; returns the cart from the answer, or None if none came."""
        headers = {"Authorization": f"Bearer {self.credential}"}
        if self.use_key:
            headers["Idempotency-Key"] = uuid.uuid4().hex     # one key for every copy of this one request
        self.attempts = []
        for number, timeout in enumerate(self.timeouts, start=1):
            try:
                status, _, body = _post(self.address, "/cart/items", {"sku": sku, "qty": qty}, headers, timeout)
            except OSError:
                self.attempts.append({"attempt": number, "outcome": f"no answer within {timeout} s"})
                continue
            self.attempts.append({"attempt": number, "outcome": f"HTTP {status}"})
            if status == 200:
                return body["items"]
        return None


def wait_until_idle(shop, timeout=10.0):
    """Wait until the balancer has no request out at any instance (a timed-out one may still be running)."""
    return wait_until(lambda: all(pooled.in_flight == 0 for pooled in shop.balancer.instances()), timeout,
                      interval=0.01)


class InFlightOutcome:
    """What the client got for a request whose instance was killed while working on it."""

    def __init__(self, killed, status, body, headers):
        self.killed = killed                                  # the instance that died mid-request
        self.status = status                                  # 200 (retried elsewhere) or 502 (unknown)
        self.outcome = "done" if status == 200 else body.get("outcome", "failed")
        self.answered_by = headers.get("X-Instance")          # who finally answered, if anyone
        self.retried = headers.get("X-Retried-From") == killed
        self.error = body.get("error")

    def __repr__(self):
        return f"InFlightOutcome(status={self.status}, outcome={self.outcome!r}, retried={self.retried})"


def kill_mid_request(shop, user, sku="book", qty=1, use_key=True):
    """Send one add through the balancer, kill the instance while it works on it, report what came back.

    The shop must be slow (``service_ms`` of 200 or more) so the request is
    surely still inside the instance when the kill lands. The killed
    instance stays dead; ``shop.restart(outcome.killed)`` brings it back.
    """
    if shop.service_ms < 200:
        raise InvalidArgumentError(f"the shop answers in {shop.service_ms} ms, too fast to catch a request in "
                                   "flight; use a slow one, e.g. Cluster.stateless(service_ms=400)")
    parts = urllib.parse.urlsplit(shop.url)
    headers = {"Authorization": f"Bearer {user.credential}"}
    if use_key:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    result = {}

    def send():
        try:
            result["answer"] = _post((parts.hostname, parts.port), "/cart/items", {"sku": sku, "qty": qty},
                                     headers, timeout=10)
        except OSError as exc:
            result["answer"] = (0, {}, {"error": f"no answer: {exc}", "outcome": "unknown"})

    if not wait_until_idle(shop):
        raise InvalidArgumentError("the shop is busy with other requests; stop traffic first")
    alive = [i for i in shop.instances if i.alive]
    before = {i.name: i.stats["in_flight"] for i in alive}     # health checks may be running already
    sender = threading.Thread(target=send, name="request-in-flight", daemon=True)
    sender.start()
    deadline, busy = time.monotonic() + 5, None
    while time.monotonic() < deadline:                          # the balancer sent it, and it has arrived
        busy = next((i.name for i in alive if shop.balancer.instance(i.name).in_flight
                     and i.stats["in_flight"] > before[i.name]), None)
        if busy is not None:
            break
        time.sleep(0.002)
    if busy is not None:
        shop.kill(busy)
    sender.join()
    status, answer_headers, body = result["answer"]
    return InFlightOutcome(busy, status, body, answer_headers)
