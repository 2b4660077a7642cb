"""retries.py: repeating a write is only safe with an idempotency key, for clients and for the balancer.

Pins chapter 04, claim E6 (a client that retries a timed-out add duplicates
the item without a key, not with one) and chapter 05, claim R2 (a request in
flight when its instance is killed is retried elsewhere if it carries a key,
and reported as "outcome unknown" if it does not).
"""

import pytest

from labsupport import Cluster, InvalidArgumentError
from labsupport.labs import RetryingClient, kill_mid_request, wait_until_idle

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def slow_shop():
    # Health checks would also be slow requests; with a long interval the only requests are the test's.
    with Cluster.stateless(instances=2, service_ms=400, health_interval=60, seed=7) as cluster:
        yield cluster


@pytest.mark.parametrize("use_key, books", [(False, 2), (True, 1)])
def test_a_retried_timed_out_add_duplicates_only_without_a_key(slow_shop, use_key, books):
    client = RetryingClient.login(slow_shop.url, "alice", timeouts=(0.1, 3.0), use_key=use_key)
    assert client.add("book") is not None
    assert [a["outcome"] for a in client.attempts] == ["no answer within 0.1 s", "HTTP 200"]
    assert wait_until_idle(slow_shop)
    assert slow_shop.user("alice").cart() == {"book": books}


def test_a_client_that_never_gets_an_answer_still_changed_the_cart(slow_shop):
    client = RetryingClient.login(slow_shop.url, "bob", timeouts=(0.1, 0.1, 0.1), use_key=False)
    assert client.add("pen") is None and len(client.attempts) == 3
    assert wait_until_idle(slow_shop)
    assert slow_shop.user("bob").cart() == {"pen": 3}       # three "failed" requests, three pens


def test_an_in_flight_request_with_a_key_is_retried_on_another_instance(slow_shop):
    alice = slow_shop.user("alice")
    outcome = kill_mid_request(slow_shop, alice, use_key=True)
    assert (outcome.status, outcome.outcome, outcome.retried) == (200, "done", True)
    assert outcome.answered_by != outcome.killed and outcome.killed is not None
    assert alice.cart() == {"book": 1}


def test_an_in_flight_post_without_a_key_is_reported_as_unknown(slow_shop):
    alice = slow_shop.user("alice")
    outcome = kill_mid_request(slow_shop, alice, use_key=False)
    assert (outcome.status, outcome.outcome, outcome.retried) == (502, "unknown", False)
    assert "Idempotency-Key" in outcome.error
    assert alice.cart() == {}          # this time it had not been applied; the client could not know that
    slow_shop.restart(outcome.killed)
    assert slow_shop.instance(outcome.killed).alive


def test_misuse_gets_clear_errors():
    with Cluster.stateless(instances=2) as fast:
        with pytest.raises(InvalidArgumentError, match="too fast"):
            kill_mid_request(fast, fast.user("alice"))
        with pytest.raises(InvalidArgumentError, match="timeouts"):
            RetryingClient(fast.url, "token", timeouts=())
