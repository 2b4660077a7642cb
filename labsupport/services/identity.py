"""An identity provider: a separate server that signs tokens with a key no API instance has.

In production, logging in is often somebody else's job (Auth0, Okta, Keycloak,
Cognito): a separate service checks passwords, keeps the login state, and
signs tokens with its *private* key. The API instances get only the matching
*public* key, fetched once at start-up: with it they can check a token's
signature and expiry on every request without calling the provider, but they
can never make a token. So the API tier stays stateless, the provider is one
more stateful system it depends on, and a leaked API server cannot mint
logins. Tokens here are EdDSA (Ed25519) JWTs made with PyJWT. Chapter 04, E1.
"""

import hashlib
import hmac
import http.client
import json
import secrets
import time
import urllib.parse
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..checks import require_number
from ..engine.application import Application
from ..engine.held_state import Infrastructure
from ..engine.instance import HTTPError, Instance, Response
from ..errors import InvalidArgumentError
from ..shop.api import unauthorized
from ..state.tokens import TokenRejected
from .service import Service

__all__ = ["IdentityProvider", "PublicKeyVerifier", "ProfileAPI", "start_api_instance", "get_token", "call_api",
           "DEMO_USERS"]

ALGORITHM = "EdDSA"
DEMO_USERS = {"alice": "wonderland", "bob": "builder", "carol": "kittens"}
HASH_ROUNDS = 20_000


def _hash(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, HASH_ROUNDS)


class IdentityProvider(Service):
    """The token issuer: users, password checks, the private key. ``start``, ``kill``, ``close``, ``url``."""

    def __init__(self, users=None, ttl_s=900, issuer="lab-identity", name="identity"):
        require_number("ttl_s", ttl_s, 0, allow_minimum=False, unit="seconds")
        self.ttl_s, self.issuer = int(ttl_s), issuer
        self._signing_key = Ed25519PrivateKey.generate()      # never leaves this object
        self.public_key_pem = self._signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self._salt = secrets.token_bytes(16)
        self._passwords = {user: _hash(password, self._salt) for user, password in (users or DEMO_USERS).items()}
        self.tokens_issued = 0
        self.instance = Instance(lambda: _IdentityApp(self), name=name)

    requests_served = property(lambda self: self.instance.stats["requests"])

    def login(self, user, password):
        """A signed token if the password is right, else None."""
        expected = self._passwords.get(user)
        if expected is None or not hmac.compare_digest(expected, _hash(str(password), self._salt)):
            return None
        now = int(time.time())
        claims = {"sub": user, "iss": self.issuer, "iat": now, "exp": now + self.ttl_s, "jti": uuid.uuid4().hex}
        self.tokens_issued += 1
        return jwt.encode(claims, self._signing_key, algorithm=ALGORITHM)

    def __repr__(self):
        return f"<IdentityProvider {self.issuer} {self.instance.status}>"


class _IdentityApp(Application):
    """The provider's HTTP side: POST /token and GET /public-key. The users and the key live in the provider."""

    not_state = {"provider": "the provider this app answers for (its users and key live there)"}

    def __init__(self, provider):
        self.provider = provider

    def handle(self, request, instance):
        if request.path == "/health":
            return Response(200, {"status": "ok"})
        if request.path == "/public-key" and request.method == "GET":
            return Response(200, {"algorithm": ALGORITHM, "issuer": self.provider.issuer,
                                  "public_key": self.provider.public_key_pem})
        if request.path == "/token" and request.method == "POST":
            data = request.json()
            if not all(isinstance(data.get(field), str) for field in ("user", "password")):
                raise HTTPError(400, 'send {"user": "...", "password": "..."} as strings')
            token = self.provider.login(data["user"], data["password"])
            if token is None:
                raise unauthorized("wrong user name or password", error=None)
            return Response(200, {"token": token, "token_type": "Bearer", "expires_in": self.provider.ttl_s})
        raise HTTPError(404, "no such route; try POST /token or GET /public-key")


class PublicKeyVerifier(Infrastructure):
    """What an API instance holds: the provider's public key. It checks tokens; it cannot sign one.

    Every API instance holds the same verifier, fetched once: infrastructure, not an instance's state.
    """

    def __init__(self, public_key_pem, issuer):
        self.public_key_pem = public_key_pem
        self.issuer = issuer
        self._key = serialization.load_pem_public_key(public_key_pem.encode())

    @classmethod
    def from_provider(cls, url):
        """Fetch the public key once (at start-up); after that, no call to the provider is needed."""
        status, body = _request(url, "GET", "/public-key")
        if status != 200:
            raise InvalidArgumentError(f"no identity provider answered at {url} (status {status}); start it first")
        return cls(body["public_key"], body["issuer"])

    def verify(self, token):
        """The claims, if the provider signed this token and it has not expired; else ``TokenRejected``."""
        if not token:
            raise TokenRejected("no token: get one from the identity provider (POST /token)", error=None)
        try:
            return jwt.decode(token, self._key, algorithms=[ALGORITHM], issuer=self.issuer,
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
