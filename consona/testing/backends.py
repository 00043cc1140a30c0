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

from consona.backends.base import BaseBackend, Capabilities, Completion, Request, apply_stop
from consona.config import Settings
from consona.errors import BackendError, ConfigError

__all__ = ["FakeBackend"]

Replier = Callable[[list[dict[str, str]]], str]


class FakeBackend(BaseBackend):
    """Scripted replies.

    >>> FakeBackend(["a", "b"]).generate([{"role": "user", "content": "hi"}], n=3).texts
    ['a', 'b', 'a']

    Each candidate takes the next item of ``replies`` (cycling), or
    ``replies(messages)`` when it is a callable. Records every request's messages in
    ``calls`` and its keyword arguments in ``requests``.

    ``fail`` (an exception or a list of them) is raised by the next calls, for testing
    error paths; ``max_context`` sets ``capabilities.max_context``; ``latency_s`` makes
    each call take that long (a slow model). Tokens are counted as whitespace-separated
    words, and a reply is cut to ``max_tokens`` of them.
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

    def execute(self, request: Request) -> Completion:
        msgs = request.messages
        self.calls.append(msgs)
        self.requests.append(
            {
                "n": request.n,
                "temperature": request.temperature,
                "max_tokens": request.max_tokens,
                "seed": request.seed,
                "stop": request.stop,
                "json_schema": request.json_schema,
                "top_p": request.top_p,
                "presence_penalty": request.presence_penalty,
                "frequency_penalty": request.frequency_penalty,
            }
        )
        if self._fail:
            raise self._fail.pop(0)
        prompt_tokens = sum(self.count_tokens(m["content"]) for m in msgs)
        if prompt_tokens + request.max_tokens > self.capabilities.max_context:
            raise BackendError(
                f"fake: prompt of {prompt_tokens} tokens + max_tokens {request.max_tokens} "
                f"exceeds the context of {self.capabilities.max_context}",
                hint="trim the history or raise max_context",
            )
        texts = []
        for _ in range(request.n):
            # like a model, stop generating at a stop string (so usage counts what came out)
            words = apply_stop(self._draw(msgs), request.stop).split(" ")
            texts.append(" ".join(words[: request.max_tokens]))
        if self.latency_s:
            time.sleep(self.latency_s)
        return Completion(
            texts,
            usage={
                "prompt_tokens": prompt_tokens,
                "completion_tokens": sum(self.count_tokens(t) for t in texts),
            },
            model="fake",
        )

    def execute_stream(self, request: Request) -> Iterator[str]:
        """The whole reply (cut, validated), word by word (recorded like ``execute``)."""
        text = "".join(super().execute_stream(request))
        for i, word in enumerate(text.split(" ")):
            yield word if i == 0 else " " + word
