"""Argument checks shared by every part of the lab.

A notebook that passes ``instances=-3`` should hear exactly what was wrong and
what to pass instead, not meet a ZeroDivisionError deep inside a server
thread. Each ``require_*`` helper raises ``InvalidArgumentError`` (a
``LabError`` and a ``ValueError``) whose message names the argument and the
bad value. The two ``is_*`` tests underneath are for code that answers a
wrong value some other way (an HTTP 400, a game's error event).

Two traps they all avoid. In Python ``True`` is an ``int`` (``True + True == 2``),
so ``qty=True`` would pass a plain ``isinstance(qty, int)``: here a bool is never
a number. And ``float("nan")`` is a float that every comparison answers False,
so a bounds check such as ``value < 0`` lets it through, while ``float("inf")``
passes any check without an upper bound: here neither is a number (nor is an
integer too large for a float), so ``slow("shop-2", float("nan"))`` is refused
like ``-1``. Used from chapter 00 on.
"""

import math
import numbers

from .errors import InvalidArgumentError

__all__ = ["is_whole_number", "is_number", "require_int", "require_number", "require_choice", "require_seed"]


def is_whole_number(value, minimum=None, maximum=None):
    """True for an integer (never a bool) within the bounds given."""
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and (minimum is None or value >= minimum) and (maximum is None or value <= maximum))


def is_number(value, minimum=None, maximum=None, allow_minimum=True):
    """True for a finite real number (never a bool, NaN or an infinity) within the bounds;
    ``allow_minimum=False`` excludes the minimum."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not _finite(value):
        return False
    if minimum is not None and (value < minimum if allow_minimum else value <= minimum):
        return False
    return maximum is None or value <= maximum


def _finite(value):
    """Neither NaN nor an infinity, and small enough to be a float."""
    try:
        return math.isfinite(value)
    except OverflowError:                       # an integer beyond what a float can hold
        return False


def require_int(name, value, minimum=1, maximum=None):
    """``value`` must be a whole number from ``minimum`` (to ``maximum``, if given); returns it."""
    if not is_whole_number(value, minimum, maximum):
        span = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise InvalidArgumentError(f"{name} must be a whole number {span}, not {value!r}")
    return int(value)


def require_number(name, value, minimum=0.0, maximum=None, allow_minimum=True, unit=""):
    """``value`` must be a real number within the given bounds; returns it as float.

    ``unit`` ("seconds") makes the message read "must be a number of seconds > 0".
    """
    if not is_number(value, minimum, maximum, allow_minimum):
        low = ">=" if allow_minimum else ">"
        high = f" and <= {maximum:g}" if maximum is not None else ""
        of_unit = f" of {unit}" if unit else ""
        raise InvalidArgumentError(f"{name} must be a number{of_unit} {low} {minimum:g}{high}, not {value!r}")
    return float(value)


def require_choice(name, value, choices):
    """``value`` must be one of ``choices``; returns it."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise InvalidArgumentError(f"{name} must be one of {options}, not {value!r}")
    return value


def require_seed(seed):
    """A seed is a whole number (any sign); it drives a private ``random.Random``."""
    if not is_whole_number(seed):
        raise InvalidArgumentError(f"seed must be a whole number such as 7, not {seed!r}")
    return int(seed)
