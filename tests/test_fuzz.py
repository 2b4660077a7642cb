"""Fuzzing the shop and the balancer: malformed input never crashes, hangs or leaks a traceback.

Hypothesis generates random bytes, broken HTTP, odd JSON, absurd numbers,
traversal paths and bad tokens. Every answer must be a well-formed HTTP
response with a JSON body and a status below 500 (or the connection closed
cleanly for bytes that are not HTTP at all), and the servers must still serve
afterwards. Bounded: a few hundred examples per test, no deadline (the
machine is shared). benchmarks/chaos_soak.py runs thousands.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labsupport import Cluster
from tests.http_util import call, raw_exchange

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                          HealthCheck.too_slow])


@pytest.fixture
def shops():
    """Fresh clusters per test (hypothesis reuses them across its examples)."""
    with Cluster.stateless(instances=2, seed=1) as stateless, Cluster.stateful(instances=2, seed=1) as stateful:
        yield {"stateless": stateless, "stateful": stateful}


def _address(url):
    host, port = url.replace("http://", "").split(":")
    return host, int(port)


def _host(address):
    """The Host header a lab server accepts (anything else gets 421 before the fuzzed part is even read)."""
    return f"Host: {address[0]}:{address[1]}\r\n".encode()


def _exchange(address, data):
    """Send raw bytes; return what came back. A hang is a failure (the socket times out)."""
    return raw_exchange(address, data, timeout=10)


def _check_answer(raw):
    """The first response in ``raw`` is well-formed HTTP, not a server error, with a JSON body."""
    if not raw:
        return                                    # closed without an answer: allowed for non-HTTP garbage
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0].startswith(b"HTTP/1.1 "), lines[0]
    status = int(lines[0].split()[1])
    assert status < 500, raw[:300]            # the servers are healthy: bad input is always the client's error
    assert b"Traceback" not in raw
    headers = dict(line.split(b": ", 1) for line in lines[1:])
    body = rest[:int(headers.get(b"Content-Length", b"0"))]
    if body:
        assert isinstance(json.loads(body), dict)


def _still_serving(shop):
    assert call(shop.url, "GET", "/health")[0] == 200
    for server in shop.instances:
        assert call(server.url, "GET", "/health")[0] == 200


@FUZZ
@given(data=st.binary(min_size=1, max_size=2048))
def test_random_bytes(shops, data):
    for shop in shops.values():
        _check_answer(_exchange(_address(shop.url), data))
    _still_serving(shops["stateless"])


METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW", "G E T", ""])
PATHS = st.one_of(st.sampled_from(["/login", "/cart", "/cart/items", "/cart/items/../../etc/passwd", "/whoami",
                                   "/health", "/%00", "//", "/cart/items/%2e%2e%2f", "*"]),
                  st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=200).map(lambda t: "/" + t))
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
                       lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children,
                                                                                          max_size=5), max_leaves=20)
BODIES = st.one_of(
    JSONISH.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"user": JSONISH}).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"sku": JSONISH, "qty": st.one_of(st.integers(), st.floats(), st.text())}).map(
        lambda v: json.dumps(v).encode()),
    st.binary(max_size=300),
)
HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=300)


@FUZZ
@given(method=METHODS, path=PATHS, body=BODIES, token=HEADER_VALUES, content_type=HEADER_VALUES,
       key=HEADER_VALUES)
def test_malformed_requests(shops, method, path, body, token, content_type, key):
    rest = (f"Content-Type: {content_type}\r\n"
            f"Authorization: Bearer {token}\r\nCookie: session={token}; lb-instance={token}\r\n"
            f"Idempotency-Key: {key}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    for shop in shops.values():
        for address in (_address(shop.url), shop.instances[0].address):
            request = f"{method} {path} HTTP/1.1\r\n".encode() + _host(address) + rest
            _check_answer(_exchange(address, request + body))
    _still_serving(shops["stateful"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.sampled_from([8_000, 70_000, 300_000]), where=st.sampled_from(["header", "line", "body"]))
def test_huge_headers_lines_and_bodies(shops, size, where):
    filler = b"a" * size
    address = _address(shops["stateless"].url)
    if where == "header":
        data = b"GET /cart HTTP/1.1\r\n" + _host(address) + b"X-Big: " + filler + b"\r\n\r\n"
    elif where == "line":
        data = b"GET /" + filler + b" HTTP/1.1\r\n" + _host(address) + b"\r\n"
    else:
        data = b"POST /login HTTP/1.1\r\n" + _host(address) + b"Content-Length: " + str(size).encode() + \
            b"\r\n\r\n" + filler
    _check_answer(_exchange(address, data))
    _still_serving(shops["stateless"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw_path=st.binary(min_size=1, max_size=40))
def test_paths_with_any_bytes_get_a_client_error(shops, raw_path):
    path = raw_path.replace(b" ", b"").replace(b"\r", b"").replace(b"\n", b"")
    for shop in shops.values():
        address = _address(shop.url)
        _check_answer(_exchange(address, b"GET /" + path + b" HTTP/1.1\r\n" + _host(address) + b"\r\n"))
    _still_serving(shops["stateless"])


def test_a_valid_user_still_shops_after_the_fuzzing(shops):
    for shop in shops.values():
        alice = shop.user("alice-after-fuzz")
        assert alice.add("book", 2) == {"book": 2}
