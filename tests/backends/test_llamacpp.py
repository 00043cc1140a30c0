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


def test_prompt_probe_formats_like_create_chat_completion():
    """The batched path gets its prompt and stop strings from the model's own chat handler."""
    pytest.importorskip("llama_cpp")
    from llama_cpp import llama_chat_format

    from consona.backends.llamacpp import _Captured, _PromptProbe

    class Tokenizer:  # stands in for a Llama: tokenizes one byte a token
        verbose = False

        def tokenize(self, data, add_bos=True, special=False):
            return ([1] if add_bos else []) + list(data)

    handler = llama_chat_format.get_chat_completion_handler("chatml")
    with pytest.raises(_Captured) as got:
        handler(llama=_PromptProbe(Tokenizer()), messages=MSGS, stop=["END"], max_tokens=5)
    text = bytes(t for t in got.value.prompt if t > 1).decode()
    assert "<|im_start|>system\nYou are Mira." in text
    assert text.endswith("<|im_start|>assistant\n")
    assert "END" in got.value.stop and "<|im_end|>" in got.value.stop


@pytest.mark.slow
def test_real_batched_candidates(llama):
    assert llama.batched, "this llama-cpp-python should have the multi-sequence API"
    from consona.backends import Request

    ask = [
        {"role": "system", "content": "You are a poet. Answer with one short line."},
        {"role": "user", "content": "Write a line about the sea."},
    ]
    # n=1 on the new path: a sensible reply, the same prompt as the sequential path
    req = llama.build_request(MSGS, n=1, seed=5, max_tokens=16, temperature=0.0)
    batched = llama.execute(req)
    assert batched.path == "batched" and "pepper" in batched.texts[0].lower()
    llama.batched = False
    try:
        sequential = llama.execute(req)
    finally:
        llama.batched = True
    assert sequential.path == "sequential"
    assert batched.usage["prompt_tokens"] == sequential.usage["prompt_tokens"]
    # n=4: four different candidates, drawn together, usage summed over them
    done = llama.execute(Request(ask, n=4, seed=1, max_tokens=12, temperature=1.2))
    assert done.path == "batched" and len(set(done.texts)) == 4
    assert all(t.strip() for t in done.texts)
    assert set(done.finish_reasons) <= {"stop", "length"}
    tokens = done.usage["completion_tokens"]
    assert 4 <= tokens <= 4 * 12
    longest = [len(llama.llm.tokenize(t.encode(), add_bos=False)) for t in done.texts]
    assert abs(tokens - sum(longest)) <= 4  # re-tokenizing a text may merge a token
    assert done.usage["prompt_eval_tokens"] <= done.usage["prompt_tokens"]
    # the next request on the same prompt reads it from the cache (all but its last token)
    again = llama.execute(Request(ask, n=4, seed=7, max_tokens=12, temperature=1.2))
    assert len(again.texts) == 4 and again.usage["prompt_eval_tokens"] == 1
    # a JSON schema (a grammar) takes the sequential path
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    req = llama.build_request(
        [{"role": "user", "content": 'Reply {"a": 1}'}], json_schema=schema, max_tokens=12
    )
    assert llama.execute(req).path == "sequential"


@pytest.mark.slow
def test_real_sampling_options_change_the_draw(llama):
    """top_p and the penalties reach both paths (a tiny top_p makes sampling greedy)."""
    greedy = llama.generate(MSGS, n=2, seed=3, max_tokens=10, temperature=0.0).texts
    tiny_p = llama.generate(MSGS, n=2, seed=3, max_tokens=10, temperature=1.5, top_p=1e-6).texts
    assert tiny_p == greedy and greedy[0] == greedy[1]
    penalised = llama.generate(
        MSGS, n=1, seed=3, max_tokens=10, temperature=0.0, presence_penalty=2.0,
        frequency_penalty=2.0,
    ).text  # fmt: skip
    assert penalised.strip()
    streamed = "".join(llama.stream(MSGS, max_tokens=10, temperature=1.5, top_p=1e-6, seed=9))
    assert streamed.strip() == greedy[0].strip()
