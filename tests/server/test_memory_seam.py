"""The server's memory seam: one memory per (user, character), its report in the verdict."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

from consona.agent import PersonaAgent
from tests.server.conftest import ASK, make_app

pytestmark = pytest.mark.skipif(
    "memory" not in inspect.signature(PersonaAgent).parameters,
    reason="the agent has no long-term memory yet",
)


@dataclass
class _Fact:
    text: str


@dataclass
class _Recall:
    bot: list[_Fact] = field(default_factory=list)
    user: list[_Fact] = field(default_factory=list)

    def block(self, *, user_name: str) -> str:
        return "\n".join(f"{user_name}: {f.text}" for f in self.user)

    def to_dict(self) -> dict:
        return {"user": [f.text for f in self.user], "bot": [f.text for f in self.bot]}


class _Diff:
    def __init__(self, text: str) -> None:
        self.text = text

    def to_dict(self) -> dict:
        return {"added": [{"role": "user", "text": self.text}]}


class FakeMemory:
    """Remembers every user message as a fact about the user."""

    def __init__(self) -> None:
        self.user_facts: list[_Fact] = []

    def recall(self, query: str, **kw: object) -> _Recall:
        return _Recall(user=list(self.user_facts))

    def observe(self, user_text: str, reply_text: str, **kw: object) -> _Diff:
        self.user_facts.append(_Fact(user_text))
        return _Diff(user_text)


def test_memory_is_opened_per_user_and_character_and_reported(tmp_path):
    opened: dict[tuple[str, str], FakeMemory] = {}

    def memory(user: str, character) -> FakeMemory:
        opened[(user, character.id)] = FakeMemory()
        return opened[(user, character.id)]

    client = TestClient(make_app(tmp_path, memory=memory))
    who = {"consona": {"user": "bo", "session": "m1"}}
    first = client.post("/v1/chat/completions",
                        json={"model": "consona/mira", "messages": ASK, **who}).json()  # fmt: skip
    assert first["consona"]["memory"]["written"] == {
        "added": [{"role": "user", "text": "Do you have a cat?"}]
    }
    again = {"model": "consona/mira", "messages": [{"role": "user", "content": "I am Bo."}], **who}
    second = client.post("/v1/chat/completions", json=again).json()
    assert second["consona"]["memory"]["recalled"]["user"] == ["Do you have a cat?"]
    client.post("/v1/chat/completions", json={**again, "consona": {"user": "al"}})
    assert sorted(opened) == [("al", "mira"), ("bo", "mira")]


def test_with_api_keys_each_key_has_its_own_users_memory(tmp_path):
    opened: dict[tuple[str, str], FakeMemory] = {}

    def memory(user: str, character) -> FakeMemory:
        opened[(user, character.id)] = FakeMemory()
        return opened[(user, character.id)]

    client = TestClient(make_app(tmp_path, memory=memory, api_keys=["key-a-0123", "key-b-4567"]))
    body = {"model": "consona/mira", "messages": ASK, "consona": {"user": "alice"}}
    a = client.post("/v1/chat/completions", json=body,
                    headers={"Authorization": "Bearer key-a-0123"}).json()  # fmt: skip
    assert a["consona"]["memory"]["written"]["added"][0]["text"] == "Do you have a cat?"
    b = client.post("/v1/chat/completions", json=body,
                    headers={"Authorization": "Bearer key-b-4567"}).json()  # fmt: skip
    assert b["consona"]["memory"]["recalled"]["user"] == []  # key A's "alice" is not key B's
    users = sorted(u for u, _ in opened)
    assert len(users) == 2 and all(u.startswith("alice@key-") for u in users)
    assert not any("key-a-0123" in u or "key-b-4567" in u for u in users)  # keys never stored
