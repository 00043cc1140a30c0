"""``openai`` backend: any OpenAI-compatible chat-completions server over httpx
(vLLM, Ollama, llama.cpp / llama-cpp-python server, OpenAI).

>>> backend = OpenAIBackend(base_url="http://127.0.0.1:8000/v1", model="qwen")  # doctest: +SKIP
>>> backend.generate([{"role": "user", "content": "hi"}], n=2, seed=1).texts  # doctest: +SKIP
['Hello!', 'Hi there!']

Base URL and key: options, else ``CONSONA_OPENAI_BASE_URL`` / ``CONSONA_OPENAI_API_KEY``
(or ``OPENAI_API_KEY``), else ``https://api.openai.com/v1``. Model: the option, else
``CONSONA_CHAT_MODEL``, else the first model the server lists at ``/models``.

Requests time out (``timeout`` seconds), and 429 / 5xx answers and connection failures
are retried ``max_retries`` times with exponential backoff (honouring ``Retry-After``).
When a server returns fewer choices than ``n`` asked for, the rest are drawn one request
at a time (seed + i), and later requests loop from the start.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx

from consona.backends.base import BaseBackend, Capabilities, Completion, Request
from consona.config import Settings
from consona.errors import BackendError, ConfigError

__all__ = ["OpenAIBackend"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
JSON_MODES = ("auto", "json_schema", "json_object")


class OpenAIBackend(BaseBackend):
    """An OpenAI-compatible server.

    >>> backend = OpenAIBackend(base_url="http://127.0.0.1:8000/v1", model="qwen")
    >>> (backend.base_url, backend.capabilities.n)
    ('http://127.0.0.1:8000/v1', True)

    ``json_mode``: how ``json_schema`` is sent — ``"json_schema"`` (OpenAI, vLLM),
    ``"json_object"`` with a ``schema`` field (llama.cpp servers), or ``"auto"``: the
    first, switching to the second for good when the server rejects it. ``client``: an
    ``httpx.Client`` to use instead of a new one (proxies, custom transports).
    """

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        max_context: int = 4096,
        json_mode: str = "auto",
        client: httpx.Client | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"Base URL {base_url!r} is not an http(s) URL",
                hint="pass e.g. http://127.0.0.1:8000/v1 (CONSONA_OPENAI_BASE_URL)",
            )
        if json_mode not in JSON_MODES:
            raise ConfigError(f"Unknown json_mode {json_mode!r}. Valid: {', '.join(JSON_MODES)}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max(0, max_retries)
        self.backoff_s = backoff_s
        self.json_mode = json_mode
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=connect_timeout), headers=headers
        )
        self.capabilities = Capabilities(
            n=True, json_schema=True, grammar=False, streaming=True, max_context=max_context
        )
        self.native_n: bool | None = None  # unknown until a server answers an n > 1 request

    @classmethod
    def from_settings(
        cls, *, model: str | None = None, settings: Settings | None = None, **options: Any
    ) -> OpenAIBackend:
        settings = settings or Settings.load()
        options.setdefault("base_url", settings.openai_base_url or DEFAULT_BASE_URL)
        options.setdefault("api_key", settings.openai_api_key)
        return cls(model=model or settings.chat_model, **options)

    def close(self) -> None:
        self.client.close()

    # -- HTTP -----------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _wait(self, attempt: int, response: httpx.Response | None) -> None:
        delay = self.backoff_s * (2**attempt) * (1 + random.random() * 0.25)
        if response is not None:
            retry_after = response.headers.get("retry-after")
            if retry_after:
                with contextlib.suppress(ValueError):
                    delay = max(delay, min(float(retry_after), 30.0))
        time.sleep(delay)

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = self._url(path)
        last: str = ""
        for attempt in range(self.max_retries + 1):
            response: httpx.Response | None = None
            try:
                response = self.client.request(method, url, json=body)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout:g}s"
            except httpx.TransportError as exc:
                last = f"cannot connect ({type(exc).__name__}: {exc})"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except json.JSONDecodeError:
                        raise BackendError(
                            f"openai: {url} answered with non-JSON: {response.text[:200]!r}",
                            hint="check the base URL points to an OpenAI-compatible /v1 API",
                        ) from None
                last = f"HTTP {response.status_code}: {_error_text(response)}"
                if response.status_code not in RETRY_STATUS:
                    raise BackendError(f"openai: {url} → {last}", hint=_hint(response.status_code))
            if attempt < self.max_retries:
                self._wait(attempt, response)
        raise BackendError(
            f"openai: {url} failed after {self.max_retries + 1} tries: {last}",
            hint="check the server is running and reachable (CONSONA_OPENAI_BASE_URL), "
            "or raise timeout / max_retries",
        )

    def resolve_model(self) -> str:
        """The model name to send: the configured one, else the server's first model."""
        if self.model:
            return self.model
        data = self._request("GET", "models")
        models = [m.get("id") for m in (data.get("data") or []) if isinstance(m, dict)]
        if not models or not models[0]:
            raise ConfigError(
                f"The server at {self.base_url} lists no models",
                hint="pass --model NAME (the served model name)",
            )
        self.model = str(models[0])
        return self.model

    def _body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.resolve_model(),
            "messages": request.messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        if request.n > 1:
            body["n"] = request.n
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = request.stop
        for name in ("top_p", "presence_penalty", "frequency_penalty"):
            if getattr(request, name) is not None:
                body[name] = getattr(request, name)
        if request.json_schema is not None:
            if self.json_mode in ("auto", "json_schema"):
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "output", "schema": request.json_schema, "strict": True,
                    },
                }  # fmt: skip
            else:
                body["response_format"] = {"type": "json_object", "schema": request.json_schema}
        return body

    def count_tokens(self, text: str) -> int:
        """An estimate (the server's tokenizer is not at hand): ~4 characters a token."""
        return max(1, len(text) // 4)

    def _choices(self, request: Request) -> tuple[Completion, int]:
        """One chat-completions request: its first ``request.n`` choices, and how many
        choices the server sent."""
        data = self._request("POST", "chat/completions", self._body(request))
        choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
        if not choices:
            raise BackendError(f"openai: {self.base_url} returned no choices: {data!r:.200}")
        u = data.get("usage") or {}
        got = Completion(
            usage={
                "prompt_tokens": int(u.get("prompt_tokens") or 0),
                "completion_tokens": int(u.get("completion_tokens") or 0),
            },
            model=data.get("model") or "",
        )
        for c in choices[: request.n]:
            got.texts.append(((c.get("message") or {}).get("content")) or "")
            got.finish_reasons.append(c.get("finish_reason") or "stop")
        return got, len(choices)

    def execute(self, request: Request) -> Completion:
        """Native ``n`` when the server honours it; otherwise (or for the candidates it
        left out) one request per candidate, seeded ``seed + i``."""
        out = Completion(usage={"prompt_tokens": 0, "completion_tokens": 0})
        first: tuple[Completion, int] | None = None
        if request.json_schema is not None and self.json_mode == "auto":
            try:
                first = self._choices(request)
            except BackendError as exc:
                if "response_format" not in str(exc) and "json_schema" not in str(exc):
                    raise
                self.json_mode = "json_object"  # e.g. llama.cpp servers
                first = self._choices(request)
        elif request.n > 1 and self.native_n is not False:
            first = self._choices(request)
        if first is not None:
            got, sent = first
            out.extend(got)
            if request.n > 1:
                self.native_n = sent >= request.n
        for one in request.candidates()[len(out.texts) :]:
            out.extend(self._choices(one)[0])
        return out

    def execute_stream(self, request: Request) -> Iterator[str]:
        body = self._body(request)
        body["stream"] = True
        url = self._url("chat/completions")
        try:
            with self.client.stream("POST", url, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise BackendError(
                        f"openai: {url} → HTTP {response.status_code}: {_error_text(response)}",
                        hint=_hint(response.status_code),
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        return
                    try:
                        chunk = json.loads(payload)
                    except json.JSONDecodeError:
                        raise BackendError(f"openai: bad stream chunk {payload[:120]!r}") from None
                    for choice in chunk.get("choices") or []:
                        piece = (choice.get("delta") or {}).get("content")
                        if piece:
                            yield piece
        except httpx.TimeoutException:
            raise BackendError(
                f"openai: {url} timed out after {self.timeout:g}s",
                hint="raise timeout or check the server",
            ) from None
        except httpx.TransportError as exc:
            raise BackendError(
                f"openai: cannot connect to {url} ({exc})",
                hint="check the server is running (CONSONA_OPENAI_BASE_URL)",
            ) from None


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:200]
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err)[:300]
    if isinstance(data, dict) and "detail" in data:
        return str(data["detail"])[:300]
    return str(data)[:300]


def _hint(status: int) -> str:
    if status in (401, 403):
        return "check the API key (CONSONA_OPENAI_API_KEY or OPENAI_API_KEY)"
    if status == 404:
        return "check the base URL ends in /v1 and the model name is one the server serves"
    if status in (400, 422):
        return "the server rejected the request; the prompt may exceed its context"
    return "see the server's log"
