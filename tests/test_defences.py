"""defences.py: the balancer's defences against gray failure, each checked by what it changes.

Request timeouts turn a hang into a 504 with "outcome unknown"; retries after a
timeout happen only when asked and only within the budget; outlier ejection
takes out an instance that passes its health check but fails or drags real
requests, never everyone when everyone fails alike, and lets it back after a
cool-off; failing open (or a liveness-only check) keeps instances that can still
answer in rotation during a shared outage. Counts and states, never timings.
"""

import pytest

from labsupport import Balancer, Cluster, Instance, InvalidArgumentError
from labsupport.engine import Application, OutlierEjection, Policy, Response, RetryBudget
from tests.conftest import wait_for
from tests.http_util import call


class Echo(Application):
    """Answers 200 to everything."""

    def handle(self, request, instance):
        return Response(200, {"ok": True})


class FailsRealRequests(Application):
    """Passes its health check and fails everything else: a gray failure."""

    def handle(self, request, instance):
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        return Response(500, {"error": "broken, though healthy on paper"})


class FirstListed(Policy):
    """Always the first candidate, so a test knows where each attempt goes (retries go to the next)."""

    name = "first_listed"

    def choose(self, instances, request):
        return instances[0] if instances else None


def lab(apps, policy="round_robin", health_interval=5.0):
    """A balancer in front of one instance per (name, app class); everything closes with shutdown_all()."""
    balancer = Balancer(policy, health_interval=health_interval).start()
    instances = {}
    for name, app in apps:
        instances[name] = Instance(app, name=name).start()
        balancer.add_instance(name, instances[name].address)
    return balancer, instances


def served_by(balancer, requests, method="GET", headers=None):
    """Send ``requests`` requests one after another; returns [(status, X-Instance or None)]."""
    answers = []
    for _ in range(requests):
        status, got, _ = call(balancer.url, method, "/x", {} if method == "POST" else None, headers=headers)
        answers.append((status, got.get("X-Instance")))
    return answers


# -- request timeouts and retries ----------------------------------------------------------
def test_a_request_timeout_answers_504_with_an_unknown_outcome_and_keeps_the_instance_in_rotation():
    balancer, instances = lab([("a", Echo), ("b", Echo)], policy=FirstListed())
    instances["a"].pause()
    balancer.defend(request_timeout_s=0.2)
    status, _, body = call(balancer.url, "GET", "/x")
    assert status == 504 and body["outcome"] == "unknown" and "did not answer within 0.2 s" in body["error"]
    assert balancer.instance("a").timeouts == 1 and balancer.defence_stats()["timeouts"] == 1
    assert balancer.instance("a").status == "up"                 # slow is not dead: a timeout alone ejects nobody


def test_a_timed_out_request_is_retried_elsewhere_only_when_asked_and_only_if_safe():
    balancer, instances = lab([("a", Echo), ("b", Echo)], policy=FirstListed())
    instances["a"].pause()
    balancer.defend(request_timeout_s=0.2)
    assert served_by(balancer, 1) == [(504, None)]
    balancer.defend(retry_timeouts=True)
    status, headers, _ = call(balancer.url, "GET", "/x")
    assert (status, headers["X-Instance"], headers["X-Retried-From"]) == (200, "b", "a")
    assert served_by(balancer, 1, method="POST") == [(504, None)]        # no key: it may be applied later
    assert served_by(balancer, 1, "POST", {"Idempotency-Key": "k1"}) == [(200, "b")]
    assert balancer.defence_stats()["retries"] == 2


def test_without_a_budget_every_request_to_an_all_slow_cluster_is_tried_everywhere():
    balancer, instances = lab([("a", Echo), ("b", Echo), ("c", Echo)])
    for instance in instances.values():
        instance.pause()
    balancer.defend(request_timeout_s=0.1, retry_timeouts=True)
    answers = served_by(balancer, 6)
    assert {status for status, _ in answers} == {502}                     # tried a, b and c; none answered
    assert balancer.defence_stats()["retries"] == 12                      # the storm: three attempts per request
    assert balancer.defence_stats()["timeouts"] == 18


def test_a_retry_budget_refuses_retries_beyond_its_share_and_counts_the_refusals():
    balancer, instances = lab([("a", Echo), ("b", Echo), ("c", Echo)])
    for instance in instances.values():
        instance.pause()
    budget = RetryBudget(ratio=0.2, initial=1)
    balancer.defend(request_timeout_s=0.1, retry_timeouts=True, retry_budget=budget)
    answers = served_by(balancer, 10)
    stats = balancer.defence_stats()
    assert stats["retries"] <= 1 + 0.2 * 10 and stats["retries_refused"] >= 10 - stats["retries"]
    assert stats["timeouts"] == 10 + stats["retries"]                     # one attempt each, plus the few retries
    assert all(status == 504 for status, _ in answers[-5:])               # budget spent: the timeout goes back


def test_a_retry_budget_earns_a_share_of_a_retry_per_request_up_to_its_cap():
    budget = RetryBudget(ratio=0.25, initial=0, cap=2)
    assert not budget.withdraw()
    for _ in range(4):
        budget.deposit()
    assert budget.withdraw() and not budget.withdraw()
    for _ in range(100):                                                  # a long calm spell saves up only the cap
        budget.deposit()
    assert [budget.withdraw() for _ in range(3)] == [True, True, False]
    assert (budget.retries, budget.refused) == (3, 3)


# -- outlier ejection ---------------------------------------------------------------------
def test_outlier_ejection_takes_out_an_instance_that_fails_real_requests_but_passes_its_health_check():
    balancer, _ = lab([("a", Echo), ("b", Echo), ("broken", FailsRealRequests)], health_interval=0.05)
    without = served_by(balancer, 30)
    assert sum(status == 500 for status, _ in without) == 10              # round robin: every third request
    balancer.defend(outlier_ejection=OutlierEjection(min_requests=3, cool_off_s=60))
    with_ejection = served_by(balancer, 30)
    assert sum(status == 500 for status, _ in with_ejection) == 3         # the three it took to stand out
    assert balancer.defences.outliers.ejected("broken") and balancer.defence_stats()["ejections"] == 1
    assert balancer.instance("broken").status == "up"                     # its health check never noticed
    assert any("broken ejected as an outlier: 100% errors" in m for m in balancer.events.messages(50))


def test_outlier_ejection_takes_out_a_slow_instance():
    balancer, instances = lab([("a", Echo), ("b", Echo), ("slow", Echo)])
    instances["slow"].slow(100)
    balancer.defend(outlier_ejection=OutlierEjection(min_requests=3, cool_off_s=60))
    answers = served_by(balancer, 30)
    assert sum(name == "slow" for _, name in answers) == 3 and balancer.defences.outliers.ejected("slow")
    assert any("slow ejected as an outlier: mean latency" in m for m in balancer.events.messages(50))


def test_nobody_is_an_outlier_when_everyone_fails_alike():
    balancer, _ = lab([(name, FailsRealRequests) for name in ("a", "b", "c")])
    balancer.defend(outlier_ejection=OutlierEjection(min_requests=3))
    assert {status for status, _ in served_by(balancer, 30)} == {500}
    assert balancer.defence_stats()["ejections"] == 0


def test_no_more_than_max_ejected_instances_are_out_at_once():
    balancer, _ = lab([("a", Echo), ("b", Echo), ("broken-1", FailsRealRequests), ("broken-2", FailsRealRequests)])
    balancer.defend(outlier_ejection=OutlierEjection(min_requests=3, max_ejected=0.25, cool_off_s=60))
    served_by(balancer, 40)
    outliers = balancer.defences.outliers
    assert outliers.ejections == 1 and outliers.ejected("broken-1") and not outliers.ejected("broken-2")


def test_an_ejected_instance_comes_back_after_its_cool_off_and_stays_out_longer_next_time():
    balancer, _ = lab([("a", Echo), ("b", Echo), ("broken", FailsRealRequests)], health_interval=0.05)
    balancer.defend(outlier_ejection=OutlierEjection(min_requests=3, cool_off_s=0.2))
    served_by(balancer, 9)
    outliers = balancer.defences.outliers
    assert outliers.ejected("broken")
    assert wait_for(lambda: not outliers.ejected("broken"))              # the health loop readmitted it
    assert "broken back in rotation after its cool-off" in balancer.events.messages(50)
    assert "broken" in {name for _, name in served_by(balancer, 9)} and outliers.ejected("broken")
    ejections = [m for m in balancer.events.messages(50) if m.startswith("broken ejected")]
    assert [m.split("; ")[-1] for m in ejections] == ["out for 0.2 s", "out for 0.4 s"]


@pytest.mark.parametrize("policy, defence", [("least_connections", {}), ("round_robin", {"outlier_ejection": True})],
                         ids=["least_connections", "outlier_ejection"])
def test_a_slow_instance_gets_far_less_traffic_with_least_connections_or_ejection(policy, defence):
    shares = {}
    for name, options in (("round_robin", {}), (policy, defence)):
        with Cluster.stateless(instances=3, policy=name, seed=3, service_ms=1) as shop:
            shop.balancer.defend(**options)
            shop.slow("shop-2", 200)
            report = shop.run_traffic(users=6, actions=15, seed=3)
            shares[name if not options else "ejection"] = report.by_instance.get("shop-2", 0) / report.actions
            assert shop.status("shop-2") == "up"                        # green throughout: a gray failure
    round_robin, other = shares["round_robin"], shares[policy if not defence else "ejection"]
    assert round_robin > 0.25 and other < round_robin / 2


# -- health checks: readiness, liveness, failing open ---------------------------------------
def health_rounds(shop, rounds=3):
    """Wait until every instance got ``rounds`` more health checks (nobody else is asking)."""
    seen = {i.name: i.stats["requests"] for i in shop.instances}
    return wait_for(lambda: all(i.stats["requests"] >= seen[i.name] + rounds for i in shop.instances), timeout=10)


def test_readiness_includes_the_database_and_liveness_does_not():
    with Cluster.stateless(instances=1, seed=1, health_interval=5.0) as shop:
        address = shop.instance("shop-1").address
        shop.database.down()
        assert call(address, "GET", "/health")[0] == 503
        assert call(address, "GET", "/health/live")[0] == 200


def test_a_shared_outage_ejects_every_instance_when_the_check_includes_it_and_failing_open_keeps_them():
    with Cluster.stateless(instances=3, seed=1, health_interval=0.05) as shop:
        alice = shop.user("alice")
        shop.database.down()
        assert wait_for(lambda: all(shop.status(i.name) == "unhealthy" for i in shop.instances))
        bearer = {"Authorization": f"Bearer {alice.credential}"}
        status, headers, body = call(shop.url, "GET", "/whoami", headers=bearer)
        assert status == 503 and "no healthy instance" in body["error"] and "X-Instance" not in headers
        shop.balancer.defend(fail_open=0.5)
        whoami, cart = (call(shop.url, "GET", path, headers=bearer) for path in ("/whoami", "/cart"))
        assert whoami[0] == 200 and whoami[2]["user"] == "alice"          # needs no database: answered
        assert cart[0] == 503 and "X-Instance" in cart[1]                  # the instance's own fast 503
        assert shop.balancer.defence_stats()["panic_requests"] == 2
        assert any(m.startswith("failing open: 0 of 3") for m in shop.events.messages(50))
        shop.database.up()
        assert wait_for(lambda: all(shop.status(i.name) == "up" for i in shop.instances))
        assert alice.cart() == {} and shop.balancer.defence_stats()["panic_requests"] == 2


def test_a_liveness_check_keeps_every_instance_in_rotation_through_a_shared_outage():
    with Cluster.stateless(instances=3, seed=1, health_interval=0.05) as shop:
        alice = shop.user("alice")
        shop.balancer.set_health_check("/health/live")
        shop.database.down()
        assert health_rounds(shop)
        assert all(shop.status(i.name) == "up" for i in shop.instances)
        assert alice.whoami()["user"] == "alice"
        status, headers, _ = call(shop.url, "GET", "/cart", headers={"Authorization": f"Bearer {alice.credential}"})
        assert status == 503 and "X-Instance" in headers


def test_defences_are_off_until_switched_on_and_validated():
    balancer = Balancer().start()
    assert balancer.defence_stats() == {"retries": 0, "retries_refused": 0, "ejections": 0, "panic_requests": 0,
                                        "timeouts": 0}
    assert repr(balancer.defences).startswith("Defences(request timeout off, retry timeouts False")
    for settings in ({"request_timeout_s": -1}, {"request_timeout_s": True}, {"retry_timeouts": 1},
                     {"retry_budget": 2}, {"retry_budget": True}, {"fail_open": 1.5}, {"fail_open": True},
                     {"outlier_ejection": "yes"}, {"timeout": 1}):
        with pytest.raises(InvalidArgumentError):
            balancer.defend(**settings)
    with pytest.raises(InvalidArgumentError, match="latency_factor"):
        OutlierEjection(latency_factor=0.5)
    with pytest.raises(InvalidArgumentError, match="path must be a path"):
        balancer.set_health_check("health")
    balancer.defend(fail_open=0.5, retry_budget=0.1)
    assert "FailOpen(panic_threshold=0.5)" in repr(balancer.defences) and "RetryBudget(ratio=0.1)" in repr(
        balancer.defences)
