"""tokens.py: a signed token proves who you are to any instance, and nothing forged gets through."""

import time

import jwt
import pytest

from labsupport import InvalidArgumentError, TokenIssuer, TokenRejected

SECRET = "s" * 32


def test_a_token_verifies_on_its_own_and_carries_the_claims():
    claims = TokenIssuer(SECRET).verify(TokenIssuer(SECRET).issue("alice"))
    assert claims["sub"] == "alice" and claims["exp"] > claims["iat"] and claims["jti"]


@pytest.mark.parametrize("forge, reason", [
    (lambda t: jwt.encode({"sub": "alice", "iat": 1, "exp": 2**40, "jti": "x", "iss": "lab-shop"}, None,
                          algorithm="none"), "algorithm not allowed"),
    (lambda t: jwt.encode(jwt.decode(t, options={"verify_signature": False}), "w" * 32, algorithm="HS256"),
     "signature does not match"),
    (lambda t: t[:-3] + ("AAA" if t[-3:] != "AAA" else "BBB"), "signature"),
    (lambda t: "not-a-token", "not valid"),
    (lambda t: "", "no token"),
])
def test_forged_tampered_and_missing_tokens_are_refused(forge, reason):
    issuer = TokenIssuer(SECRET)
    with pytest.raises(TokenRejected, match=reason):
        issuer.verify(forge(issuer.issue("alice")))


def test_an_expired_token_is_refused():
    issuer = TokenIssuer(SECRET, ttl_s=10)
    with pytest.raises(TokenRejected, match="expired"):
        issuer.verify(issuer.issue("alice", now=time.time() - 60))


def test_a_weak_secret_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="32 characters"):
        TokenIssuer("short")
