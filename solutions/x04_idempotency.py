"""Reference solution of exercise 04 (chapter 04): the applied keys live in the cart's own record.

The cart is stored as ``{"items": {sku: qty}, "keys": [...]}``: the items and
the Idempotency-Keys already applied to them. One ``database.update`` reads
the record, checks the key, adds and remembers the key, and writes it back in
one transaction, so a crash leaves either the whole change or none of it. A
retry of an add that was applied finds its key and changes nothing; a retry of
one that never got written applies it. Keeping only the last few keys (here
100) bounds the record, which is safe as long as retries come soon after the
first attempt (real APIs keep keys for about a day).

Try the exercise before reading this. The notebook never imports this file.
"""

REMEMBERED_KEYS = 100


class CartAdds:
    """Adds applied once per Idempotency-Key, the key and the add in one transaction."""

    def __init__(self, database):
        self.database = database

    def add(self, user, sku, qty, key):
        def change(cart):
            cart = cart or {"items": {}, "keys": []}
            if key in cart["keys"]:
                return cart                              # a retry of an add that was applied: nothing to do
            cart["items"][sku] = cart["items"].get(sku, 0) + qty
            cart["keys"] = (cart["keys"] + [key])[-REMEMBERED_KEYS:]
            return cart

        return self.database.update("cart:" + user, change)["items"]

    def items(self, user):
        return (self.database.get("cart:" + user) or {"items": {}})["items"]
