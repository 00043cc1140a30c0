"""``consona check --persona FILE "utterance"`` — is an utterance consistent with a persona?

Exit code 0 when consistent, 3 when a contradiction is found.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from consona.cli._common import emit_json, out_console
from consona.errors import ConfigError, FormatError

CONTRADICTION_EXIT = 3


def _fallback_facts(path: Path) -> list[str]:
    """Persona JSON ({"facts": [...]}) or TXT (one fact per line), if consona.formats is
    unavailable."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno) from None
        facts = data.get("facts") if isinstance(data, dict) else data
        if not isinstance(facts, list):
            raise FormatError("expected a persona object with a 'facts' list", path=path)
        return [f if isinstance(f, str) else str(f.get("text", "")) for f in facts]
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_facts(path: Path) -> list[str]:
    """Fact texts of a persona file (any format consona reads)."""
    if not path.is_file():
        raise FormatError("no such persona file", path=path, hint="check the --persona path")
    try:
        from consona.formats import read_persona
    except ImportError:  # pragma: no cover - formats not installed
        return [f for f in _fallback_facts(path) if f]
    persona = read_persona(path)
    return persona.fact_texts()


def verdict_table(result: Any) -> Table:
    style = {"entailment": "green", "neutral": "dim", "contradiction": "bold red"}
    table = Table(
        title=f"C-score {result.c_score:+.0f} · threshold {result.threshold:.2f} · {result.model}",
        title_justify="left",
    )
    table.add_column("fact")
    table.add_column("verdict")
    for col in ("entail", "neutral", "contra"):
        table.add_column(col, justify="right")
    for v in result.verdicts:
        probs = [
            f"{v.probs[k]:.2f}" if v.probs else "-"
            for k in ("entailment", "neutral", "contradiction")
        ]
        label = v.label if v.scored else "skipped"
        table.add_row(escape(v.fact), f"[{style[v.label]}]{label}[/]", *probs)
    return table


def check(
    utterance: str = typer.Argument(..., help="The utterance to check."),
    persona: Path = typer.Option(..., "--persona", "-p", help="Persona file (JSON, TXT, card…)."),
    model: str = typer.Option(None, "--model", "-m", help="NLI model (default consona)."),
    threshold: float = typer.Option(
        None, help="Contradiction probability threshold (default: the model's calibrated one)."
    ),
    prefilter: int = typer.Option(
        None, help="Score only the K facts most similar to the utterance (embedder)."
    ),
    split: bool = typer.Option(
        False,
        "--split/--no-split",
        help="Also judge each sentence/clause of the utterance (catches a contradiction "
        "diluted by other clauses; costs ~2 points of accuracy on the persona test).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the verdicts as JSON."),
) -> None:
    """Per-fact NLI verdicts for an utterance; exit 3 when it contradicts the persona."""
    from consona.nli.consistency import check_consistency
    from consona.nli.models import load_nli_model

    facts = read_facts(persona)
    if not facts:
        raise ConfigError(
            f"The persona in {str(persona)!r} has no facts", hint="add facts to the persona file"
        )
    nli = load_nli_model(model)
    result = check_consistency(
        facts,
        utterance,
        nli=nli,
        threshold=threshold,
        prefilter=prefilter,
        split_sentences=split,
    )
    if as_json:
        emit_json(result.to_dict())
    else:
        out_console.print(verdict_table(result))
        if result.contradiction:
            out_console.print(f"[bold red]contradiction[/] with {len(result.contradicted)} fact(s)")
        else:
            out_console.print("[green]consistent[/]")
    if result.contradiction:
        raise typer.Exit(code=CONTRADICTION_EXIT)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
