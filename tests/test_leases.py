"""leases.py and labs/split_brain.py: one leader at a time, and fencing tokens for the one that was paused.

Pins chapter 07, claim M9: a lease has one live holder; every new lease
gets a higher token; a leader frozen past its lease comes back and writes
(split brain) unless the shared resource refuses its old token.
"""

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsupport import InvalidArgumentError
from labsupport.labs import InvoiceLeader, split_brain_experiment
from labsupport.services import JsonClient, LeaseStore, SharedResource

from .conftest import wait_for

pytestmark = pytest.mark.timeout(60)


def test_a_lease_has_one_holder_until_it_expires_and_each_grant_raises_the_token():
    with LeaseStore(lease_s=0.2) as leases:
        first = leases.acquire("leader", "a")
        assert (first.holder, first.token) == ("a", 1)
        assert leases.acquire("leader", "b") is None                  # a holds a live lease
        assert leases.acquire("leader", "a").token == 1               # renewing keeps the token
        assert wait_for(lambda: leases.holder("leader") is None, timeout=5)
        second = leases.acquire("leader", "b")
        assert (second.holder, second.token) == ("b", 2)
        assert leases.acquire("other", "a").token == 1                # tokens count per lease name


def test_an_expired_holder_that_asks_again_gets_a_new_token():
    with LeaseStore(lease_s=0.1) as leases:
        leases.acquire("leader", "a")
        time.sleep(0.15)                                              # past the lease: not a timing assertion
        assert leases.acquire("leader", "a").token == 2


def test_without_fencing_the_paused_leader_writes_too():
    result = split_brain_experiment(fencing=False)
    assert result.leaders_after_takeover == 2
    assert result.stale_accepted == 3 and result.issued_twice == 3 and result.refused == 0
    writers = [w.writer for w in result.writes]
    assert writers == ["node-a"] * 3 + ["node-b"] * 3 + ["node-a"] * 3 + ["node-b"] * 3


def test_with_fencing_the_resource_refuses_the_stale_leader():
    result = split_brain_experiment(fencing=True)
    assert result.leaders_after_takeover == 1
    assert result.stale_accepted == 0 and result.issued_twice == 0 and result.refused == 1
    refused = [w for w in result.writes if not w.accepted]
    assert [(w.writer, w.token, w.key) for w in refused] == [("node-a", 1, "invoice-004")]
    assert [w.key for w in result.writes if w.accepted] == [f"invoice-{n:03d}" for n in range(1, 10)]


def test_a_node_without_the_lease_issues_nothing():
    with LeaseStore(lease_s=5) as leases, SharedResource().start() as resource:
        with InvoiceLeader("node-a", leases, resource) as a, InvoiceLeader("node-b", leases, resource) as b:
            a.issue(2)
            a.wait_idle()
            b.issue(2)
            b.wait_idle()
            assert (a.issued, b.issued) == ([1, 2], [])


def test_the_resource_checks_its_input_and_counts_per_lock():
    with SharedResource(fencing=True).start() as resource:
        client = JsonClient(resource.url)
        assert client.call("POST", "/write", {"lock": "x", "token": "1", "writer": "a", "key": "k"})[0] == 400
        assert client.call("POST", "/write", {"lock": "x"})[0] == 400
        assert client.call("POST", "/write", {"lock": "x", "token": -5, "writer": "a", "key": "k"})[0] == 400
        assert client.call("GET", "/nowhere")[0] == 404
        client.close()
        assert resource.write("job-1", 2, "a", "k", 1)
        assert not resource.write("job-1", 1, "b", "k", 2)           # older token, same lock: refused
        assert resource.write("job-2", 1, "b", "k", 3)               # another lock has its own tokens
        assert resource.values() == {"k": 3}


def test_bad_lease_length():
    with pytest.raises(InvalidArgumentError, match="lease_s"):
        LeaseStore(lease_s=0)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["lock", "token", "writer", "key", "value", "x"]),
                            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                            max_size=6))
def test_the_resource_answers_any_body_with_a_4xx_or_an_acceptance(shared_resource, body):
    client = JsonClient(shared_resource.url)
    status, answer = client.call("POST", "/write", body)
    assert status in (200, 400, 409) and isinstance(answer, dict)
    assert client.call("GET", "/health")[0] == 200
    client.close()


@pytest.fixture
def shared_resource():
    with SharedResource(fencing=True).start() as resource:
        yield resource
