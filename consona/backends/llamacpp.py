"""``llamacpp`` backend: a GGUF model run in-process by llama-cpp-python.

>>> backend = LlamaCppBackend("model.gguf")  # doctest: +SKIP
>>> backend.generate([{"role": "user", "content": "hi"}], n=4, seed=1).texts  # doctest: +SKIP
['Hello!', 'Hi there!', 'Hey!', 'Hi! How can I help?']

The ``n`` candidates of a request are drawn together (``batched=True``, the default): the
prompt is formatted by the model's own chat handler (as ``create_chat_completion`` does)
and evaluated once into sequence 0 of a second llama.cpp context whose KV cache is
unified across sequences; its cells are shared with sequences 1..n-1
(``llama_memory_seq_cp``), then every ``llama_decode`` call advances all live sequences by
one token, each with its own sampler (temperature, top_p, seed + i, penalties), stop
strings, ``max_tokens`` and end-of-generation token. On a CPU one step for four sequences
costs little more than a step for one (it is memory-bound). ``Completion.path`` says
``"batched"``. JSON-schema requests (a grammar), streams, requests that would not fit the
context together, and llama-cpp-python builds without the multi-sequence memory API take
the sequential path instead (``"sequential"``): one ``create_chat_completion`` per
candidate, seeded ``seed + i``.

Neither path re-reads a prompt it has already evaluated: each request reuses the longest
prefix it shares with the previous one (the system prompt and earlier history across
turns; on the sequential path also the whole prompt for candidates 2..N).
``usage["prompt_eval_tokens"]`` reports the prompt tokens actually evaluated.
``prompt_cache_mb`` adds llama-cpp-python's ``LlamaRAMCache`` of whole states (sequential
path), for servers that alternate between conversations. ``json_schema`` constrains output
with a grammar built from the schema.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consona.backends.base import BaseBackend, Capabilities, Completion, Request, apply_stop
from consona.config import Settings
from consona.errors import BackendError, ModelError, require

__all__ = ["LlamaCppBackend"]

log = logging.getLogger("consona.backends.llamacpp")

GGUF_MAGIC = b"GGUF"
# llama-cpp-python's create_chat_completion defaults, so both paths sample alike
TOP_K, TOP_P, MIN_P, TYPICAL_P, REPEAT_PENALTY = 40, 0.95, 0.05, 1.0, 1.0


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


class _Captured(Exception):
    """What a chat handler asked the model for: the prompt tokens and stop strings."""

    def __init__(self, prompt: list[int], stop: list[str]) -> None:
        super().__init__("prompt captured")
        self.prompt = prompt
        self.stop = stop


class _PromptProbe:
    """Stands in for the ``Llama`` inside its own chat handler: everything is the model's
    (tokenizer, metadata), except that ``create_completion`` raises ``_Captured`` instead of
    generating. So the batched path formats the prompt exactly as
    ``create_chat_completion`` does, with any chat format or handler."""

    def __init__(self, llm: Any) -> None:
        self._llm = llm

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llm, name)

    def create_completion(self, *, prompt: Any, stop: Any = None, **_: Any) -> Any:
        if isinstance(prompt, str):
            prompt = self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        stops = [] if stop is None else [stop] if isinstance(stop, str) else list(stop)
        raise _Captured([int(t) for t in prompt], [str(x) for x in stops if x])


@dataclass
class _Seq:
    """One candidate being drawn."""

    sampler: Any
    tokens: list[int] = field(default_factory=list)
    data: bytes = b""
    text: str = ""
    finish: str | None = None


class _NoRoom(Exception):
    """The candidates do not fit the batch context together (the sequential path may)."""


class _BatchDecoder:
    """Several candidates of one prompt in one llama.cpp context.

    The prompt goes into sequence 0 (only what differs from the previous prompt is
    evaluated), its KV cells are shared with sequences 1..n-1, and each ``llama_decode``
    advances every live sequence by one token. The context has its own KV cache (unified
    across ``n_seq_max`` sequences, ``n_ctx`` cells in all) on the ``Llama``'s weights.
    """

    def __init__(self, llm: Any, *, n_seq_max: int) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self.lib = llama_cpp
        self.llm = llm
        params = llama_cpp.llama_context_params.from_buffer_copy(llm.context_params)
        params.n_seq_max = n_seq_max
        params.kv_unified = True
        self.ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        self.mem = llama_cpp.llama_get_memory(self.ctx.ctx)
        self.n_ctx = int(llama_cpp.llama_n_ctx(self.ctx.ctx))
        self.n_batch = max(1, int(llama_cpp.llama_n_batch(self.ctx.ctx)))
        self.n_seq_max = n_seq_max
        self.batch = llama_cpp.llama_batch_init(max(self.n_batch, n_seq_max), 0, 1)
        self._free = weakref.finalize(self, llama_cpp.llama_batch_free, self.batch)
        self.vocab = llm._model.vocab
        self.n_vocab = int(llm.n_vocab())
        self.tokens: list[int] = []  # what sequence 0 holds, position by position

    @staticmethod
    def available() -> bool:
        """Whether this llama-cpp-python has the multi-sequence memory API."""
        try:
            import llama_cpp
        except ImportError:
            return False
        names = ("llama_memory_seq_cp", "llama_memory_seq_rm", "llama_memory_seq_keep",
                 "llama_batch_init", "llama_sampler_sample", "llama_get_memory")  # fmt: skip
        fields = {f[0] for f in llama_cpp.llama_context_params._fields_}
        return all(hasattr(llama_cpp, n) for n in names) and {"kv_unified", "n_seq_max"} <= fields

    def sampler(self, request: Request, seed: int | None) -> Any:
        """A sampler chain like llama-cpp-python's ``_init_sampler`` for these settings."""
        from llama_cpp import _internals

        s = _internals.LlamaSampler()
        s.add_penalties(
            n_vocab=self.n_vocab,
            penalty_last_n=int(getattr(self.llm, "last_n_tokens_size", 64)),
            penalty_repeat=REPEAT_PENALTY,
            penalty_freq=request.frequency_penalty or 0.0,
            penalty_present=request.presence_penalty or 0.0,
        )
        if request.temperature == 0:
            s.add_greedy()
        else:
            s.add_top_k(TOP_K)
            s.add_typical(TYPICAL_P, 1)
            s.add_top_p(TOP_P if request.top_p is None else request.top_p, 1)
            s.add_min_p(MIN_P, 1)
            s.add_temp(request.temperature)
            s.add_dist(self.lib.LLAMA_DEFAULT_SEED if seed is None else seed & 0xFFFFFFFF)
        return s

    def _decode(self, items: list[tuple[int, int, int, bool]]) -> None:
        """One ``llama_decode`` of (token, position, sequence, wants logits) items."""
        b = self.batch
        for i, (token, pos, seq, logits) in enumerate(items):
            b.token[i] = token
            b.pos[i] = pos
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = seq
            b.logits[i] = logits
        b.n_tokens = len(items)
        rc = self.lib.llama_decode(self.ctx.ctx, b)
        if rc != 0:
            self.forget()
            raise BackendError(
                f"llamacpp: llama_decode failed ({rc}) while drawing candidates together",
                hint="lower n or max_tokens, or raise n_ctx",
            )

    def forget(self) -> None:
        """Empty the cache (after a failure: its state is unknown)."""
        self.lib.llama_memory_clear(self.mem, True)
        self.tokens = []

    def run(self, prompt: list[int], seqs: list[_Seq], *, max_tokens: int, stop: list[str]) -> int:
        """Draw every sequence of ``seqs`` to its end; the prompt tokens evaluated (the
        rest were in the cache)."""
        n, p = len(seqs), len(prompt)
        if n > self.n_seq_max or p + n * max_tokens > self.n_ctx:
            raise _NoRoom
        lib, mem = self.lib, self.mem
        keep = min(_common_prefix(self.tokens, prompt), p - 1)
        lib.llama_memory_seq_keep(mem, 0)
        lib.llama_memory_seq_rm(mem, 0, keep, -1)
        self.tokens = self.tokens[:keep]
        for start in range(keep, p, self.n_batch):
            chunk = prompt[start : start + self.n_batch]
            last = start + len(chunk) == p
            self._decode([(t, start + j, 0, last and j == len(chunk) - 1)
                          for j, t in enumerate(chunk)])  # fmt: skip
            self.tokens += chunk
        for i in range(1, n):
            lib.llama_memory_seq_cp(mem, 0, i, -1, -1)
        rows = {i: -1 for i in range(n)}  # each sequence's logits row in the last batch
        step = 0
        while rows:
            feed: list[tuple[int, int, int, bool]] = []
            for i, row in rows.items():
                seq = seqs[i]
                token = int(lib.llama_sampler_sample(seq.sampler.sampler, self.ctx.ctx, row))
                if self._append(seq, token, max_tokens, stop):
                    feed.append((token, p + step, i, True))
            if not feed:
                break
            self._decode(feed)
            if feed[0][2] == 0:
                self.tokens.append(feed[0][0])
            rows = {item[2]: j for j, item in enumerate(feed)}
            step += 1
        lib.llama_memory_seq_keep(mem, 0)  # free the other sequences' cells
        return p - keep

    def _append(self, seq: _Seq, token: int, max_tokens: int, stop: list[str]) -> bool:
        """Add a sampled token to ``seq``; whether it goes on."""
        if self.lib.llama_vocab_is_eog(self.vocab, token):
            seq.finish = "stop"
            return False
        seq.tokens.append(token)
        seq.data += self.llm.detokenize([token])
        seq.text = seq.data.decode("utf-8", errors="ignore")
        cut = apply_stop(seq.text, stop)
        if len(cut) < len(seq.text):
            seq.text, seq.finish = cut, "stop"
            return False
        if len(seq.tokens) >= max_tokens:
            seq.finish = "length"
            return False
        return True


class LlamaCppBackend(BaseBackend):
    """A GGUF chat model in-process.

    >>> backend = LlamaCppBackend("model.gguf", n_ctx=2048)  # doctest: +SKIP
    >>> backend.generate([{"role": "user", "content": "hi"}], n=2, seed=0).texts  # doctest: +SKIP
    ['Hello!', 'Hi there!']

    ``n_ctx``: context window (tokens); ``n_threads``: CPU threads (default: all cores);
    ``n_gpu_layers``: layers to offload when llama.cpp was built with a GPU;
    ``chat_format``: override the chat template the GGUF carries; ``batched``: draw the
    ``n`` candidates of a request together (up to ``n_seq_max``; a second context of
    ``n_ctx`` KV cells holds them) instead of one after another.
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
        batched: bool = True,
        n_seq_max: int = 16,
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
        self.batched = batched and _BatchDecoder.available()
        self.capabilities = Capabilities(
            n=self.batched, json_schema=True, grammar=True, streaming=True,
            max_context=self.llm.n_ctx(),
        )  # fmt: skip
        self._lock = threading.Lock()
        if batched and not self.batched:
            log.debug("llama-cpp-python lacks the multi-sequence API: candidates drawn in turn")
        self.n_seq_max = max(1, n_seq_max)
        self._decoder: _BatchDecoder | None = None

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
            if self._decoder is not None:
                self._decoder.forget()

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
        for name in ("top_p", "presence_penalty", "frequency_penalty"):
            if getattr(request, name) is not None:
                kw[name] = getattr(request, name)
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
        """The candidates together (the batched path) where it can, else one after another."""
        if self.batched and request.json_schema is None:
            with self._lock:
                done = self._execute_batched(request)
            if done is not None:
                return done
        return self._execute_sequential(request)

    def _prompt(self, request: Request) -> _Captured | None:
        """The prompt tokens and stop strings ``create_chat_completion`` would use (the
        model's own chat handler formats them); None when the handler cannot be probed."""
        from llama_cpp import llama_chat_format

        llm = self.llm
        handler: Any = (
            llm.chat_handler
            or llm._chat_handlers.get(llm.chat_format)
            or llama_chat_format.get_chat_completion_handler(llm.chat_format)
        )
        try:
            handler(llama=_PromptProbe(llm), messages=request.messages,
                    stop=list(request.stop or []), max_tokens=request.max_tokens)  # fmt: skip
        except _Captured as got:
            return got
        except ValueError as exc:
            raise BackendError(f"llamacpp: {exc}") from None
        return None

    def _execute_batched(self, request: Request) -> Completion | None:
        """Draw the candidates together; None when this request cannot be (see ``execute``)."""
        probe = self._prompt(request)
        if probe is None:
            log.debug("chat handler could not be probed: candidates drawn in turn")
            return None
        if not probe.prompt or len(probe.prompt) + request.max_tokens > self.llm.n_ctx():
            return None  # the sequential path says what does not fit
        if self._decoder is None:
            self._decoder = _BatchDecoder(self.llm, n_seq_max=self.n_seq_max)
        dec = self._decoder
        seqs = [_Seq(dec.sampler(one, one.seed)) for one in request.candidates()]
        try:
            evaluated = dec.run(probe.prompt, seqs, max_tokens=request.max_tokens, stop=probe.stop)
        except _NoRoom:
            log.debug("%d candidates do not fit %d cells together", request.n, dec.n_ctx)
            return None
        finally:
            for seq in seqs:
                seq.sampler.close()
        log.debug("drew %d candidates together (batched)", request.n)
        return Completion(
            [seq.text for seq in seqs],
            usage={
                "prompt_tokens": len(probe.prompt),
                "completion_tokens": sum(len(seq.tokens) for seq in seqs),
                "prompt_eval_tokens": evaluated,
            },
            model=self.model_path.name,
            finish_reasons=[seq.finish or "stop" for seq in seqs],
            path="batched",
        )

    def _execute_sequential(self, request: Request) -> Completion:
        """One llama.cpp call per candidate (seed + i), under one lock so candidates 2..N
        reuse the evaluated prompt."""
        out = Completion(
            usage={"prompt_tokens": 0, "completion_tokens": 0, "prompt_eval_tokens": 0},
            model=self.model_path.name,
            path="sequential",
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
