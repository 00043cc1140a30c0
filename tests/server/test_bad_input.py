"""Bad input: the right 4xx with an OpenAI-style error body, never a 500 or a traceback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import ASK, make_app


@pytest.fixture
def client(tmp_path):
    return TestClient(make_app(tmp_path / "d"), raise_server_exceptions=False)


def check(r, status, code=None):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert "Traceback" not in r.text and err["message"]
    if code:
        assert err["code"] == code
    return err


def chat(client, body):
    return client.post("/v1/chat/completions", json=body)


def test_malformed_json(client):
    r = client.post("/v1/chat/completions", content=b'{"model": "consona/mira", "messages": [',
                    headers={"content-type": "application/json"})  # fmt: skip
    check(r, 400, "invalid_json")
    check(client.post("/v1/chat/completions", content=b""), 400, "invalid_json")
    check(client.post("/v1/chat/completions", content=b"\xff\xfe"), 400, "invalid_json")
    check(client.post("/v1/chat/completions", json=[1, 2]), 400)


def test_unknown_model_and_character(client):
    assert (
        check(chat(client, {"model": "nope", "messages": ASK}), 404, "model_not_found")["param"]
        == "model"
    )
    check(
        chat(client, {"model": "consona/../../etc/passwd", "messages": ASK}), 404, "model_not_found"
    )
    err = check(chat(client, {"model": "fake", "messages": ASK, "consona": {"character": "zed"}}),
                404, "character_not_found")  # fmt: skip
    assert "mira" in err["message"]
    check(chat(client, {"model": "fake", "messages": ASK, "consona": {"character": "../x"}}), 400,
          "invalid_id")  # fmt: skip
    check(client.get("/v1/characters/zed"), 404, "character_not_found")
    check(client.delete("/v1/characters/zed"), 404, "character_not_found")
    check(client.get("/v1/characters/..%2F..%2Fetc"), 404)
    check(client.delete("/v1/characters/mira"), 403, "character_bundled")


@pytest.mark.parametrize(
    "body, param",
    [
        ({"model": "consona/mira", "messages": []}, "messages"),
        ({"model": "consona/mira"}, "messages"),
        ({"messages": ASK}, "model"),
        ({"model": "consona/mira", "messages": ASK, "n": 0}, "n"),
        ({"model": "consona/mira", "messages": ASK, "n": 99}, "n"),
        ({"model": "consona/mira", "messages": ASK, "temperature": 5}, "temperature"),
        ({"model": "consona/mira", "messages": ASK, "max_tokens": 0}, "max_tokens"),
        ({"model": "consona/mira", "messages": ASK, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"model": "consona/mira", "messages": [{"role": "wizard", "content": "x"}]}, "messages"),
        (
            {"model": "consona/mira", "messages": [{"role": "assistant", "content": "x"}]},
            "messages",
        ),
        ({"model": "consona/mira", "messages": [{"role": "user", "content": "  "}]}, "messages"),
        ({"model": "fake", "messages": [{"role": "system", "content": "x"}]}, "messages"),
        ({"model": "consona/mira", "messages": ASK, "consona": {"session": "../../x"}}, None),
    ],
)
def test_invalid_fields(client, body, param):
    err = check(chat(client, body), 400)
    if param:
        assert err["param"] == param


def test_a_10mb_message_is_413(client):
    big = [{"role": "user", "content": "a" * (10 * 1024 * 1024)}]
    check(chat(client, {"model": "consona/mira", "messages": big}), 413, "request_too_large")


def test_context_overflow_is_400(tmp_path):
    client = TestClient(make_app(tmp_path, candidates=1), raise_server_exceptions=False)
    long = [{"role": "user", "content": "word " * 5000}]
    check(chat(client, {"model": "consona/mira", "messages": long}), 400, "context_length_exceeded")


def test_backend_failure_is_502_and_stream_error_event(tmp_path):
    from consona.errors import BackendError
    from consona.testing import FakeBackend
    from tests.server.conftest import sse_events

    backend = FakeBackend(["x"], fail=[BackendError("server down"), BackendError("again")])
    client = TestClient(make_app(tmp_path, backend=backend), raise_server_exceptions=False)
    check(chat(client, {"model": "consona/mira", "messages": ASK}), 502, "backend_error")
    events = sse_events(
        chat(client, {"model": "consona/mira", "messages": ASK, "stream": True}).text
    )
    assert events[-1] == "[DONE]" and events[0]["error"]["code"] == "backend_error"


def test_cards_that_are_not_cards(client):
    from consona.formats.cards import placeholder_png

    check(client.post("/v1/characters", content=placeholder_png("x"),
                      headers={"content-type": "image/png"}), 400, "invalid_card")  # fmt: skip
    check(client.post("/v1/characters", content=b"\x89PNG\r\n\x1a\ngarbage"), 400, "invalid_card")
    check(client.post("/v1/characters", content=b"PK\x03\x04broken zip"), 400, "invalid_card")
    check(client.post("/v1/characters", content=b"{not json"), 400, "invalid_card")
    check(client.post("/v1/characters", json={"hello": "world"}), 400, "invalid_card")
    check(client.post("/v1/characters", content=b""), 400, "invalid_card")
    card = {"spec": "chara_card_v2", "data": {"name": "Ada", "description": "x"}}
    check(client.post("/v1/characters?id=../evil", json=card), 400, "invalid_id")


def test_unknown_route_and_method(client):
    check(client.get("/v1/nothing"), 404)
    check(client.put("/v1/models"), 405)
