"""identity.py: a separate provider signs tokens; API instances verify them with the published public keys.

Pins chapter 04, claim E1 (identity provider): the API never holds a private
key and never calls the provider to check a token it has the key for (it keeps
working while the provider is down); tokens signed by anyone else, altered,
or made with another algorithm are refused. Key rotation: the provider
publishes a JWKS with a ``kid`` per key, verifiers fetch it again for an
unknown ``kid`` (once), old tokens verify during the overlap and stop once
their key is retired and the verifier's copy refreshed.
"""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from labsupport import InvalidArgumentError
from labsupport.services import (
    IdentityProvider,
    PublicKeyVerifier,
    call_api,
    get_token,
    start_api_instance,
)
from labsupport.state import TokenRejected
from tests.http_util import call

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def provider():
    with IdentityProvider() as idp:
        yield idp


def test_the_provider_issues_eddsa_tokens_for_the_right_password_only(provider):
    status, token = get_token(provider.url, "alice", "wonderland")
    assert status == 200 and jwt.get_unverified_header(token)["alg"] == "EdDSA"
    assert sorted(jwt.decode(token, options={"verify_signature": False})) == ["exp", "iat", "iss", "jti", "sub"]
    assert get_token(provider.url, "alice", "wrong") == (401, None)
    assert get_token(provider.url, "mallory", "wonderland") == (401, None)
    assert provider.tokens_issued == 1
    for bad in ({"user": ["alice"], "password": "x"}, {"user": "alice"}):
        status, _, body = call(provider.url, "POST", "/token", bad)
        assert status == 400 and "strings" in body["error"]


def test_an_api_instance_verifies_without_calling_the_provider_even_when_it_is_down(provider):
    verifier = PublicKeyVerifier.from_provider(provider.url)
    api = start_api_instance(verifier, "api-1")
    _, token = get_token(provider.url, "bob", "builder")
    served = provider.requests_served
    assert call_api(api.url, token) == (200, {"user": "bob", "instance": "api-1"})
    assert provider.requests_served == served                  # no call to the provider
    published = call(provider.url, "GET", "/.well-known/jwks.json")[2]["keys"]
    provider.kill()
    assert call_api(api.url, token) == (200, {"user": "bob", "instance": "api-1"})
    assert not hasattr(verifier, "_signing_key") and verifier.fetches == 1
    assert [(k["kid"], k["kty"], k["crv"], k["alg"]) for k in published] == [("key-1", "OKP", "Ed25519", "EdDSA")]
    assert not any("d" in k for k in published)                  # no private part is ever published
    api.close()


def test_rotation_new_tokens_carry_the_new_kid_old_ones_verify_until_their_key_is_retired(provider):
    verifier = PublicKeyVerifier.from_provider(provider.url)
    api = start_api_instance(verifier, "api-1")
    _, old = get_token(provider.url, "alice", "wonderland")
    assert provider.rotate_key() == "key-2" and provider.published_kids == ["key-1", "key-2"]
    _, new = get_token(provider.url, "alice", "wonderland")
    assert (jwt.get_unverified_header(old)["kid"], jwt.get_unverified_header(new)["kid"]) == ("key-1", "key-2")
    assert call_api(api.url, new)[0] == 200 and verifier.fetches == 2     # unknown kid: fetched the set once more
    assert call_api(api.url, old)[0] == 200 and verifier.fetches == 2     # the overlap: both keys published
    with pytest.raises(InvalidArgumentError, match="rotate_key"):
        provider.retire_key("key-2")                                       # the key that signs cannot go
    provider.retire_key("key-1")
    assert call_api(api.url, old)[0] == 200                                # the verifier's copy still has it...
    verifier.refresh()
    status, body = call_api(api.url, old)                                  # ... until it refreshes
    assert status == 401 and "'key-1' is not in the provider's key set" in body["error"]
    assert call_api(api.url, new)[0] == 200
    api.close()


def test_a_made_up_kid_costs_one_fetch_not_one_per_request(provider):
    verifier = PublicKeyVerifier.from_provider(provider.url)
    now = int(time.time())
    claims = {"sub": "alice", "iss": "lab-identity", "iat": now, "exp": now + 60, "jti": "x"}
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "key-9"})
    for _ in range(5):
        with pytest.raises(TokenRejected, match="key-9"):
            verifier.verify(forged)
    assert verifier.fetches == 2
    relabelled = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": "key-1"})
    with pytest.raises(TokenRejected, match="Signature verification failed"):
        verifier.verify(relabelled)                                        # a known kid does not make it genuine


def test_forged_altered_and_confused_tokens_are_refused(provider):
    verifier = PublicKeyVerifier.from_provider(provider.url)
    _, token = get_token(provider.url, "alice", "wonderland")
    now = int(time.time())
    claims = {"sub": "alice", "iss": "lab-identity", "iat": now, "exp": now + 60, "jti": "x"}
    forged = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA")
    header, payload, signature = token.split(".")
    altered = ".".join([header, jwt.utils.base64url_encode(b'{"sub":"mallory"}').decode(), signature])
    unsigned = jwt.encode(claims, None, algorithm="none")
    for bad in (forged, altered, unsigned, "", "not.a.token"):
        with pytest.raises(TokenRejected):
            verifier.verify(bad)
    expired = dict(claims, iat=now - 120, exp=now - 60)
    with pytest.raises(TokenRejected, match="expired"):
        verifier.verify(jwt.encode(expired, provider._signing_key, algorithm="EdDSA", headers={"kid": "key-1"}))
    api = start_api_instance(verifier)
    status, body = call_api(api.url, forged)
    assert status == 401 and "not accepted" in body["error"]
    api.close()


def test_every_401_carries_a_bearer_challenge(provider):
    api = start_api_instance(PublicKeyVerifier.from_provider(provider.url))
    forged = call(api.url, "GET", "/me", headers={"Authorization": "Bearer not.a.token"})
    missing = call(api.url, "GET", "/me")
    wrong_password = call(provider.url, "POST", "/token", {"user": "alice", "password": "wrong"})
    api.close()
    assert forged[0] == 401 and forged[1]["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert missing[0] == 401 and missing[1]["WWW-Authenticate"] == "Bearer"       # nothing sent: no error code
    assert wrong_password[0] == 401 and wrong_password[1]["WWW-Authenticate"] == "Bearer"


def test_misuse_gets_clear_errors():
    with pytest.raises(InvalidArgumentError, match="identity provider"):
        PublicKeyVerifier.from_provider("http://127.0.0.1:9")
    with pytest.raises(InvalidArgumentError, match="ttl_s"):
        IdentityProvider(ttl_s=0)
