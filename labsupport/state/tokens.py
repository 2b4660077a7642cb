"""Signed tokens: how a stateless server knows who you are without remembering you.

At login the shop signs a small JSON document (the claims: who you are, when
the token was issued, when it expires, a unique id) with a secret key, using
PyJWT and HMAC-SHA256. On every later request any instance that knows the key
can check the signature and the expiry on its own: no session table, no
memory of the login. The price (chapter 01, claim S7): a valid token stays
valid until it expires, so logging out needs a denylist that every instance
consults. Used from chapter 01 on.
"""

import time
import uuid

import jwt

from ..engine.held_state import Infrastructure
from ..errors import InvalidArgumentError, LabError

__all__ = ["TokenIssuer", "TokenRejected"]


class TokenRejected(LabError, ValueError):
    """The token is missing, malformed, tampered with, expired or revoked; ``reason`` says which.

    ``error`` is the OAuth 2.0 bearer error code (RFC 6750) an HTTP answer carries in
    ``WWW-Authenticate``: "invalid_token" when a token was sent and is no good, None when
    none was sent at all.
    """

    def __init__(self, reason, error="invalid_token"):
        super().__init__(reason)
        self.reason = reason
        self.error = error


class TokenIssuer(Infrastructure):
    """Issues and verifies HS256 JWTs with one shared secret (the same in every instance: infrastructure)."""

    ALGORITHM = "HS256"

    def __init__(self, secret, ttl_s=3600, issuer="lab-shop"):
        if not isinstance(secret, (str, bytes)) or len(secret) < 32:
            raise InvalidArgumentError("the signing secret must be at least 32 characters; "
                                       "use secrets.token_hex(32) to make one")
        if ttl_s <= 0:
            raise InvalidArgumentError(f"ttl_s must be > 0 seconds, not {ttl_s!r}")
        self._secret = secret
        self.ttl_s = ttl_s
        self.issuer = issuer

    def issue(self, user, now=None):
        """A signed token for ``user`` that expires ``ttl_s`` seconds from ``now``."""
        now = int(time.time() if now is None else now)
        claims = {"sub": user, "iss": self.issuer, "iat": now, "exp": now + self.ttl_s,
                  "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._secret, algorithm=self.ALGORITHM)

    def verify(self, token):
        """The token's claims if its signature and expiry check out; else ``TokenRejected``.

        Only HS256 is accepted, so a token that claims ``alg: none`` (no
        signature at all) or another algorithm is refused.
        """
        if not token:
            raise TokenRejected("no token: send 'Authorization: Bearer <token>' from POST /login", error=None)
        try:
            return jwt.decode(token, self._secret, algorithms=[self.ALGORITHM], issuer=self.issuer,
                              options={"require": ["exp", "iat", "sub", "jti"]})
        except jwt.ExpiredSignatureError:
            raise TokenRejected("token expired: log in again") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("token signature does not match: it was altered or signed with another key") from None
        except jwt.InvalidAlgorithmError:
            raise TokenRejected(f"token algorithm not allowed: only {self.ALGORITHM} is accepted") from None
        except jwt.InvalidTokenError as exc:
            raise TokenRejected(f"token is not valid: {exc}") from None
