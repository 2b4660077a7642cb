"""A small JSON-over-HTTP client with one kept-alive connection, for the chapter 07 services.

The replicated store, the recovering store and the fenced resource of chapter
07 are real HTTP servers; the experiments talk to them the way any program
would: open a connection, send a request with a JSON body, read a JSON answer.
The connection is kept open between calls (as a database driver keeps its
connection), so a write's measured latency is the server's work plus one
round trip, not a TCP handshake each time. A server that is down, or that
dies mid-request, gives status 0 and an ``error`` instead of an exception,
so an experiment can count the failure like a user would notice it. A
failed request is never sent again: a write that may already have happened
is not repeated behind the caller's back (chapter 04). One client per thread: a connection carries one request at a time.
"""

import http.client
import json
import urllib.parse

__all__ = ["JsonClient"]


class JsonClient:
    """``call(method, path, body=None)`` -> ``(status, answer dict)``; status 0 when the server is unreachable."""

    def __init__(self, url, timeout=5.0):
        parts = urllib.parse.urlsplit(url)
        self.url = url
        self.address = (parts.hostname, parts.port)
        self.timeout = timeout
        self._connection = None

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if self._connection is None:
            self._connection = http.client.HTTPConnection(*self.address, timeout=self.timeout)
        try:
            self._connection.request(method, path, body=data, headers=headers)
            answer = self._connection.getresponse()
            payload = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()                       # never resent: a write that may have happened is not repeated
            return 0, {"error": f"no answer from {self.url}: {type(exc).__name__}"}
        if (answer.getheader("Connection") or "").lower() == "close":
            self.close()
        return answer.status, _parse(payload)

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __repr__(self):
        return f"JsonClient({self.url!r})"


def _parse(payload):
    try:
        value = json.loads(payload) if payload else {}
    except ValueError:
        return {"error": "the answer was not JSON"}
    return value if isinstance(value, dict) else {"value": value}
