"""API keys (401, never logged), rate limit (429 + Retry-After), body limit, CORS."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from tests.server.conftest import ASK, make_app

KEY = "sk-consona-test-0123456789"


def test_api_keys(tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    client = TestClient(make_app(tmp_path, api_keys=[KEY, "other"]))
    r = client.get("/v1/models")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert r.headers["www-authenticate"] == "Bearer"
    bad = client.get("/v1/models", headers={"Authorization": "Bearer sk-wrong"})
    assert bad.status_code == 401 and "sk-wrong" not in bad.text
    ok = {"Authorization": f"Bearer {KEY}"}
    assert client.get("/v1/models", headers=ok).status_code == 200
    assert client.get("/v1/models", headers={"x-api-key": "other"}).status_code == 200
    r = client.post(
        "/v1/chat/completions", headers=ok, json={"model": "consona/mira", "messages": ASK}
    )
    assert r.status_code == 200
    # the page and its assets need no key (they hold no data); the API does
    assert client.get("/").status_code == 200
    assert client.get("/static/app.js").status_code == 200
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert KEY not in logged and "sk-wrong" not in logged


def test_rate_limit_per_key(tmp_path):
    client = TestClient(make_app(tmp_path, api_keys=["a", "b"], rate_limit=3))
    codes = [client.get("/v1/models", headers={"x-api-key": "a"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/v1/models", headers={"x-api-key": "a"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["type"] == "rate_limit_error"
    assert client.get("/v1/models", headers={"x-api-key": "b"}).status_code == 200


def test_body_limit(tmp_path):
    client = TestClient(make_app(tmp_path, max_body_bytes=1000))
    small = {"model": "consona/mira", "messages": ASK}
    assert client.post("/v1/chat/completions", json=small).status_code == 200
    big = {"model": "consona/mira", "messages": [{"role": "user", "content": "x" * 2000}]}
    r = client.post("/v1/chat/completions", json=big)
    assert r.status_code == 413 and "--max-body-mb" in r.json()["error"]["message"]

    def chunks():  # no content-length: counted as it arrives
        for _ in range(5):
            yield b"x" * 400

    r = client.post("/v1/characters", content=chunks())
    assert r.status_code == 413


def test_cors_off_by_default_and_on_for_listed_origins(tmp_path):
    origin = {"Origin": "http://evil.example"}
    client = TestClient(make_app(tmp_path / "a"))
    assert "access-control-allow-origin" not in client.get("/v1/models", headers=origin).headers
    pre = client.options("/v1/chat/completions", headers={
        **origin, "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert "access-control-allow-origin" not in pre.headers
    client = TestClient(make_app(tmp_path / "b", cors_origins=["http://localhost:3000"]))
    r = client.get("/v1/models", headers={"Origin": "http://localhost:3000"})
    assert r.headers["access-control-allow-origin"] == "http://localhost:3000"
    r = client.get("/v1/models", headers=origin)
    assert "access-control-allow-origin" not in r.headers
