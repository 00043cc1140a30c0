"""The official ``openai`` client (and a raw SillyTavern-style body) against a live server."""

from __future__ import annotations

import httpx
import pytest

from consona.testing import FakeBackend
from tests.server.conftest import ASK, live_server, make_app, sse_events

openai = pytest.importorskip("openai")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    backend = FakeBackend(["I do not have a cat.", "Yes, my grey cat Pepper is asleep."])
    app = make_app(tmp_path_factory.mktemp("srv"), backend=backend, candidates=2,
                   api_keys=["sk-test"])  # fmt: skip
    with live_server(app) as url:
        yield url


def client(url, key="sk-test"):
    return openai.OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=30)


def test_models_and_completion(server):
    c = client(server)
    assert "consona/mira" in [m.id for m in c.models.list()]
    r = c.chat.completions.create(model="consona/mira", messages=ASK, n=2, seed=3,
                                  extra_body={"consona": {"user": "bo", "session": "oa-1"}})  # fmt: skip
    assert r.choices[0].message.content == "Yes, my grey cat Pepper is asleep."
    assert len(r.choices) == 2 and r.usage.total_tokens > 0
    extra = r.model_extra or {}
    assert extra["consona"]["caught"] == ["I have a grey cat named Pepper."]
    assert extra["consona"]["session"] == "oa-1"


def test_streaming_with_usage(server):
    c = client(server)
    stream = c.chat.completions.create(model="consona/mira", messages=ASK, stream=True,
                                       stream_options={"include_usage": True})  # fmt: skip
    text, usage, verdict = "", None, None
    for chunk in stream:
        for ch in chunk.choices:
            text += ch.delta.content or ""
        usage = chunk.usage or usage
        verdict = (chunk.model_extra or {}).get("consona") or verdict
    assert text == "Yes, my grey cat Pepper is asleep."
    assert usage is not None and usage.completion_tokens > 0
    assert verdict is not None and verdict["flagged"] is False


def test_errors_reach_the_client_as_openai_errors(server):
    with pytest.raises(openai.AuthenticationError):
        client(server, key="sk-wrong").models.list()
    with pytest.raises(openai.NotFoundError) as info:
        client(server).chat.completions.create(model="gpt-4", messages=ASK)
    assert info.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        client(server).chat.completions.create(model="consona/mira", messages=[])


def test_sillytavern_stream_body_over_http(server):
    body = {
        "messages": [{"role": "system", "content": "[Start a new chat]"}, *ASK],
        "model": "consona/mira", "temperature": 0.9, "max_tokens": 250, "stream": True,
        "presence_penalty": 0, "frequency_penalty": 0, "top_p": 1, "top_k": 40,
        "logit_bias": {"50256": -100}, "stream_options": {"include_usage": True}, "n": 1,
        "stop": ["\nUser:"], "chat_completion_source": "custom", "include_reasoning": False,
    }  # fmt: skip
    r = httpx.post(server + "/v1/chat/completions", json=body, timeout=30,
                   headers={"Authorization": "Bearer sk-test"})  # fmt: skip
    assert r.status_code == 200
    events = sse_events(r.text)
    text = "".join(e["choices"][0]["delta"].get("content", "")
                   for e in events[:-1] if e["choices"])  # fmt: skip
    assert text == "Yes, my grey cat Pepper is asleep." and events[-1] == "[DONE]"


def test_10mb_message_over_http_is_413(server):
    body = {"model": "consona/mira", "messages": [{"role": "user", "content": "a" * 10_000_000}]}
    r = httpx.post(server + "/v1/chat/completions", json=body, timeout=30,
                   headers={"Authorization": "Bearer sk-test"})  # fmt: skip
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


def test_a_client_leaving_mid_stream_does_not_hurt_the_server(server):
    auth = {"Authorization": "Bearer sk-test"}
    body = {"model": "consona/mira", "messages": ASK, "stream": True,
            "consona": {"session": "left-early"}}  # fmt: skip
    with httpx.Client(timeout=30, headers=auth) as http:
        for _ in range(3):
            with http.stream("POST", server + "/v1/chat/completions", json=body) as r:
                next(r.iter_lines())  # read one line, then hang up
        r2 = http.post(server + "/v1/chat/completions", json={**body, "stream": False})
        assert r2.status_code == 200
        assert http.get(server + "/health").json()["status"] == "ok"
