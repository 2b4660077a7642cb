"""Errors a Python caller of the lab can get, all rooted in ``LabError``.

HTTP clients get JSON errors with a status code; Python callers who misuse the
lab (an unknown instance name, a negative count) get one of these exceptions.
Every message says what was wrong *and* what to do instead, so a learner can
fix the cell without reading a traceback. Used by every chapter.
"""

__all__ = ["LabError", "UnknownInstanceError", "InvalidArgumentError", "ClusterClosedError", "DependencyMissingError"]


class LabError(Exception):
    """Root of every error labsupport raises on purpose."""


class UnknownInstanceError(LabError, KeyError):
    """A method was given an instance name the cluster does not have."""

    def __init__(self, name, known):
        self.name = name
        self.known = list(known)
        super().__init__(f"no instance named {name!r}; this cluster has {', '.join(self.known) or 'no instances'} "
                         f"(see shop.instances for the current list)")

    def __str__(self):  # KeyError would otherwise quote the message
        return self.args[0]


class InvalidArgumentError(LabError, ValueError):
    """An argument has a value the lab cannot use."""


class ClusterClosedError(LabError, RuntimeError):
    """The cluster was closed; start a new one (for example ``Cluster.stateless()``)."""


class DependencyMissingError(LabError, RuntimeError):
    """Something the lab needs (such as a Redis server) is not installed."""
