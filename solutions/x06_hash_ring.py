"""Reference solution of exercise 06 (chapter 06): a consistent-hash ring with virtual nodes.

Each node is placed on the ring at ``vnodes`` points, ``point(f"{node}#{i}")``.
A key belongs to the node of the first point clockwise from the key's own
point (wrapping round past the end). The points are kept sorted, so a lookup
is a binary search (``bisect``). Because each node owns many small arcs
spread round the ring, load is even, a joining node takes a little from
every other node (about 1/(n+1) of the keys, and only keys that now belong to
it), and a leaving node's keys spread over all the others.

Try the exercise before reading this. The notebook never imports this file.
"""

import bisect
import hashlib


def point(text):
    """A position on the ring for ``text``: the same number in every process (Python's ``hash()`` is not)."""
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big")


class HashRing:
    """A consistent-hash ring: ``add(node)``, ``remove(node)``, ``owner(key)``."""

    def __init__(self, vnodes=100):
        self.vnodes = vnodes
        self.points = []                # sorted [(position, node)], vnodes entries per node

    def add(self, node):
        for i in range(self.vnodes):
            bisect.insort(self.points, (point(f"{node}#{i}"), node))

    def remove(self, node):
        self.points = [(position, name) for position, name in self.points if name != node]

    def owner(self, key):
        if not self.points:
            return None
        index = bisect.bisect(self.points, (point(key), ""))
        return self.points[index % len(self.points)][1]     # past the last point: wrap round to the first
