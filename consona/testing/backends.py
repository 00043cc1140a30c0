"""A scripted chat backend for tests and offline demos.

>>> fake = FakeBackend(["I love my dogs.", "Cats? No, dogs."])
>>> fake.generate([{"role": "user", "content": "pets?"}], n=2).texts
['I love my dogs.', 'Cats? No, dogs.']
>>> fake.generate([{"role": "user", "content": "again"}]).text  # the script cycles
'I love my dogs.'
>>> fake.calls[-1][-1]["content"]
'again'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from consona.backends.base import (
    Capabilities,
    Generation,
    apply_stop,
    check_messages,
    check_sampling,
    validate_json_output,
)
from consona.config import Settings
from consona.errors import BackendError, ConfigError

Replier = Callable[[list[dict[str, str]]], str]


class FakeBackend:
    """Scripted replies.

    >>> FakeBackend(["a", "b"]).generate([{"role": "user", "content": "hi"}], n=3).texts
    ['a', 'b', 'a']

    Each candidate takes the next item of ``replies`` (cycling), or
    ``replies(messages)`` when it is a callable. Records every request's messages in
    ``calls`` and its keyword arguments in ``requests``.

    ``fail`` (an exception or a list of them) is raised by the next calls, for testing
    error paths; ``max_context`` sets ``capabilities.max_context``. Tokens are counted as
    whitespace-separated words.
    """

    name = "fake"

    def __init__(
        self,
        replies: list[str] | Replier | None = None,
        *,
        max_context: int = 4096,
        fail: BaseException | list[BaseException] | None = None,
        latency_s: float = 0.0,
    ) -> None:
        if replies is None:
            replies = ["I'm not sure what to say."]
        if not callable(replies):
            replies = list(replies)
            if not replies:
                raise ConfigError("FakeBackend needs at least one scripted reply")
        self.replies = replies
        self.capabilities = Capabilities(
            n=True, json_schema=True, grammar=False, streaming=True, max_context=max_context
        )
        self.calls: list[list[dict[str, str]]] = []
        self.requests: list[dict[str, Any]] = []
        self._next = 0
        self._fail: list[BaseException] = (
            [] if fail is None else list(fail) if isinstance(fail, list) else [fail]
        )
        self.latency_s = latency_s

    @classmethod
    def from_settings(
        cls, *, model: str | None = None, settings: Settings | None = None, **options: Any
    ) -> FakeBackend:
        """Registry factory: ``load_backend("fake", replies=[...])``; ``model`` is ignored."""
        return cls(**options)

    def _draw(self, messages: list[dict[str, str]]) -> str:
        if callable(self.replies):
            return str(self.replies(messages))
        text = self.replies[self._next % len(self.replies)]
        self._next += 1
        return text

    def count_tokens(self, text: str) -> int:
        return len(text.split())

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
        start = time.perf_counter()
        msgs = check_messages(messages)
        check_sampling(n, temperature, max_tokens)
        self.calls.append(msgs)
        self.requests.append(
            {
                "n": n,
                "temperature": temperature,
                "max_tokens": max_tokens,
                "seed": seed,
                "stop": stop,
                "json_schema": json_schema,
            }
        )
        if self._fail:
            raise self._fail.pop(0)
        prompt_tokens = sum(self.count_tokens(m["content"]) for m in msgs)
        if prompt_tokens + max_tokens > self.capabilities.max_context:
            raise BackendError(
                f"fake: prompt of {prompt_tokens} tokens + max_tokens {max_tokens} exceeds "
                f"the context of {self.capabilities.max_context}",
                hint="trim the history or raise max_context",
            )
        texts = []
        for _ in range(n):
            words = apply_stop(self._draw(msgs), stop).split(" ")
            texts.append(" ".join(words[:max_tokens]))
        if json_schema is not None:
            for t in texts:
                validate_json_output(t, json_schema, backend=self.name)
        if self.latency_s:
            time.sleep(self.latency_s)
        return Generation(
            texts=texts,
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": sum(self.count_tokens(t) for t in texts),
            },
            latency_s=time.perf_counter() - start,
            model="fake",
            finish_reasons=["stop"] * n,
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
        text = self.generate(
            messages,
            n=1,
            temperature=temperature,
            max_tokens=max_tokens,
            seed=seed,
            stop=stop,
            json_schema=json_schema,
        ).text
        words = text.split(" ")
        for i, w in enumerate(words):
            yield w if i == 0 else " " + w
