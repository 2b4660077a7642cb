"""Exercise 06 mistake: ``hash mod n`` dressed as a ring.

Even, deterministic and simple, and it passes every check about one fixed
set of nodes. But when a fifth node joins, ``point(key) % 5`` differs from
``point(key) % 4`` for most keys, so about four keys in five change owner,
most of them between old nodes. The checker stops at the join.
"""

import hashlib


def point(text):
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")


class HashRing:
    def __init__(self, vnodes=100):
        self.nodes = []

    def add(self, node):
        self.nodes = sorted(self.nodes + [node])

    def remove(self, node):
        self.nodes.remove(node)

    def owner(self, key):
        if not self.nodes:
            return None
        return self.nodes[point(key) % len(self.nodes)]
