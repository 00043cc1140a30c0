"""llamacpp backend: input errors (fast) and the real default GGUF (slow), plus the openai
backend against llama-cpp-python's own OpenAI-compatible server on that GGUF (slow)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest

from consona.backends import load_backend
from consona.errors import ModelError

MSGS = [
    {
        "role": "system",
        "content": "You are Mira. You have a grey cat named Pepper. Answer in one short sentence.",
    },
    {"role": "user", "content": "Do you have any pets?"},
]


def test_missing_and_corrupt_gguf(tmp_path):
    with pytest.raises(ModelError, match=r"No model at.*consona models setup"):
        load_backend("llamacpp", model=str(tmp_path / "none.gguf"))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelError, match="not a GGUF file"):
        load_backend("llamacpp", model=str(bad))


def test_default_model_missing_says_setup(monkeypatch, tmp_path):
    monkeypatch.setenv("CONSONA_CHAT_MODEL", str(tmp_path / "gone.gguf"))
    with pytest.raises(ModelError, match="No model at"):
        load_backend("llamacpp")


@pytest.fixture(scope="module")
def gguf():
    pytest.importorskip("llama_cpp")
    from pathlib import Path

    from consona.config import Settings
    from consona.models import chat_model_path

    home = Path("~/.cache/consona").expanduser()  # the real cache, not the test's
    try:
        return chat_model_path(Settings.load(env={"CONSONA_HOME": str(home)}))
    except ModelError as exc:
        pytest.skip(f"default chat model not set up: {exc}")


@pytest.fixture(scope="module")
def llama(gguf):
    return load_backend("llamacpp", model=str(gguf), n_ctx=1024)


@pytest.mark.slow
def test_real_candidates_reuse_the_prompt(llama):
    g = llama.generate(MSGS, n=3, seed=1, max_tokens=24)
    assert len(g.texts) == 3 and all(t.strip() for t in g.texts)
    prompt = g.usage["prompt_tokens"]
    assert prompt > 20
    # only the first candidate reads the prompt (at most); the others reuse it
    assert g.usage["prompt_eval_tokens"] <= prompt + 2
    assert llama.count_tokens("hello world") == 2


@pytest.mark.slow
def test_real_json_schema_and_stream(llama):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "pets": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["name", "pets"],
    }
    ask = [*MSGS, {"role": "user", "content": "Reply as JSON with your name and pets."}]
    import json

    data = json.loads(llama.generate(ask, json_schema=schema, max_tokens=60, seed=0).text)
    assert isinstance(data["name"], str) and isinstance(data["pets"], list)
    pieces = list(llama.stream(MSGS, max_tokens=16, seed=2))
    assert len(pieces) > 1 and "".join(pieces).strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_openai_backend_against_llama_cpp_server(gguf):
    pytest.importorskip("llama_cpp.server.app")
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "1024",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            try:
                httpx.get(f"{url}/models", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        b = load_backend("openai", base_url=url, backoff_s=0.1)
        g = b.generate(MSGS, n=2, seed=4, max_tokens=16)
        assert len(g.texts) == 2 and all(t.strip() for t in g.texts)
        assert b.native_n is False  # llama-cpp-python's server ignores n: looped
        assert g.usage["completion_tokens"] > 0
        assert "".join(b.stream(MSGS, max_tokens=12, seed=1)).strip()
        schema = {"type": "object", "properties": {"pet": {"type": "string"}}, "required": ["pet"]}
        import json

        out = json.loads(b.generate(MSGS, json_schema=schema, max_tokens=30).text)
        assert isinstance(out["pet"], str) and b.json_mode == "json_object"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
