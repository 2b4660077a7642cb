"""Exercise 06 mistake: ``remove`` takes away only the node's first point.

``add`` puts a node on the ring at 100 points; ``remove`` deletes the one at
``point(f"{node}#0")`` and leaves 99 behind, so the "removed" node still owns
most of its keys. The checker sees it when shop-3 leaves: shop-3's keys are
not handed to the other nodes.
"""

import bisect
import hashlib


def point(text):
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")


class HashRing:
    def __init__(self, vnodes=100):
        self.vnodes = vnodes
        self.points = []

    def add(self, node):
        for i in range(self.vnodes):
            bisect.insort(self.points, (point(f"{node}#{i}"), node))

    def remove(self, node):
        self.points.remove((point(f"{node}#0"), node))

    def owner(self, key):
        if not self.points:
            return None
        index = bisect.bisect(self.points, (point(key), ""))
        return self.points[index % len(self.points)][1]
