"""rebinding.py: every lab server answers only to this machine's names, and the game server only to local pages.

A DNS-rebinding page sends requests whose Host header is its own name
(``evil.example``); a page on another site opening a WebSocket says so in
``Origin``. Each test sends such a request to a real server and checks the
refusal, and that the lab's own clients (Python, no Origin, Host
``127.0.0.1:<port>``) still get through, directly and through the balancers.
"""

import json
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from labsupport import Balancer, Cluster, GameCluster, GameServer, Instance
from labsupport.engine import LOOPBACK_NAMES, Application, Response, host_problem, origin_problem
from labsupport.services import IdentityProvider, ObjectStore
from tests.http_util import call


class SeenHost(Application):
    """Answers with the Host header that reached the application."""

    def handle(self, request, instance):
        return Response(200, {"host": request.headers.get("Host")})


def _get(address, host_line):
    """One raw GET with the given Host line (or none); returns (status, JSON body)."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\n" + host_line + b"Connection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body) if body else None


def _get_http10(address):
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(b"GET /health HTTP/1.0\r\n\r\n")
        return int(sock.recv(65536).split(b" ")[1])


# -- the two checks on their own ---------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1:8001", "localhost:8001", "LocalHost:8001", "127.0.0.1", "localhost"])
def test_this_machines_names_on_this_port_are_accepted(host):
    assert host_problem(host, 8001) is None


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8001", "127.0.0.1:8002", "localhost:80",
                                  "127.0.0.1.evil.example:8001", "[::1]:8001", "10.0.0.5:8001", "localhost:8001:x",
                                  "", None])
def test_any_other_name_or_port_is_refused_with_a_reason(host):
    problem = host_problem(host, 8001)
    assert problem is not None and "127.0.0.1:8001" in problem


@pytest.mark.parametrize("origin", [None, "http://127.0.0.1:8888", "http://localhost:8888", "https://localhost:8888",
                                    "http://localhost"])
def test_python_clients_and_local_pages_may_open_a_websocket(origin):
    assert origin_problem(origin) is None


@pytest.mark.parametrize("origin", ["http://evil.example", "https://evil.example:8888", "null", "file://",
                                    "http://127.0.0.1.evil.example", "ftp://localhost", "http://localhost:bad"])
def test_pages_elsewhere_may_not(origin):
    assert origin in origin_problem(origin)


@settings(max_examples=200, deadline=None)
@given(name=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40))
def test_no_other_name_passes(name):
    if name.rpartition(":")[0].lower() not in LOOPBACK_NAMES and name.lower() not in LOOPBACK_NAMES:
        assert host_problem(name, 8001) is not None


# -- on real servers -----------------------------------------------------------------------------------------
def test_an_instance_refuses_a_foreign_host_with_421_and_says_why():
    with Instance(SeenHost, name="api") as server:
        status, body = _get(server.address, b"Host: evil.example\r\n")
        assert status == 421 and "evil.example" in body["error"] and "rebinding" in body["error"]
        assert _get(server.address, f"Host: 127.0.0.1:{server.port + 1}\r\n".encode())[0] == 421
        assert _get_http10(server.address) == 421                          # no Host at all
        assert server.stats["requests"] == 0                                # the application never saw them
        assert _get(server.address, f"Host: localhost:{server.port}\r\n".encode())[0] == 200
        assert call(server.url, "GET", "/")[0] == 200                       # Python's http.client: 127.0.0.1:port


def test_the_balancer_refuses_a_foreign_host_and_forwards_with_the_instances_own():
    with Instance(SeenHost, name="api") as server, Balancer() as lb:
        lb.add_instance("api", server.address)
        status, body = _get(lb.server.address, b"Host: evil.example:80\r\n")
        assert status == 421 and "evil.example" in body["error"]
        assert lb.instance("api").requests == 0                             # refused before choosing an instance
        status, _, body = call(lb.url, "GET", "/")
        assert status == 200 and body["host"] == f"127.0.0.1:{server.port}"


@pytest.mark.parametrize("make", [IdentityProvider, ObjectStore], ids=["identity provider", "object store"])
def test_services_refuse_a_foreign_host(make):
    with make() as service:
        address = ("127.0.0.1", int(service.url.rsplit(":", 1)[1]))
        status, body = _get(address, b"Host: evil.example\r\n")
        assert status == 421 and "evil.example" in body["error"]


def test_a_shop_cluster_still_serves_its_users():
    with Cluster.stateless(instances=2) as shop:
        assert _get(("127.0.0.1", int(shop.url.rsplit(":", 1)[1])), b"Host: evil.example\r\n")[0] == 421
        assert shop.user("alice").add("book") == {"book": 1}


# -- the game server: Host and Origin ---------------------------------------------------------------------------
def _handshake(port, host, origin=None):
    """A raw WebSocket handshake; returns the status the server answered with."""
    lines = ["GET /rooms/A HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return int(sock.recv(65536).split(b" ")[1])


def test_the_game_server_refuses_a_foreign_host_and_a_foreign_origin():
    with GameServer("game-1") as game:
        assert _handshake(game.port, "evil.example") == 421
        assert _handshake(game.port, f"127.0.0.1:{game.port}", origin="http://evil.example") == 403
        assert _handshake(game.port, f"127.0.0.1:{game.port}", origin="http://localhost:8888") == 101
        assert _handshake(game.port, f"localhost:{game.port}") == 101
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{game.url}/rooms/A", origin="http://evil.example", open_timeout=5)
        assert refused.value.response.status_code == 403
        with connect(f"{game.url}/rooms/A", open_timeout=5) as ws:      # a Python client sends no Origin
            assert json.loads(ws.recv(timeout=5))["type"] == "welcome"


def test_a_foreign_origin_is_refused_through_the_game_balancers_tunnel_too():
    with GameCluster(servers=1) as games:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{games.url}/rooms/A", origin="https://evil.example", open_timeout=5)
        assert refused.value.response.status_code == 403
        with connect(f"{games.url}/rooms/A", origin=f"http://127.0.0.1:{games.balancer.server.port}",
                     open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "welcome"     # the tunnel rewrote Host for the server
