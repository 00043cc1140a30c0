"""``transformers`` backend: a local Hugging Face causal-LM directory with a chat template.

>>> backend = TransformersBackend("path/to/model-dir")  # doctest: +SKIP
>>> backend.generate([{"role": "user", "content": "hi"}], n=2, seed=3).texts  # doctest: +SKIP
['Hello!', 'Hi, how are you?']

The directory needs the model weights, a tokenizer and a chat template (in
``tokenizer_config.json`` or ``chat_template.jinja``). Nothing is downloaded: a hub id
works only when it is already in the local Hugging Face cache. With ``seed`` each
candidate ``i`` is drawn with ``seed + i`` (reproducible, one at a time); without it the
``n`` candidates are drawn in one batch. JSON-schema constrained output is not supported
here (use ``llamacpp`` or ``openai``). ``top_p`` is passed to ``generate`` (default 0.95);
transformers has no presence / frequency penalty, so those are not applied here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from consona.backends.base import BaseBackend, Capabilities, Completion, Request, apply_stop
from consona.config import Settings
from consona.errors import BackendError, ConfigError, ModelError, require

__all__ = ["TransformersBackend"]


class TransformersBackend(BaseBackend):
    """A local causal LM run by transformers.

    >>> backend = TransformersBackend("path/to/model-dir")  # doctest: +SKIP
    >>> "".join(backend.stream([{"role": "user", "content": "hi"}], seed=0))  # doctest: +SKIP
    'Hello! How can I help?'

    ``device``: ``"cpu"``, ``"cuda"``...; ``dtype``: e.g. ``"bfloat16"`` (default: the
    checkpoint's); ``max_context``: override the context window.
    """

    name = "transformers"

    def __init__(
        self,
        model: str | Path,
        *,
        device: str = "cpu",
        dtype: str | None = None,
        max_context: int | None = None,
    ) -> None:
        transformers = require("transformers", extra="ml", purpose="the transformers backend")
        self.torch = require("torch", extra="ml", purpose="the transformers backend")
        path = Path(model).expanduser()
        source = str(path) if path.exists() else str(model)
        if not path.exists() and ("/" not in str(model) or str(model).startswith((".", "/"))):
            raise ModelError(
                f"No model directory at {str(model)!r}",
                hint="pass --model DIR (a Hugging Face model directory with a chat template)",
            )
        try:
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(
                source, local_files_only=True
            )
            kwargs: dict[str, Any] = {"local_files_only": True}
            if dtype:
                kwargs["dtype"] = getattr(self.torch, dtype)
            self.model = transformers.AutoModelForCausalLM.from_pretrained(source, **kwargs)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(
                f"transformers cannot load {source!r}: {str(exc).splitlines()[0][:300]}",
                hint="pass a local model directory (config.json, weights, tokenizer)",
            ) from None
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelError(
                f"The tokenizer at {source!r} has no chat template",
                hint="use an instruct/chat model, or add chat_template to tokenizer_config.json",
            )
        self.model.to(device).eval()
        self.device = device
        self.model_name = path.name if path.exists() else str(model)
        ctx = max_context or getattr(self.model.config, "max_position_embeddings", None) or 2048
        self.capabilities = Capabilities(
            n=True, json_schema=False, grammar=False, streaming=True, max_context=int(ctx)
        )
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, *, model: str | None = None, settings: Settings | None = None, **options: Any
    ) -> TransformersBackend:
        settings = settings or Settings.load()
        model = model or settings.chat_model
        if not model:
            raise ConfigError(
                "The transformers backend needs a model directory",
                hint="pass --model DIR or set CONSONA_CHAT_MODEL",
            )
        return cls(model, **options)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def _inputs(self, messages: list[dict[str, str]]) -> Any:
        try:
            text = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        except Exception as exc:  # jinja errors (e.g. roles the template rejects)
            raise BackendError(
                f"transformers: the chat template rejected the messages: {exc}",
                hint="some templates allow one system message only: use reminder_as='user'",
            ) from None
        enc = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        return {k: v.to(self.device) for k, v in enc.items()}

    def _gen_kwargs(
        self, temperature: float, max_tokens: int, top_p: float | None = None
    ) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if temperature > 0:
            kw.update(
                do_sample=True, temperature=temperature, top_p=0.95 if top_p is None else top_p
            )
        else:
            kw.update(do_sample=False)
        return kw

    def _check_length(self, inputs: Any, max_tokens: int) -> int:
        prompt = int(inputs["input_ids"].shape[1])
        if prompt + max_tokens > self.capabilities.max_context:
            raise BackendError(
                f"transformers: prompt of {prompt} tokens + max_tokens {max_tokens} exceeds "
                f"the context of {self.capabilities.max_context}",
                hint="shorten the conversation or lower max_tokens",
            )
        return prompt

    def _decode(self, rows: Any, prompt: int, stop: list[str] | None) -> tuple[list[str], int]:
        texts, used = [], 0
        eos = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id} - {None}
        for row in rows:
            new = [int(t) for t in row[prompt:]]
            while new and new[-1] in eos:
                new.pop()
            used += len(new)
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            texts.append(apply_stop(text, stop).strip())
        return texts, used

    def execute(self, request: Request) -> Completion:
        """Without a seed the ``n`` candidates are one batch; with one, each candidate is
        drawn alone with ``torch.manual_seed(seed + i)``."""
        inputs = self._inputs(request.messages)
        prompt = self._check_length(inputs, request.max_tokens)
        kw = self._gen_kwargs(request.temperature, request.max_tokens, request.top_p)
        out = Completion(usage={"prompt_tokens": prompt, "completion_tokens": 0},
                         model=self.model_name)  # fmt: skip
        with self._lock, self.torch.no_grad():
            batches = [request] if request.seed is None else request.candidates()
            for one in batches:
                if one.seed is not None:
                    self.torch.manual_seed(one.seed)
                rows = self.model.generate(**inputs, num_return_sequences=one.n, **kw)
                texts, used = self._decode(rows, prompt, request.stop)
                out.extend(
                    Completion(texts, usage={"prompt_tokens": prompt, "completion_tokens": used})
                )
        return out

    def execute_stream(self, request: Request) -> Iterator[str]:
        transformers = require("transformers", extra="ml")
        inputs = self._inputs(request.messages)
        self._check_length(inputs, request.max_tokens)
        streamer = transformers.TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True
        )
        kw = self._gen_kwargs(request.temperature, request.max_tokens, request.top_p)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                with self._lock, self.torch.no_grad():
                    if request.seed is not None:
                        self.torch.manual_seed(request.seed)
                    self.model.generate(**inputs, streamer=streamer, **kw)
            except BaseException as exc:  # surfaced in the consumer thread
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        try:
            yield from streamer
        finally:
            thread.join()  # a stop string cut the reply short: let generation end
        if errors:
            raise BackendError(f"transformers: generation failed: {errors[0]}") from None
