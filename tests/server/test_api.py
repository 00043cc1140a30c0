"""The OpenAI-compatible API on the fake backend (in-process client)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from consona.testing import FakeBackend
from tests.server.conftest import ASK, make_app, sse_events


def post(client, body, **kw):
    return client.post("/v1/chat/completions", json=body, **kw)


def test_models_lists_characters_and_the_plain_model(client):
    ids = [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert ids == ["consona/mira", "consona/theo", "fake"]
    assert client.get("/v1/models/consona/mira").json()["id"] == "consona/mira"
    r = client.get("/v1/models/consona/nobody")
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_completion_carries_the_guard_verdict(tmp_path):
    backend = FakeBackend(["I do not have a cat.", "Yes, my grey cat Pepper naps all day."])
    client = TestClient(make_app(tmp_path, backend=backend, candidates=2))
    body = post(client, {"model": "consona/mira", "messages": ASK}).json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": "Yes, my grey cat Pepper naps all day.",
    }
    v = body["consona"]
    assert v["character"] == "mira" and v["flagged"] is False
    assert v["caught"] == ["I have a grey cat named Pepper."]
    assert len(v["candidates"]) == 2 and v["candidates"][0]["disqualified"]
    assert body["usage"]["total_tokens"] == (
        body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
    )
    assert body["usage"]["completion_tokens"] > 0


def test_n_returns_qualified_candidates_first(tmp_path):
    replies = ["I do not have a cat.", "Pepper is my cat.", "My cat Pepper is grey."]
    client = TestClient(make_app(tmp_path, replies=replies, candidates=1))
    body = post(client, {"model": "consona/mira", "messages": ASK, "n": 3}).json()
    texts = [c["message"]["content"] for c in body["choices"]]
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert texts[-1] == "I do not have a cat."  # the one contradiction comes last
    assert [c["consona"]["flagged"] for c in body["choices"]] == [False, False, True]
    assert len(body["consona"]["candidates"]) == 3  # n raised the agent's candidates


def test_sampling_params_reach_the_backend_and_stop_cuts(tmp_path):
    backend = FakeBackend(["Pepper sleeps. Then she eats."])
    client = TestClient(make_app(tmp_path, backend=backend, candidates=1, nli=None))
    body = post(
        client,
        {"model": "consona/mira", "messages": ASK, "temperature": 0.3,
         "max_completion_tokens": 40, "seed": 7, "stop": [" Then"], "top_p": 0.9,
         "presence_penalty": 0.5, "frequency_penalty": 0.1},
    ).json()  # fmt: skip
    assert body["choices"][0]["message"]["content"] == "Pepper sleeps."
    req = backend.requests[-1]
    assert (req["temperature"], req["max_tokens"], req["seed"]) == (0.3, 40, 7)
    post(client, {"model": "consona/mira", "messages": ASK, "max_tokens": 12})
    assert backend.requests[-1]["max_tokens"] == 12


def test_stream_sends_deltas_verdict_usage_and_done(client):
    r = post(
        client,
        {"model": "consona/mira", "messages": ASK, "stream": True,
         "stream_options": {"include_usage": True}},
    )  # fmt: skip
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Yes, my grey cat Pepper."
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert finish[0]["choices"][0]["finish_reason"] == "stop"
    assert finish[0]["consona"]["character"] == "mira"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_stream_without_include_usage_has_no_usage_chunk(client):
    events = sse_events(
        post(client, {"model": "consona/mira", "messages": ASK, "stream": True}).text
    )
    assert all(e == "[DONE]" or e["choices"] for e in events)


def test_stream_with_n_and_direct_backend_stream(tmp_path):
    client = TestClient(make_app(tmp_path, replies=["a b", "c d"], candidates=1, nli=None))
    events = sse_events(post(client, {"model": "consona/mira", "messages": ASK, "stream": True,
                                      "n": 2}).text)  # fmt: skip
    by_index: dict[int, str] = {}
    for e in events[:-1]:
        for ch in e["choices"]:
            by_index[ch["index"]] = by_index.get(ch["index"], "") + ch["delta"].get("content", "")
    assert sorted(by_index) == [0, 1] and set(by_index.values()) == {"a b", "c d"}
    # n=1, one candidate, no judge: the backend's own token stream passes through
    events = sse_events(post(client, {"model": "consona/mira", "messages": ASK, "stream": True,
                                      "stop": [" d"]}).text)  # fmt: skip
    pieces = [e["choices"][0]["delta"].get("content") for e in events[:-1] if e["choices"]]
    assert "".join(p for p in pieces if p) in ("a b", "c")


def test_sillytavern_style_body_is_answered(client):
    body = {
        "messages": [
            {"role": "system", "content": "Write Mira's next reply in a fictional chat."},
            {"role": "assistant", "content": "Welcome to the lighthouse!", "name": "Mira"},
            {"role": "user", "content": "Do you have a cat?", "name": "Bo"},
        ],
        "model": "consona/mira",
        "temperature": 1,
        "frequency_penalty": 0,
        "presence_penalty": 0,
        "top_p": 1,
        "max_tokens": 300,
        "stream": False,
        "logit_bias": {"1234": -100},
        "stream_options": {"include_usage": True, "something_new": 1},
        "n": 1,
        "stop": ["\nBo:", "\nMira:"],
        "seed": -1,
        "chat_completion_source": "custom",
        "custom_include_body": "",
        "include_reasoning": False,
        "reasoning_effort": "medium",
        "user_name": "Bo",
        "char_name": "Mira",
    }
    r = post(client, body)
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "Yes, my grey cat Pepper."


def test_plain_model_and_unknown_model(tmp_path):
    backend = FakeBackend(["A short title"])
    client = TestClient(make_app(tmp_path, backend=backend))
    msgs = [{"role": "system", "content": "Summarize."}, {"role": "user", "content": "hi"}]
    body = post(client, {"model": "fake", "messages": msgs}).json()
    assert body["choices"][0]["message"]["content"] == "A short title"
    assert "consona" not in body
    assert backend.calls[-1] == [{"role": "system", "content": "Summarize."},
                                 {"role": "user", "content": "hi"}]  # fmt: skip
    r = post(client, {"model": "gpt-4o", "messages": msgs})
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["code"] == "model_not_found" and "consona/mira" in err["message"]
    # the consona field picks the character whatever the model says
    body = post(client, {"model": "fake", "messages": ASK, "consona": {"character": "theo"}}).json()
    assert body["consona"]["character"] == "theo"


def test_sessions_store_turns(tmp_path):
    client = TestClient(make_app(tmp_path))
    extra = {"consona": {"session": "s-1", "user": "bo"}}
    post(client, {"model": "consona/mira", "messages": ASK, **extra})
    msgs = [*ASK, {"role": "assistant", "content": "Yes."}, {"role": "user", "content": "Name?"}]
    post(client, {"model": "consona/mira", "messages": msgs, "stream": True, **extra})
    s = client.get("/v1/sessions/s-1").json()
    assert (s["character"], s["user"]) == ("mira", "bo")
    assert [(t["role"], t["content"]) for t in s["turns"]] == [
        ("user", "Do you have a cat?"), ("assistant", "Yes, my grey cat Pepper."),
        ("user", "Name?"), ("assistant", "Yes, my grey cat Pepper."),
    ]  # fmt: skip
    listed = client.get("/v1/sessions", params={"character": "mira"}).json()["data"]
    assert listed[0]["id"] == "s-1" and listed[0]["turn_count"] == 4
    # the plain model stores nothing; no session field → one derived from the conversation
    post(client, {"model": "fake", "messages": ASK})
    post(client, {"model": "consona/theo", "messages": ASK})
    ids = [s["id"] for s in client.get("/v1/sessions").json()["data"]]
    assert len(ids) == 2 and any(i.startswith("auto-") for i in ids)
    assert client.delete("/v1/sessions/s-1").json()["deleted"] is True
    assert client.get("/v1/sessions/s-1").status_code == 404


def test_turns_and_uploads_survive_a_restart(tmp_path):
    from consona.types import Persona

    data = tmp_path / "data"
    client = TestClient(make_app(data))
    card = {"spec": "chara_card_v2", "spec_version": "2.0",
            "data": {"name": "Ada", "description": "Ada has two dogs.", "first_mes": "Hi!"}}  # fmt: skip
    assert client.post("/v1/characters", json=card).status_code == 201
    post(client, {"model": "consona/ada", "messages": ASK, "consona": {"session": "keep"}})
    client = TestClient(make_app(data))  # a new process on the same data folder
    assert "consona/ada" in [m["id"] for m in client.get("/v1/models").json()["data"]]
    assert len(client.get("/v1/sessions/keep").json()["turns"]) == 2
    assert isinstance(Persona(name="x"), Persona)


def test_plain_model_streams_and_draws_n(tmp_path):
    backend = FakeBackend(["one two three", "four five"])
    client = TestClient(make_app(tmp_path, backend=backend))
    msgs = [{"role": "user", "content": "title?"}]
    events = sse_events(post(client, {"model": "fake", "messages": msgs, "stream": True,
                                      "stream_options": {"include_usage": True}}).text)  # fmt: skip
    text = "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-1] if e["choices"])
    assert text == "one two three" and events[-2]["usage"]["completion_tokens"] == 3
    assert all("consona" not in e for e in events[:-1])
    body = post(client, {"model": "fake", "messages": msgs, "n": 2, "seed": 1}).json()
    assert [c["message"]["content"] for c in body["choices"]] == ["four five", "one two three"]
    assert backend.requests[-1]["n"] == 2 and backend.requests[-1]["seed"] == 1


def test_a_reply_that_leaked_the_prompt_is_never_sent(tmp_path):
    """Every candidate reproduces the rules: the client gets the agent's neutral line, in
    JSON and in the stream, and no candidate's text."""
    from consona.agent.agent import LEAK_FALLBACK

    def leaker(messages):
        system = messages[0]["content"]
        return system[system.index("Rules (consona") :]

    client = TestClient(make_app(tmp_path, backend=FakeBackend(leaker), candidates=2))
    body = post(client, {"model": "consona/mira", "messages": ASK, "n": 2}).json()
    texts = [c["message"]["content"] for c in body["choices"]]
    assert texts == [LEAK_FALLBACK]
    assert "Rules (consona" not in str(body["choices"])
    r = post(client, {"model": "consona/mira", "messages": ASK, "stream": True})
    streamed = "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in sse_events(r.text)
        if isinstance(e, dict) and e.get("choices")
    )
    assert streamed.strip() == LEAK_FALLBACK


def test_first_clean_streams_the_first_clean_candidate_and_draws_what_n_needs(tmp_path):
    backend = FakeBackend(["Pepper is my grey cat.", "I do not have a cat.", "My cat naps."])
    client = TestClient(make_app(tmp_path, backend=backend, candidates=4, choose="first-clean"))
    events = sse_events(post(client, {"model": "consona/mira", "messages": ASK, "stream": True,
                                      "n": 2}).text)  # fmt: skip
    order = [ch["index"] for e in events[:-1] for ch in e["choices"] if ch["delta"].get("content")]
    assert order == sorted(order) and set(order) == {0, 1}  # the chosen one is sent first
    text = "".join(ch["delta"].get("content", "") for e in events[:-1] for ch in e["choices"]
                   if ch["index"] == 0)  # fmt: skip
    assert text == "Pepper is my grey cat."
    assert [r["n"] for r in backend.requests] == [1, 1]  # n=2: one more, not three
    # a first candidate that contradicts the card: the other three are drawn together
    backend = FakeBackend(["I do not have a cat.", "Pepper is my grey cat."])
    client = TestClient(make_app(tmp_path, backend=backend, candidates=4, choose="first-clean"))
    body = post(client, {"model": "consona/mira", "messages": ASK}).json()
    assert [r["n"] for r in backend.requests] == [1, 3]
    assert body["choices"][0]["message"]["content"] != "I do not have a cat."
    assert body["consona"]["caught"] == ["I have a grey cat named Pepper."]


def test_unknown_choose_is_a_config_error(tmp_path):
    import pytest

    from consona.errors import ConfigError

    with pytest.raises(ConfigError, match="first-clean"):
        make_app(tmp_path, choose="fastest")
