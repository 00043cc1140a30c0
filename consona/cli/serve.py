"""``consona serve``: the OpenAI-compatible persona server and its web chat page.

Status goes to stderr; the server runs until interrupted. Binds to 127.0.0.1 unless
``--host`` says otherwise; API keys come from ``CONSONA_API_KEYS`` (comma-separated).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from consona.cli._common import (
    BACKEND_OPTION,
    BASE_URL_OPTION,
    MEMORY_DB_OPTION,
    MEMORY_FAKES_OPTION,
    MODEL_OPTION,
    NLI_OPTION,
    status,
)
from consona.config import Settings
from consona.errors import ConfigError, require

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def parse_options(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as keyword options (values read as JSON when they parse).

    >>> parse_options(["n_ctx=8192", "latency_s=0.01", "name=x"])
    {'n_ctx': 8192, 'latency_s': 0.01, 'name': 'x'}
    """
    import json

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(
                f"--backend-option {item!r} is not KEY=VALUE",
                hint="e.g. --backend-option n_ctx=8192",
            )
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def build_config(
    *,
    backend: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    nli: str | None = None,
    candidates: int = 4,
    max_tokens: int = 96,
    temperature: float = 0.8,
    seed: int | None = None,
    coherence: str = "lexical",
    data_dir: Path | None = None,
    db: str | None = None,
    rate_limit: int = 120,
    max_body_mb: float = 4.0,
    cors_origins: list[str] | None = None,
    backend_options: list[str] | None = None,
    memory: bool = False,
    memory_db: str | None = None,
    memory_fakes: bool = False,
    choose: str = "best",
    settings: Settings | None = None,
) -> Any:
    """The ``ServerConfig`` the options describe: the same backend and judge loading as
    ``consona chat``; a judge that cannot load turns the guard off with a warning unless
    ``--nli`` was given."""
    from consona.cli.chat import load_backend_and_guard
    from consona.server import ServerConfig
    from consona.server.security import keys_from_env

    settings = settings or Settings.load()
    the_backend, judge = load_backend_and_guard(
        backend, model, base_url, nli, settings, parse_options(backend_options or [])
    )
    memory_factory = None
    if memory:
        memory_factory = _memory_factory(
            memory_db, settings, nli=judge, backend=the_backend, fakes=memory_fakes
        )
    if max_body_mb <= 0:
        raise ConfigError("--max-body-mb must be > 0", hint="e.g. --max-body-mb 4")
    return ServerConfig(
        backend=the_backend,
        nli=judge,
        data_dir=data_dir if data_dir is not None else settings.home / "server",
        db_url=db,
        candidates=candidates,
        temperature=temperature,
        max_tokens=max_tokens,
        coherence=coherence,
        seed=seed,
        api_keys=keys_from_env(),
        rate_limit=rate_limit,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        cors_origins=list(cors_origins or []),
        memory=memory_factory,
        choose=choose,
    )


def _memory_factory(
    db: str | None, settings: Settings, *, nli: Any, backend: Any, fakes: bool
) -> Any:
    """``memory(user, character)`` opening the ``PersonaMemory`` that ``consona chat --user``
    uses for the same user and persona (one store, shared)."""
    from consona.cli.memory import open_memory

    def open_for(user: str, character: Any) -> Any:
        return open_memory(
            db, settings, user=user, persona=character.persona, nli=nli, backend=backend,
            fakes=fakes,
        )  # fmt: skip

    return open_for


def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind (default: localhost only)."
    ),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    backend: str | None = BACKEND_OPTION,
    model: str | None = MODEL_OPTION,
    base_url: str | None = BASE_URL_OPTION,
    nli: str | None = NLI_OPTION,
    candidates: int = typer.Option(
        4,
        "--candidates",
        "-n",
        min=1,
        max=16,
        help="Replies sampled per turn and re-ranked (a request's n raises it).",
    ),
    choose: str = typer.Option(
        "best",
        "--choose",
        help="best: draw every candidate, send the best-ranked | first-clean: send the "
        "first candidate when the guard finds nothing wrong with it, drawing the others "
        "only when it is not clean or the request asks for n>1 (faster on a few CPU "
        "cores; no re-rank among clean candidates).",
    ),
    max_tokens: int = typer.Option(
        96, "--max-tokens", min=8, help="Tokens per reply when a request sets none."
    ),
    temperature: float = typer.Option(
        0.8, "--temperature", min=0.0, help="Default sampling temperature."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Default sampling seed."),
    coherence: str = typer.Option("lexical", "--coherence", help="auto | embedding | lexical"),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Sessions database and uploaded characters (default: $CONSONA_HOME/server)",
    ),
    db: str | None = typer.Option(
        None, "--db", help="SQLAlchemy URL of the session store (default: SQLite in --data-dir)"
    ),
    rate_limit: int = typer.Option(
        120,
        "--rate-limit",
        min=0,
        help="Requests a minute per API key (or client address); 0 = off.",
    ),
    max_body_mb: float = typer.Option(
        4.0, "--max-body-mb", help="Largest request body in MiB (413 above)."
    ),
    cors_origin: list[str] = typer.Option(
        [],
        "--cors-origin",
        help="Allow browser calls from this origin (repeatable; default: CORS off).",
    ),
    backend_option: list[str] = typer.Option(
        [],
        "--backend-option",
        help="KEY=VALUE passed to the backend (repeatable), e.g. n_ctx=8192.",
    ),
    memory: bool = typer.Option(
        False,
        "--memory",
        help="Long-term memory per (user, character), shared with 'consona chat --user'.",
    ),
    memory_db: str | None = MEMORY_DB_OPTION,
    memory_fakes: bool = MEMORY_FAKES_OPTION,
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level"),
) -> None:
    """Serve the persona agents over an OpenAI-compatible API, with a web chat page at /."""
    uvicorn = require("uvicorn", extra="server", purpose="consona serve")
    from consona.server import create_app

    config = build_config(
        backend=backend, model=model, base_url=base_url, nli=nli, candidates=candidates,
        max_tokens=max_tokens, temperature=temperature, seed=seed, coherence=coherence,
        data_dir=data_dir, db=db, rate_limit=rate_limit, max_body_mb=max_body_mb,
        cors_origins=cors_origin, backend_options=backend_option, memory=memory,
        memory_db=memory_db, memory_fakes=memory_fakes, choose=choose,
    )  # fmt: skip
    app = create_app(config)
    n_chars = len(app.state.characters.all())
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{port}"
    status(
        f"consona serve: {n_chars} characters on {escape(getattr(config.backend, 'name', '?'))}"
        f" (NLI: {escape(getattr(config.nli, 'name', 'off'))}, {candidates} candidates)"
    )
    status(f"  web chat page:   {url}/")
    status(f"  OpenAI base URL: {url}/v1")
    status(f"  models:          {url}/v1/models")
    if memory:
        status("  long-term memory: on (per user and character; pass consona.user or 'user')")
    status(
        "  API keys: "
        + (f"{len(config.api_keys)} (from CONSONA_API_KEYS)" if config.api_keys else "off")
    )
    if host not in LOCAL_HOSTS and not config.api_keys:
        status(
            f"[yellow]warning:[/] listening on {escape(host)} without API keys — anyone who "
            "can reach this address can use the server; set CONSONA_API_KEYS"
        )
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
