"""Exercise 06 mistake: a ring with one point per node (``vnodes`` ignored).

It is a real consistent-hash ring, so a joining node takes only its own keys,
but four points cut the circle into arcs of very different lengths: one
node owns far more than its share, and a leaving node hands everything to
one neighbour. The checker stops at the balance check.
"""

import bisect
import hashlib


def point(text):
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")


class HashRing:
    def __init__(self, vnodes=100):
        self.points = []

    def add(self, node):
        bisect.insort(self.points, (point(node), node))

    def remove(self, node):
        self.points = [(p, n) for p, n in self.points if n != node]

    def owner(self, key):
        if not self.points:
            return None
        index = bisect.bisect(self.points, (point(key), ""))
        return self.points[index % len(self.points)][1]
