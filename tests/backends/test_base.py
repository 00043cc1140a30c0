from __future__ import annotations

import pytest

from consona.backends import (
    BACKENDS,
    BaseBackend,
    Capabilities,
    ChatBackend,
    Completion,
    Request,
    load_backend,
)
from consona.errors import BackendError, ConfigError, UnknownNameError
from consona.testing import FakeBackend

MSGS = [{"role": "user", "content": "hi there"}]


def test_registry_names_and_unknown_lists_valid():
    assert BACKENDS.names() == ["fake", "llamacpp", "openai", "transformers"]
    with pytest.raises(UnknownNameError, match="Valid backends: fake, llamacpp, openai"):
        load_backend("gpt5")


def test_default_name_comes_from_settings(monkeypatch):
    monkeypatch.setenv("CONSONA_BACKEND", "fake")
    b = load_backend(replies=["ok"])
    assert isinstance(b, FakeBackend) and isinstance(b, ChatBackend)


def test_fake_cycles_records_and_counts():
    b = FakeBackend(["a b", "c"])
    g = b.generate(MSGS, n=3, seed=4, max_tokens=10)
    assert g.texts == ["a b", "c", "a b"]
    assert g.usage == {"prompt_tokens": 2, "completion_tokens": 5}
    assert b.calls == [MSGS] and b.requests[0]["seed"] == 4
    assert "".join(b.stream(MSGS)) == "c"


def test_fake_callable_stop_and_max_tokens():
    b = FakeBackend(lambda msgs: f"you said {msgs[-1]['content']} END more")
    assert b.generate(MSGS, stop=["END"]).text == "you said hi there "
    assert b.generate(MSGS, max_tokens=2).text == "you said"


def test_fake_json_schema_and_failures():
    schema = {"type": "object", "required": ["x"]}
    assert FakeBackend(['{"x": 1}']).generate(MSGS, json_schema=schema).text == '{"x": 1}'
    with pytest.raises(BackendError, match="not JSON"):
        FakeBackend(["nope"]).generate(MSGS, json_schema=schema)
    b = FakeBackend(["ok"], fail=BackendError("server down"))
    with pytest.raises(BackendError, match="server down"):
        b.generate(MSGS)
    assert b.generate(MSGS).text == "ok"


@pytest.mark.parametrize(
    "messages, match",
    [
        ([], "No messages"),
        ([{"role": "wizard", "content": "x"}], "unknown role"),
        (["hi"], "not a"),
        ([{"role": "user", "content": 3}], "string"),
    ],
)
def test_bad_messages(messages, match):
    with pytest.raises(ConfigError, match=match):
        FakeBackend(["x"]).generate(messages)


def test_bad_sampling_and_context():
    with pytest.raises(ConfigError, match="n must be"):
        FakeBackend(["x"]).generate(MSGS, n=0)
    with pytest.raises(BackendError, match="exceeds the context"):
        FakeBackend(["x"], max_context=10).generate(MSGS, max_tokens=9)


class Scripted(BaseBackend):
    """The smallest backend: ``execute`` only; ``texts`` per call, whatever ``n`` asks."""

    name = "scripted"

    def __init__(self, texts, *, json_schema=False):
        self.texts = texts
        self.capabilities = Capabilities(json_schema=json_schema)
        self.requests: list[Request] = []

    def execute(self, request):
        self.requests.append(request)
        return Completion(list(self.texts), usage={"prompt_tokens": 3, "completion_tokens": 2})


def test_base_checks_arguments_before_the_backend_runs():
    b = Scripted(["x"])
    for kwargs, match in [
        ({"n": 0}, "n must be"),
        ({"temperature": -1}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"seed": "7"}, "seed must be an integer"),
        ({"stop": [3]}, "stop strings must be strings"),
        ({"json_schema": {"type": "objekt"}}, "not a valid JSON schema"),
    ]:
        with pytest.raises(ConfigError, match=match):
            b.generate(MSGS, **kwargs)
    with pytest.raises(ConfigError, match="No messages"):
        b.generate([])
    with pytest.raises(BackendError, match="scripted: JSON-schema constrained output is not"):
        b.generate(MSGS, json_schema={"type": "object"})
    assert b.requests == []  # none of these reached execute


def test_base_assembles_the_generation():
    b = Scripted(["Sure.\nUser: and you?", '{"a": 1} trailing'], json_schema=True)
    g = b.generate(MSGS, n=2, seed=5, stop="\nUser:", temperature=0)
    assert g.texts == ["Sure.", '{"a": 1} trailing']
    assert g.usage == {"prompt_tokens": 3, "completion_tokens": 2}
    assert g.finish_reasons == ["stop", "stop"] and g.latency_s >= 0
    (req,) = b.requests
    assert (req.n, req.seed, req.stop, req.temperature) == (2, 5, ["\nUser:"], 0.0)
    assert [(c.n, c.seed) for c in req.candidates()] == [(1, 5), (1, 6)]
    with pytest.raises(BackendError, match="output is not JSON"):
        b.generate(MSGS, n=2, json_schema={"type": "object"})
    with pytest.raises(BackendError, match="1 candidates came back, 2 were asked for"):
        Scripted(["only one"]).generate(MSGS, n=2)


def test_base_stream_stops_at_a_stop_string_and_closes_the_backend():
    closed = []

    class Pieces(Scripted):
        def execute_stream(self, request):
            try:
                yield from ["Hel", "lo! ", "User", ": next", " never"]
            finally:
                closed.append(True)

    b = Pieces(["unused"])
    # "User" is held back until ": next" shows it is the stop string
    assert list(b.stream(MSGS, stop=["User:"])) == ["Hel", "lo! "]
    assert closed == [True]
    # without execute_stream, a backend streams its whole reply at once
    assert list(Scripted(["a. b"]).stream(MSGS, stop=["."])) == ["a"]


def test_completion_extend_keeps_the_prompt_and_adds_the_rest():
    c = Completion(
        ["a"], usage={"prompt_tokens": 5, "completion_tokens": 1, "prompt_eval_tokens": 5}
    )
    c.extend(Completion(["b"], usage={"prompt_tokens": 5, "completion_tokens": 2,
                                      "prompt_eval_tokens": 1}, finish_reasons=["length"]))  # fmt: skip
    assert c.usage == {"prompt_tokens": 5, "completion_tokens": 3, "prompt_eval_tokens": 6}
    assert c.finish_reasons == ["stop", "length"]
