"""An identity provider: a separate server that signs tokens with a key no API instance has.

In production, logging in is often somebody else's job (Auth0, Okta, Keycloak,
Cognito): a separate service checks passwords, keeps the login state, and
signs tokens with its *private* key. The API instances get only the matching
*public* keys: with them they check a token's signature and expiry on every
request without calling the provider, but they can never make a token. So the
API tier stays stateless, the provider is one more stateful system it depends
on, and a leaked API server cannot mint logins. Chapter 04, E1.

Keys are rotated, so the provider publishes its public keys as a JSON Web Key
Set (JWKS, RFC 7517) at ``/.well-known/jwks.json``, each key with an id
(``kid``), and puts the ``kid`` of the signing key in every token's header.
A verifier (``PublicKeyVerifier``) fetches the set once and keeps it; when a
token names a ``kid`` it does not know, it fetches the set again (once per
unknown ``kid``: a forged ``kid`` cannot make it call the provider on every
request; real clients such as PyJWT's ``PyJWKClient`` also cache the set for
a lifespan). Rotation then needs no restart and no coordination:

1. ``rotate_key()``: a new key signs new tokens; the old one stays published,
   so tokens signed before the rotation still verify (the overlap);
2. ``retire_key(kid)``: once every token signed with the old key has expired,
   it leaves the set; a verifier that refreshes its copy refuses it from then on.

Tokens are Ed25519 signatures made with PyJWT. RFC 9864 deprecates the JOSE
algorithm name "EdDSA" in favour of the fully specified "Ed25519", but PyJWT
(2.15) knows Ed25519 keys only under "EdDSA": ``algorithm="Ed25519"`` raises
"Algorithm not supported", and registering a second name would change PyJWT
for every other user in the process. So tokens say ``"alg": "EdDSA"`` and each
published key says ``"crv": "Ed25519"``, which pins the curve.
"""

import collections
import hashlib
import hmac
import http.client
import itertools
import json
import secrets
import time
import urllib.parse
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from ..checks import require_number
from ..engine.application import Application
from ..engine.held_state import Infrastructure
from ..engine.instance import HTTPError, Instance, Response
from ..errors import InvalidArgumentError
from ..shop.api import unauthorized
from ..state.tokens import TokenRejected
from .service import Service

__all__ = ["IdentityProvider", "PublicKeyVerifier", "ProfileAPI", "start_api_instance", "get_token", "call_api",
           "DEMO_USERS", "JWKS_PATH"]

ALGORITHM = "EdDSA"             # the only name PyJWT accepts for Ed25519 (see the module docstring)
JWKS_PATH = "/.well-known/jwks.json"
DEMO_USERS = {"alice": "wonderland", "bob": "builder", "carol": "kittens"}
HASH_ROUNDS = 20_000


def _hash(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, HASH_ROUNDS)


class IdentityProvider(Service):
    """The token issuer: users, password checks, the private keys. ``start``, ``kill``, ``close``, ``url``.

    ``rotate_key()`` and ``retire_key(kid)`` rotate the signing key; ``published_kids``
    lists the keys in the JWKS and ``current_kid`` the one that signs new tokens.
    The keys live in this object, not in the instance serving HTTP, as a real
    provider keeps them in a key store: a restarted instance still has them.
    """

    def __init__(self, users=None, ttl_s=900, issuer="lab-identity", name="identity"):
        require_number("ttl_s", ttl_s, 0, allow_minimum=False, unit="seconds")
        self.ttl_s, self.issuer = int(ttl_s), issuer
        self._key_numbers = itertools.count(1)
        self._keys = {}                                       # kid -> private key; never leaves this object
        self.rotate_key()
        self._salt = secrets.token_bytes(16)
        self._passwords = {user: _hash(password, self._salt) for user, password in (users or DEMO_USERS).items()}
        self.tokens_issued = 0
        self.instance = Instance(lambda: _IdentityApp(self), name=name)

    requests_served = property(lambda self: self.instance.stats["requests"])

    @property
    def published_kids(self):
        return list(self._keys)

    @property
    def public_key_pem(self):
        """The current signing key's public half, PEM-encoded."""
        return self._signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def rotate_key(self):
        """Start signing with a new key (``key-1``, ``key-2``, ...); the old ones stay published. Returns its kid."""
        self.current_kid = f"key-{next(self._key_numbers)}"
        self._signing_key = Ed25519PrivateKey.generate()
        self._keys[self.current_kid] = self._signing_key
        return self.current_kid

    def retire_key(self, kid):
        """Stop publishing ``kid``: tokens it signed no longer verify once verifiers refresh their copy."""
        if kid == self.current_kid:
            raise InvalidArgumentError(f"{kid} signs new tokens; rotate_key() first, then retire {kid}")
        if kid not in self._keys:
            raise InvalidArgumentError(f"no published key {kid!r}; published: {', '.join(self._keys)}")
        del self._keys[kid]

    def jwks(self):
        """The public keys as a JSON Web Key Set: ``{"keys": [{"kty", "crv", "x", "kid", "alg", "use"}, ...]}``."""
        return {"keys": [dict(OKPAlgorithm.to_jwk(key.public_key(), as_dict=True), kid=kid, alg=ALGORITHM, use="sig")
                         for kid, key in self._keys.items()]}

    def login(self, user, password):
        """A signed token if the password is right, else None. Its header names the signing key (``kid``)."""
        expected = self._passwords.get(user)
        if expected is None or not hmac.compare_digest(expected, _hash(str(password), self._salt)):
            return None
        now = int(time.time())
        claims = {"sub": user, "iss": self.issuer, "iat": now, "exp": now + self.ttl_s, "jti": uuid.uuid4().hex}
        self.tokens_issued += 1
        return jwt.encode(claims, self._signing_key, algorithm=ALGORITHM, headers={"kid": self.current_kid})

    def __repr__(self):
        return f"<IdentityProvider {self.issuer} {self.instance.status}>"


class _IdentityApp(Application):
    """The provider's HTTP side: POST /token, GET /.well-known/jwks.json, GET /public-key (the current key)."""

    not_state = {"provider": "the provider this app answers for (its users and keys live there)"}

    def __init__(self, provider):
        self.provider = provider

    def handle(self, request, instance):
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        if request.path == JWKS_PATH and request.method == "GET":
            return Response(200, self.provider.jwks())
        if request.path == "/public-key" and request.method == "GET":
            return Response(200, {"algorithm": ALGORITHM, "issuer": self.provider.issuer,
                                  "kid": self.provider.current_kid, "public_key": self.provider.public_key_pem})
        if request.path == "/token" and request.method == "POST":
            data = request.json()
            if not all(isinstance(data.get(field), str) for field in ("user", "password")):
                raise HTTPError(400, 'send {"user": "...", "password": "..."} as strings')
            token = self.provider.login(data["user"], data["password"])
            if token is None:
                raise unauthorized("wrong user name or password", error=None)
            return Response(200, {"token": token, "token_type": "Bearer", "expires_in": self.provider.ttl_s})
        raise HTTPError(404, f"no such route; try POST /token or GET {JWKS_PATH}")


class PublicKeyVerifier(Infrastructure):
    """What an API instance holds: the provider's published public keys. It checks tokens; it cannot sign one.

    ``from_provider(url)`` fetches the key set; ``verify(token)`` picks the key
    the token's ``kid`` names and, for a ``kid`` it has not seen, fetches the
    set again once (``fetches`` counts the fetches). ``refresh()`` fetches it
    now, as a verifier does when its cached copy expires. Every API instance
    holds the same verifier: infrastructure, not an instance's state.
    """

    def __init__(self, url, issuer):
        self.url = url
        self.issuer = issuer
        self.keys = {}                    # kid -> public key (PyJWK)
        self.fetches = 0
        self._looked_up = collections.deque(maxlen=1000)    # kids a refresh was spent on (the newest 1000)

    @classmethod
    def from_provider(cls, url, issuer="lab-identity"):
        """Fetch the provider's key set (at start-up); after that, a call only for a key id it does not know."""
        return cls(url, issuer).refresh()

    def refresh(self):
        """Fetch the key set from the provider now; returns self."""
        if not self._fetch():
            raise InvalidArgumentError(f"no identity provider answered at {self.url}; start it first")
        return self

    def _fetch(self):
        """Replace the keys with the provider's current set; False (keys unchanged) if it did not answer."""
        status, body = _request(self.url, "GET", JWKS_PATH)
        if status != 200:
            return False
        self.fetches += 1
        self.keys = {jwk.key_id: jwk for jwk in jwt.PyJWKSet.from_dict(body).keys}
        return True

    def _key_for(self, token):
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as exc:
            raise TokenRejected(f"token not accepted: {exc}") from None
        if kid not in self.keys and kid not in self._looked_up:
            self._looked_up.append(kid)   # one refresh per unknown kid, then it is simply unknown
            if not self._fetch():
                raise TokenRejected(f"token not accepted: key id {kid!r} is new to this verifier and the "
                                    "provider's key set could not be fetched")
        if kid not in self.keys:
            raise TokenRejected(f"token not accepted: key id {kid!r} is not in the provider's key set")
        return self.keys[kid]

    def verify(self, token):
        """The claims, if the provider signed this token and it has not expired; else ``TokenRejected``."""
        if not token:
            raise TokenRejected("no token: get one from the identity provider (POST /token)", error=None)
        key = self._key_for(token)
        try:
            return jwt.decode(token, key, algorithms=[ALGORITHM], issuer=self.issuer,
                              options={"require": ["exp", "iat", "sub", "jti"]})
        except jwt.ExpiredSignatureError:
            raise TokenRejected("token expired: get a new one from the identity provider") from None
        except jwt.InvalidTokenError as exc:
            raise TokenRejected(f"token not accepted: {exc}") from None


class ProfileAPI(Application):
    """A stateless API: GET /me answers who you are, from the token alone."""

    def __init__(self, verifier):
        self.verifier = verifier

    def handle(self, request, instance):
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        if request.path != "/me" or request.method != "GET":
            raise HTTPError(404, "no such route; try GET /me")
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        try:
            claims = self.verifier.verify(token.strip() if scheme.lower() == "bearer" else None)
        except TokenRejected as exc:
            raise unauthorized(exc.reason, exc.error) from None
        return Response(200, {"user": claims["sub"], "instance": instance.name})


def start_api_instance(verifier, name="api-1"):
    """A running API instance (an ``Instance``) that verifies tokens with ``verifier`` only."""
    return Instance(lambda: ProfileAPI(verifier), name=name).start()


def get_token(provider_url, user, password):
    """Log in at the provider; returns (status, token or None)."""
    status, body = _request(provider_url, "POST", "/token", {"user": user, "password": password})
    return status, body.get("token")


def call_api(api_url, token, path="/me"):
    """GET ``path`` on an API instance with the token; returns (status, JSON body)."""
    return _request(api_url, "GET", path, headers={"Authorization": f"Bearer {token}"})


def _request(url, method, path, payload=None, headers=None):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        body = json.dumps(payload).encode() if payload is not None else None
        conn.request(method, path, body=body, headers=dict(headers or {}, **({"Content-Type": "application/json"}
                                                                             if body else {})))
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return 0, {"error": f"no answer from {url}: {exc.__class__.__name__}"}
    finally:
        conn.close()
