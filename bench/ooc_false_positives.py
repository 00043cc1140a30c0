"""How often does the out-of-character detector fire on real human chat turns?

Every human turn of PersonaChat valid (``personachat/valid_dialogs.json``: the partner's
turns and the persona speaker's replies) and of Synthetic-Persona-Chat valid is run through
:func:`consona.evaluation.voice.ooc_evidence`; each hit is a false positive (people in these
chats do not speak as an AI assistant). Prints the hits and writes JSON.

    python bench/ooc_false_positives.py ../shared/data --out bench/results/ooc_false_positives.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SOURCES = {
    "personachat": ("personachat", "valid_dialogs.json"),
    "synthetic-persona-chat": ("synthetic-persona-chat", "Synthetic-Persona-Chat_valid.csv"),
}


def human_turns(data_dir: Path) -> dict[str, list[str]]:
    """The human turns per source, read with consona's own dialogue readers (empty lists
    for sources that are not there)."""
    from consona.formats import read_dialogues

    out: dict[str, list[str]] = {}
    for name, parts in SOURCES.items():
        path = data_dir.joinpath(*parts)
        out[name] = (
            [t.text for d in read_dialogues(path) for t in d.turns] if path.is_file() else []
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", type=Path, help="the shared data folder")
    ap.add_argument("--out", default="bench/results/ooc_false_positives.json")
    args = ap.parse_args()
    from consona.evaluation.voice import ooc_evidence

    turns = human_turns(args.data_dir)
    if not any(turns.values()):
        sys.exit(f"no PersonaChat or Synthetic-Persona-Chat valid file under {args.data_dir}")
    hits = [
        {"source": src, "text": t, "evidence": ooc_evidence(t)}
        for src, texts in turns.items()
        for t in texts
        if ooc_evidence(t)
    ]
    result = {
        "turns": {src: len(texts) for src, texts in turns.items()},
        "total": sum(len(t) for t in turns.values()),
        "false_positives": len(hits),
        "hits": hits,
    }
    for h in hits:
        print(f"{h['source']}: {h['evidence']} | {h['text'][:160]}")
    print(f"{result['false_positives']} false positives in {result['total']} human turns")
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
