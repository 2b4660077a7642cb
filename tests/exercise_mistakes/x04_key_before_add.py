"""Exercise 04 mistake: the key is recorded first, then the add is made, in two writes.

The cautious-looking order: claim the key, then do the work. A kill between
the two writes leaves a claimed key and no item, so the retry sees the key,
skips the add, and the item is lost: a duplicate avoided by losing the add.
"""


class CartAdds:
    def __init__(self, database):
        self.database = database

    def add(self, user, sku, qty, key):
        if self.database.get("applied:" + key):
            return self.items(user)
        self.database.put("applied:" + key, True)

        def put_in(cart):
            cart = cart or {}
            cart[sku] = cart.get(sku, 0) + qty
            return cart

        return self.database.update("cart:" + user, put_in)

    def items(self, user):
        return self.database.get("cart:" + user) or {}
