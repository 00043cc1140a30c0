"""Request bodies of the OpenAI-compatible API, validated leniently.

Unknown fields are accepted and ignored (``logit_bias``, ``stream_options`` extras, the
many knobs front-ends send); fields consona understands are checked and a bad value is
a 400 naming the field.

>>> r = parse_chat_request({"model": "consona/mira", "logit_bias": {"42": 5},
...                         "messages": [{"role": "user", "content": "hi", "name": "Bo"}]})
>>> r.n, r.messages[0].text, r.sampling_max_tokens
(1, 'hi', None)
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from consona.server.errors import APIError

__all__ = [
    "ID_PATTERN",
    "ChatMessage",
    "ChatRequest",
    "ConsonaOptions",
    "StreamOptions",
    "check_id",
    "parse_chat_request",
]

# Character, user and session ids: letters, digits, '_', '-', '.', not starting with '.'
ID_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")
MAX_N = 16


def check_id(value: str, *, what: str, param: str | None = None) -> str:
    """``value`` when it is a safe id (no path tricks); otherwise a 400 naming ``what``.

    >>> check_id("mira", what="character")
    'mira'
    >>> check_id("../etc", what="character")
    Traceback (most recent call last):
    ...
    consona.server.errors.APIError: Invalid character id '../etc' — use 1-64 letters, digits, '_', '-' or '.', not starting with '.'
    """
    if not isinstance(value, str) or not ID_PATTERN.match(value) or ".." in value:
        raise APIError(
            400,
            f"Invalid {what} id {value!r}",
            code="invalid_id",
            param=param,
            hint="use 1-64 letters, digits, '_', '-' or '.', not starting with '.'",
        )
    return value


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ChatMessage(_Lenient):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None

    @property
    def text(self) -> str:
        """The content as text (text parts of a multi-part content are joined)."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(
            str(p.get("text", "")) for p in self.content if p.get("type") in ("text", None)
        )


class StreamOptions(_Lenient):
    include_usage: bool = False


class ConsonaOptions(_Lenient):
    """The extra body field ``consona``: who is talking, in which session."""

    character: str | None = None
    user: str | None = None
    session: str | None = None
    candidates: int | None = Field(default=None, ge=1, le=MAX_N)


class ChatRequest(_Lenient):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(default=1, ge=1, le=MAX_N)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    user: str | None = None
    consona: ConsonaOptions | None = None

    @field_validator("stop")
    @classmethod
    def _stop(cls, v: str | list[str] | None) -> list[str] | None:
        if v is None:
            return None
        items = [v] if isinstance(v, str) else v
        if len(items) > 4:
            raise ValueError("at most 4 stop sequences")
        return [s for s in items if s]

    @property
    def sampling_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def stop_list(self) -> list[str]:
        return list(self.stop or [])

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


def parse_chat_request(data: Any) -> ChatRequest:
    """A ``ChatRequest`` from a decoded JSON body, or a 400 naming the first bad field."""
    if not isinstance(data, dict):
        raise APIError(400, "The request body must be a JSON object", code="invalid_request")
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(x) for x in err.get("loc", ())]
        param = loc[0] if loc else None
        where = ".".join(loc) or "body"
        msg = err.get("msg", "invalid value")
        if err.get("type") == "missing":
            msg = "is required"
        if param == "messages" and err.get("type") == "too_short":
            msg = "must hold at least one message"
        return _raise(APIError(400, f"{where}: {msg}", code="invalid_request", param=param))


def _raise(exc: APIError) -> ChatRequest:
    raise exc
