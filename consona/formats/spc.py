"""Synthetic-Persona-Chat CSV: columns ``user 1 personas``, ``user 2 personas`` (one fact
per line) and ``Best Generated Conversation`` (``User 1: ...`` / ``User 2: ...`` lines).

The generated conversations are not always tidy: speaker prefixes may carry ``*``
markers (``* User 1:``), separator lines (``* * *``) and blank lines appear, and a line
without a speaker prefix continues the previous utterance. The reader handles all of them.
Rows are streamed with the csv module (constant memory).

>>> import tempfile, pathlib
>>> from consona.types import Dialogue, Persona, Turn
>>> p = pathlib.Path(tempfile.mkdtemp()) / "spc.csv"
>>> d = Dialogue(id="x", turns=[Turn(speaker="User 1", text="Hi!")],
...              personas={"User 1": Persona(facts=["I bake."])})
>>> SyntheticPersonaChatFormat().write([d], p)
1
>>> next(SyntheticPersonaChatFormat().read(p)).personas["User 1"].fact_texts()
['I bake.']
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from consona.errors import DataValidationError, FormatError
from consona.formats._util import head_text, iter_decoded_lines
from consona.formats.base import DIALOGUE_FORMATS
from consona.io import atomic_write
from consona.types import Dialogue, Fact, Persona, Turn

COLUMNS = ("user 1 personas", "user 2 personas", "Best Generated Conversation")
SPEAKERS = ("User 1", "User 2")
_TURN = re.compile(r"^[\s*]*(User [12])\s*[*]*\s*:\s?(.*)$", re.IGNORECASE)
_SEPARATOR = re.compile(r"^[\s*_=-]*$")


class SyntheticPersonaChatFormat:
    """Synthetic-Persona-Chat CSV reader and writer.

    >>> SyntheticPersonaChatFormat().extensions
    ('.csv',)
    """

    name: str = "synthetic-persona-chat"
    extensions: tuple[str, ...] = (".csv",)
    can_write: bool = True

    def sniff(self, path: Path, head: bytes) -> bool:
        first = head_text(head).split("\n", 1)[0].strip().lower()
        return "user 1 persona" in first and "conversation" in first

    def read(self, path: Path) -> Iterator[Dialogue]:
        reader = csv.reader(iter_decoded_lines(path))
        try:
            header = next(reader, None)
            if header is None:
                raise FormatError("the file is empty", path=path)
            cols = _columns(path, header)
            index = 0
            for row in reader:
                line = reader.line_num
                if not any(c.strip() for c in row):
                    continue
                if len(row) < len(header):
                    raise FormatError(
                        f"row has {len(row)} fields, the header has {len(header)}",
                        path=path,
                        line=line,
                    )
                try:
                    yield _dialogue(path, index, [row[c] for c in cols])
                except DataValidationError as exc:
                    raise FormatError(exc.message, path=path, line=line) from None
                index += 1
        except csv.Error as exc:
            raise FormatError(f"broken CSV: {exc}", path=path, line=reader.line_num) from None

    def write(self, dialogues: Iterable[Dialogue], path: Path) -> int:
        n = 0
        with atomic_write(path, newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for d in dialogues:
                speakers = d.speakers()
                if len(speakers) > 2:
                    raise FormatError(
                        f"dialogue {d.id!r} has {len(speakers)} speakers; this CSV holds two",
                        path=path,
                        hint="convert to jsonl or chatlog instead",
                    )
                names = dict(zip(speakers, SPEAKERS, strict=False))
                if set(speakers) <= set(SPEAKERS):
                    names = {s: s for s in speakers}
                by_label = {label: s for s, label in names.items()}
                persona_cols = [
                    "\n".join(d.personas[by_label[label]].fact_texts())
                    if label in by_label and by_label[label] in d.personas
                    else ""
                    for label in SPEAKERS
                ]
                conv = "\n".join(f"{names[t.speaker]}: {t.text}" for t in d.turns)
                w.writerow([*persona_cols, conv])
                n += 1
        return n


def _columns(path: Path, header: list[str]) -> list[int]:
    lower = [h.strip().lower() for h in header]
    try:
        return [lower.index(c.lower()) for c in COLUMNS]
    except ValueError:
        raise FormatError(
            f"not a Synthetic-Persona-Chat CSV: the header must have the columns {list(COLUMNS)}"
            f", found {header}",
            path=path,
            line=1,
        ) from None


def _dialogue(path: Path, index: int, cells: list[str]) -> Dialogue:
    personas = {}
    for speaker, cell in zip(SPEAKERS, cells[:2], strict=False):
        facts = [ln.strip() for ln in cell.splitlines() if ln.strip()]
        if facts:
            personas[speaker] = Persona(
                name=speaker, facts=[Fact(text=t, speaker=speaker) for t in facts]
            )
    turns: list[Turn] = []
    for raw in cells[2].splitlines():
        m = _TURN.match(raw)
        if m:
            speaker = SPEAKERS[0] if m.group(1).strip().endswith("1") else SPEAKERS[1]
            turns.append(Turn(speaker=speaker, text=m.group(2).strip()))
        elif _SEPARATOR.match(raw):
            continue
        elif turns:
            prev = turns[-1]
            turns[-1] = Turn(speaker=prev.speaker, text=f"{prev.text}\n{raw.strip()}".strip())
        # text before the first speaker line is dropped (a stray title)
    return Dialogue(id=f"{path.stem}-{index}", turns=turns, personas=personas)


DIALOGUE_FORMATS.register("synthetic-persona-chat", SyntheticPersonaChatFormat)
