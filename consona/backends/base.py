"""The chat-backend protocol: OpenAI-style messages in, one or more candidates out.

>>> backend = load_backend("fake", replies=["hello!", "hi there"])
>>> backend.generate([{"role": "user", "content": "hi"}], n=2).texts
['hello!', 'hi there']

Backends by name (``BACKENDS``): ``llamacpp`` (a GGUF via llama-cpp-python; the default
chat model of ``consona models``), ``openai`` (any OpenAI-compatible server over httpx),
``transformers`` (a local Hugging Face causal-LM directory) and ``fake`` (scripted
replies, ``consona.testing.FakeBackend``).

Every built-in backend is a ``BaseBackend``: the base class owns ``generate`` and
``stream`` — it checks the messages and the sampling arguments, builds a ``Request``,
cuts replies at the stop strings, validates JSON-schema output and assembles the
``Generation`` — and a backend implements only ``execute`` (the raw call: a ``Request``
in, a ``Completion`` of candidate texts out), optionally ``execute_stream`` and
``count_tokens``.

Sampling is reproducible per candidate: with ``seed=s`` candidate ``i`` is drawn with
seed ``s + i`` on every backend that accepts a seed, so N=1 and N=4 share candidate 0.
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from consona.config import Settings
from consona.errors import BackendError, ConfigError
from consona.registry import Registry

__all__ = [
    "BACKENDS",
    "ROLES",
    "BaseBackend",
    "Capabilities",
    "ChatBackend",
    "Completion",
    "Generation",
    "Request",
    "Sampling",
    "apply_stop",
    "candidate_seed",
    "check_messages",
    "check_sampling",
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
    of one reply; ``count_tokens`` measures text in the backend's tokens. ``top_p``,
    ``presence_penalty`` and ``frequency_penalty`` (``None``: the backend's default) are
    passed on where the backend has them."""

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
        top_p: float | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
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
        top_p: float | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
    ) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


@dataclass(frozen=True)
class Request:
    """One checked request, as ``BaseBackend.execute`` receives it.

    >>> r = Request([{"role": "user", "content": "hi"}], n=3, seed=7)
    >>> [(c.n, c.seed) for c in r.candidates()]
    [(1, 7), (1, 8), (1, 9)]
    """

    messages: list[Message]
    n: int = 1
    temperature: float = 0.8
    max_tokens: int = 256
    seed: int | None = None
    stop: list[str] | None = None
    json_schema: dict[str, Any] | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None

    def candidates(self) -> list[Request]:
        """One single-candidate request per candidate ``i``, seeded ``seed + i`` (for
        backends that draw candidates one at a time)."""
        return [
            dataclasses.replace(self, n=1, seed=candidate_seed(self.seed, i)) for i in range(self.n)
        ]


@dataclass
class Completion:
    """What ``BaseBackend.execute`` returns: the raw candidate texts and what the backend
    knows about them. ``finish_reasons`` defaults to ``"stop"`` per candidate.

    >>> c = Completion(["a"], usage={"prompt_tokens": 5, "completion_tokens": 1})
    >>> c.extend(Completion(["b"], usage={"prompt_tokens": 5, "completion_tokens": 2}))
    >>> (c.texts, c.usage)
    (['a', 'b'], {'prompt_tokens': 5, 'completion_tokens': 3})
    """

    texts: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    model: str = ""
    finish_reasons: list[str] = field(default_factory=list)
    path: str = ""  # how the backend drew the candidates, e.g. "batched" or "sequential"

    def extend(self, other: Completion) -> None:
        """Add the candidates of another call on the same prompt: ``prompt_tokens`` is the
        prompt's size (the larger), every other count adds up."""
        self.finish_reasons = _reasons(self) + _reasons(other)
        self.texts += other.texts
        for key, value in other.usage.items():
            if key == "prompt_tokens":
                self.usage[key] = max(self.usage.get(key, 0), value)
            else:
                self.usage[key] = self.usage.get(key, 0) + value
        self.model = other.model or self.model
        self.path = self.path or other.path


def _reasons(c: Completion) -> list[str]:
    """One finish reason per text: ``"stop"`` where the backend gave none."""
    return c.finish_reasons[: len(c.texts)] + ["stop"] * (len(c.texts) - len(c.finish_reasons))


class BaseBackend(ABC):
    """The shared half of every built-in backend: ``generate`` and ``stream`` check their
    arguments and assemble the result; a subclass implements ``execute``.

    >>> class Echo(BaseBackend):
    ...     name = "echo"
    ...     def execute(self, request):
    ...         return Completion([request.messages[-1]["content"]] * request.n)
    >>> Echo().generate([{"role": "user", "content": "hi. bye"}], n=2, stop=["."]).texts
    ['hi', 'hi']
    >>> Echo().generate([{"role": "user", "content": "hi"}], n=0)
    Traceback (most recent call last):
    ...
    consona.errors.ConfigError: n must be ≥ 1, got 0

    ``execute`` gets a ``Request`` and returns a ``Completion`` with ``request.n`` texts;
    ``execute_stream`` (default: ``execute`` whole) yields the pieces of one reply;
    ``count_tokens`` (default: ~4 characters a token) measures text. A request with
    ``json_schema`` reaches ``execute`` only when ``capabilities.json_schema`` is true.
    """

    name: str = "backend"
    capabilities: Capabilities = Capabilities()

    # -- what a backend implements --------------------------------------------------
    @abstractmethod
    def execute(self, request: Request) -> Completion:
        """Draw ``request.n`` candidates (the raw call; arguments are already checked)."""

    def execute_stream(self, request: Request) -> Iterator[str]:
        """Yield the text pieces of one reply (``request.n == 1``). Default: the whole
        reply of ``execute`` at once, stop strings cut and JSON validated."""
        yield self.finish(request, self.execute(request)).text

    def count_tokens(self, text: str) -> int:
        """An estimate: ~4 characters a token."""
        return max(1, len(text) // 4)

    # -- the shared part ------------------------------------------------------------
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
        top_p: float | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
    ) -> Generation:
        """``n`` candidate replies to ``messages`` (OpenAI-style ``{"role", "content"}``)."""
        request = self.build_request(
            messages, n=n, temperature=temperature, max_tokens=max_tokens, seed=seed,
            stop=stop, json_schema=json_schema, top_p=top_p,
            presence_penalty=presence_penalty, frequency_penalty=frequency_penalty,
        )  # fmt: skip
        start = time.perf_counter()
        return self.finish(request, self.execute(request), start=start)

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
        top_p: float | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
    ) -> Iterator[str]:
        """The pieces of one reply (candidate 0) as they come; ``n`` is checked, not used."""
        request = self.build_request(
            messages, n=n, temperature=temperature, max_tokens=max_tokens, seed=seed,
            stop=stop, json_schema=json_schema, top_p=top_p,
            presence_penalty=presence_penalty, frequency_penalty=frequency_penalty,
        )  # fmt: skip
        request = dataclasses.replace(request, n=1)
        yield from _cut_stream(self.execute_stream(request), request.stop)

    def build_request(
        self,
        messages: Sequence[Any],
        *,
        n: int = 1,
        temperature: float = 0.8,
        max_tokens: int = 256,
        seed: int | None = None,
        stop: str | Sequence[str] | None = None,
        json_schema: Mapping[str, Any] | None = None,
        top_p: float | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
    ) -> Request:
        """Check the arguments of ``generate`` / ``stream``; a ``Request`` for ``execute``."""
        msgs = check_messages(messages)
        check_sampling(n, temperature, max_tokens)
        _check_options(top_p, presence_penalty, frequency_penalty)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"seed must be an integer or None, got {seed!r}")
        if json_schema is not None:
            json_schema = _check_schema(json_schema)
            if not self.capabilities.json_schema:
                raise BackendError(
                    f"{self.name}: JSON-schema constrained output is not supported",
                    hint="use the llamacpp or openai backend for structured output",
                )
        return Request(
            msgs, n=n, temperature=float(temperature), max_tokens=max_tokens, seed=seed,
            stop=_check_stop(stop), json_schema=json_schema,
            top_p=None if top_p is None else float(top_p),
            presence_penalty=None if presence_penalty is None else float(presence_penalty),
            frequency_penalty=None if frequency_penalty is None else float(frequency_penalty),
        )  # fmt: skip

    def finish(
        self, request: Request, completion: Completion, *, start: float | None = None
    ) -> Generation:
        """The ``Generation`` of a completion: texts cut at the stop strings, JSON-schema
        output validated, finish reasons filled in, wall time since ``start``."""
        if len(completion.texts) != request.n:
            raise BackendError(
                f"{self.name}: {len(completion.texts)} candidates came back, "
                f"{request.n} were asked for"
            )
        texts = [apply_stop(t, request.stop) for t in completion.texts]
        if request.json_schema is not None:
            for t in texts:
                validate_json_output(t, request.json_schema, backend=self.name)
        return Generation(
            texts=texts,
            usage=dict(completion.usage),
            latency_s=0.0 if start is None else time.perf_counter() - start,
            model=completion.model,
            finish_reasons=_reasons(completion),
        )


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

    ``model`` may be a ``consona train`` RUN folder: it is served by ``llamacpp`` from its
    exported GGUF, else by ``transformers`` from its merged folder (or adapter).

    Unknown names raise ``UnknownNameError`` listing the valid ones.
    """
    settings = settings or Settings.load()
    target = model if model is not None else settings.chat_model
    if target and name in (None, "llamacpp", "transformers"):
        from consona.training.run import backend_for_run, is_run_dir

        if is_run_dir(target):  # a `consona train` RUN folder: its GGUF or merged model
            name, model = backend_for_run(target, name)
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
    """Raise ``ConfigError`` unless ``n ≥ 1``, ``temperature ≥ 0`` and ``max_tokens ≥ 1``."""
    if n < 1:
        raise ConfigError(f"n must be ≥ 1, got {n}")
    if temperature < 0:
        raise ConfigError(f"temperature must be ≥ 0, got {temperature}")
    if max_tokens < 1:
        raise ConfigError(f"max_tokens must be ≥ 1, got {max_tokens}")


def _check_options(
    top_p: float | None, presence_penalty: float | None, frequency_penalty: float | None
) -> None:
    """Raise ``ConfigError`` unless ``0 < top_p ≤ 1`` and both penalties are in [-2, 2]
    (``None``: the backend's default)."""
    for name, value in (("presence_penalty", presence_penalty),
                        ("frequency_penalty", frequency_penalty)):  # fmt: skip
        if value is not None and not -2.0 <= float(value) <= 2.0:
            raise ConfigError(f"{name} must be between -2 and 2, got {value}")
    if top_p is not None and not 0.0 < float(top_p) <= 1.0:
        raise ConfigError(f"top_p must be in (0, 1], got {top_p}", hint="1 turns it off")


@dataclass(frozen=True)
class Sampling:
    """Per-call sampling settings; a field left ``None`` keeps the caller's default.

    >>> s = Sampling(temperature=0.2, top_p=0.9)
    >>> s.options()
    {'temperature': 0.2, 'top_p': 0.9}
    >>> s.or_default("max_tokens", 96)
    96
    """

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    stop: list[str] | None = None

    def options(self) -> dict[str, Any]:
        """The fields that are set, as keyword arguments of ``generate`` / ``stream``."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    def or_default(self, name: str, default: Any) -> Any:
        value = getattr(self, name)
        return default if value is None else value


def _check_stop(stop: str | Sequence[str] | None) -> list[str] | None:
    """Stop strings as a list (a single string is one stop string)."""
    if stop is None:
        return None
    items: Iterable[Any] = [stop] if isinstance(stop, str) else stop
    out = list(items)
    for s in out:
        if not isinstance(s, str):
            raise ConfigError(
                f"stop strings must be strings, got {s!r}", hint="pass e.g. stop=['\\nUser:']"
            )
    return out


def _check_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        raise ConfigError(f"json_schema must be a JSON-schema dict, got {type(schema).__name__}")
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"json_schema is not a valid JSON schema: {exc.message}") from None
    return dict(schema)


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
    """Cut ``text`` at the first stop string.

    >>> apply_stop("Sure. User: hi", ["User:", "\\n"])
    'Sure. '
    """
    if not stop:
        return text
    cut = len(text)
    for s in stop:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut]


def _cut_stream(pieces: Iterator[str], stop: Sequence[str] | None) -> Iterator[str]:
    """Pass ``pieces`` through until the text they make reaches a stop string (text that
    may be the start of one is held back until it is clear); then, or when the caller
    stops early, close them, which ends the backend's generation."""
    stops = [s for s in stop or [] if s]
    held = ""
    try:
        for piece in pieces:
            if not piece:
                continue
            if not stops:
                yield piece
                continue
            held += piece
            cut = apply_stop(held, stops)
            if len(cut) < len(held):
                if cut:
                    yield cut
                return
            keep = max(
                (k for s in stops for k in range(1, len(s)) if held.endswith(s[:k])), default=0
            )
            if len(held) > keep:
                yield held[: len(held) - keep]
                held = held[len(held) - keep :]
        if held:
            yield held
    finally:
        close = getattr(pieces, "close", None)
        if callable(close):
            close()
