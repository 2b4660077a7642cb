"""Faults short of a crash: a paused process, a slow one, and a cut network path.

A crash is the kind failure: the process is gone, its port refuses, every
connection breaks, and the balancer notices at once. The failures that hurt
real systems most are *gray*: nothing is clearly dead, so nothing reacts.

* **Pause.** A long garbage-collection pause, a virtual machine being
  migrated, a process stopped with SIGSTOP. The process keeps its sockets and
  its memory; the kernel still accepts connections and buffers what clients
  send, but nothing is read or answered until it wakes up. Then it carries on
  as if no time had passed, finishing requests whose clients gave up long ago.
  In the lab, ``Instance.pause()`` stops every thread of the instance at a
  gate: before it reads a request, and before it sends an answer.
* **Slow.** A noisy neighbour, a failing disk, a machine swapping. Every
  answer comes, late. ``Instance.slow(ms)`` adds ``ms`` to every answer, inside
  the capacity model, so a slow instance also holds its workers longer. A
  health check that asks "do you answer?" stays green.
* **Partition.** A switch, a firewall rule or a routing fault cuts the path
  between the balancer and one instance. The process lives, holds what it
  holds, and answers anyone else who can reach it. ``Balancer.partition(name)``
  is a firewall rule on the balancer's side that *rejects* packets to that
  instance (like ``iptables -j REJECT``): every connection attempt fails at
  once, so the balancer sees exactly what it sees after a crash. The nastier
  real variant *drops* packets instead (a black hole): then every attempt
  hangs until a timeout, which is why balancers need request timeouts.

``heal`` undoes any of them, on the instance (``Instance.heal()``) and on the
path (``Balancer.heal(name)``); ``Cluster.heal(name)`` does both. A fault is
not a crash: a paused or partitioned stateful instance still holds every
session when it is healed. A kill or restart ends the process's faults (a new
process is neither paused nor slow) but not a partition, which is in the
network, not in the process.

The classes below describe a fault that is in force, for whoever shows it:
``label`` is the word on the dashboard tile, ``key`` names its CSS class
(``lab-fault-<key>``) and ``colour`` its badge. Chapter 06 (claims W10, W11)
uses them.
"""

__all__ = ["Fault", "Paused", "Slowed", "Partitioned", "MAX_SLOW_MS"]

MAX_SLOW_MS = 60_000          # a minute of extra latency is already an outage; more is surely a typo


class Fault:
    """A fault in force on one instance or on the path to it: how it shows, in words and colour."""

    key = "fault"
    colour = "#D3D3D3"

    @property
    def label(self):
        return self.key.upper()

    def __eq__(self, other):
        return type(self) is type(other) and self.label == other.label

    def __hash__(self):
        return hash((type(self), self.label))

    def __repr__(self):
        return f"<{type(self).__name__} {self.label}>"


class Paused(Fault):
    """The process is frozen: connections are accepted, nothing is read or answered."""

    key = "paused"
    colour = "#9ECAE1"          # ice blue: frozen


class Slowed(Fault):
    """Every answer of the instance takes ``ms`` longer."""

    key = "slow"
    colour = "#FFE082"          # amber: working, but late

    def __init__(self, ms):
        self.ms = ms

    @property
    def label(self):
        return f"SLOW +{self.ms:g} ms"


class Partitioned(Fault):
    """The balancer cannot reach the instance; the process lives and others could still reach it."""

    key = "partitioned"
    colour = "#C5B3E6"          # lavender: cut off
