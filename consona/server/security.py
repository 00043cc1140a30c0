"""The server's gate, one ASGI middleware: API keys (401), per-key rate limit (429 with
``Retry-After``) and a request body limit (413), in that order, on every ``/v1/`` path.

Keys come from ``CONSONA_API_KEYS`` (comma-separated) or the ``api_keys`` argument and are
compared in constant time; no key, header or body is ever logged. Without keys the rate
limit counts per client address. A request that passes carries ``key_owner(key)`` (a
digest, "" without keys) in ``scope["state"]["consona_owner"]``: the sessions it may see.

>>> RateLimiter(per_minute=2).hit("k", now=0.0), RateLimiter(per_minute=0).hit("k")
(0.0, 0.0)
>>> limiter = RateLimiter(per_minute=1)
>>> limiter.hit("k", now=0.0), limiter.hit("k", now=1.0)
(0.0, 59.0)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from consona.server.errors import error_body

__all__ = ["OWNER_STATE", "Gate", "RateLimiter", "key_owner", "keys_from_env"]

OWNER_STATE = "consona_owner"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def keys_from_env(env: MutableMapping[str, str] | None = None) -> list[str]:
    """The API keys of ``CONSONA_API_KEYS`` (comma-separated; blanks dropped).

    >>> keys_from_env({"CONSONA_API_KEYS": "a, b,,"})
    ['a', 'b']
    """
    env = os.environ if env is None else env
    return [k.strip() for k in env.get("CONSONA_API_KEYS", "").split(",") if k.strip()]


def key_owner(key: bytes | None) -> str:
    """Who a request is, for scoping sessions: a digest of its API key ("" without one).

    >>> key_owner(None), len(key_owner(b"secret"))
    ('', 16)
    """
    return "" if not key else "key-" + hashlib.sha256(key).hexdigest()[:12]


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, bursts up to that many.
    ``per_minute=0`` turns it off. ``hit`` returns 0 when allowed, else the seconds to
    wait."""

    def __init__(self, *, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, now: float | None = None) -> float:
        if self.per_minute <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate


class _TooLarge(Exception):
    pass


class Gate:
    """ASGI middleware guarding ``paths`` (prefixes; default ``/v1/``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: Iterable[str] = (),
        max_body_bytes: int = 4 * 1024 * 1024,
        rate_limit: int = 0,
        paths: tuple[str, ...] = ("/v1/",),
    ) -> None:
        self.app = app
        self.keys = [k.encode() for k in api_keys]
        self.max_body_bytes = max_body_bytes
        self.limiter = RateLimiter(per_minute=rate_limit)
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.paths):
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "OPTIONS":  # CORS preflight carries no credentials
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        key = self._key(headers)
        if self.keys and key is None:
            await _reply(
                send,
                401,
                "Missing or invalid API key — send it as 'Authorization: Bearer <key>' "
                "(keys are set with CONSONA_API_KEYS)",
                code="invalid_api_key",
                headers={"www-authenticate": "Bearer"},
            )
            return
        scope.setdefault("state", {})[OWNER_STATE] = key_owner(key)
        who = key.decode() if key else "addr:" + str((scope.get("client") or ("?",))[0])
        wait = self.limiter.hit(who)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            await _reply(
                send,
                429,
                f"Rate limit reached ({self.limiter.per_minute} requests a minute) — "
                f"retry after {retry} s",
                code="rate_limit_exceeded",
                headers={"retry-after": str(retry)},
            )
            return
        length = headers.get(b"content-length".decode())
        if length is not None:
            try:
                too_big = int(length) > self.max_body_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._too_large(send)
                return
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            try:
                body = await self._read(receive)
            except _TooLarge:
                await self._too_large(send)
                return
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)

    def _key(self, headers: dict[str, bytes]) -> bytes | None:
        """The presented key when it is valid (``None`` otherwise, or when keys are off)."""
        if not self.keys:
            return None
        auth = headers.get("authorization", b"")
        presented = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
        presented = presented or headers.get("x-api-key", b"").strip()
        if not presented:
            return None
        ok = False
        for k in self.keys:  # compare with every key: the time does not tell which matched
            ok |= hmac.compare_digest(presented, k)
        return presented if ok else None

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        mib = self.max_body_bytes / (1024 * 1024)
        await _reply(
            send,
            413,
            f"The request body is larger than the server's limit of {mib:g} MiB",
            code="request_too_large",
            hint_="shorten the messages, or start the server with a larger --max-body-mb",
        )


async def _reply(
    send: Send,
    status: int,
    message: str,
    *,
    code: str,
    headers: dict[str, str] | None = None,
    hint_: str | None = None,
) -> None:
    text = f"{message} — {hint_}" if hint_ else message
    body = json.dumps(error_body(status, text, code=code)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
