"""``consona check --persona FILE "utterance"`` — is an utterance consistent with a persona?

Exit code 0 when consistent, 3 when a contradiction is found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from consona.cli._common import emit_json, out_console
from consona.errors import ConfigError, FormatError

CONTRADICTION_EXIT = 3


def read_facts(path: Path) -> list[str]:
    """Fact texts of a persona file (any format consona reads)."""
    from consona.formats import read_persona

    if not path.is_file():
        raise FormatError("no such persona file", path=path, hint="check the --persona path")
    return read_persona(path).fact_texts()


def explain_table(explained: list[dict[str, Any]]) -> Table:
    """Which part of the judge fired for each fact: the NLI (with the clause that spoke)
    or the triple check (with the two triples)."""
    table = Table(title="why", title_justify="left")
    for col in ("fact", "verdict", "decided by", "NLI clause / triples"):
        table.add_column(col)
    for e in explained:
        t = e["triples"]
        detail = (
            f"{t['reason']} ({' '.join(t['premise'])} ↔ {' '.join(t['hypothesis'])})"
            if t["fired"]
            else f"NLI {e['nli']['probs']['contradiction']:.2f} contra on “{e['nli']['evidence']}”"
        )
        table.add_row(escape(e["fact"]), e["label"], e["decided_by"], escape(detail))
    return table


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
        help="Also judge each sentence/clause of the utterance with any model (the default "
        "judge already does this inside).",
    ),
    explain: bool = typer.Option(
        False,
        "--explain",
        help="Show which part of the judge fired for each fact (the NLI on which clause, or "
        "the triple check with the two triples).",
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
    explained: list[dict[str, Any]] = []
    if explain:
        judge = getattr(nli, "model", nli)
        if not hasattr(judge, "explain"):
            raise ConfigError(
                f"--explain needs the default judge; {nli.name!r} has no explanation",
                hint="drop --model, or use --model consona",
            )
        explained = [{"fact": f, **judge.explain(f, utterance)} for f in facts]
    if as_json:
        out = result.to_dict()
        if explain:
            out["explain"] = explained
        emit_json(out)
    else:
        out_console.print(verdict_table(result))
        if explain:
            out_console.print(explain_table(explained))
        if result.contradiction:
            out_console.print(f"[bold red]contradiction[/] with {len(result.contradicted)} fact(s)")
        else:
            out_console.print("[green]consistent[/]")
    if result.contradiction:
        raise typer.Exit(code=CONTRADICTION_EXIT)


def register(app: typer.Typer) -> None:
    app.command("check")(check)
