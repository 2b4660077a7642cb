"""exercises/logout.py: a denylist passes only if every instance refuses a logged-out token and it forgets in time.

The reference solution passes, and the ledger shows why: every old token was
refused, one entry per logout, none left once its token expired. The
notebook's scaffold is "not yet" with its own sentence, the same on every run.
Three plausible mistakes fail, each for the reason that is really wrong with
it: a denylist in instance memory (another instance accepts the token), one
without expiry (grows forever), one that keeps entries a full token lifetime
(outlives the token).
"""

import pytest

from labsupport import progress
from labsupport.exercises import LOGOUT, check_logout
from tests.exercise_mistakes import x01_denylist_in_memory, x01_no_expiry, x01_token_lifetime
from tests.exercise_util import scaffold, solution


def test_the_reference_solution_passes_and_the_pass_is_saved():
    verdict = check_logout(solution(LOGOUT))
    assert verdict.passed, verdict
    counts = verdict.counts
    assert counts["logouts"] == 3 and counts["old tokens tried on an instance"] == 3 * 3 + 3
    assert counts["old tokens accepted"] == 0 and counts["cache keys written by the denylist"] == 3
    assert counts["keys left once the last token expired"] == 0
    assert progress().chapter("01_stateless").exercise == "passed"


def test_the_scaffold_is_not_yet_because_it_is_not_written_the_same_way_every_run():
    first, second = check_logout(scaffold(LOGOUT)), check_logout(scaffold(LOGOUT))
    assert first.message == ("not yet: Denylist.is_revoked is not written yet: look token_id up in the cache and say "
                             "whether it was revoked (while the users shopped).")
    assert repr(first) == repr(second)
    assert progress().chapter("01_stateless").exercise == "not yet"


@pytest.mark.parametrize("mistake, reason", [
    (x01_denylist_in_memory, "alice logged out through shop-1, then sent the old token to shop-2 and got 200 OK with "
                             "the cart; expected 401 \"token revoked\". The instance that handled the logout knew; "
                             "the others did not."),
    (x01_no_expiry, "the cache key 'denied:<token id>', written when alice logged out, never expires: the denylist "
                    "grows with every logout, forever."),
    (x01_token_lifetime, "the cache key 'denied:<token id>', written when alice logged out, lives 60 minutes, but "
                         "the token expires in 25 minutes"),
], ids=["in-memory", "no-expiry", "token-lifetime"])
def test_a_plausible_mistake_is_not_yet_for_its_own_reason(mistake, reason):
    verdict = check_logout(mistake.Denylist)
    assert not verdict.passed
    assert verdict.message.startswith("not yet: " + reason)


def test_the_same_mistake_gets_the_same_verdict_twice():
    assert repr(check_logout(x01_token_lifetime.Denylist)) == repr(check_logout(x01_token_lifetime.Denylist))
