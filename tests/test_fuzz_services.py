"""Fuzzing the other servers: identity provider, object storage and the game server's WebSocket.

The same promise as tests/test_fuzz.py: malformed input gets a clear error
(a 4xx with a JSON body over HTTP, an error event over WebSocket), never a
crash, a 5xx, a traceback or a hang, and the server keeps serving.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from labsupport.game import GameServer
from labsupport.services import IdentityProvider, ObjectStore
from tests.http_util import call

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ANY_TEXT = st.text(max_size=80)
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
                       max_leaves=12)


@pytest.fixture
def identity():
    with IdentityProvider() as provider:
        yield provider


@pytest.fixture
def objects():
    with ObjectStore() as store:
        yield store


@pytest.fixture
def game(tmp_path):
    with GameServer("game-fuzz", db_path=tmp_path / "results.sqlite3") as server:
        yield server


def _client_error(status, body):
    assert 400 <= status < 500, (status, body)
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and "Traceback" not in body["error"]


@FUZZ
@given(payload=JSONISH, raw=st.binary(max_size=200), use_raw=st.booleans())
def test_identity_provider_token_endpoint(identity, payload, raw, use_raw):
    body = raw if use_raw else json.dumps(payload).encode()
    status, _, answer = call(identity.url, "POST", "/token", raw_body=body)
    _client_error(status, answer)
    assert call(identity.url, "GET", "/public-key")[0] == 200


PATH_SEGMENT = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?#"),
                       min_size=1, max_size=30)


@FUZZ
@given(segments=st.lists(st.one_of(PATH_SEGMENT, st.sampled_from(["..", ".", "%2e%2e", "", "etc", "passwd"])),
                         min_size=1, max_size=6),
       method=st.sampled_from(["GET", "PUT", "DELETE", "POST"]), body=st.binary(max_size=300))
def test_object_store_paths_and_methods(objects, segments, method, body):
    path = "/" + "/".join(segments)
    status, _, answer = call(objects.url, method, path, raw_body=body if method == "PUT" else None)
    assert status < 500, (status, answer)
    if status >= 400:
        _client_error(status, answer)
    assert call(objects.url, "GET", "/health")[0] in (200, 404)      # still answering


def test_object_store_refuses_traversal_and_oversized_objects(objects):
    for path in ("/bucket-a/../../etc/passwd", "/bucket-a/%2e%2e/%2e%2e/x", "/bucket-a/a/../../b"):
        status, _, answer = call(objects.url, "PUT", path, raw_body=b"x")
        assert status == 400, (path, status, answer)
    status, _, _ = call(objects.url, "PUT", "/bucket-a/big", raw_body=b"x" * (64 * 1024 + 1))
    assert status == 413


@FUZZ
@given(messages=st.lists(st.one_of(JSONISH.map(json.dumps), st.text(max_size=100),
                                   st.fixed_dictionaries({"type": st.sampled_from(["join", "move", "chat", ""]),
                                                          "room": JSONISH, "player": JSONISH,
                                                          "cell": JSONISH}).map(json.dumps)),
                         min_size=1, max_size=6))
def test_game_server_websocket_messages(game, messages):
    with connect(f"{game.url}/rooms/fuzz", open_timeout=5, close_timeout=2) as ws:
        welcome = json.loads(ws.recv(timeout=5))
        assert welcome["type"] == "welcome"
        for message in messages:
            ws.send(message)
        ws.send(json.dumps({"type": "no-such-type"}))
        answers = []
        while True:                                   # read until the answer to our last message
            answer = json.loads(ws.recv(timeout=5))
            answers.append(answer)
            if answer.get("type") == "error" and "no-such-type" in answer.get("message", ""):
                break
    assert all(a["type"] in ("error", "joined", "state", "over", "left", "welcome") for a in answers)
    assert game.alive
