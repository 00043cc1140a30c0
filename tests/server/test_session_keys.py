"""With API keys on, a session belongs to the key that created it: under another key it
cannot be read, listed, deleted or appended to (404, as if absent)."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient

from consona.server.store import SessionOwnerError, SessionStore
from tests.server.conftest import ASK, make_app, sse_events

A = {"Authorization": "Bearer key-a-0123"}
B = {"x-api-key": "key-b-4567"}


def chat(client, headers, session=None, stream=False):
    body = {"model": "consona/mira", "messages": ASK, "stream": stream}
    if session:
        body["consona"] = {"session": session, "user": "bo"}
    return client.post("/v1/chat/completions", json=body, headers=headers)


def test_sessions_are_scoped_per_key(tmp_path):
    client = TestClient(make_app(tmp_path, api_keys=["key-a-0123", "key-b-4567"]))
    assert chat(client, A, "s-1").status_code == 200
    assert client.get("/v1/sessions/s-1", headers=A).json()["turns"][1]["role"] == "assistant"
    # key B: absent everywhere
    r = client.get("/v1/sessions/s-1", headers=B)
    assert r.status_code == 404 and r.json()["error"]["code"] == "session_not_found"
    assert client.get("/v1/sessions", headers=B).json()["data"] == []
    assert client.delete("/v1/sessions/s-1", headers=B).status_code == 404
    r = chat(client, B, "s-1")
    assert r.status_code == 404 and r.json()["error"]["param"] == "consona.session"
    r = chat(client, B, "s-1", stream=True)
    assert r.status_code == 404
    # nothing was appended; key A still sees its two turns
    assert len(client.get("/v1/sessions/s-1", headers=A).json()["turns"]) == 2
    assert [s["id"] for s in client.get("/v1/sessions", headers=A).json()["data"]] == ["s-1"]
    # automatic session ids differ per key even for the same first message and user
    auto_a = chat(client, A).json()["consona"]["session"]
    auto_b = chat(client, B).json()["consona"]["session"]
    assert auto_a != auto_b
    assert client.get(f"/v1/sessions/{auto_a}", headers=B).status_code == 404
    events = sse_events(chat(client, B, "s-2", stream=True).text)
    assert events[-1] == "[DONE]"
    assert client.get("/v1/sessions/s-2", headers=A).status_code == 404
    assert client.delete("/v1/sessions/s-1", headers=A).status_code == 200


def test_the_store_refuses_another_owner_and_old_databases_get_the_column(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # a database from before sessions had owners
        db.execute(
            "CREATE TABLE consona_sessions (id VARCHAR(64) PRIMARY KEY, character VARCHAR(64) "
            "NOT NULL, user VARCHAR(64) NOT NULL, created_at DATETIME NOT NULL, "
            "updated_at DATETIME NOT NULL)"
        )
        db.execute(
            "INSERT INTO consona_sessions VALUES ('old', 'mira', 'bo', "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    store = SessionStore(path)
    assert store.owner_of("old") == "" and store.get("old", owner="")["id"] == "old"
    store.add_exchange("mine", character="mira", user="bo", user_text="hi", reply="yo",
                       owner="key-x")  # fmt: skip
    with pytest.raises(SessionOwnerError):
        store.add_exchange("mine", character="mira", user="bo", user_text="hi", reply="yo")
    assert len(store.turns("mine")) == 2
    assert store.delete("mine", owner="key-y") is False and store.delete("mine", owner="key-x")
    store.close()
