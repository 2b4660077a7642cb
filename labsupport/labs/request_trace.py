"""One request followed through the eight steps of a stateless web API.

The article walks a request from the client to the response: send it with a
token, the balancer picks any instance, the instance checks the token,
reads the database, does the work, writes the database, answers, and keeps
nothing. ``trace_request(shop, user)`` sends one real "add to cart" through
the running cluster with ``X-Trace: 1``; the instance reports its own steps
(``shop.api.Trace``), and this module puts the client's and the balancer's
steps around them. Step 8 is not taken on trust: right after the answer the
instance's memory is measured (``instance.held_state()`` walks the
application object) and the row shows what the walk found. Chapter 05, claim R1.
"""

import http.client
import json
import urllib.parse
import uuid

from ..engine.tables import ResultTable
from ..errors import InvalidArgumentError
from ..shop.stateless import StatelessShop

__all__ = ["RequestTrace", "trace_request"]

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


class RequestTrace(ResultTable):
    """The eight steps of one request: ``steps`` (deterministic rows), ``instance``, ``instance_steps`` (with ms).

    ``held`` is the ``HeldState`` measured on the instance right after it answered.
    """

    def __init__(self, steps, instance, status, instance_steps, cart, held):
        self.steps = steps
        self.instance = instance
        self.status = status
        self.instance_steps = instance_steps
        self.cart = cart
        self.held = held

    def _table_data(self):
        rows = [[number, step, where, evidence] for number, (step, where, evidence) in enumerate(self.steps, 1)]
        return "One add-to-cart request, step by step", ["#", "step", "where", "what the lab saw"], rows


def _send(shop, user, sku, qty):
    parts = urllib.parse.urlsplit(shop.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", "/cart/items", body=json.dumps({"sku": sku, "qty": qty}).encode(),
                     headers={"Authorization": f"Bearer {user.credential}", "X-Trace": "1",
                              "Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"})
        answer = conn.getresponse()
        return answer.status, answer.getheader("X-Instance"), json.loads(answer.read() or b"{}")
    finally:
        conn.close()


def trace_request(shop, user, sku="book", qty=1):
    """Add ``qty`` of ``sku`` to ``user``'s cart through the balancer and return its ``RequestTrace``."""
    if not issubclass(shop.shop_class, StatelessShop):
        raise InvalidArgumentError("the eight steps describe the stateless API; use Cluster.stateless()")
    status, instance, body = _send(shop, user, sku, qty)
    if status != 200:
        raise InvalidArgumentError(f"the request failed with {status}: {body.get('error')}")
    traced = body.get("trace", [])
    token_steps = [s["step"] for s in traced if "token" in s["step"]]
    store_steps = [s for s in traced if s["where"] == "database"]
    database_step = store_steps[0]["step"] if store_steps else "no database step"
    held = shop.instance(instance).held_state()          # measured now, by walking the application object
    steps = [
        (STEPS[0], "client", "POST /cart/items with 'Authorization: Bearer <JWT>'"),
        (STEPS[1], "load balancer", f"{shop.policy} picked one of {len(shop.instances)} instances"),
        (STEPS[2], "API instance + cache", "; ".join(token_steps)),
        (STEPS[3], "database", f"{database_step} (read part)"),
        (STEPS[4], "API instance", f"add {qty} x {sku} to the cart it read"),
        (STEPS[5], "database", f"{database_step} (write part)"),
        (STEPS[6], "API instance", f"HTTP {status} with the cart"),
        (STEPS[7], "API instance", f"walked its memory: entries held {held.entries}; "
                                   f"left out as shared: {', '.join(held.left_out) or 'nothing'}"),
    ]
    return RequestTrace(steps, instance, status, traced, body.get("items", {}), held)
