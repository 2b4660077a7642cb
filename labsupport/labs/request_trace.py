"""One request followed through the eight steps of a stateless web API.

The article walks a request from the client to the response: send it with a
token, the balancer picks any instance, the instance checks the token,
reads the database, does the work, writes the database, answers, and keeps
nothing. ``trace_request(shop, user)`` sends one real "add to cart" through
the running cluster and fills each of the eight rows with something recorded
while that request ran, never with a sentence written in advance:

* the client's own record of what it sent, and of the status it got back;
* the balancer's per-instance request counters, read before and after: the
  one that went up by one is the instance the balancer chose;
* the events the instance recorded as it went (``X-Trace: 1``; see
  ``shop.api.Trace``): the token check, the cart read inside the database
  transaction, the change it made (the items before and after), the write
  and commit, the response. Reading and writing are one transaction but two
  events, so they are two rows; a step with no event says "no event recorded";
* right after the answer, the instance's memory, measured by walking its
  application object (``instance.held_state()``).

Chapter 05, claim R1.
"""

import http.client
import json
import urllib.parse
import uuid

from ..engine.tables import ResultTable
from ..errors import InvalidArgumentError
from ..shop.stateless import StatelessShop

__all__ = ["STEPS", "RequestTrace", "trace_request"]

STEPS = (
    "client sends the request with its JWT",
    "load balancer hands it to any instance",
    "instance checks the token",
    "instance reads the user's data from the database",
    "instance runs the business logic",
    "instance writes the result to the database",
    "instance sends the response",
    "instance keeps nothing about the user",
)

# Which of the instance's recorded events (``Trace`` step names) stands for steps 3 to 7.
EVENTS = {
    STEPS[2]: ("verify token signature", "check token denylist"),
    STEPS[3]: ("read cart (transaction open)",),
    STEPS[4]: ("change the cart",),
    STEPS[5]: ("write cart and commit",),
    STEPS[6]: ("respond",),
}
NOT_RECORDED = "no event recorded"


class RequestTrace(ResultTable):
    """The eight steps of one request: ``steps`` (deterministic rows), ``instance``, ``instance_steps`` (with ms).

    ``held`` is the ``HeldState`` measured on the instance right after it answered;
    ``chosen`` maps each instance to how many requests the balancer handed it meanwhile.
    """

    def __init__(self, steps, instance, status, instance_steps, cart, held, chosen):
        self.steps = steps
        self.instance = instance
        self.status = status
        self.instance_steps = instance_steps
        self.cart = cart
        self.held = held
        self.chosen = chosen

    def _table_data(self):
        rows = [[number, step, where, evidence] for number, (step, where, evidence) in enumerate(self.steps, 1)]
        return "One add-to-cart request, step by step", ["#", "step", "where", "what was recorded"], rows


def _send(shop, user, sku, qty):
    """Send the request; returns (what the client sent, in words; status; X-Instance; body)."""
    parts = urllib.parse.urlsplit(shop.url)
    token, payload = user.credential, {"sku": sku, "qty": qty}
    sent = f"POST /cart/items {payload} with 'Authorization: Bearer <{user.name}'s JWT>'"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", "/cart/items", body=json.dumps(payload).encode(),
                     headers={"Authorization": f"Bearer {token}", "X-Trace": "1",
                              "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"})
        answer = conn.getresponse()
        return sent, answer.status, answer.getheader("X-Instance"), json.loads(answer.read() or b"{}")
    finally:
        conn.close()


def _handed_out(shop):
    """The balancer's own count of requests handed to each instance."""
    return {pooled.name: pooled.requests for pooled in shop.balancer.instances()}


def _event_rows(traced):
    """Steps 3 to 7 from the instance's events: (step, where, evidence), in the article's order."""
    rows = []
    for step, names in EVENTS.items():
        events = [event for event in traced if event["step"] in names]
        where = " + ".join(dict.fromkeys(event["where"] for event in events)) or "-"
        evidence = "; ".join(event["step"] + (f": {event['detail']}" if "detail" in event else "")
                             for event in events)
        rows.append((step, where, evidence or NOT_RECORDED))
    return rows


def trace_request(shop, user, sku="book", qty=1):
    """Add ``qty`` of ``sku`` to ``user``'s cart through the balancer and return its ``RequestTrace``."""
    if not issubclass(shop.shop_class, StatelessShop):
        raise InvalidArgumentError("the eight steps describe the stateless API; use Cluster.stateless()")
    before = _handed_out(shop)
    sent, status, instance, body = _send(shop, user, sku, qty)
    if status != 200:
        raise InvalidArgumentError(f"the request failed with {status}: {body.get('error')}")
    after = _handed_out(shop)
    chosen = {name: after[name] - before.get(name, 0) for name in after if after[name] != before.get(name, 0)}
    held = shop.instance(instance).held_state()          # measured now, by walking the application object
    balancer = ", ".join(f"{name} +{count}" for name, count in sorted(chosen.items())) or "no count went up"
    rows = _event_rows(body.get("trace", []))
    rows[-1] = (rows[-1][0], rows[-1][1], f"{rows[-1][2]}; the client received HTTP {status}")
    steps = [
        (STEPS[0], "client", sent),
        (STEPS[1], "load balancer", f"{shop.policy}; requests it handed out: {balancer}"),
        *rows,
        (STEPS[7], instance, f"walked its memory: entries held {held.entries}; "
                                   f"left out as shared: {', '.join(held.left_out) or 'nothing'}"),
    ]
    return RequestTrace(steps, instance, status, body.get("trace", []), body.get("items", {}), held, chosen)
