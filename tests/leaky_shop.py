"""A "stateless" shop that quietly keeps every cart it sees in its own memory, for tests to catch.

It answers exactly like ``StatelessShop`` (carts still go to the database),
so no HTTP answer gives it away; only looking inside the instance does.
"""

from labsupport.shop import Cluster, StatelessShop


class LeakyStatelessShop(StatelessShop):
    """``StatelessShop`` plus a private dict of carts, under a name nobody would look for."""

    def __init__(self, tokens, database, cache):
        super().__init__(tokens, database, cache)
        self._recent = {}                          # user -> cart: the secret

    def change_cart(self, principal, change, trace):
        cart = super().change_cart(principal, change, trace)
        self._recent[principal["user"]] = cart
        return cart


def LeakyCluster(instances=2, **options):
    """``Cluster.stateless`` whose instances run the leaky shop."""
    return Cluster("stateless", instances, shop_class=LeakyStatelessShop, **options)
