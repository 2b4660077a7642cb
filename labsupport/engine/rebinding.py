"""Only this machine may talk to the lab: the Host and Origin checks that stop DNS rebinding.

Every lab server listens on 127.0.0.1, so no other machine can reach it. But
the learner's own browser can: any web page they open may send requests to
``http://127.0.0.1:<port>``. The browser's same-origin rule keeps that page
from *reading* the answers, unless the attacker plays a trick called **DNS
rebinding**: their page lives at ``evil.example:8001``, and after it has
loaded they make ``evil.example`` resolve to 127.0.0.1. To the browser the
page and the lab server are now the same origin, so it lets the page read
the learner's carts and sessions. One thing gives the trick away: the browser
still writes the name it asked for in the ``Host`` header, ``evil.example``.

So every lab HTTP server (``listener.py``) answers **421 Misdirected Request**
to a request whose Host is not one of this machine's own names, and the game
server does the same before a WebSocket handshake (``game/server.py``):

* accepted: ``127.0.0.1:<the server's port>`` and ``localhost:<the server's port>``,
  and the bare ``127.0.0.1`` or ``localhost``: a browser sends a name without a
  port only for port 80, and an attacker cannot make it send a loopback name
  for a page of theirs, so leaving the port out is not a way in;
* refused: any other name (``evil.example``, a LAN address), another port, or
  no Host at all.

WebSockets add a second check. A browser lets any page *open* a WebSocket to
any address, and says which page asked in the ``Origin`` header. The game
server accepts a handshake with no Origin (Python clients send none) or a
loopback one (``http://127.0.0.1:*``, ``http://localhost:*``, and the same with
https: JupyterLab running on this machine), and refuses any other with 403.

One exception, outside the notebook: ``python -m labsupport serve`` in a
container (chapter 10) is reached by names this module cannot know, such as a
Kubernetes Service's (``stateless-shop``). Its operator lists them with
``--allow-host NAME`` (or ``LAB_ALLOW_HOSTS``); a listed name is accepted with
any port or none, since a Service or ``kubectl port-forward`` in front of the
process listens on a port of its own. Nothing in the lab lists any: inside the
notebook the check stays as strict as above.

Nothing in the course goes through ``jupyter-server-proxy`` (every client is
Python in the kernel, talking to 127.0.0.1 directly), so no proxy path or
name is allowed here. The README ("What the lab exposes") lists every
socket the course opens.
"""

import urllib.parse

__all__ = ["LOOPBACK_NAMES", "host_problem", "origin_problem"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def host_problem(host, port, allowed=()):
    """Why ``host`` (a Host header, or None) does not name the server on ``port``; None when it does.

    ``allowed``: lower-case names an operator listed (``serve --allow-host``), accepted with any port.
    """
    if not host:
        return f"send a Host header naming this server, like 'Host: 127.0.0.1:{port}'"
    name, colon, given_port = host.rpartition(":")
    if not colon or not given_port.isdigit():
        name, given_port = host, ""              # no port given
    if name.lower() in LOOPBACK_NAMES and given_port in ("", str(port)):
        return None
    if name.lower() in allowed:
        return None
    names = [f"127.0.0.1:{port}", f"localhost:{port}", *allowed]
    return (f"Host {host!r} is not this server: lab servers answer only to {', '.join(names[:-1])} or "
            f"{names[-1]} (a foreign name is how DNS rebinding attacks look)")


def origin_problem(origin):
    """Why a WebSocket handshake from page ``origin`` (or None: not a browser) is refused; None if it is not."""
    if origin is None:
        return None
    parts = urllib.parse.urlsplit(origin)
    try:
        parts.port                                # raises ValueError for a port that is not a number
    except ValueError:
        return f"Origin {origin!r} is not a valid origin"
    if parts.scheme in ("http", "https") and (parts.hostname or "") in LOOPBACK_NAMES:
        return None
    return (f"Origin {origin!r} is not a page on this machine: the game server accepts WebSockets only from "
            "Python clients (no Origin) and pages on http://127.0.0.1 or http://localhost")
