"""The ConvAI2 Dialogue-NLI triple text format: the one reader.

Each dialogue is a block of persona lines followed by numbered utterances; a line may
carry human (subject, relation, object) triples as Python-list cells after a tab::

    partner's persona: i have two dogs.\t['i', 'have_pet', '2 dog']
    your persona: i like to ski.\t['i', 'like_activity', 'skiing']
    1\thi ! how are you ?
    2\ti am great . just walked my two dogs .\t['i', 'have_pet', 'dog']

Turn 1 is the partner's, turn 2 yours, and so on. Triples whose relation is ``other`` or
whose object is ``<blank>`` carry no fact and are dropped.

>>> import tempfile, os
>>> text = "your persona: i am 30.\\t['i', 'has_age', '30']\\n1\\thi\\n2\\ti am 30 .\\t['i', 'has_age', '30']\\n"
>>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
...     _ = f.write(text)
>>> [d.turns[1] for d in read_dnli_dialogues(f.name)]
[('i am 30 .', [Triple(subject='i', relation='has_age', object='30')])]
>>> os.unlink(f.name)
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from consona.errors import FormatError
from consona.types import Triple

DNLI_FILE = "convai2-dnli-triples/valid_both_original_dialogueNLI.txt"
# Relation / object cells that carry no fact.
IGNORED = frozenset({"other", "<blank>", ""})
_HINT = f"pass the ConvAI2 DNLI triples file ({DNLI_FILE})"


@dataclass
class DnliDialogue:
    """One dialogue: persona sentences per speaker and the turns, each with its triples."""

    index: int
    persona_lines: list[tuple[str, str, list[Triple]]] = field(default_factory=list)
    """(speaker, sentence, triples) in file order; speaker is ``you`` or ``partner``."""
    turns: list[tuple[str, list[Triple]]] = field(default_factory=list)
    persona_info: list[tuple[int, int]] = field(default_factory=list)
    """Per persona line: its line in the file, and how many of its annotations carry no
    fact (``other`` or a ``<blank>`` object, dropped from its triples)."""
    turn_info: list[tuple[int, int]] = field(default_factory=list)
    """The same per turn."""

    @property
    def vague_turns(self) -> set[int]:
        """Indices of turns annotated only with triples that carry no fact:
        persona-bearing, but outside the schema."""
        return {
            k
            for k, ((_, trs), (_, n)) in enumerate(zip(self.turns, self.turn_info, strict=False))
            if n and not trs
        }

    def persona(self, speaker: str) -> list[tuple[str, list[Triple]]]:
        """The persona sentences of ``you`` or ``partner`` with their triples."""
        return [(t, tr) for who, t, tr in self.persona_lines if who == speaker]

    def speaker(self, turn_index: int) -> str:
        """``partner`` for turns 0, 2, …; ``you`` for 1, 3, …"""
        return "partner" if turn_index % 2 == 0 else "you"

    def texts(self) -> set[str]:
        """Every persona sentence and utterance of the dialogue."""
        out = {t for _, t, _ in self.persona_lines}
        return out | {t for t, _ in self.turns}


def parse_triple(
    raw: str,
    *,
    path: str | Path = "",
    line: int | None = None,
    relations: Collection[str] | None = None,
) -> Triple | None:
    """One ``['s', 'r', 'o']`` cell; None for ``other`` / ``<blank>``; a FormatError for
    a cell that is not a list of three strings, or (given ``relations``) whose relation is
    not one of them."""
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        raise FormatError(f"bad triple {raw[:60]!r}", path=path, line=line, hint=_HINT) from None
    if not (isinstance(value, list | tuple) and len(value) == 3):
        raise FormatError(
            f"a triple must be 3 strings, got {raw[:60]!r}", path=path, line=line, hint=_HINT
        )
    s, r, o = (" ".join(str(x).lower().split()) for x in value)
    if relations is not None and r not in relations and r not in IGNORED:
        raise FormatError(
            f"unknown relation {r!r} in {raw[:60]!r}",
            path=path,
            line=line,
            hint="use the Dialogue-NLI relations (consona.extraction.relations.DNLI_RELATIONS)",
        )
    if r in IGNORED or o in IGNORED:
        return None
    return Triple(s, r, o)


def _triples(
    cells: list[str], path: Path, line: int, relations: Collection[str] | None
) -> tuple[list[Triple], int]:
    """The triples of a line, and how many of its annotations carry no fact."""
    out, dropped = [], 0
    for cell in cells:
        if not cell.strip():
            continue
        t = parse_triple(cell, path=path, line=line, relations=relations)
        if t is None:
            dropped += 1
        else:
            out.append(t)
    return out, dropped


def read_dnli_dialogues(
    path: str | Path, *, relations: Collection[str] | None = None
) -> Iterator[DnliDialogue]:
    """Dialogues of a ConvAI2 DNLI-triples file, in file order (``index`` 0, 1, …). With
    ``relations``, a triple whose relation is not one of them is a FormatError naming the
    file and line (training data must not teach an unknown relation)."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"no DNLI triples file at {path}", hint=_HINT)
    cur: DnliDialogue | None = None
    count = 0
    try:
        with open(path, encoding="utf-8") as fh:
            for n, raw in enumerate(fh, 1):
                line = raw.rstrip("\n")
                if not line.strip():
                    continue
                cells = line.split("\t")
                head = cells[0]
                if head.startswith(("your persona:", "partner's persona:")):
                    if cur is not None and cur.turns:
                        yield cur
                        cur = None
                    if cur is None:
                        cur = DnliDialogue(index=count)
                        count += 1
                    who = "you" if head.startswith("your") else "partner"
                    text = head.split(":", 1)[1].strip()
                    triples, dropped = _triples(cells[1:], path, n, relations)
                    cur.persona_lines.append((who, text, triples))
                    cur.persona_info.append((n, dropped))
                elif head.strip().isdigit() and len(cells) >= 2:
                    if cur is None:
                        raise FormatError(
                            "an utterance before any persona line", path=path, line=n, hint=_HINT
                        )
                    triples, dropped = _triples(cells[2:], path, n, relations)
                    cur.turns.append((cells[1].strip(), triples))
                    cur.turn_info.append((n, dropped))
                else:
                    raise FormatError(
                        f"unexpected line {line[:60]!r}", path=path, line=n, hint=_HINT
                    )
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason})", path=path, hint=_HINT) from None
    if cur is not None and cur.turns:
        yield cur
