"""http1.py: HTTP/1.1 heads read once and strictly, because where a body ends is what two hops must agree on.

The first half writes bytes into one end of a socket pair and reads them with
a ``Reader`` at the other; the second half sends the same broken heads to a
real instance and through a real balancer and checks the status and that the
connection is closed (a second request on it is never answered).
"""

import re
import socket

import pytest

from labsupport import Balancer, Instance
from labsupport.engine import (
    Application,
    BadMessage,
    Headers,
    Reader,
    Request,
    Response,
    parse_request_head,
    parse_response_head,
    request_bytes,
    response_head_bytes,
)
from tests.http_util import call

_OPEN_SOCKETS = []


@pytest.fixture(autouse=True)
def _close_sockets():
    yield
    while _OPEN_SOCKETS:
        _OPEN_SOCKETS.pop().close()


def _reader(data):
    """A ``Reader`` on a socket whose peer sent ``data`` and closed its side (closed after the test)."""
    ours, theirs = socket.socketpair()
    _OPEN_SOCKETS.append(ours)
    with theirs:
        theirs.sendall(data)
        theirs.shutdown(socket.SHUT_WR)
    return Reader(ours)


def _request(data):
    """The request head at the start of ``data``, or None if ``data`` holds none."""
    head = _reader(data).read_head()
    return parse_request_head(head) if head else None


def _refused(data):
    with pytest.raises(BadMessage) as caught:
        _request(data)
    return caught.value.status


GOOD = (b"POST /cart/items?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\ncontent-TYPE:  application/json \r\n"
        b"Content-Length: 5\r\n\r\n")


# -- reading a request head --------------------------------------------------------------------------
def test_a_request_head_is_split_into_its_parts_and_the_body_is_left_for_read():
    reader = _reader(GOOD + b"hello" + GOOD)
    head = parse_request_head(reader.read_head())
    assert (head.method, head.target, head.version) == ("POST", "/cart/items?x=1", "HTTP/1.1")
    assert head.content_length == 5 and head.keep_alive and not head.expects_continue
    assert reader.read(5) == b"hello"
    assert parse_request_head(reader.read_head()).target == "/cart/items?x=1"      # the next request, whole
    assert reader.read_head() == b""                                                # and then the end


def test_a_head_that_arrives_in_pieces_is_put_together():
    ours, theirs = socket.socketpair()
    with ours, theirs:
        reader = Reader(ours)
        for byte in GOOD[:-1]:
            theirs.sendall(bytes([byte]))
        theirs.sendall(GOOD[-1:] + b"hello")
        assert reader.read_head() == GOOD and reader.read(5) == b"hello"


def test_a_stray_empty_line_before_a_request_is_tolerated():
    assert _request(b"\r\n" + GOOD).method == "POST"


def test_header_names_are_case_insensitive_and_values_lose_surrounding_spaces():
    headers = _request(GOOD).headers
    assert headers.get("Content-Type") == headers.get("content-type") == "application/json"
    assert headers["CONTENT-LENGTH"] == "5" and "host" in headers and "Cookie" not in headers
    assert headers.items()[1] == ("content-TYPE", "application/json")    # kept as the sender spelled it


def test_repeated_headers_keep_every_value_in_order():
    headers = Headers([("Set-Cookie", "a=1"), ("X", "y"), ("set-cookie", "b=2")])
    assert headers.get("SET-COOKIE") == "a=1" and headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert len(headers) == 3 and list(headers) == ["Set-Cookie", "X", "set-cookie"]


def test_a_closed_connection_is_no_request_but_a_cut_head_is_a_bad_one():
    assert _request(b"") is None
    assert _refused(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\n") == 400          # no empty line: cut off
    assert _refused(b"GET / HTTP/1.1") == 400
    assert _request(b"\r\n") is None                                              # only a stray line break


@pytest.mark.parametrize("line", [b"NONSENSE", b"GET /", b"GET  / HTTP/1.1", b"GET / HTTP/2.0", b"GET / HTTPS/1.1",
                                  b"G(T / HTTP/1.1", b"GET /caf\xc3\xa9 HTTP/1.1", b"GET /a\x00b HTTP/1.1"])
def test_a_request_line_that_is_not_method_target_version_is_refused(line):
    assert _refused(line + b"\r\nHost: 127.0.0.1:1\r\n\r\n") == 400


def test_http11_needs_exactly_one_host_but_http10_may_leave_it_out():
    assert _refused(b"GET / HTTP/1.1\r\n\r\n") == 400
    assert _refused(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nHost: evil.example\r\n\r\n") == 400
    head = _request(b"GET / HTTP/1.0\r\n\r\n")
    assert head.headers.get("Host") is None and not head.keep_alive


@pytest.mark.parametrize("value", [b"+5", b"-5", b" 5x", b"0x5", b"5 5", b"5_0", b"\xb2", b"", b"1e3"])
def test_content_length_must_be_plain_digits(value):
    assert _refused(b"POST / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nContent-Length: " + value + b"\r\n\r\n") == 400


def test_two_different_content_lengths_are_refused_but_two_equal_ones_are_one():
    assert _refused(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n") == 400
    assert _refused(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n") == 400
    assert _request(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n").content_length == 5
    assert _request(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n").content_length == 5


def test_a_chunked_body_is_refused_with_411():
    assert _refused(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n") == 411
    assert _refused(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n") == 411


@pytest.mark.parametrize("line", [b"No colon here", b"Space : before colon", b"X: a\x00b", b"X: a\rb", b"X: \x1b[31m",
                                  b" folded: line", b"\tfolded", b"B(d: name"])
def test_a_header_line_that_is_not_name_colon_value_is_refused(line):
    assert _refused(b"GET / HTTP/1.1\r\nHost: h\r\n" + line + b"\r\n\r\n") == 400


def test_a_tab_inside_a_value_is_fine():
    assert _request(b"GET / HTTP/1.1\r\nHost: h\r\nX-Note: a\tb\r\n\r\n").headers.get("X-Note") == "a\tb"


def test_limits_give_414_and_431():
    assert _refused(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n") == 414
    assert _refused(b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"a" * 70_000 + b"\r\n\r\n") == 431
    assert _refused(b"GET / HTTP/1.1\r\nHost: h\r\nX: " + b"a" * 70_000) == 431      # no end in sight either
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(101))
    assert _refused(b"GET / HTTP/1.1\r\nHost: h\r\n" + many + b"\r\n") == 431


def test_keep_alive_follows_the_version_and_the_connection_header():
    def keep(version, connection=None):
        extra = b"" if connection is None else b"Connection: " + connection + b"\r\n"
        return _request(b"GET / " + version + b"\r\nHost: h\r\n" + extra + b"\r\n").keep_alive

    assert keep(b"HTTP/1.1") and not keep(b"HTTP/1.1", b"close") and not keep(b"HTTP/1.1", b"Upgrade, Close")
    assert not keep(b"HTTP/1.0") and keep(b"HTTP/1.0", b"keep-alive")


def test_expect_100_continue_is_noticed():
    assert _request(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n").expects_continue


# -- reading an answer, writing messages ----------------------------------------------------------------------
def _response(data, method="GET"):
    return parse_response_head(_reader(data).read_head(), method)


def test_an_answer_to_head_announces_a_length_but_has_no_body():
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n"
    assert (_response(data, "HEAD").content_length, _response(data, "HEAD").body_length) == (16, 0)
    assert _response(data, "GET").body_length == 16


def test_answers_without_a_body_and_answers_read_until_close():
    assert _response(b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n").body_length == 0
    until_close = _response(b"HTTP/1.1 200 OK\r\n\r\n")
    assert until_close.body_length is None and not until_close.keep_alive
    with pytest.raises(BadMessage):
        _response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(BadMessage):
        _response(b"SMTP ready\r\n\r\n")


def test_what_request_bytes_writes_reads_back_the_same():
    data = request_bytes("POST", "/cart/items", [("Host", "127.0.0.1:9"), ("X-Key", "k")], b'{"a": 1}')
    reader = _reader(data)
    head = parse_request_head(reader.read_head())
    assert (head.method, head.target, head.headers.get("x-key"), head.content_length) == ("POST", "/cart/items", "k", 8)
    assert reader.read(100) == b'{"a": 1}'
    assert b"Content-Length" not in request_bytes("GET", "/", [("Host", "h")])


def test_an_answer_goes_out_with_a_status_line_a_date_its_length_and_its_headers():
    response = Response(421, {"error": "no"}, headers={"Set-Cookie": ["a=1", "b=2"], "X-Instance": "mine"})
    payload = response.payload()
    fields = response.fields(payload, {"X-Instance": "shop-1", "X-Version": "v1"})
    names = [name for name, _ in fields]
    assert names == ["Date", "Content-Type", "Content-Length", "X-Version", "Set-Cookie", "Set-Cookie", "X-Instance"]
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", fields[0][1])
    assert dict(fields)["Content-Length"] == len(payload) and dict(fields)["X-Instance"] == "mine"
    head = response_head_bytes(response.status, fields)
    assert head.startswith(b"HTTP/1.1 421 Misdirected Request\r\nDate: ") and head.endswith(b"X-Instance: mine\r\n\r\n")


# -- the same rules on real sockets: an instance and the balancer ------------------------------------------------
class Echo(Application):
    """Answers with what it received, so a test can see what reached the application."""

    def handle(self, request, instance):
        return Response(200, {"method": request.method, "body": request.body.decode(),
                              "host": request.headers.get("Host")})


@pytest.fixture
def echo():
    with Instance(Echo, name="echo") as instance, Balancer() as balancer:
        balancer.add_instance("echo", instance.address)
        yield instance, balancer


def _answers_then_closes(address, bad_head):
    """Send a bad request and then a good one on the same connection; return the answers received.

    A server that closes after the bad one answers exactly once; one that keeps
    the connection answers twice (the good request asks it to close then).
    """
    good = f"GET / HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\nConnection: close\r\n\r\n".encode()
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(bad_head + good)
        received = b""
        while chunk := _recv(sock):
            received += chunk
    return re.findall(rb"HTTP/1\.1 (\d{3}) ", received)


def _recv(sock):
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


@pytest.mark.parametrize("name, head, status", [
    ("no Host", b"GET / HTTP/1.1\r\n\r\n", b"400"),
    ("two lengths", b"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", b"400"),
    ("plus sign", b"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: +2\r\n\r\nab", b"400"),
    ("minus sign", b"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: -2\r\n\r\nab", b"400"),
    ("chunked", b"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", b"411"),
])
def test_a_broken_head_gets_its_status_and_a_closed_connection(echo, name, head, status):
    for address in (echo[0].address, echo[1].server.address):
        bad = head.replace(b"{host}", f"{address[0]}:{address[1]}".encode())
        assert _answers_then_closes(address, bad) == [status], (name, address)
    assert echo[0].stats["requests"] == 0                  # nothing reached the application


def test_a_good_request_keeps_the_connection_for_the_next(echo):
    for address in (echo[0].address, echo[1].server.address):
        good = f"POST / HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\nContent-Length: 2\r\n\r\nab".encode()
        assert _answers_then_closes(address, good) == [b"200", b"200"]


def test_expect_100_continue_gets_a_go_ahead_before_the_body(echo):
    instance = echo[0]
    with socket.create_connection(instance.address, timeout=5) as sock:
        sock.sendall(f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{instance.port}\r\nExpect: 100-continue\r\n"
                     "Content-Length: 2\r\nConnection: close\r\n\r\n".encode())
        assert sock.recv(25) == b"HTTP/1.1 100 Continue\r\n\r\n"     # the server asks for the body...
        sock.sendall(b"ab")
        answer = b""
        while chunk := _recv(sock):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"body": "ab"' in answer   # ...and answers once it has it


def test_a_body_goes_through_the_balancer_unchanged(echo):
    status, _, body = call(echo[1].url, "POST", "/x", raw_body="caf\u00e9 \u2615".encode())
    assert status == 200 and body["body"] == "caf\u00e9 \u2615" and body["method"] == "POST"


def test_an_application_reads_headers_in_any_case():
    class Reads(Application):
        def handle(self, request, instance):
            return Response(200, {"trace": request.headers.get("X-Trace"), "TRACE": request.headers.get("x-TRACE")})

    with Instance(Reads) as server:
        with socket.create_connection(server.address, timeout=5) as sock:
            sock.sendall(f"GET / HTTP/1.1\r\nhost: 127.0.0.1:{server.port}\r\nx-trace: 1\r\nConnection: close\r\n\r\n"
                         .encode())
            answer = b""
            while chunk := _recv(sock):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b'{"trace": "1", "TRACE": "1"}')
    assert Request("GET", "/", {"Cookie": "a=1"}, b"").headers.get("cookie") == "a=1"   # a dict is wrapped too
