"""Small generated inputs for tests and demos: chat dialogues in consona's JSONL.

>>> import tempfile, pathlib
>>> p = write_chat_jsonl(pathlib.Path(tempfile.mkdtemp()) / "in.jsonl", 3)
>>> len(p.read_text().splitlines())
3
"""

from __future__ import annotations

import json
import random
from pathlib import Path

FACTS = ["I have two dogs.", "I am a nurse.", "I like jazz music.", "I live in Ohio.",
         "I love hiking.", "I play the guitar.", "I have a cat.", "I work at a bank."]  # fmt: skip


def write_chat_jsonl(
    path: Path, n: int = 24, *, corrupt_at: int | None = None, seed: int = 0
) -> Path:
    """``n`` four-turn dialogues whose speaker B states persona facts (deterministic for a
    ``seed``); ``corrupt_at`` inserts a truncated JSON line at that position."""
    r = random.Random(seed)
    lines = []
    for i in range(n):
        a, b = r.sample(FACTS, 2)
        turns = [
            {"speaker": "A", "text": "hi! how are you?"},
            {"speaker": "B", "text": f"{a} what about you?"},
            {"speaker": "A", "text": b},
            {"speaker": "B", "text": f"cool. {r.choice(FACTS)}"},
        ]
        lines.append(json.dumps({"id": f"d{i}", "turns": turns}))
    if corrupt_at is not None:
        lines.insert(corrupt_at, '{"id": "bad", "turns": [')
    path.write_text("\n".join(lines) + "\n")
    return path
