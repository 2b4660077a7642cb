"""A hybrid shop: a stateless catalog, a stateful cart service and a database, broken one at a time.

Most real systems mix both models, choosing one per component. Here the
product catalog is stateless (identical instances behind round-robin, every
read goes to the database), the cart service is stateful (carts in instance
memory, users pinned by sticky sessions, the ``Cluster.stateful`` of chapter
02), and the database holds the products. Breaking each part in turn shows
that every placement of state has its own failure: a dead catalog instance
costs nothing, a dead cart instance costs the carts it held, and a dead
database stops every catalog read while the in-memory carts carry on.
Chapter 08 uses it (claim D2).

    with HybridShop() as shop:
        alice = shop.shopper("alice")
        alice.browse("book"); alice.add("book")
        shop.carts.kill(alice.cart_instance)    # her cart was only there
"""

import http.client
import json
import random
from dataclasses import dataclass

from ..checks import require_int
from ..engine.application import Application
from ..engine.balancer import Balancer
from ..engine.events import EventLog
from ..engine.instance import HTTPError, Instance, Response
from ..engine.lifecycle import Closable
from ..engine.tables import ResultTable
from ..errors import InvalidArgumentError
from ..shop.cluster import Cluster
from ..shop.users import SKUS
from ..state.stores import SQLiteStore, StoreUnavailable

__all__ = ["CatalogApp", "CatalogService", "Shopper", "HybridShop", "FailureCost", "ChaosCosts", "PARTS",
           "SHOPPERS", "failure_cost", "hybrid_chaos"]

PRICES = {"book": 10, "pen": 2, "mug": 6, "lamp": 25, "desk": 120, "chair": 80}   # euros, as in chapter 04
SHOPPERS = ("alice", "bob", "carol", "dave", "erin", "frank")
PARTS = {   # what to break -> (what the table calls it, why it cost what it cost)
    "nothing": ("nothing (baseline)", "every part up: nothing to lose"),
    "catalog": ("catalog-2 killed", "catalog instances keep nothing; the others served the reads"),
    "cart": ("cart shop-2 killed", "those carts lived only in shop-2's memory"),
    "database": ("database down", "every catalog read needs it; carts were in memory"),
}


class CatalogApp(Application):
    """The stateless catalog API: every request reads the database, nothing is kept between requests."""

    def __init__(self, database):
        self.database = database

    def handle(self, request, instance):
        path = request.path.rstrip("/")
        if request.method != "GET":
            raise HTTPError(405, f"{request.method} is not allowed; the catalog is read-only (use GET)")
        try:
            if path == "/health":
                if not self.database.available:
                    raise HTTPError(503, "the database is down")
                return Response(200, {"status": "ok"})
            if path.startswith("/products/"):
                product = self.database.get("product:" + path[len("/products/"):])
                if product is None:
                    raise HTTPError(404, f"no product {path[len('/products/'):]!r}; try one of {', '.join(SKUS)}")
                return Response(200, product)
        except StoreUnavailable as exc:
            raise HTTPError(503, f"{exc}; the catalog cannot answer until it is back") from None
        raise HTTPError(404, f"no route {path!r}; try GET /products/book")


class CatalogService(Closable):
    """The catalog tier: a round-robin balancer in front of identical ``CatalogApp`` instances."""

    def __init__(self, database, instances=3, seed=7):
        require_int("catalog instances", instances, 1, 10)
        self.events = EventLog()
        self.balancer = Balancer("round_robin", seed=seed, health_interval=0.1, events=self.events)
        self.instances = {}
        self._opened()
        try:
            self.balancer.start()
            for number in range(1, instances + 1):
                name = f"catalog-{number}"
                self.instances[name] = Instance(lambda: CatalogApp(database), name=name, service_ms=1.0,
                                                events=self.events).start()
                self.balancer.add_instance(name, self.instances[name].address)
        except BaseException:
            self.close()
            raise

    @property
    def url(self):
        return self.balancer.url

    def kill(self, name):
        """Crash one catalog instance (the balancer routes around it)."""
        if name not in self.instances:
            raise InvalidArgumentError(f"no catalog instance {name!r}; there are {', '.join(self.instances)}")
        self.instances[name].kill()

    def _close(self):
        self.balancer.close()
        for instance in self.instances.values():
            instance.close()


class Shopper:
    """One person using both services: reads products from the catalog, fills a cart in the cart service."""

    def __init__(self, name, catalog, cart_user):
        self.name = name
        self._catalog_address = catalog.balancer.server.address
        self.cart_user = cart_user          # a shop.User of the cart cluster: it checks its own cart
        self.reads = 0
        self.failed_reads = 0

    def browse(self, sku):
        """Read one product from the catalog; None (and a failed read counted) if it cannot answer."""
        self.reads += 1
        conn = http.client.HTTPConnection(*self._catalog_address, timeout=5.0)
        try:
            conn.request("GET", f"/products/{sku}", headers={"Connection": "close"})
            answer = conn.getresponse()
            status, body = answer.status, json.loads(answer.read() or b"{}")
        except (OSError, http.client.HTTPException, ValueError):
            status, body = 0, {}
        finally:
            conn.close()
        if status != 200:
            self.failed_reads += 1
            return None
        return body

    def add(self, sku, qty=1):
        return self.cart_user.add(sku, qty)

    def cart(self):
        return self.cart_user.cart()

    @property
    def cart_instance(self):
        """The cart instance that served this shopper last (the one holding the cart)."""
        return self.cart_user.last_instance

    @property
    def lost_items(self):
        return self.cart_user.lost_items

    def __repr__(self):
        return f"Shopper({self.name!r}, cart={self.cart_user.expected})"


class HybridShop(Closable):
    """Catalog (stateless) + carts (``Cluster.stateful`` behind sticky sessions) + one database."""

    def __init__(self, catalog_instances=3, cart_instances=3, seed=7):
        self.seed = seed
        self.catalog = self.carts = self.database = None
        self._opened()
        try:
            self.database = SQLiteStore()
            for sku in SKUS:
                self.database.put("product:" + sku, {"sku": sku, "price_eur": PRICES[sku]})
            self.catalog = CatalogService(self.database, catalog_instances, seed)
            self.carts = Cluster.stateful(instances=cart_instances, seed=seed)       # sticky: the stateful default
        except BaseException:
            self.close()
            raise

    def shopper(self, name):
        """A shopper who logs in to the cart service now (sticky: placed on the next cart instance)."""
        return Shopper(name, self.catalog, self.carts.user(name))

    def kill_catalog(self, name):
        self.catalog.kill(name)

    def kill_cart(self, name):
        self.carts.kill(name)

    def break_part(self, part):
        """Break one part: "catalog" kills catalog-2, "cart" kills shop-2, "database" takes it down."""
        if part == "catalog":
            self.kill_catalog("catalog-2")
        elif part == "cart":
            self.kill_cart("shop-2")
        elif part == "database":
            self.database.down()
        elif part != "nothing":
            raise InvalidArgumentError(f"unknown part {part!r}; break one of {', '.join(PARTS)}")

    def _close(self):
        for part in (self.carts, self.catalog):
            if part is not None:
                part.close()
        if self.database is not None:
            self.database.close()

    def __repr__(self):
        return "HybridShop(closed)" if self.closed else "HybridShop(catalog: stateless, carts: stateful, database)"


@dataclass(frozen=True)
class FailureCost:
    """What breaking one part cost the shoppers (counts are exact for a given seed)."""

    part: str
    broke: str
    reads: int
    failed_reads: int
    carts: int
    lost_carts: int
    lost_items: int
    users_losing_carts: tuple
    why: str


class ChaosCosts(ResultTable):
    """One ``FailureCost`` per part; a table in a notebook. ``cost(part)`` gives one row."""

    def __init__(self, costs):
        self.costs = list(costs)

    def cost(self, part):
        return next(c for c in self.costs if c.part == part)

    def _table_data(self):
        rows = [[c.broke, f"{c.failed_reads} of {c.reads}", f"{c.lost_carts} of {c.carts}", c.why]
                for c in self.costs]
        return ("What each failure cost the hybrid shop",
                ["what broke", "catalog reads failed", "carts lost", "why"], rows)


def failure_cost(part, seed=7, shoppers=SHOPPERS):
    """Break one part (a key of ``PARTS``) of a fresh hybrid shop between two rounds of shopping.

    Shoppers act one after another, so the outcome is the same on every run:
    each reads and adds two products, ``part`` breaks, then each reads and
    adds one more and looks at their cart.
    """
    if part not in PARTS:
        raise InvalidArgumentError(f"unknown part {part!r}; break one of {', '.join(PARTS)}")
    rng = random.Random(f"{seed}-{part}")
    with HybridShop(seed=seed) as shop:
        people = [shop.shopper(name) for name in shoppers]
        for person in people:
            for sku in rng.sample(SKUS, 2):
                person.browse(sku)
                person.add(sku, rng.randint(1, 2))
        reads_before = sum(p.reads for p in people)
        shop.break_part(part)
        for person in people:
            sku = rng.choice(SKUS)
            person.browse(sku)
            person.add(sku)
            person.cart()
        losers = tuple(p.name for p in people if p.lost_items)
        broke, why = PARTS[part]
        return FailureCost(part, broke, sum(p.reads for p in people) - reads_before,
                           sum(p.failed_reads for p in people), len(people), len(losers),
                           sum(p.lost_items for p in people), losers, why)


def hybrid_chaos(seed=7, shoppers=SHOPPERS):
    """Break each part of the hybrid shop in turn, each time on a fresh shop; returns ``ChaosCosts``."""
    return ChaosCosts(failure_cost(part, seed, shoppers) for part in PARTS)
