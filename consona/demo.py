"""The offline demo that ``make run`` starts (``python -m consona.demo``).

It shows the default models (``consona models list``), converts the bundled sample persona
(``consona/data/personas/sample.json``, five facts) to a Character Card V2 JSON in a temp
dir and reads it back, then checks two replies against the persona with the persona-NLI
model (``consona check``). ``make run`` then opens ``consona chat``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from consona.errors import ConsonaError
from consona.formats import read_persona, write_persona
from consona.models.registry import list_models
from consona.models.report import models_table
from consona.nli.consistency import check_consistency, load_nli_model

SAMPLE_PERSONA = Path(__file__).resolve().parent / "data" / "personas" / "sample.json"


def show_models(console: Console) -> None:
    console.print(models_table(list_models()))
    console.print(
        "[dim]Set up missing models with 'consona models setup'; "
        "'consona models path chat' prints the GGUF path.[/]\n"
    )


def convert_sample(console: Console, *, out_dir: Path | None = None) -> Path:
    """Convert the sample persona to a V2 card and read it back; return the card path."""
    console.rule(f"sample persona: {SAMPLE_PERSONA.name}")
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


DEMO_REPLIES = (
    "Biscuit and I were up before dawn again, the sourdough needed me.",
    "I don't have any pets, and I hate getting up early.",
)


def check_sample(console: Console) -> None:
    """Judge two replies against the sample persona with the default NLI model."""
    persona = read_persona(SAMPLE_PERSONA)
    nli = load_nli_model()
    console.rule("persona consistency (consona check --split)")
    for reply in DEMO_REPLIES:
        result = check_consistency(persona.facts, reply, nli=nli, split_sentences=True)
        table = Table(title=f"{reply!r}", title_justify="left")
        table.add_column("fact")
        table.add_column("verdict")
        table.add_column("p", justify="right")
        for v in result.verdicts:
            table.add_row(v.fact, v.label, f"{v.probs[v.label]:.2f}")
        console.print(table)
        verdict = "CONTRADICTS the persona" if result.contradiction else "consistent"
        console.print(f"C-score {result.c_score:+.0f} → {verdict}\n")


def main(argv: list[str] | None = None) -> int:
    console = Console(highlight=False)
    try:
        show_models(console)
        convert_sample(console)
        check_sample(console)
    except ConsonaError as exc:
        Console(stderr=True).print(f"error: {exc}", markup=False)
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
