"""checks.py: the argument checks every part shares; a bool, NaN or an infinity is never a number, and
messages name the value."""

import math

import pytest

from labsupport import Cluster, GameCluster, Instance, InvalidArgumentError
from labsupport.checks import is_number, is_whole_number, require_choice, require_int, require_number, require_seed
from labsupport.engine import Application, OutlierEjection, Response, RetryBudget
from labsupport.services import JobQueue, ObjectStore


def test_a_bool_is_never_a_number_even_though_python_says_true_is_an_int():
    assert isinstance(True, int)
    assert not is_whole_number(True) and not is_number(False)
    with pytest.raises(InvalidArgumentError, match="instances must be a whole number >= 1, not True"):
        require_int("instances", True)


def test_bounds_and_messages():
    assert is_whole_number(5, 1, 5) and not is_whole_number(6, 1, 5) and not is_whole_number(2.0)
    assert is_number(0.5, 0, 1) and not is_number(0, 0, allow_minimum=False) and is_number(0, 0)
    assert require_int("n", 3, 1, 10) == 3
    with pytest.raises(InvalidArgumentError, match="n must be a whole number from 1 to 10, not 11"):
        require_int("n", 11, 1, 10)
    with pytest.raises(InvalidArgumentError, match="ttl_s must be a number of seconds > 0, not 0"):
        require_number("ttl_s", 0, 0, allow_minimum=False, unit="seconds")
    with pytest.raises(InvalidArgumentError, match=r"share must be a number >= 0 and <= 1, not 1.5"):
        require_number("share", 1.5, 0, 1)
    with pytest.raises(InvalidArgumentError, match="'a', 'b'"):
        require_choice("kind", "c", ("a", "b"))
    assert require_seed(-3) == -3
    with pytest.raises(InvalidArgumentError, match="seed"):
        require_seed("7")


@pytest.mark.parametrize("call", [
    lambda: Cluster.stateless(instances=True),
    lambda: JobQueue(lease_s=True),
    lambda: ObjectStore(max_object_bytes=True),
    lambda: GameCluster(servers=True),
], ids=["cluster", "job queue", "object store", "game cluster"])
def test_the_parts_use_the_shared_checks_so_a_bool_is_refused_everywhere(call):
    with pytest.raises(InvalidArgumentError, match="True"):
        call()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 10 ** 400], ids=["nan", "inf", "-inf", "huge"])
def test_nan_and_the_infinities_are_not_numbers_whatever_the_bounds(value):
    assert value != 0.5                     # a NaN compares False with everything, so bounds alone would let it by
    assert not any(is_number(value, *bounds) for bounds in ((), (0,), (None, 1), (0, 1), (-math.inf, math.inf)))
    with pytest.raises(InvalidArgumentError, match=f"ms must be a number of milliseconds >= 0, not {value!r}"):
        require_number("ms", value, 0, unit="milliseconds")
    assert is_number(1e308) and is_number(-5, None, 0) and is_number(10 ** 300)


class Echo(Application):
    def handle(self, request, instance):
        return Response(200, {})


@pytest.mark.parametrize("call", [
    lambda: RetryBudget(ratio=math.nan),
    lambda: OutlierEjection(cool_off_s=math.inf),
    lambda: Instance(Echo, name="nan-check").start().slow(math.nan),
], ids=["retry budget ratio", "outlier cool-off", "slow instance"])
def test_the_parts_refuse_nan_and_infinity_through_the_shared_checks(call):
    with pytest.raises(InvalidArgumentError, match="nan|inf"):
        call()
