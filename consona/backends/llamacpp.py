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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from consona.backends.base import BaseBackend, Capabilities, Completion, Request
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


class LlamaCppBackend(BaseBackend):
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

    def _kwargs(self, request: Request) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "stop": request.stop or [],
        }
        if request.seed is not None:
            kw["seed"] = request.seed
        if request.json_schema is not None:
            kw["response_format"] = {"type": "json_object", "schema": request.json_schema}
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

    def execute(self, request: Request) -> Completion:
        """One llama.cpp call per candidate (seed + i), under one lock so candidates 2..N
        reuse the evaluated prompt."""
        out = Completion(
            usage={"prompt_tokens": 0, "completion_tokens": 0, "prompt_eval_tokens": 0},
            model=self.model_path.name,
        )
        with self._lock:
            for one in request.candidates():
                before = self._evaluated()
                data = self._call(one.messages, **self._kwargs(one))
                choice = data["choices"][0]
                u = data.get("usage") or {}
                prompt = int(u.get("prompt_tokens", 0))
                after = self._evaluated()[:prompt]
                reused = min(_common_prefix(before, after), max(prompt - 1, 0))
                out.extend(
                    Completion(
                        [choice["message"].get("content") or ""],
                        usage={
                            "prompt_tokens": prompt,
                            "completion_tokens": int(u.get("completion_tokens", 0)),
                            "prompt_eval_tokens": prompt - reused,
                        },
                        finish_reasons=[choice.get("finish_reason") or "stop"],
                    )
                )
        return out

    def execute_stream(self, request: Request) -> Iterator[str]:
        with self._lock:
            for chunk in self._call(request.messages, stream=True, **self._kwargs(request)):
                piece = chunk["choices"][0].get("delta", {}).get("content")
                if piece:
                    yield piece
