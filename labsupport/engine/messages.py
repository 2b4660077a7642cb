"""What a request and an answer look like to the lab's applications.

An HTTP server hands an application a ``Request`` (method, path, query,
headers, body) and expects a ``Response`` (status, a JSON-able body, extra
headers) back. An application that wants to refuse a request raises
``HTTPError`` with a status and a message; the server turns it into a JSON
error, so no client ever sees a traceback. Every server in the lab uses these.
"""

import json
import urllib.parse

from ..errors import LabError
from .http1 import Headers, http_date

__all__ = ["Request", "Response", "RelayedResponse", "HTTPError", "MAX_BODY_BYTES"]

MAX_BODY_BYTES = 64 * 1024


class HTTPError(LabError):
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

    ``headers`` values may be lists, for a header sent more than once (two ``Set-Cookie``).
    """

    def __init__(self, status=200, body=None, headers=None, raw=None, content_type="application/json"):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.raw = raw
        self.content_type = content_type

    def payload(self):
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body if self.body is not None else {}).encode()

    def fields(self, payload, identity):
        """The header fields this answer goes out with: date, type and length of ``payload``, the
        instance's ``identity`` headers (unless the application set its own), then the application's."""
        fields = [("Date", http_date()), ("Content-Type", self.content_type), ("Content-Length", len(payload))]
        fields += [item for item in identity.items() if item[0] not in self.headers]
        return fields + _listed(self.headers)


def _listed(headers):
    """``{"Set-Cookie": ["a=1", "b=2"]}`` as ``[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]``."""
    fields = []
    for name, value in headers.items():
        fields += [(name, one) for one in value] if isinstance(value, list) else [(name, value)]
    return fields


class RelayedResponse(Response):
    """An answer the balancer passes on: it goes out with the header fields its instance wrote.

    So it keeps the instance's Date, Content-Type and Content-Length: for an
    answer to HEAD that is the length the same GET would have had, although
    no body follows. ``headers`` are what the balancer adds (a sticky cookie).
    """

    def __init__(self, status, relayed_fields, payload):
        super().__init__(status, raw=payload)
        self.relayed_fields = relayed_fields

    def fields(self, payload, identity):
        return self.relayed_fields + _listed(self.headers)
