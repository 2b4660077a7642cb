"""shop/api.py, shop/stateless.py, shop/stateful.py: one API, two places for state, and clear errors for bad input."""

import jwt
import pytest

from labsupport import Cluster
from tests.http_util import call


@pytest.fixture(params=["stateless", "stateful"])
def shop(request):
    with Cluster(request.param, instances=1) as cluster:
        yield cluster


def login(shop, user="alice"):
    status, headers, body = call(shop.url, "POST", "/login", {"user": user})
    assert status == 200
    return {"Authorization": f"Bearer {body['token']}"}


def test_the_same_api_on_both_shops(shop):
    auth = login(shop)
    assert call(shop.url, "GET", "/cart", headers=auth)[2] == {"user": "alice", "items": {}}
    assert call(shop.url, "POST", "/cart/items", {"sku": "book", "qty": 2}, headers=auth)[2]["items"] == {"book": 2}
    assert call(shop.url, "DELETE", "/cart/items/book", headers=auth)[2]["items"] == {}
    status, headers, body = call(shop.url, "GET", "/whoami", headers=auth)
    assert body == {"user": "alice", "instance": "shop-1", "version": "v1"} and headers["X-Instance"] == "shop-1"
    assert call(shop.url, "GET", "/health")[2] == {"status": "ok"}


def test_an_idempotency_key_makes_a_retried_add_count_once(shop):
    auth = login(shop)
    for _ in range(3):
        body = call(shop.url, "POST", "/cart/items", {"sku": "pen", "qty": 1}, headers={**auth, "Idempotency-Key": "k1"})[2]
    assert body["items"] == {"pen": 1}
    body = call(shop.url, "POST", "/cart/items", {"sku": "pen", "qty": 1}, headers=auth)[2]
    body = call(shop.url, "POST", "/cart/items", {"sku": "pen", "qty": 1}, headers=auth)[2]
    assert body["items"] == {"pen": 3}          # without a key, every retry counts


def test_logout_ends_the_session_on_both_shops(shop):
    auth = login(shop)
    assert call(shop.url, "POST", "/logout", headers=auth)[0] == 200
    status, _, body = call(shop.url, "GET", "/cart", headers=auth)
    assert status == 401 and ("revoked" in body["error"] or "unknown session" in body["error"])


BAD_REQUESTS = [
    ("POST", "/login", b"{not json", {}, 400),
    ("POST", "/login", b"[1, 2]", {}, 400),
    ("POST", "/login", b"{}", {}, 400),
    ("POST", "/login", b'{"user": 42}', {}, 400),
    ("POST", "/login", b'{"user": "../etc/passwd"}', {}, 400),
    ("POST", "/cart/items", b'{"sku": "book", "qty": "two"}', "auth", 400),
    ("POST", "/cart/items", b'{"sku": "book", "qty": -1}', "auth", 400),
    ("POST", "/cart/items", b'{"sku": "book", "qty": 1e308}', "auth", 400),
    ("POST", "/cart/items", b'{"sku": "book", "qty": true}', "auth", 400),
    ("POST", "/cart/items", b'{"qty": 1}', "auth", 400),
    ("POST", "/cart/items", b"x" * (64 * 1024 + 1), "auth", 413),
    ("GET", "/nowhere", None, "auth", 404),
    ("PUT", "/cart", None, "auth", 405),
    ("GET", "/login", None, {}, 405),
    ("GET", "/cart", None, {}, 401),
    ("GET", "/cart", None, {"Authorization": "Bearer nonsense"}, 401),
    ("GET", "/cart", None, {"Cookie": "session=made-up"}, 401),
]


@pytest.mark.parametrize("method, path, raw, headers, expected", BAD_REQUESTS)
def test_bad_input_gets_its_status_a_json_error_and_the_shop_keeps_serving(shop, method, path, raw, headers, expected):
    auth = login(shop)
    headers = auth if headers == "auth" else headers
    status, _, body = call(shop.url, method, path, raw_body=raw, headers=headers)
    assert status == expected and isinstance(body["error"], str) and "Traceback" not in body["error"]
    assert call(shop.url, "GET", "/cart", headers=auth)[0] == 200


def test_every_401_carries_a_bearer_challenge_with_invalid_token_when_a_credential_was_sent(shop):
    status, headers, _ = call(shop.url, "GET", "/cart")
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"                 # nothing sent: no error code
    status, headers, _ = call(shop.url, "GET", "/cart", headers={"Authorization": "Bearer made-up"})
    assert status == 401 and headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'  # bad token, unknown session
    auth = login(shop)
    call(shop.url, "POST", "/logout", headers=auth)
    status, headers, _ = call(shop.url, "GET", "/cart", headers=auth)                 # revoked token, ended session
    assert status == 401 and headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_an_unknown_session_cookie_gets_invalid_token_from_the_stateful_shop():
    with Cluster.stateful(instances=1) as shop:
        status, headers, _ = call(shop.url, "GET", "/cart", headers={"Cookie": "session=made-up"})
    assert status == 401 and headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_stateless_shop_refuses_tampered_alg_none_and_expired_tokens():
    with Cluster.stateless(instances=1) as shop:
        token = call(shop.url, "POST", "/login", {"user": "alice"})[2]["token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        forged = [
            jwt.encode({**claims, "sub": "mallory"}, None, algorithm="none"),
            jwt.encode({**claims, "sub": "mallory"}, "x" * 32, algorithm="HS256"),
            shop.tokens.issue("alice", now=claims["iat"] - 2 * shop.tokens.ttl_s),
        ]
        for bad in forged:
            status, headers, body = call(shop.url, "GET", "/cart", headers={"Authorization": f"Bearer {bad}"})
            assert status == 401 and headers["WWW-Authenticate"] == 'Bearer error="invalid_token"', body


def test_the_stateless_instance_holds_nothing_after_the_response_and_the_stateful_one_does():
    with Cluster.stateless(instances=1) as stateless, Cluster.stateful(instances=1) as stateful:
        for cluster in (stateless, stateful):
            for name in ("alice", "bob"):
                cluster.user(name).add("book")
        held = stateless.instances[0].held_state()
        assert (held.entries, held.bytes) == (0, 0) and set(held.left_out) == {"tokens", "database", "cache"}
        assert stateful.instances[0].held_state().entries_in("sessions") == 2
        assert stateless.database.count("cart:") == 2


def test_a_database_outage_gives_503_fast_and_recovers_without_restart():
    with Cluster.stateless(instances=2) as shop:
        alice = shop.user("alice")
        alice.add("book")
        shop.database.down()
        status, _, body = call(shop.url, "GET", "/cart", headers={"Authorization": f"Bearer {alice.credential}"})
        assert status == 503
        shop.database.up()
        assert alice.cart() == {"book": 1}
