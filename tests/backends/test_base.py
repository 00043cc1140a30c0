from __future__ import annotations

import pytest

from consona.backends import BACKENDS, ChatBackend, load_backend
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
