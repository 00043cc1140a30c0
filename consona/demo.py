"""The offline demo that ``make run`` starts (``python -m consona.demo``).

For now it shows the default models (``consona models list``) and converts the bundled
sample persona (``consona/data/personas/sample.json``, five facts) to a Character Card V2
JSON in a temp dir, then reads the card back to show the facts survive the round trip.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.syntax import Syntax

from consona.errors import ConsonaError

SAMPLE_PERSONA = Path(__file__).resolve().parent / "data" / "personas" / "sample.json"


def show_models(console: Console) -> None:
    from consona.cli.models import models_table
    from consona.models import list_models

    console.print(models_table(list_models()))
    console.print(
        "[dim]Set up missing models with 'consona models setup'; "
        "'consona models path chat' prints the GGUF path.[/]\n"
    )


def convert_sample(console: Console, *, out_dir: Path | None = None) -> Path | None:
    """Convert the sample persona to a V2 card; return the card path (None if the card
    formats are not available, in which case the persona is just printed)."""
    console.rule(f"sample persona: {SAMPLE_PERSONA.name}")
    try:
        from consona.formats import read_persona, write_persona
    except ImportError:
        data = json.loads(SAMPLE_PERSONA.read_text(encoding="utf-8"))
        console.print(Syntax(json.dumps(data, indent=2, ensure_ascii=False), "json"))
        return None
    persona = read_persona(SAMPLE_PERSONA)
    out_dir = out_dir or Path(tempfile.mkdtemp(prefix="consona-demo-"))
    card = out_dir / f"{persona.name.lower() or 'persona'}.card.json"
    write_persona(persona, card, fmt="card-json-v2")
    console.print(f"{persona.name}: {len(persona.facts)} facts → Character Card V2 at {card}\n")
    console.print(Syntax(card.read_text(encoding="utf-8"), "json", word_wrap=True))
    back = read_persona(card)
    same = back.fact_texts() == persona.fact_texts()
    console.print(
        f"read back: {back.name}, {len(back.facts)} facts "
        f"({'identical' if same else 'DIFFERENT'} to the original)"
    )
    return card


def main(argv: list[str] | None = None) -> int:
    console = Console(highlight=False)
    try:
        show_models(console)
        convert_sample(console)
    except ConsonaError as exc:
        Console(stderr=True).print(f"error: {exc}", markup=False)
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
