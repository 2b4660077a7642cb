"""replication.py: a primary ships its log to a replica over a socket; the replica runs behind.

Pins chapter 07, claim M7: failing over to an asynchronous replica loses
exactly the acknowledged writes inside the lag (as the log positions
predict), a synchronous replica loses none because no write is answered
before the replica has it, and a lagging replica misses a user's own write
unless the read goes to the primary or waits for the write's position.
"""

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsupport.labs import failover_experiment, read_your_writes_experiment, write_latency_experiment
from labsupport.services import JsonClient, Node, ReplicaSet

from .conftest import lab_threads, wait_for

pytestmark = pytest.mark.timeout(60)


def test_async_failover_loses_exactly_the_writes_inside_the_lag():
    result = failover_experiment(sync=False, lag_s=1.0, writes=12, writes_in_lag=5)
    assert result.acknowledged == 17
    assert (result.primary_position, result.replica_position) == (17, 12)
    assert result.predicted == 5 and result.lost == 5
    assert result.lost_keys == tuple(f"order-{n:03d}" for n in range(12, 17))   # the newest five, none older


def test_sync_failover_loses_nothing():
    result = failover_experiment(sync=True, lag_s=0.05, writes=5, writes_in_lag=5)
    assert result.acknowledged == 10
    assert result.predicted == 0 and result.lost == 0


def test_a_sync_write_is_answered_only_once_the_replica_has_it():
    with ReplicaSet(lag_s=0.2, sync=True) as pair:
        client = JsonClient(pair.primary.url)
        for number in range(1, 4):
            status, answer = client.call("PUT", f"/kv/k{number}", {"value": number})
            assert (status, answer["position"]) == (200, number)
            assert pair.replica.position >= number           # already applied on the replica when we hear back
        client.close()


def test_an_async_write_is_answered_before_the_replica_has_it():
    with ReplicaSet(lag_s=1.0) as pair:
        client = JsonClient(pair.primary.url)
        assert client.call("PUT", "/kv/a", {"value": 1})[0] == 200
        assert (pair.primary.position, pair.replica.position) == (1, 0)
        assert wait_for(lambda: pair.replica.position == 1, timeout=10)    # it arrives after the lag
        client.close()


def test_a_sync_write_the_replica_never_acknowledges_is_refused():
    with ReplicaSet(lag_s=0.0, sync=True, ack_timeout_s=0.3) as pair:
        pair.replica.kill()
        client = JsonClient(pair.primary.url)
        status, answer = client.call("PUT", "/kv/a", {"value": 1})
        assert status == 503 and "acknowledge" in answer["error"]
        client.close()


def test_read_your_writes_fails_on_the_lagging_replica_and_passes_on_the_primary_or_at_the_position():
    result = read_your_writes_experiment(users=2, lag_s=0.5)
    assert result.saw_own_write == {"the replica, at once": 0, "the primary": 2,
                                    "the replica, waiting for the write's position": 2}


def test_the_replica_is_read_only_until_promoted_and_bad_requests_get_json_errors():
    with ReplicaSet(lag_s=0.0) as pair:
        replica = JsonClient(pair.replica.url)
        assert replica.call("PUT", "/kv/a", {"value": 1})[0] == 409
        assert replica.call("PUT", "/kv/a", {"wrong": 1})[0] == 400
        assert replica.call("GET", "/kv/a?at_least=x")[0] == 400
        assert replica.call("GET", "/nowhere")[0] == 404
        assert replica.call("DELETE", "/kv/a")[0] == 405
        pair.fail_over()
        assert replica.call("PUT", "/kv/a", {"value": 1}) == (200, {"key": "a", "position": 1})
        replica.close()


def test_a_promoted_replica_continues_the_log_where_it_stood():
    with ReplicaSet(lag_s=0.0) as pair:
        client = JsonClient(pair.primary.url)
        for number in range(3):
            client.call("PUT", f"/kv/k{number}", {"value": number})
        assert wait_for(lambda: pair.lag() == 0)
        assert pair.fail_over() == (3, 3)
        assert pair.replica.write("k3", 3) == 4
        client.close()


def test_latency_experiment_times_both_modes_in_one_run():
    result = write_latency_experiment(lag_s=0.01, writes=5)
    assert len(result.async_ms) == len(result.sync_ms) == 5
    assert "synchronous" in repr(result)


def test_nodes_leave_no_threads_or_sockets_behind():
    before = set(lab_threads())
    pair = ReplicaSet(lag_s=0.1)
    Node("spare").start().close()
    pair.close()
    assert wait_for(lambda: not (set(lab_threads()) - before), timeout=5)
    assert not any(t.name.startswith(("primary", "replica", "spare")) for t in threading.enumerate())


JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=3), max_leaves=8)


@pytest.fixture
def replica_set():
    with ReplicaSet(lag_s=0.0) as pair:
        yield pair


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSONISH, key=st.text(alphabet="abcxyz-_.%0/", min_size=0, max_size=12),
       query=st.sampled_from(["", "?at_least=0", "?at_least=-1", "?at_least=1.5", "?at_least="]))
def test_malformed_requests_get_4xx_never_a_5xx(replica_set, body, key, query):
    client = JsonClient(replica_set.primary.url)
    put, _ = client.call("PUT", f"/kv/{key}", body)
    got, _ = client.call("GET", f"/kv/{key}{query}")
    assert put in (200, 400, 404) and got in (200, 400, 404)
    assert client.call("GET", "/health")[0] == 200          # still serving
    client.close()
