"""Exercise 08 mistake: carts in a dict shared as a class attribute.

It survives the kill test here, because the lab's three instances run in one
Python process and share the class. Real instances are separate processes,
and the shared database holds nothing. The checker looks there and says so.
"""


class CartStorage:
    carts = {}

    def __init__(self, database):
        pass

    def get(self, user):
        return self.carts.get(user)

    def update(self, user, change):
        cart = change(self.carts.get(user))
        self.carts[user] = cart
        return cart
