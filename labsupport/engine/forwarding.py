"""One hop of a reverse proxy: pass a request on to an instance and bring its answer back.

The balancer (``balancer.py``) keeps a few open connections to each instance,
an ``Upstream`` each, and for every request it:

1. writes the request on, head and body in one ``sendall``, with a few headers
   rewritten (below);
2. reads the answer's head once (``http1.parse_response_head``) and then exactly
   ``Content-Length`` bytes of body;
3. puts the connection back in the pool for the next request, unless the
   instance said ``Connection: close``.

What a proxy must not pass on unchanged:

* **Host** names the server the client asked for (the balancer); the instance
  checks that Host names *it* (``rebinding.py``), so it gets its own address.
* **Hop-by-hop headers** (``Connection``, ``Keep-Alive``, ``Transfer-Encoding``,
  ``Upgrade``, ... and any header that ``Connection`` names) describe one
  connection, not the request; each hop writes its own.
* **Content-Length** of a request is written again from the body actually sent;
  an answer keeps the instance's (for HEAD the length a GET would have, with no
  body after it: ``messages.RelayedResponse``).
* **X-Forwarded-For** tells the instance who the client was.

A WebSocket is not a request and an answer but a conversation: for an upgrade
the balancer writes the handshake on (``tunnel_bytes``) and then copies bytes
both ways until either side closes (``copy_both_ways``, chapter 05).
"""

import select
import socket

from .http1 import Reader, parse_response_head, request_bytes
from .messages import RelayedResponse

__all__ = ["Upstream", "HOP_BY_HOP", "forwarded_fields", "tunnel_bytes", "copy_both_ways"]

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                        "upgrade"})
REWRITTEN = frozenset({"host", "content-length", "expect", "x-forwarded-for"})  # the balancer writes these itself
NOT_FORWARDED = HOP_BY_HOP | REWRITTEN                 # request headers that stay on the client's hop


class Upstream:
    """One keep-alive connection from the balancer to an instance: a socket and a ``Reader`` of its answers."""

    def __init__(self, address, timeout):
        self.host = "%s:%d" % address                  # what the instance's Host check expects
        self.sock = socket.create_connection(address, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = Reader(self.sock)
        self.reusable = True

    def closed_by_peer(self):
        """True when an idle connection has something to read: the instance closed it (a restart, a crash)."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def exchange(self, request):
        """Send ``request``, read the answer, return it as a ``Response``.

        Raises ``OSError`` when the connection fails or closes before the whole
        answer arrived, and ``http1.BadMessage`` when the answer is not HTTP.
        """
        self.sock.sendall(request_bytes(request.method, request.target, forwarded_fields(request, self.host),
                                        request.body))
        raw_head = self.reader.read_head()
        if not raw_head:
            raise ConnectionResetError("the instance closed the connection before answering")
        head = parse_response_head(raw_head, request.method)
        payload = self.reader.read_to_end() if head.body_length is None else self.reader.read(head.body_length)
        if head.body_length is not None and len(payload) < head.body_length:
            raise ConnectionResetError("the instance closed the connection in the middle of its answer")
        self.reusable = head.keep_alive
        return RelayedResponse(head.status, _end_to_end(head.headers, HOP_BY_HOP), payload)

    def close(self):
        self.sock.close()


def forwarded_fields(request, host):
    """The headers a request goes on with: its own, minus hop-by-hop ones, with ``host`` and X-Forwarded-For."""
    return _end_to_end(request.headers, NOT_FORWARDED) + [("Host", host), ("X-Forwarded-For", "127.0.0.1")]


def _end_to_end(headers, dropped):
    """The ``(name, value)`` fields that go on to the next hop: all but those in ``dropped`` and those the
    ``Connection`` header names (a sender may declare more hop-by-hop headers there)."""
    connection = headers.get("Connection")
    if connection is not None:
        dropped = dropped | {token.strip().lower() for token in connection.split(",")}
    return [(name, value) for name, value in headers.items() if name.lower() not in dropped]


def tunnel_bytes(request, host):
    """A WebSocket handshake passed on: every header kept (Upgrade included) except Host, which names the instance."""
    fields = [(name, value) for name, value in request.headers.items() if name.lower() not in REWRITTEN]
    fields += [("Host", host), ("X-Forwarded-For", "127.0.0.1")]
    return request_bytes(request.method, request.target, fields, request.body)


def copy_both_ways(a, b, stop):
    """Relay bytes between two sockets until either closes or ``stop`` (a ``threading.Event``) is set."""
    a.settimeout(None)
    b.settimeout(None)
    while not stop.is_set():
        readable, _, _ = select.select([a, b], [], [], 0.2)
        for source in readable:
            target = b if source is a else a
            try:
                data = source.recv(65536)
                if not data:
                    return
                target.sendall(data)
            except OSError:
                return
