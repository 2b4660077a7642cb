"""A product catalog read through a cache ("cache-aside"), and the stale read it invites.

Prices live in the database. A reader asks the cache (Redis) first; on a miss
it reads the database and stores the answer in the cache for next time. That
takes load off the database, but the cache now holds a second copy. If a
price changes in the database and nobody touches the copy, every reader gets
the old price until the entry expires: a stale read. The fix is that every
writer deletes the cached entry ("invalidation"); its cost is one more call
per write, a slower read (a miss) right after each write, and a rule that
every piece of code writing prices must follow. Chapter 04, claim E3.
"""

import collections

from ..checks import is_number, require_number
from ..errors import InvalidArgumentError

__all__ = ["Catalog", "PRODUCTS"]

PRODUCTS = {"book": 10, "pen": 2, "mug": 6, "lamp": 25}     # sku -> price in euros


class Catalog:
    """Cache-aside reads of product prices; ``invalidate`` says whether writers clear the cached copy.

    ``price(sku)`` reads through the cache and sets ``last_source`` to
    "cache" or "database"; ``set_price(sku, price)`` writes the database (and
    deletes the cached copy when ``invalidate`` is True). ``stats`` counts
    reads, hits, database reads and the calls each write made.
    """

    def __init__(self, database, cache, invalidate=True, ttl_s=300, name="catalog", products=None):
        require_number("ttl_s", ttl_s, 0, allow_minimum=False, unit="seconds")
        self.database = database
        self.cache = cache
        self.invalidate = invalidate
        self.ttl_s = ttl_s
        self.name = name                      # keeps two catalogs in one database and cache apart
        self.last_source = None
        self.stats = collections.Counter()
        for sku, price in (PRODUCTS if products is None else products).items():
            self.database.put(self._db_key(sku), {"sku": sku, "price": _price(price)})
        self.skus = sorted(PRODUCTS if products is None else products)

    def _db_key(self, sku):
        return f"{self.name}:product:{sku}"

    def _cache_key(self, sku):
        return f"{self.name}:price:{sku}"

    def _check(self, sku):
        if sku not in self.skus:
            raise InvalidArgumentError(f"no product {sku!r} in the catalog; it has {', '.join(self.skus)}")

    def price(self, sku):
        """The price as a reader sees it: from the cache if it has one, else from the database."""
        self._check(sku)
        self.stats["reads"] += 1
        self.stats["cache calls"] += 1
        cached = self.cache.get(self._cache_key(sku))
        if cached is not None:
            self.stats["cache hits"] += 1
            self.last_source = "cache"
            return cached
        self.stats["database reads"] += 1
        price = self.database.get(self._db_key(sku))["price"]
        self.stats["cache calls"] += 1
        self.cache.put(self._cache_key(sku), price, ttl_s=self.ttl_s)     # fill the cache for next time
        self.last_source = "database"
        return price

    def database_price(self, sku):
        """The price the database holds: the truth the cache is supposed to mirror."""
        self._check(sku)
        return self.database.get(self._db_key(sku))["price"]

    def set_price(self, sku, price):
        """Write a new price to the database; with ``invalidate``, also delete the cached copy."""
        self._check(sku)
        price = _price(price)
        self.stats["writes"] += 1
        self.stats["database writes"] += 1
        self.database.put(self._db_key(sku), {"sku": sku, "price": price})
        if self.invalidate:
            self.stats["cache calls"] += 1
            self.stats["invalidations"] += 1
            self.cache.delete(self._cache_key(sku))

    def is_stale(self, sku):
        """Does a reader now get something other than what the database holds?"""
        cached = self.cache.get(self._cache_key(sku))
        return cached is not None and cached != self.database_price(sku)

    def __repr__(self):
        rule = "invalidates on write" if self.invalidate else "never invalidates"
        return f"Catalog({self.name!r}, {len(self.skus)} products, {rule})"


def _price(value):
    if not is_number(value, 0, allow_minimum=False):
        raise InvalidArgumentError(f"a price must be a number > 0, not {value!r}")
    return value
