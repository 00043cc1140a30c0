"""``llamacpp`` backend: a GGUF model run in-process by llama-cpp-python.

>>> backend = LlamaCppBackend("model.gguf")  # doctest: +SKIP
>>> backend.generate([{"role": "user", "content": "hi"}], n=4, seed=1).texts  # doctest: +SKIP
['Hello!', 'Hi there!', 'Hey!', 'Hi! How can I help?']

Extra candidates do not re-read the prompt: llama.cpp keeps the evaluated tokens in its
KV cache, and each request reuses the longest prefix it shares with the previous one
(the whole prompt for candidates 2..N, the system prompt and earlier history across
turns). ``usage["prompt_eval_tokens"]`` reports the prompt tokens actually evaluated.
``prompt_cache_mb`` adds llama-cpp-python's ``LlamaRAMCache`` of whole states, for servers
that alternate between conversations. ``json_schema`` constrains output with a grammar
built from the schema.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from consona.backends.base import (
    Capabilities,
    Generation,
    candidate_seed,
    check_messages,
    check_sampling,
    validate_json_output,
)
from consona.config import Settings
from consona.errors import BackendError, ModelError, require

__all__ = ["LlamaCppBackend"]

GGUF_MAGIC = b"GGUF"


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise ModelError(
            f"No model at {str(path)!r}", hint="pass --model PATH or run 'consona models setup'"
        )
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise ModelError(f"Cannot read {str(path)!r}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{str(path)!r} is not a GGUF file (it starts with {magic!r}, not b'GGUF')",
            hint="pass a .gguf model, or run 'consona models setup' to rebuild the default",
        )


def _common_prefix(a: Any, b: Any) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class LlamaCppBackend:
    """A GGUF chat model in-process.

    >>> backend = LlamaCppBackend("model.gguf", n_ctx=2048)  # doctest: +SKIP
    >>> backend.generate([{"role": "user", "content": "hi"}], n=2, seed=0).texts  # doctest: +SKIP
    ['Hello!', 'Hi there!']

    ``n_ctx``: context window (tokens); ``n_threads``: CPU threads (default: all cores);
    ``n_gpu_layers``: layers to offload when llama.cpp was built with a GPU;
    ``chat_format``: override the chat template the GGUF carries.
    """

    name = "llamacpp"

    def __init__(
        self,
        model: str | Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        chat_format: str | None = None,
        prompt_cache_mb: int = 0,
        verbose: bool = False,
    ) -> None:
        path = Path(model).expanduser()
        _check_gguf(path)
        llama_cpp = require(
            "llama_cpp",
            package="llama-cpp-python",
            extra="llm",
            purpose="the llamacpp chat backend",
        )
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads or os.cpu_count() or 2,
                n_gpu_layers=n_gpu_layers,
                chat_format=chat_format,
                verbose=verbose,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"llama.cpp cannot load {str(path)!r}: {exc}",
                hint="the file may be truncated or corrupt — re-run 'consona models setup' "
                "or pass another --model",
            ) from None
        if prompt_cache_mb > 0:
            self.llm.set_cache(llama_cpp.LlamaRAMCache(capacity_bytes=prompt_cache_mb << 20))
        self.model_path = path
        self.capabilities = Capabilities(
            n=False, json_schema=True, grammar=True, streaming=True, max_context=self.llm.n_ctx()
        )
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, *, model: str | None = None, settings: Settings | None = None, **options: Any
    ) -> LlamaCppBackend:
        """``model`` (a GGUF path), else ``CONSONA_CHAT_MODEL``, else the default chat model
        that ``consona models setup`` joined into the cache."""
        if model is None:
            from consona.models import chat_model_path

            model = str(chat_model_path(settings or Settings.load()))
        return cls(model, **options)

    def reset_cache(self) -> None:
        """Forget the evaluated prefix: the next request reads its whole prompt (for fair
        timing; normal use never needs this)."""
        with self._lock:
            self.llm.reset()

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _evaluated(self) -> list[int]:
        ids = getattr(self.llm, "_input_ids", None)
        n = getattr(self.llm, "n_tokens", 0)
        return [] if ids is None else [int(t) for t in ids[:n]]

    def _kwargs(
        self,
        temperature: float,
        max_tokens: int,
        seed: int | None,
        stop: list[str] | None,
        json_schema: dict[str, Any] | None,
    ) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "stop": stop or [],
        }
        if seed is not None:
            kw["seed"] = seed
        if json_schema is not None:
            kw["response_format"] = {"type": "json_object", "schema": json_schema}
        return kw

    def _call(self, messages: list[dict[str, str]], **kw: Any) -> Any:
        try:
            return self.llm.create_chat_completion(messages=messages, **kw)
        except ValueError as exc:
            msg = str(exc)
            if "context" in msg.lower() or "exceed" in msg.lower():
                raise BackendError(
                    f"llamacpp: {msg}",
                    hint="shorten the conversation, lower max_tokens or raise n_ctx",
                ) from None
            raise BackendError(f"llamacpp: {msg}") from None

    def generate(
        self,
        messages: list[dict[str, str]],
        *,
        n: int = 1,
        temperature: float = 0.8,
        max_tokens: int = 256,
        seed: int | None = None,
        stop: list[str] | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Generation:
        msgs = check_messages(messages)
        check_sampling(n, temperature, max_tokens)
        start = time.perf_counter()
        texts: list[str] = []
        reasons: list[str] = []
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "prompt_eval_tokens": 0}
        with self._lock:
            for i in range(n):
                before = self._evaluated()
                out = self._call(
                    msgs,
                    **self._kwargs(
                        temperature, max_tokens, candidate_seed(seed, i), stop, json_schema
                    ),
                )
                choice = out["choices"][0]
                texts.append(choice["message"].get("content") or "")
                reasons.append(choice.get("finish_reason") or "stop")
                u = out.get("usage") or {}
                prompt = int(u.get("prompt_tokens", 0))
                usage["prompt_tokens"] = max(usage["prompt_tokens"], prompt)
                usage["completion_tokens"] += int(u.get("completion_tokens", 0))
                after = self._evaluated()[:prompt]
                reused = min(_common_prefix(before, after), max(prompt - 1, 0))
                usage["prompt_eval_tokens"] += prompt - reused
        if json_schema is not None:
            for t in texts:
                validate_json_output(t, json_schema, backend=self.name)
        return Generation(
            texts=texts,
            usage=usage,
            latency_s=time.perf_counter() - start,
            model=self.model_path.name,
            finish_reasons=reasons,
        )

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        n: int = 1,
        temperature: float = 0.8,
        max_tokens: int = 256,
        seed: int | None = None,
        stop: list[str] | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Iterator[str]:
        msgs = check_messages(messages)
        check_sampling(n, temperature, max_tokens)
        kw = self._kwargs(temperature, max_tokens, seed, stop, json_schema)
        with self._lock:
            for chunk in self._call(msgs, stream=True, **kw):
                piece = chunk["choices"][0].get("delta", {}).get("content")
                if piece:
                    yield piece
