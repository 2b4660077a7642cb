"""exercises/idempotency.py: adds pass only if a retry after an in-flight kill neither doubles nor loses them.

The reference solution (applied keys inside the cart's record, one
transaction) passes with six adds cut off by a kill. The scaffold ignores the
key and is "not yet" for a doubled add, the same on every run. Three
plausible mistakes fail for their own reason: the key recorded after the add
(doubled), before it (lost), or in the instance's memory (doubled on the
other instance).
"""

import pytest

from labsupport.exercises import IDEMPOTENCY, check_idempotency
from tests.exercise_mistakes import x04_key_after_add, x04_key_before_add, x04_keys_in_memory
from tests.exercise_util import scaffold, solution

DOUBLED = "The cart then held 6 book, 3 lamp, where bob expected 3 book, 3 lamp: the add was applied twice."


def test_the_reference_solution_passes_with_adds_cut_off_by_kills():
    verdict = check_idempotency(solution(IDEMPOTENCY))
    assert verdict.passed, verdict
    assert verdict.counts["adds"] == 12 and verdict.counts["adds cut off by a kill mid-request"] == 6
    assert verdict.counts["duplicated items"] == verdict.counts["lost items"] == 0


def test_the_scaffold_is_not_yet_for_a_doubled_add_the_same_way_every_run():
    first, second = check_idempotency(scaffold(IDEMPOTENCY)), check_idempotency(scaffold(IDEMPOTENCY))
    assert first.message == ("not yet: bob added 3 book; shop-1 was killed right after your code's first write, "
                             "before it answered, and the balancer sent the same request, with the same "
                             "Idempotency-Key, to shop-2. " + DOUBLED)
    assert repr(first) == repr(second)
    assert first.counts["duplicated items"] == 3


@pytest.mark.parametrize("mistake, reason", [
    (x04_key_after_add, DOUBLED),
    (x04_key_before_add, "The cart then held 3 lamp, where bob expected 3 book, 3 lamp: an item was lost."),
    (x04_keys_in_memory, DOUBLED),
], ids=["key-after-add", "key-before-add", "keys-in-memory"])
def test_a_plausible_mistake_is_not_yet_for_its_own_reason(mistake, reason):
    verdict = check_idempotency(mistake.CartAdds)
    assert not verdict.passed
    assert verdict.message.startswith("not yet: bob added 3 book; shop-") and verdict.message.endswith(reason)


def test_the_same_mistake_gets_the_same_verdict_twice():
    assert repr(check_idempotency(x04_key_before_add.CartAdds)) == repr(check_idempotency(x04_key_before_add.CartAdds))
