"""``consona convert IN OUT``: convert dialogues and personas between formats."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import typer

from consona.cli._common import emit_json, status
from consona.errors import ConfigError, FormatError

HELP = """Convert dialogues and personas between formats.

The formats are inferred from the file extensions and content; name them with --from / --to when that is ambiguous.

[b]Dialogue formats[/b] (many dialogues per file, streamed):
 jsonl (canonical, .jsonl) · parlai (PersonaChat/ConvAI2 text, .txt) ·
 personachat-json (.json) · msc (read) · synthetic-persona-chat (.csv) ·
 messages (chat messages JSONL) · sharegpt · chatlog ('Name: text', .log) ·
 chitchat (read; IN = 'chitchat:' or 'chitchat:N' reads the installed corpus)

[b]Persona formats[/b] (one persona per file):
 persona-json (.json) · persona-txt (one fact per line) · character cards
 (card-json, card-png, charx and their -v2/-v3 writers).

A persona converts to a dialogue format as one dialogue with no turns, and such a file converts back to a persona.

Examples:
 consona convert valid_self_original_no_cands.txt pc.jsonl
 consona convert pc.jsonl train.jsonl --to messages --limit 100
 consona convert card.png persona.json
"""


def register(app: typer.Typer) -> None:
    app.command("convert", help=HELP, short_help="Convert dialogues and personas between formats.")(
        convert
    )


def convert(
    src: str = typer.Argument(..., metavar="IN", help="Input file (or chitchat:[N])."),
    dst: Path = typer.Argument(..., metavar="OUT", help="Output file (written atomically)."),
    from_: str | None = typer.Option(None, "--from", "-f", help="Input format name."),
    to: str | None = typer.Option(None, "--to", "-t", help="Output format name."),
    limit: int | None = typer.Option(
        None, "--limit", "-n", min=0, help="Convert at most N dialogues."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    from consona.formats import api
    from consona.formats.chitchat import is_chitchat_spec

    if not is_chitchat_spec(src) and Path(src).resolve() == dst.resolve():
        raise ConfigError("IN and OUT are the same file", hint="choose another output path")
    in_kind, in_name = (api.format_kind(from_), from_) if from_ else api.detect_format(src)
    if to:
        out_kind, out_name = api.format_kind(to), to
    else:
        out_kind, out_name = api.output_format(dst, kind=in_kind)
    fmt = api.get_format(out_name)
    if not fmt.can_write:
        writable = [n for n in api.format_names() if api.get_format(n).can_write]
        raise FormatError(
            f"the {out_name} format is read-only",
            path=dst,
            hint="write one of: " + ", ".join(writable),
        )
    summary: dict[str, Any] = {
        "input": src,
        "from": in_name,
        "output": str(dst),
        "to": out_name,
    }
    if in_kind == "persona" and out_kind == "persona":
        persona = api.read_persona(src, fmt=in_name)
        api.write_persona(persona, dst, fmt=out_name)
        summary.update(dialogues=0, turns=0, personas=1, facts=len(persona.facts))
    else:
        counts = {"dialogues": 0, "turns": 0, "personas": 0}
        dialogues: Iterable[Any] = api.read_dialogues(src, fmt=in_name)
        if limit is not None:
            dialogues = itertools.islice(dialogues, limit)
        stream = _counted(dialogues, counts)
        if in_kind == "dialogue":
            from consona.progress import progress

            stream = progress(stream, desc=f"{in_name} → {out_name}", unit=" dialogues")
        if out_kind == "persona":
            persona = api.persona_of_dialogues(stream, path=Path(src))
            api.write_persona(persona, dst, fmt=out_name)
        else:
            api.write_dialogues(stream, dst, fmt=out_name)
        summary.update(counts)
    if as_json:
        emit_json(summary)
    else:
        parts = [f"{summary[k]:,} {k}" for k in ("dialogues", "turns", "personas")]
        status(f"{src} ({in_name}) → {dst} ({out_name}): " + ", ".join(parts))


def _counted(dialogues: Iterable[Any], counts: dict[str, int]) -> Iterator[Any]:
    for d in dialogues:
        counts["dialogues"] += 1
        counts["turns"] += len(d.turns)
        counts["personas"] += len(d.personas)
        yield d
