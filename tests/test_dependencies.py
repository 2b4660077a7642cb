"""dependencies.py: every stateless request calls the stores, and a store outage stops every instance.

Pins chapter 04, claims E2 and E4: one action is one database call and one
cache call, so store load grows exactly with traffic; with the database (or
Redis) down, every live instance answers 503 at once instead of hanging, and
serves again as soon as the store is back, with no restart.
"""

import pytest

from labsupport import Cluster
from labsupport.labs import (
    ask_every_instance,
    count_store_calls,
    load_by_traffic,
    wait_until_in_rotation,
)
from tests.conftest import wait_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def shop():
    with Cluster.stateless(instances=3, seed=7) as cluster:
        yield cluster


def test_each_request_makes_store_calls(shop):
    alice = shop.user("alice")
    with count_store_calls(shop) as add:
        alice.add("book")
    with count_store_calls(shop) as view:
        alice.cart()
    with count_store_calls(shop) as login:
        shop.user("bob")
    assert (add.database, add.cache) == (1, 1)
    assert (view.database, view.cache) == (1, 1)
    assert (login.database, login.cache) == (0, 0)          # a JWT login touches no store


def test_store_load_grows_with_traffic_exactly(shop):
    table = load_by_traffic(shop, user_counts=(1, 2, 4), actions=5)
    assert table.rows == [[1, 5, 5, 5], [2, 10, 10, 10], [4, 20, 20, 20]]
    again = load_by_traffic(shop, user_counts=(1, 2, 4), actions=5)
    assert again.rows == table.rows
    shop.scale(5)                                           # more instances, same load on the stores
    assert load_by_traffic(shop, user_counts=(4,), actions=5).rows == [[4, 20, 20, 20]]


@pytest.mark.parametrize("outage", ["database", "redis"])
def test_an_outage_fails_every_instance_fast_and_they_recover_without_restart(shop, outage):
    alice = shop.user("alice")
    generations = [s.generation for s in shop.instances]
    before = ask_every_instance(shop, alice)
    if outage == "database":
        shop.database.down()
    else:
        shop.redis.stop()
    during = ask_every_instance(shop, alice)
    if outage == "database":
        shop.database.up()
    else:
        shop.redis.start()
    after = ask_every_instance(shop, alice)
    assert before.all(200) and during.all(503) and after.all(200)
    assert all("down" in e or "unreachable" in e for e in during.errors.values())
    assert [s.generation for s in shop.instances] == generations and all(s.alive for s in shop.instances)


def test_a_dead_instance_reads_as_no_answer(shop):
    alice = shop.user("alice")
    shop.kill("shop-2")
    answers = ask_every_instance(shop, alice)
    assert answers.statuses == {"shop-1": 200, "shop-2": 0, "shop-3": 200}
    assert "no answer" in answers.errors["shop-2"]


def test_health_checks_take_instances_out_during_an_outage_and_put_them_back(shop):
    shop.database.down()
    assert wait_for(lambda: all(shop.status(s.name) == "unhealthy" for s in shop.instances))
    assert not wait_until_in_rotation(shop, timeout=0.3)
    shop.database.up()
    assert wait_until_in_rotation(shop)
    assert shop.user("alice").add("book") == {"book": 1}
