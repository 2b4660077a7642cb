"""HTTP/1.1 on the wire: how a message's head is read and written, by hand, once.

An HTTP/1.1 message is a *head* of text lines and an optional *body* of bytes::

    POST /cart/items HTTP/1.1          <- request line: method, target, version
    Host: 127.0.0.1:8001               <- header lines, "Name: value"; names are case-insensitive
    Content-Length: 25
                                       <- an empty line ends the head
    {"sku": "book", "qty": 2}          <- the body: exactly Content-Length bytes

An answer looks the same with a status line (``HTTP/1.1 200 OK``) first.

Reading is two steps. A ``Reader`` collects a connection's bytes until the
empty line that ends a head (one ``recv`` usually brings a whole request), and
then hands out exactly ``Content-Length`` bytes of body; whatever is left is
the start of the next request. ``parse_request_head`` (or
``parse_response_head``) then turns the head's bytes into a ``RequestHead``.
Every lab server reads its requests this way (``listener.py``); the balancer
writes each request on with ``request_bytes`` and reads the answer the same
way (``forwarding.py``), so each head is parsed exactly once on each hop.

Where a body ends is the one thing two programs on a connection must agree
on: if a balancer and an instance disagree, the rest of one request is read
as the start of another ("request smuggling"). So this reader is strict, and
each of these gets a 400 and a closed connection (nobody can tell any more
where the next request would start):

* a request line that is not ``METHOD TARGET HTTP/1.x``, or a target that is
  not printable ASCII (percent-encode anything else);
* an HTTP/1.1 request without exactly one ``Host`` header;
* a ``Content-Length`` that is not plain digits (``+5``, ``-5``, ``5 5``), or two
  different ``Content-Length`` values (two equal ones are allowed);
* a header line that is not ``Name: value``, holds a control character, or
  starts with a space (the obsolete "line folding");
* a head over 64 KiB (414 if the request line alone is that long, else 431)
  or more than 100 headers (431).

A chunked request body (``Transfer-Encoding``) is refused with 411 Length
Required: the lab's clients always send ``Content-Length``, and a reader that
does not decode chunks must not guess where such a body ends. Used by every
HTTP server of the course; chapter 01 shows what a request looks like.
"""

import email.utils
import http
import re
import time

from ..errors import LabError

__all__ = ["Headers", "RequestHead", "ResponseHead", "BadMessage", "Reader", "parse_request_head",
           "parse_response_head", "request_bytes", "response_head_bytes", "http_date", "MAX_HEAD", "MAX_HEADERS"]

MAX_HEAD = 64 * 1024
MAX_HEADERS = 100
RECV_BYTES = 16 * 1024                                      # how much one recv() may bring (a head fits easily)
_HEAD_END = re.compile(rb"\r?\n\r?\n")                       # the empty line (a bare \n is tolerated)
# The bytes a method or a header name may be made of ("token" characters), what a target may be made of
# (printable ASCII without spaces), and what no header value may hold (control characters; a tab is fine).
# ``data.translate(None, chars)`` deletes ``chars`` from ``data``: a name is a token when nothing is left.
_TOKEN_CHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TARGET_CHARS = bytes(range(0x21, 0x7f))
_CONTROL_CHARS = bytes(range(0x00, 0x09)) + bytes(range(0x0a, 0x20)) + b"\x7f"
_REASONS = {status.value: status.phrase for status in http.HTTPStatus}


class BadMessage(LabError):
    """A head this reader refuses: ``status`` and ``message`` are what the client is told."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Headers:
    """Header fields in the order they came, looked up case-insensitively: ``headers.get("content-type")``."""

    def __init__(self, fields=()):
        self._fields = list(fields)                   # [(name, value)], names as the sender spelled them
        # lower-case name -> its first value (built from the end, so the first of a repeated name wins)
        self._first = {name.lower(): value for name, value in reversed(self._fields)}

    def get(self, name, default=None):
        """The first value of header ``name`` (any case), or ``default``."""
        return self._first.get(name.lower(), default)

    def get_all(self, name):
        """Every value of header ``name``, in order (two ``Set-Cookie`` lines are two values)."""
        if len(self._first) == len(self._fields):     # no name is repeated: at most one value
            value = self._first.get(name.lower())
            return [] if value is None else [value]
        name = name.lower()
        return [value for key, value in self._fields if key.lower() == name]

    def items(self):
        return list(self._fields)

    def __getitem__(self, name):
        return self._first[name.lower()]

    def __contains__(self, name):
        return name.lower() in self._first

    def __iter__(self):
        return (name for name, _ in self._fields)

    def __len__(self):
        return len(self._fields)

    def __repr__(self):
        return f"Headers({self._fields!r})"


class RequestHead:
    """What the request line and headers say: method, target, version, headers, and the body's length."""

    def __init__(self, method, target, version, headers):
        self.method, self.target, self.version, self.headers = method, target, version, headers
        if "Transfer-Encoding" in headers:
            raise BadMessage(411, "send the body with a Content-Length, not chunked (Transfer-Encoding)")
        self.content_length = _content_length(headers) or 0
        self.keep_alive = _keep_alive(version, headers)
        self.expects_continue = version == "HTTP/1.1" and headers.get("Expect", "").lower() == "100-continue"


class ResponseHead:
    """What the status line and headers of an answer say, and how many body bytes follow.

    ``content_length`` is what the header announces; ``body_length`` is how many
    bytes to read: 0 for an answer to HEAD (it announces the GET's length but
    carries no body), and None for "read until the connection closes".
    """

    def __init__(self, version, status, reason, headers, request_method):
        self.version, self.status, self.reason, self.headers = version, status, reason, headers
        if "Transfer-Encoding" in headers:
            raise BadMessage(502, "the instance sent a chunked answer; lab servers always send Content-Length")
        self.content_length = _content_length(headers)
        if request_method == "HEAD" or status < 200 or status in (204, 304):
            self.body_length = 0                     # these answers never have a body, whatever the headers say
        else:
            self.body_length = self.content_length
        self.keep_alive = _keep_alive(version, headers) and self.body_length is not None


# -- reading ------------------------------------------------------------------------------------
class Reader:
    """A connection's incoming bytes, handed out a head or a body at a time.

    ``read_head()`` returns the bytes of the next head (b"" if the peer closed
    the connection before sending one); ``read(n)`` the next ``n`` bytes of body.
    """

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""                 # received, not yet handed out: the next head or body starts here

    def read_head(self):
        while True:
            end = _HEAD_END.search(self.buffer)
            if end is not None and end.end() <= MAX_HEAD:
                head, self.buffer = self.buffer[:end.end()], self.buffer[end.end():]
                return head
            if len(self.buffer) > MAX_HEAD:
                line_too_long = b"\n" not in self.buffer[:MAX_HEAD]
                raise BadMessage(414 if line_too_long else 431, f"the {'request line' if line_too_long else 'head'}"
                                                                f" is longer than {MAX_HEAD} bytes")
            data = self.sock.recv(RECV_BYTES)
            if not data:
                if self.buffer.strip():
                    raise BadMessage(400, "the connection ended in the middle of the head "
                                          "(no empty line after the headers)")
                return b""
            self.buffer += data

    def read(self, n):
        """Exactly ``n`` bytes; fewer only if the peer closed the connection first."""
        while len(self.buffer) < n:
            data = self.sock.recv(max(RECV_BYTES, n - len(self.buffer)))
            if not data:
                break
            self.buffer += data
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def read_to_end(self):
        """Everything until the peer closes the connection (an answer without Content-Length)."""
        chunks = [self.buffer]
        while data := self.sock.recv(RECV_BYTES):
            chunks.append(data)
        self.buffer = b""
        return b"".join(chunks)


def parse_request_head(head):
    """A ``RequestHead`` from the bytes ``Reader.read_head()`` returned; ``BadMessage`` if this reader refuses it."""
    lines = head.lstrip(b"\r\n").rstrip(b"\r\n").split(b"\n")     # one stray empty line before it is fine
    parts = lines[0].rstrip(b"\r").split(b" ")
    if len(parts) != 3:
        raise BadMessage(400, "a request line is METHOD TARGET VERSION, like 'GET /cart HTTP/1.1'")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise BadMessage(400, "this server speaks HTTP/1.1 (or HTTP/1.0); end the request line with HTTP/1.1")
    if not method or method.translate(None, _TOKEN_CHARS):
        raise BadMessage(400, "the method must be a word such as GET or POST")
    if not target or target.translate(None, _TARGET_CHARS):
        raise BadMessage(400, "the target must be printable ASCII without spaces; percent-encode anything else")
    headers = Headers(_fields(lines[1:]))
    version = version.decode()
    if version == "HTTP/1.1" and len(headers.get_all("Host")) != 1:
        raise BadMessage(400, "an HTTP/1.1 request needs exactly one Host header, like 'Host: 127.0.0.1:8000'")
    return RequestHead(method.decode(), target.decode(), version, headers)


def parse_response_head(head, request_method):
    """A ``ResponseHead`` for the answer to a ``request_method`` request."""
    lines = head.rstrip(b"\r\n").split(b"\n")
    version, _, rest = lines[0].rstrip(b"\r").partition(b" ")
    status, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(status) != 3 or not status.isdigit():
        raise BadMessage(502, "the answer does not start with a status line like 'HTTP/1.1 200 OK'")
    return ResponseHead(version.decode(), int(status), reason.decode("latin-1"), Headers(_fields(lines[1:])),
                        request_method)


def _fields(lines):
    """The ``(name, value)`` pairs of a head's header lines."""
    if len(lines) > MAX_HEADERS:
        raise BadMessage(431, f"more than {MAX_HEADERS} headers")
    fields = []
    for line in lines:
        name, colon, value = line.removesuffix(b"\r").partition(b":")
        bad_name = not name or name.translate(None, _TOKEN_CHARS)
        if not colon or bad_name or value != value.translate(None, _CONTROL_CHARS):
            shown = line[:40].decode("latin-1")
            raise BadMessage(400, f"header line {shown!r} is not 'Name: value' (no spaces before the colon, "
                                  "no control characters, no folded lines)")
        fields.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return fields


def _content_length(headers):
    """The body's length from Content-Length, or None when there is none."""
    values = headers.get_all("Content-Length")
    if not values:
        return None
    if len(values) == 1 and _is_length(values[0]):
        return int(values[0])                         # the usual case: one plain number
    lengths = {part.strip() for value in values for part in value.split(",")}
    if len(lengths) != 1:
        raise BadMessage(400, f"two different Content-Length values ({', '.join(sorted(lengths))}): "
                              "which one is the body's length?")
    length = lengths.pop()
    if not _is_length(length):
        raise BadMessage(400, f"Content-Length must be a plain number of bytes, like 25, not {length!r}")
    return int(length)


def _is_length(text):
    """Plain digits, at most 15 ("+5", "-5", "5_0" and "²" are not lengths, though int() takes them)."""
    return 0 < len(text) <= 15 and text.isascii() and text.isdigit()


def _keep_alive(version, headers):
    """HTTP/1.1 keeps a connection open unless told "close"; HTTP/1.0 closes it unless told "keep-alive"."""
    connection = headers.get("Connection")
    if connection is None:
        return version == "HTTP/1.1"
    tokens = {token.strip().lower() for token in connection.split(",")}
    return "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens


# -- writing ------------------------------------------------------------------------------------
def request_bytes(method, target, fields, body=b""):
    """A whole request, head and body, as one bytes object: it leaves in one ``sendall``."""
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in fields]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def response_head_bytes(status, fields):
    """A status line and header fields, ready to be followed by the body."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


_last_date = (0, "")                 # (second, formatted): a busy server formats the date once per second


def http_date():
    """Now, as HTTP writes dates (``Tue, 15 Nov 1994 08:12:31 GMT``)."""
    global _last_date
    now = int(time.time())
    if _last_date[0] != now:
        _last_date = (now, email.utils.formatdate(now, usegmt=True))
    return _last_date[1]
