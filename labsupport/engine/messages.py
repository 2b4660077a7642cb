"""What a request and an answer look like to the lab's applications.

An HTTP server hands an application a ``Request`` (method, path, query,
headers, body) and expects a ``Response`` (status, a JSON-able body, extra
headers) back. An application that wants to refuse a request raises
``HTTPError`` with a status and a message; the server turns it into a JSON
error, so no client ever sees a traceback. Every server in the lab uses these.
"""

import json
import urllib.parse

from .http1 import Headers

__all__ = ["Request", "Response", "HTTPError", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 64 * 1024


class HTTPError(Exception):
    """Raise from an application to answer with a JSON error and this status."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class Request:
    """What a handler sees: method, path, query, headers, raw body, and a JSON helper.

    ``headers.get(name)`` ignores case (``http1.Headers``); a plain dict given here is wrapped in one.
    """

    def __init__(self, method, target, headers, body, client=None):
        path, _, query = target.partition("?")   # "/cart/items/book%20x?verbose=1"
        self.method = method
        self.target = target
        self.path = urllib.parse.unquote(path)     # "/cart/items/book x"
        self.query = dict(urllib.parse.parse_qsl(query)) if query else {}   # {"verbose": "1"}
        self.headers = headers if isinstance(headers, Headers) else Headers(headers.items())
        self.body = body
        self.client = client              # the raw socket; only the balancer needs it (WebSockets)

    def json(self):
        """The body as a JSON object, or a 400 that says what is wrong with it."""
        if not self.body:
            raise HTTPError(400, "this request needs a JSON body")
        try:
            data = json.loads(self.body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPError(400, f"body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise HTTPError(400, "JSON body must be an object, like {\"user\": \"alice\"}")
        return data

    def cookie(self, name):
        """The value of one cookie from the Cookie header, or None."""
        for part in (self.headers.get("Cookie") or "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return None


class Response:
    """A status, a JSON-able body (or raw bytes) and extra headers.

    ``content_length`` is for the one answer whose announced length is not its
    payload's: the balancer relaying an answer to HEAD has no body, but must
    announce the length the same GET would have had.
    """

    def __init__(self, status=200, body=None, headers=None, raw=None, content_type="application/json",
                 content_length=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.raw = raw
        self.content_type = content_type
        self.content_length = content_length

    def payload(self):
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body if self.body is not None else {}).encode()
