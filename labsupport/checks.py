"""Argument checks shared by the simulation models.

A notebook that passes ``instances=-3`` should hear exactly what was wrong and
what to pass instead, not meet a ZeroDivisionError deep inside simpy. Each
helper raises ``InvalidArgumentError`` (a ``LabError`` and a ``ValueError``)
whose message names the argument and the bad value. Used by every model in
``labsupport.sim`` (chapters 02 and 06).
"""

import numbers

from .errors import InvalidArgumentError

__all__ = ["require_int", "require_number", "require_choice", "require_seed"]


def require_int(name, value, minimum=1):
    """``value`` must be a whole number >= ``minimum``; returns it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InvalidArgumentError(f"{name} must be a whole number >= {minimum}, not {value!r}")
    return int(value)


def require_number(name, value, minimum=0.0, maximum=None, allow_minimum=True):
    """``value`` must be a real number within the given bounds; returns it as float."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        ok = value >= minimum if allow_minimum else value > minimum
    if ok and maximum is not None:
        ok = value <= maximum
    if not ok:
        low = ">=" if allow_minimum else ">"
        high = f" and <= {maximum}" if maximum is not None else ""
        raise InvalidArgumentError(f"{name} must be a number {low} {minimum}{high}, not {value!r}")
    return float(value)


def require_choice(name, value, choices):
    """``value`` must be one of ``choices``; returns it."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise InvalidArgumentError(f"{name} must be one of {options}, not {value!r}")
    return value


def require_seed(seed):
    """A seed is a whole number (any sign); it drives a private ``random.Random``."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidArgumentError(f"seed must be a whole number such as 7, not {seed!r}")
    return int(seed)
