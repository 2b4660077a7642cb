"""exercises/exactly_once.py: a consumer passes only if every payment takes effect once, whatever the kills.

The reference solution (apply, then commit; applied ids kept with each
balance, one transaction) passes with four consumers killed. The scaffold
commits before applying and is "not yet" for a lost payment, named, the same
on every run. Four plausible mistakes fail for their own reason: commit after
with no deduplication, deduplication in the consumer's memory, deduplication
in a second write (each applies a payment twice), and no commits at all
(balances right, offsets never move).
"""

import pytest

from labsupport.exercises import EXACTLY_ONCE, check_exactly_once
from tests.exercise_mistakes import (
    x07_commit_after_no_dedup,
    x07_dedup_in_memory,
    x07_dedup_separate_key,
    x07_never_commits,
)
from tests.exercise_util import scaffold, solution


def test_the_reference_solution_passes_with_four_consumers_killed():
    verdict = check_exactly_once(solution(EXACTLY_ONCE))
    assert verdict.passed, verdict
    assert verdict.counts["consumers killed"] == 4 and verdict.counts["consumers started"] == 5
    assert verdict.counts["accounts with the right balance"] == 4
    assert verdict.counts["messages left uncommitted"] == 0


def test_the_scaffold_is_not_yet_for_a_lost_payment_the_same_way_every_run():
    first, second = check_exactly_once(scaffold(EXACTLY_ONCE)), check_exactly_once(scaffold(EXACTLY_ONCE))
    assert first.message.startswith("not yet: acct-1's balance is 69, but its payments add up to 81: payment pay-13 "
                                    "(12) never took effect: its offset was committed before it was applied")
    assert first.message.endswith("Commit after processing.")
    assert repr(first) == repr(second)


@pytest.mark.parametrize("mistake, reason", [
    (x07_commit_after_no_dedup, "acct-4's balance is 268, but its payments add up to 212: payments worth 56 in all "
                                "took effect twice"),
    (x07_dedup_in_memory, "acct-4's balance is 268, but its payments add up to 212: payments worth 56 in all took "
                          "effect twice"),
    (x07_dedup_separate_key, "acct-2's balance is 218, but its payments add up to 202: payment pay-20 (16) took "
                             "effect twice"),
    (x07_never_commits, "every balance is right, but partition 0 still has 19 messages past the committed offset"),
], ids=["no-dedup", "dedup-in-memory", "dedup-separate-key", "never-commits"])
def test_a_plausible_mistake_is_not_yet_for_its_own_reason(mistake, reason):
    verdict = check_exactly_once(mistake.PaymentConsumer)
    assert not verdict.passed
    assert verdict.message.startswith("not yet: " + reason)


def test_the_same_mistake_gets_the_same_verdict_twice():
    first = check_exactly_once(x07_dedup_separate_key.PaymentConsumer)
    assert repr(first) == repr(check_exactly_once(x07_dedup_separate_key.PaymentConsumer))
