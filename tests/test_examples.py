"""examples.py: three more stateless servers (chapter 01, claim S4).

Pins the claims the chapter makes with them: two copies of a static file
server send the same bytes and nothing outside the folder; a serverless-style
function gets a fresh handler per call, so nothing survives between calls
(while one kept handler does remember); a microservice that keeps nothing
gives the same answer from any copy, and bad input gets a clear 4xx.
"""

import http.client

import pytest

from labsupport import InvalidArgumentError
from labsupport.labs import (
    PRICES,
    VisitCounter,
    function_server,
    price_server,
    static_file_server,
)
from tests.conftest import lab_threads
from tests.http_util import call


@pytest.fixture
def site(tmp_path):
    (tmp_path / "index.html").write_text("<h1>Welcome</h1>", encoding="utf-8")
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "shop.css").write_text("h1 { color: green }", encoding="utf-8")
    (tmp_path.parent / "secret.txt").write_text("not for you", encoding="utf-8")
    return tmp_path


def get_bytes(server, path):
    """GET ``path``; returns (status, Content-Type, X-Instance, raw body bytes)."""
    conn = http.client.HTTPConnection(*server.address, timeout=5)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, answer.getheader("Content-Type"), answer.getheader("X-Instance"), answer.read()
    finally:
        conn.close()


def test_two_copies_of_a_static_server_send_the_same_bytes(site):
    with static_file_server(site, name="static-1") as one, static_file_server(site, name="static-2") as two:
        first, second = get_bytes(one, "/index.html"), get_bytes(two, "/index.html")
        assert first[0] == second[0] == 200
        assert first[3] == second[3] == b"<h1>Welcome</h1>"
        assert (first[2], second[2]) == ("static-1", "static-2")
        assert first[1] == "text/html"
        assert get_bytes(one, "/")[3] == b"<h1>Welcome</h1>"
        assert get_bytes(two, "/css/shop.css")[:2] == (200, "text/css")


def test_static_server_serves_nothing_outside_its_folder(site):
    with static_file_server(site) as server:
        for path in ("/missing.html", "/../secret.txt", "/%2e%2e/secret.txt", "/css", "/a%00b"):
            status, _, body = call(server.url, "GET", path)
            assert status == 404, path
            assert "no file" in body["error"]
        status, headers, body = call(server.url, "POST", "/index.html", body={})
        assert status == 405 and headers["Allow"] == "GET, HEAD"


def test_static_server_needs_a_folder(tmp_path):
    with pytest.raises(InvalidArgumentError, match="not a directory"):
        static_file_server(tmp_path / "nowhere")


def test_a_fresh_handler_per_call_remembers_nothing():
    with function_server(VisitCounter) as server:
        answers = [call(server.url, "POST", "/", body={})[2] for _ in range(3)]
    assert answers == [{"calls_this_handler_has_seen": 1}] * 3


def test_a_kept_handler_remembers_and_a_restart_forgets():
    server = function_server(VisitCounter, fresh=False).start()
    try:
        assert [call(server.url, "GET", "/")[2]["calls_this_handler_has_seen"] for _ in range(3)] == [1, 2, 3]
        server.restart()
        assert call(server.url, "GET", "/")[2]["calls_this_handler_has_seen"] == 1
    finally:
        server.close()


def test_function_server_checks_its_handler_and_survives_a_failing_one():
    with pytest.raises(InvalidArgumentError, match="make_handler"):
        function_server("not callable")

    def broken():
        return lambda event: 1 / 0

    with function_server(broken) as server:
        assert call(server.url, "POST", "/", body={})[0] == 500
        assert call(server.url, "POST", "/", raw_body=b"{not json")[0] == 400


def test_any_copy_of_the_price_service_gives_the_same_quote():
    order = {"items": {"book": 2, "pen": 3}}
    with price_server(name="quotes-1") as one, price_server(name="quotes-2") as two:
        first, second = call(one.url, "POST", "/quote", body=order), call(two.url, "POST", "/quote", body=order)
        assert first[0] == second[0] == 200
        assert first[2] == second[2] == {"items": {"book": 2, "pen": 3}, "total": 2 * PRICES["book"] + 3 * PRICES["pen"]}
        assert (first[1]["X-Instance"], second[1]["X-Instance"]) == ("quotes-1", "quotes-2")


@pytest.mark.parametrize("body, status, words", [
    ({"items": {"rocket": 1}}, 400, "unknown sku"),
    ({"items": {"book": 0}}, 400, "whole number"),
    ({"items": {"book": True}}, 400, "whole number"),
    ({"items": {}}, 400, "non-empty"),
    ({"basket": 1}, 400, "non-empty"),
])
def test_price_service_refuses_bad_orders_clearly(body, status, words):
    with price_server() as server:
        answer = call(server.url, "POST", "/quote", body=body)
        assert answer[0] == status and words in answer[2]["error"]
        assert call(server.url, "GET", "/quote")[0] == 405
        assert call(server.url, "POST", "/other", body=body)[0] == 404


def test_nothing_is_left_running(site):
    with static_file_server(site), function_server(VisitCounter), price_server():
        pass
    assert not [t for t in lab_threads() if t.name.startswith(("static", "function", "quotes"))]
