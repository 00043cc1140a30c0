"""The chat-backend protocol: OpenAI-style messages in, one or more candidates out.

>>> backend = load_backend("fake", replies=["hello!", "hi there"])
>>> backend.generate([{"role": "user", "content": "hi"}], n=2).texts
['hello!', 'hi there']

Backends by name (``BACKENDS``): ``llamacpp`` (a GGUF via llama-cpp-python; the default
chat model of ``consona models``), ``openai`` (any OpenAI-compatible server over httpx),
``transformers`` (a local Hugging Face causal-LM directory) and ``fake`` (scripted
replies, ``consona.testing.FakeBackend``).

Sampling is reproducible per candidate: with ``seed=s`` candidate ``i`` is drawn with
seed ``s + i`` on every backend that accepts a seed, so N=1 and N=4 share candidate 0.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from consona.config import Settings
from consona.errors import BackendError, ConfigError
from consona.registry import Registry

__all__ = [
    "BACKENDS",
    "ROLES",
    "Capabilities",
    "ChatBackend",
    "Generation",
    "candidate_seed",
    "check_messages",
    "count_tokens",
    "load_backend",
    "validate_json_output",
]

ROLES = ("system", "user", "assistant")
Message = dict[str, str]


@dataclass
class Generation:
    """What a backend returns: candidate texts, token usage, wall time.

    >>> g = Generation(texts=["hi"], usage={"prompt_tokens": 3, "completion_tokens": 1})
    >>> (g.text, g.usage["completion_tokens"])
    ('hi', 1)

    ``usage`` holds ``prompt_tokens`` (tokens the prompt has), ``completion_tokens`` (sum
    over candidates) and, where the backend knows it, ``prompt_eval_tokens`` (prompt
    tokens actually evaluated: lower when a cached prefix was reused).
    """

    texts: list[str]
    usage: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    model: str = ""
    finish_reasons: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do natively.

    ``n``: draws several candidates in one request; ``json_schema``: constrains output to a
    JSON schema; ``grammar``: GBNF grammars; ``max_context``: context window in tokens.

    >>> Capabilities(max_context=4096).streaming
    True
    """

    n: bool = False
    json_schema: bool = False
    grammar: bool = False
    streaming: bool = True
    max_context: int = 4096


@runtime_checkable
class ChatBackend(Protocol):
    """Generates chat replies. ``generate`` is the main method; ``stream`` yields text pieces
    of one reply; ``count_tokens`` measures text in the backend's tokens."""

    name: str
    capabilities: Capabilities

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
    ) -> Generation: ...

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
    ) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


BACKENDS: Registry[ChatBackend] = Registry("backend")
BACKENDS.register("llamacpp", "consona.backends.llamacpp:LlamaCppBackend")
BACKENDS.register("openai", "consona.backends.openai:OpenAIBackend")
BACKENDS.register("transformers", "consona.backends.hf:TransformersBackend")
BACKENDS.register("fake", "consona.testing.backends:FakeBackend")


def load_backend(
    name: str | None = None,
    *,
    model: str | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> ChatBackend:
    """A backend by name (default: ``settings.backend``), on ``model`` (default: the
    backend's default, e.g. ``settings.chat_model`` or the ``consona models`` GGUF).

    Unknown names raise ``UnknownNameError`` listing the valid ones.
    """
    settings = settings or Settings.load()
    name = name or settings.backend
    factory: Any = BACKENDS.get(name)
    factory = getattr(factory, "from_settings", factory)
    return factory(model=model, settings=settings, **options)


def check_messages(messages: Sequence[Any]) -> list[Message]:
    """Validate OpenAI-style messages; return them as plain ``{"role", "content"}`` dicts."""
    if not messages:
        raise ConfigError("No messages to send", hint="pass at least one user message")
    out: list[Message] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise ConfigError(
                f"Message {i} is not a {{'role', 'content'}} dict: {m!r}",
                hint="build messages like {'role': 'user', 'content': 'hi'}",
            )
        if m["role"] not in ROLES:
            raise ConfigError(
                f"Message {i} has unknown role {m['role']!r}. Valid roles: {', '.join(ROLES)}"
            )
        if not isinstance(m["content"], str):
            raise ConfigError(f"Message {i} content must be a string")
        out.append({"role": m["role"], "content": m["content"]})
    return out


def check_sampling(n: int, temperature: float, max_tokens: int) -> None:
    if n < 1:
        raise ConfigError(f"n must be ≥ 1, got {n}")
    if temperature < 0:
        raise ConfigError(f"temperature must be ≥ 0, got {temperature}")
    if max_tokens < 1:
        raise ConfigError(f"max_tokens must be ≥ 1, got {max_tokens}")


def candidate_seed(seed: int | None, i: int) -> int | None:
    """The seed of candidate ``i`` when the request seed is ``seed``."""
    return None if seed is None else seed + i


def count_tokens(backend: Any, text: str) -> int:
    """Tokens of ``text`` for ``backend``; ~4 characters a token when it cannot say."""
    counter = getattr(backend, "count_tokens", None)
    if callable(counter):
        return int(counter(text))
    return max(1, len(text) // 4)


def validate_json_output(text: str, schema: dict[str, Any], *, backend: str) -> None:
    """Raise ``BackendError`` unless ``text`` is JSON valid under ``schema``."""
    import json

    import jsonschema

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BackendError(
            f"{backend}: output is not JSON ({exc.msg} at char {exc.pos}): {text[:120]!r}",
            hint="raise max_tokens so the JSON can close, or use a backend with constrained output",
        ) from None
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        raise BackendError(
            f"{backend}: output does not match the JSON schema: {exc.message}"
        ) from None


def apply_stop(text: str, stop: Sequence[str] | None) -> str:
    """Cut ``text`` at the first stop string."""
    if not stop:
        return text
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]
