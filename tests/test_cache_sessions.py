"""cache_sessions.py: sessions kept in Redis are shared by every instance, and lost when Redis restarts.

Pins chapter 04, claim E5: with sessions in a cache that keeps nothing on
disk, a Redis restart logs every user out at once, while carts in the
database survive; the instances themselves stay stateless.
"""

import pytest

from labsupport.shop import RedisSessionCluster

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def shop():
    with RedisSessionCluster(instances=3, seed=7) as cluster:
        if cluster.redis is None:
            pytest.skip("no Redis server available")
        yield cluster


def test_a_session_in_redis_is_seen_by_every_instance_and_has_a_ttl(shop):
    alice = shop.user("alice")
    answers = [alice.whoami() for _ in range(3)]
    assert {a["user"] for a in answers} == {"alice"}
    assert {a["instance"] for a in answers} == {"shop-1", "shop-2", "shop-3"}
    assert shop.sessions_in_store() == 1
    assert 0 < shop.session_seconds_left(alice) <= 1800
    assert shop.held_sessions() == {"shop-1": 0, "shop-2": 0, "shop-3": 0}      # nothing in instance memory


def test_killing_an_instance_logs_nobody_out(shop):
    alice = shop.user("alice")
    alice.add("book", 2)
    shop.kill(alice.last_instance)
    assert alice.cart() == {"book": 2} and not alice.session_lost


def test_restarting_redis_logs_everyone_out_but_carts_in_the_database_survive(shop):
    users = [shop.user(f"user-{i}") for i in range(5)]
    users[0].add("book", 2)
    assert shop.sessions_in_store() == 5
    shop.redis.restart()
    assert shop.sessions_in_store() == 0
    assert all("unknown session" in u.whoami()["error"] for u in users)
    assert shop.session_seconds_left(users[0]) == -2
    users[0].login()
    assert users[0].cart() == {"book": 2}


def test_logout_deletes_the_session_everywhere(shop):
    alice = shop.user("alice")
    session_id = alice.credential
    assert alice.logout()
    alice.credential = session_id            # an old session id, replayed
    assert "unknown session" in alice.whoami()["error"] and shop.sessions_in_store() == 0
