"""Exercise 04 mistake: the key is remembered in the database, but in a second write after the add.

Check the key, add in one transaction, then record the key in another. A
kill between the two writes (after the add, before the key) leaves an
applied add with no record of its key, so the retry adds it again.
"""


class CartAdds:
    def __init__(self, database):
        self.database = database

    def add(self, user, sku, qty, key):
        if self.database.get("applied:" + key):
            return self.items(user)

        def put_in(cart):
            cart = cart or {}
            cart[sku] = cart.get(sku, 0) + qty
            return cart

        cart = self.database.update("cart:" + user, put_in)
        self.database.put("applied:" + key, True)
        return cart

    def items(self, user):
        return self.database.get("cart:" + user) or {}
