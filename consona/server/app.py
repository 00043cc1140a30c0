"""The FastAPI app: the OpenAI-compatible API, characters, sessions and the web page.

>>> from consona.testing import FakeBackend
>>> app = create_app(ServerConfig(backend=FakeBackend(["hi!"]), nli=None, data_dir=None))
>>> from fastapi.testclient import TestClient
>>> TestClient(app).get("/v1/models").json()["data"][0]["id"]
'consona/mira'

Routes: ``GET /v1/models``; ``POST /v1/chat/completions`` (JSON, or SSE with
``stream: true``); ``GET/POST /v1/characters``, ``GET/DELETE /v1/characters/{id}``;
``GET /v1/sessions``, ``GET/DELETE /v1/sessions/{id}``; ``GET /health``; the chat page
at ``/``. Every refusal is an OpenAI-style error body with a 4xx status. With API keys
on, a session belongs to the key that created it: under another key it is absent (404).
"""

import asyncio
import collections
import contextlib
import functools
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from consona.errors import ConsonaError, require
from consona.server.characters import CharacterRegistry
from consona.server.engine import Cancelled, ChatEngine, Completed, Target
from consona.server.errors import APIError, error_body, from_consona_error
from consona.server.schemas import ChatRequest, check_id, parse_chat_request
from consona.server.security import OWNER_STATE, Gate
from consona.server.store import Exchange, GroupCommitter, SessionOwnerError, SessionStore

__all__ = ["ServerConfig", "create_app"]

log = logging.getLogger("consona.server")


@dataclass
class ServerConfig:
    """Everything ``create_app`` needs. ``data_dir``: where the session database and the
    uploaded characters live (``None``: in memory, for tests); ``db_url`` overrides the
    database (e.g. PostgreSQL); ``memory``: ``memory(user, character)`` opens the
    long-term memory of that pair (``None``: off); ``api_keys`` / ``rate_limit``
    (requests a minute per key, 0 = off) / ``max_body_bytes`` / ``cors_origins`` (empty =
    CORS off) guard the API."""

    backend: Any
    nli: Any = None
    data_dir: str | Path | None = None
    db_url: str | None = None
    candidates: int = 4
    temperature: float = 0.8
    max_tokens: int = 96
    coherence: Any = "lexical"
    seed: int | None = None
    plain_model: str | None = None
    api_keys: list[str] = field(default_factory=list)
    rate_limit: int = 0
    max_body_bytes: int = 4 * 1024 * 1024
    cors_origins: list[str] = field(default_factory=list)
    bundled_characters: bool = True
    memory: Any = None
    choose: str = "best"


def static_dir() -> Path:
    return Path(str(resources.files("consona.server") / "static"))


def create_app(config: ServerConfig) -> Any:
    """The FastAPI app for ``config``, behind the API-key / rate / size gate."""
    require("fastapi", extra="server", purpose="consona serve")
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    data_dir = Path(config.data_dir).expanduser() if config.data_dir is not None else None
    if data_dir is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
    db_url = config.db_url or (
        f"sqlite:///{data_dir / 'sessions.db'}" if data_dir is not None else "sqlite://"
    )
    store = SessionStore(db_url)
    committer = GroupCommitter(store)
    # the model and the judge take one request at a time (the engine's lock): a small
    # pool of its own keeps them from queueing behind other threaded work
    workers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="consona-engine")
    characters = CharacterRegistry(
        data_dir / "characters" if data_dir is not None else None,
        bundled=config.bundled_characters,
    )
    engine = ChatEngine(
        backend=config.backend,
        nli=config.nli,
        characters=characters,
        candidates=config.candidates,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        coherence=config.coherence,
        seed=config.seed,
        plain_model=config.plain_model,
        memory=config.memory,
        choose=config.choose,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        workers.shutdown(wait=False, cancel_futures=True)
        committer.close()
        store.close()

    app = FastAPI(
        title="consona", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.engine = engine
    app.state.store = store
    app.state.characters = characters
    app.state.config = config

    def error(exc: APIError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(APIError)
    async def _api_error(_request: Request, exc: APIError) -> JSONResponse:
        return error(exc)

    @app.exception_handler(ConsonaError)
    async def _consona_error(_request: Request, exc: ConsonaError) -> JSONResponse:
        return error(from_consona_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail), code=code), status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = (exc.errors() or [{}])[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "request"
        return error(
            APIError(400, f"{where}: {first.get('msg', 'invalid')}", code="invalid_request")
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s while answering a request", type(exc).__name__, exc_info=exc)
        return JSONResponse(
            error_body(
                500,
                f"Internal error ({type(exc).__name__}); see the server log",
                code="internal_error",
            ),
            status_code=500,
        )

    async def json_body(request: Request) -> Any:
        raw = await request.body()
        if not raw.strip():
            raise APIError(
                400, "The request body is empty", code="invalid_json", hint="send a JSON object"
            )
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise APIError(
                400,
                f"Malformed JSON in the request body: {exc}",
                code="invalid_json",
                hint="send a valid JSON object",
            ) from None

    # -- the page -------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def index() -> Any:
        return FileResponse(static_dir() / "index.html", media_type="text/html")

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Any:
        path = static_dir() / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise APIError(404, f"No static file {name!r}", code="not_found")
        media = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
        return FileResponse(path, media_type=media.get(path.suffix, "application/octet-stream"))

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "backend": getattr(config.backend, "name", "?"),
            "nli": getattr(config.nli, "name", None),
        }

    # -- models and characters ------------------------------------------------------
    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": engine.models()}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str) -> dict[str, Any]:
        for m in engine.models():
            if m["id"] == model_id:
                return m
        raise engine._unknown_model(model_id)

    @app.get("/v1/characters")
    async def list_characters() -> dict[str, Any]:
        return {"object": "list", "data": [c.to_dict() for c in characters.all()]}

    @app.get("/v1/characters/{cid}")
    async def get_character(cid: str) -> dict[str, Any]:
        return characters.get(cid, param="id").to_dict()

    @app.post("/v1/characters", status_code=201)
    async def upload_character(request: Request) -> Any:
        raw = await request.body()
        q = request.query_params
        cid = q.get("id") or None
        replace = q.get("replace", "").lower() in ("1", "true", "yes")
        char = await asyncio.to_thread(
            characters.upload,
            raw,
            content_type=request.headers.get("content-type"),
            cid=cid,
            replace=replace,
        )
        return JSONResponse(char.to_dict(), status_code=201)

    @app.delete("/v1/characters/{cid}")
    async def delete_character(cid: str) -> dict[str, Any]:
        char = characters.remove(cid)
        return {"id": char.id, "object": "character", "deleted": True}

    # -- sessions -------------------------------------------------------------------
    # With API keys on, a session is its creating key's: under another key it is absent.
    def owner(request: Request) -> str:
        return str(getattr(request.state, OWNER_STATE, "") or "")

    def no_session(sid: str, param: str | None = None) -> APIError:
        return APIError(404, f"No session {sid!r}", code="session_not_found", param=param)

    @app.get("/v1/sessions")
    async def list_sessions(
        request: Request, character: str | None = None, user: str | None = None
    ) -> Any:
        rows = await asyncio.to_thread(
            store.list, character=character, user=user, owner=owner(request)
        )
        return {"object": "list", "data": rows}

    @app.get("/v1/sessions/{sid}")
    async def get_session(sid: str, request: Request) -> Any:
        check_id(sid, what="session", param="id")
        found = await asyncio.to_thread(store.get, sid, owner=owner(request))
        if found is None:
            raise no_session(sid)
        return found

    @app.delete("/v1/sessions/{sid}")
    async def delete_session(sid: str, request: Request) -> Any:
        check_id(sid, what="session", param="id")
        if not await asyncio.to_thread(store.delete, sid, owner=owner(request)):
            raise no_session(sid)
        return {"id": sid, "object": "session", "deleted": True}

    # -- chat completions -----------------------------------------------------------
    async def commit(target: Target, done: Completed) -> None:
        """Store the exchange (group commit); returns once it is durable."""
        if target.kind != "persona" or target.session is None or target.character is None:
            return
        verdict = done.verdict or {}
        keys = ("flagged", "repaired", "caught", "contradicted_facts", "chosen")
        exchange = Exchange(
            session=target.session,
            character=target.character.id,
            user=target.user,
            user_text=done.user_text,
            reply=done.texts[0] if done.texts else "",
            meta={k: verdict.get(k) for k in keys},
            owner=target.owner,
        )
        try:
            await asyncio.wrap_future(committer.submit(exchange))
        except SessionOwnerError:  # another key took the id meanwhile
            raise no_session(target.session, "consona.session") from None

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Any:
        req = parse_chat_request(await json_body(request))
        target = engine.resolve(req, owner=owner(request))
        if target.session is not None and config.api_keys:  # (the commit checks it too)
            held_by = await asyncio.to_thread(store.owner_of, target.session)
            if held_by is not None and held_by != target.owner:
                raise no_session(target.session, "consona.session")
        cid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        if req.stream:
            return StreamingResponse(
                _stream(engine, workers, req, target, cid, created, commit),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
            )
        loop = asyncio.get_running_loop()
        done = await loop.run_in_executor(workers, functools.partial(engine.run, req, target))
        await commit(target, done)
        return _completion_body(req, target, done, cid, created)

    from starlette.middleware.cors import CORSMiddleware

    # the last added runs first: CORS (when on) wraps the gate, so refusals carry CORS headers
    app.add_middleware(
        Gate,
        api_keys=config.api_keys,
        max_body_bytes=config.max_body_bytes,
        rate_limit=config.rate_limit,
    )
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-api-key"],
        )
    return app


def _choice_extra(done: Completed, i: int) -> dict[str, Any]:
    return {"consona": done.choice_verdicts[i]} if i < len(done.choice_verdicts) else {}


def _completion_body(
    req: ChatRequest, target: Target, done: Completed, cid: str, created: int
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": target.model,
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": text},
                "finish_reason": done.finish_reasons[i],
                "logprobs": None,
                **_choice_extra(done, i),
            }
            for i, text in enumerate(done.texts)
        ],
        "usage": done.usage,
        "system_fingerprint": None,
    }
    if done.verdict is not None:
        body["consona"] = done.verdict
    return body


def _sse(data: Any) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _stream(
    engine: ChatEngine,
    workers: ThreadPoolExecutor,
    req: ChatRequest,
    target: Target,
    cid: str,
    created: int,
    commit: Callable[[Target, Completed], Awaitable[None]],
) -> AsyncIterator[bytes]:
    """SSE chunks: a role chunk per choice, content deltas as they come, a finish chunk
    per choice (the last one carries the ``consona`` verdict), the usage chunk when asked
    for, then ``data: [DONE]``. The exchange is stored before ``[DONE]``."""
    loop = asyncio.get_running_loop()
    events: collections.deque[tuple[str, Any]] = collections.deque()
    wake = asyncio.Event()
    gone = False

    def push(item: tuple[str, Any]) -> None:  # on the event loop
        events.append(item)
        wake.set()

    def put(kind: str, value: Any) -> None:  # from the worker thread
        loop.call_soon_threadsafe(push, (kind, value))

    def emit(i: int, piece: str) -> None:
        put("piece", (i, piece))

    def work() -> None:
        try:
            done = engine.run(req, target, emit=emit, cancelled=lambda: gone)
        except Cancelled:
            put("cancelled", None)
        except ConsonaError as exc:
            put("error", from_consona_error(exc))
        except Exception as exc:
            log.error("unexpected %s while streaming", type(exc).__name__, exc_info=exc)
            put(
                "error",
                APIError(
                    500,
                    f"Internal error ({type(exc).__name__}); see the server log",
                    code="internal_error",
                ),
            )
        else:
            put("done", done)

    async def next_event() -> tuple[str, Any]:
        """The next event; pieces of one choice that queued up meanwhile come merged (fewer
        chunks under load, one token a chunk when the server keeps up)."""
        while not events:
            wake.clear()
            await wake.wait()
        kind, value = events.popleft()
        if kind == "piece":
            i, piece = value
            while events and events[0][0] == "piece" and events[0][1][0] == i:
                piece += events.popleft()[1][1]
            value = (i, piece)
        return kind, value

    base = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": target.model,
        "system_fingerprint": None,
    }

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        return _sse({**base, "choices": choices, **extra})

    started: set[int] = set()
    task = loop.run_in_executor(workers, work)
    try:
        while True:
            kind, value = await next_event()
            if kind == "piece":
                i, piece = value
                if i not in started:
                    started.add(i)
                    yield chunk(
                        [
                            {
                                "index": i,
                                "delta": {"role": "assistant", "content": ""},
                                "logprobs": None,
                                "finish_reason": None,
                            }
                        ]
                    )
                yield chunk(
                    [
                        {
                            "index": i,
                            "delta": {"content": piece},
                            "logprobs": None,
                            "finish_reason": None,
                        }
                    ]
                )
            elif kind == "done":
                done: Completed = value
                for i in range(len(done.texts)):
                    if i not in started:
                        yield chunk(
                            [
                                {
                                    "index": i,
                                    "delta": {"role": "assistant", "content": ""},
                                    "logprobs": None,
                                    "finish_reason": None,
                                }
                            ]
                        )
                    extra = {"consona": done.verdict} if done.verdict is not None else {}
                    last = i == len(done.texts) - 1
                    yield chunk(
                        [
                            {
                                "index": i,
                                "delta": {},
                                "logprobs": None,
                                "finish_reason": done.finish_reasons[i],
                                **_choice_extra(done, i),
                            }
                        ],
                        **(extra if last else {}),
                    )
                if req.include_usage:
                    yield chunk([], usage=done.usage)
                try:
                    await commit(target, done)
                except Exception as exc:
                    log.error("could not store the exchange: %s", type(exc).__name__, exc_info=exc)
                    yield _sse(
                        error_body(
                            500,
                            "The reply could not be stored; see the server log",
                            code="store_error",
                        )
                    )
                yield b"data: [DONE]\n\n"
                return
            elif kind == "error":
                err: APIError = value
                yield _sse(err.body())
                yield b"data: [DONE]\n\n"
                return
            else:
                return
    finally:
        gone = True
        if not task.done():
            # the client left: the worker stops at its next piece; nothing is committed
            task.add_done_callback(lambda t: t.exception())
