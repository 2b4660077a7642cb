"""Reference solution of exercise 08 (chapter 08): carts in the shared database, changed in one transaction.

Every instance gets the same ``database``, so a cart written by one instance
is read by any other and outlives all of them: killing an instance costs
nothing. ``update`` hands the learner's change to ``database.update``, which
reads, changes and writes the cart inside one SQLite transaction (``BEGIN
IMMEDIATE``: the write lock is taken before the read), so two instances
adding to one cart at the same moment cannot both read the old cart; the
second waits and reads the first one's result. A compare-and-set loop (read
a version, write only if it is unchanged, else retry) would be the other
correct answer on a store that offers it.

Try the exercise before reading this. The notebook never imports this file.
"""


class CartStorage:
    """Carts in the database every instance shares, each change one transaction."""

    def __init__(self, database):
        self.database = database

    def get(self, user):
        return self.database.get("cart:" + user)

    def update(self, user, change):
        return self.database.update("cart:" + user, change)
