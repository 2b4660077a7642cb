"""exercise.py: the checker of chapter 08's exercise says "pass" only when carts survive a kill.

Pins that the shipped starting point (carts in instance memory) fails with
the exact, deterministic sentence the notebook shows; that the model
solution, and the code ``show_solution()`` displays, pass; and that wrong
answers (carts in a class attribute, a storage that forgets, one that
raises) get a "not yet" that says what is wrong instead of a traceback.
"""

import pytest

from labsupport import InvalidArgumentError
from labsupport.engine import registry
from labsupport.labs import (
    MemoryCartStorage,
    check_cart_exercise,
    model_solution,
    show_solution,
)
from tests.conftest import lab_threads, wait_for

STARTING_POINT_SAYS = ("not yet: 3 of 9 carts lost when shop-2 was killed (bob, erin, heidi). Those carts were only "
                       "in shop-2's memory; keep them somewhere every instance can reach.")


def test_the_starting_point_loses_the_carts_of_the_killed_instance_the_same_way_every_run():
    first = check_cart_exercise(MemoryCartStorage)
    assert not first.passed
    assert repr(first) == STARTING_POINT_SAYS
    assert (first.lost_carts, first.shoppers, first.losers) == (3, 9, ("bob", "erin", "heidi"))
    assert repr(check_cart_exercise(MemoryCartStorage)) == STARTING_POINT_SAYS


def test_the_model_solution_passes():
    result = check_cart_exercise(model_solution())
    assert result.passed and result.lost_carts == 0
    assert repr(result).startswith("pass: 0 of 9 carts lost when shop-2 was killed")


def test_the_code_show_solution_displays_is_a_cart_storage_that_passes():
    shown = show_solution()
    assert repr(shown).startswith("class CartStorage:")
    assert shown._repr_markdown_().startswith("```python\nclass CartStorage:")
    namespace = {}
    exec(shown.code, namespace)
    assert check_cart_exercise(namespace["CartStorage"]).passed


def test_carts_in_a_class_attribute_survive_here_but_do_not_pass():
    class ClassAttributeStorage:
        carts = {}                       # shared by every instance of this one Python process

        def __init__(self, database):
            pass

        def get(self, user):
            return self.carts.get(user)

        def put(self, user, cart):
            self.carts[user] = cart

    result = check_cart_exercise(ClassAttributeStorage)
    assert not result.passed and result.lost_carts == 0
    assert "shared database holds none of them" in result.message


def test_a_storage_that_forgets_is_caught_before_the_kill():
    class Forgetful:
        def __init__(self, database):
            pass

        def get(self, user):
            return None

        def put(self, user, cart):
            pass

    result = check_cart_exercise(Forgetful)
    assert not result.passed and result.message.startswith("not yet: 9 of 9 carts lost items before any instance")


def test_a_storage_that_raises_is_quoted_not_crashed():
    class Buggy:
        def __init__(self, database):
            self.database = database

        def get(self, user):
            return self.database.get("cart:" + user)

        def put(self, user, cart):
            raise KeyError("typo")

    result = check_cart_exercise(Buggy)
    assert not result.passed
    assert result.message.endswith("CartStorage.put raised KeyError: 'typo'")


def test_a_storage_without_methods_or_with_a_failing_constructor_is_explained():
    class Empty:
        def __init__(self, database):
            pass

    class Broken:
        def __init__(self, database):
            raise ValueError("no database today")

    assert check_cart_exercise(Empty).message.endswith("CartStorage has no get and no put method")
    assert check_cart_exercise(Broken).message.endswith("CartStorage(database) raised ValueError: no database today")


def test_passing_an_instance_instead_of_the_class_gets_a_clear_error():
    with pytest.raises(InvalidArgumentError, match=r"check_cart_exercise\(CartStorage\)"):
        check_cart_exercise(MemoryCartStorage(None))


def test_the_checker_cleans_up_after_itself():
    before = set(lab_threads())
    check_cart_exercise(MemoryCartStorage)
    assert registry.running() == []
    assert wait_for(lambda: set(lab_threads()) <= before, timeout=5)
