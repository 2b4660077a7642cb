"""Exercise 08 mistake: the cart moved to the database, changed with get, then put.

It survives the kill test: every instance reads and writes the same
database. But two adds for one shopper that arrive at two instances at the
same moment both read the old cart, and the second ``put`` wipes out the
first add: a lost update. ``database.update`` would do both in one transaction.
"""


class CartStorage:
    def __init__(self, database):
        self.database = database

    def get(self, user):
        return self.database.get("cart:" + user)

    def update(self, user, change):
        cart = change(self.database.get("cart:" + user))
        self.database.put("cart:" + user, cart)
        return cart
