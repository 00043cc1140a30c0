"""``consona serve``: options, startup message, and a real process that survives kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from consona.cli.main import app

pytest.importorskip("fastapi")


def test_help_lists_the_options():
    r = CliRunner().invoke(app, ["serve", "--help"])
    assert r.exit_code == 0
    for opt in ("--host", "--port", "--rate-limit", "--max-body-mb", "--cors-origin", "--data-dir"):
        assert opt in r.output


def test_build_config_uses_chat_loading(tmp_path, monkeypatch):
    from consona.cli.serve import build_config

    monkeypatch.setenv("CONSONA_API_KEYS", "k1,k2")
    cfg = build_config(backend="fake", nli="none", data_dir=tmp_path, rate_limit=7,
                       max_body_mb=0.5, cors_origins=["http://x"])  # fmt: skip
    assert cfg.backend.name == "fake" and cfg.nli is None
    assert (cfg.api_keys, cfg.rate_limit, cfg.max_body_bytes) == (["k1", "k2"], 7, 524288)
    assert cfg.cors_origins == ["http://x"]
    cfg = build_config(backend="fake", nli="none", data_dir=tmp_path,
                       backend_options=['replies=["Ahoy."]', "latency_s=0"])  # fmt: skip
    assert cfg.backend.generate([{"role": "user", "content": "hi"}]).text == "Ahoy."
    r = CliRunner().invoke(app, ["serve", "--backend", "fake", "--backend-option", "oops"])
    assert r.exit_code == 2 and "is not KEY=VALUE" in r.output
    r = CliRunner().invoke(app, ["serve", "--backend", "fake", "--base-url", "http://x"])
    assert r.exit_code == 2 and "--base-url needs --backend openai" in r.output


def _free_port() -> int:
    from tests.server.conftest import free_port

    return free_port()


def _start(port: int, data: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "consona.cli.main", "serve", "--backend", "fake", "--nli",
           "fake", "--port", str(port), "--data-dir", data]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server died")
    proc.kill()
    raise RuntimeError("server did not start")


def test_served_turns_survive_kill_9(tmp_path):
    env = {**os.environ, "CONSONA_API_KEYS": "sk-serve-test"}
    port = _free_port()
    data = str(tmp_path / "data")
    auth = {"Authorization": "Bearer sk-serve-test"}
    proc = _start(port, data, env)
    try:
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        for i in range(3):
            body = {"model": "consona/mira", "consona": {"session": "crash"},
                    "messages": [{"role": "user", "content": f"message {i}"}]}  # fmt: skip
            assert httpx.post(url, json=body, headers=auth, timeout=30).status_code == 200
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert "127.0.0.1" in err and "sk-serve-test" not in err  # says where; never the key
    proc = _start(port, data, env)
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/v1/sessions/crash", headers=auth, timeout=10)
        turns = r.json()["turns"]
        assert [t["content"] for t in turns if t["role"] == "user"] == [
            "message 0", "message 1", "message 2"]  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_memory_flag_opens_the_shared_memory(tmp_path):
    import inspect

    from consona.agent import PersonaAgent

    pytest.importorskip("consona.cli.memory")
    if "memory" not in inspect.signature(PersonaAgent).parameters:
        pytest.skip("the agent has no long-term memory yet")
    from fastapi.testclient import TestClient

    from consona.cli.serve import build_config
    from consona.server import create_app

    cfg = build_config(backend="fake", nli="fake", data_dir=tmp_path / "d", memory=True,
                       memory_db=str(tmp_path / "memory.db"), memory_fakes=True)  # fmt: skip
    client = TestClient(create_app(cfg))
    body = {"model": "consona/mira", "consona": {"user": "bo", "session": "m"},
            "messages": [{"role": "user", "content": "I have a parrot named Kiwi."}]}  # fmt: skip
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    assert "memory" in r.json()["consona"]
    assert (tmp_path / "memory.db").exists()
