"""Exercise 04 mistake: applied keys are remembered in the instance's own memory.

A retry that comes back to the same instance is caught. But the retry after a
kill goes to another instance (the one it was sent to is dead), which never
saw the key, so it adds again.
"""


class CartAdds:
    def __init__(self, database):
        self.database = database
        self.applied = set()

    def add(self, user, sku, qty, key):
        if key in self.applied:
            return self.items(user)

        def put_in(cart):
            cart = cart or {}
            cart[sku] = cart.get(sku, 0) + qty
            return cart

        cart = self.database.update("cart:" + user, put_in)
        self.applied.add(key)
        return cart

    def items(self, user):
        return self.database.get("cart:" + user) or {}
