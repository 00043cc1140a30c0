"""Plain chat logs: ``Name: text`` lines; a blank line starts a new dialogue; a line without
a ``Name:`` prefix continues the previous turn (joined with a newline). Lines starting
with ``#`` before a dialogue's first turn are comments.

A name is 1–40 characters, starts with a non-space and holds no ``:``, tab or more than
four words, so ``Note: ...`` inside a paragraph would still read as a speaker — write such
text on a continuation line that does not look like ``Word: ``.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "chat.txt"
>>> _ = p.write_text("Ada: hi!\\nhow are you?\\nBob: fine.\\n\\nAda: again\\n")
>>> [[(t.speaker, t.text) for t in d.turns] for d in ChatLogFormat().read(p)]
[[('Ada', 'hi!\\nhow are you?'), ('Bob', 'fine.')], [('Ada', 'again')]]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from consona.errors import DataValidationError, FormatError
from consona.formats._util import head_text, iter_lines
from consona.formats.base import DIALOGUE_FORMATS
from consona.io import atomic_write
from consona.types import Dialogue, Turn

_SPEAKER = re.compile(r"^(\S[^:\t]{0,39}?):(?: (.*)|)$", re.DOTALL)


def _match(line: str) -> tuple[str, str] | None:
    m = _SPEAKER.match(line)
    if not m or len(m.group(1).split()) > 4:
        return None
    return m.group(1).strip(), (m.group(2) or "")


class ChatLogFormat:
    """``Name: text`` chat logs, one dialogue per blank-line-separated block.

    >>> ChatLogFormat().extensions
    ('.log', '.chat', '.txt')
    """

    name: str = "chatlog"
    extensions: tuple[str, ...] = (".log", ".chat", ".txt")
    can_write: bool = True

    def sniff(self, path: Path, head: bytes) -> bool:
        from consona.formats.parlai import ParlAIFormat

        lines = [ln for ln in head_text(head).split("\n") if ln.strip() and not ln.startswith("#")]
        if not lines or lines[0].lstrip()[:1] in ("{", "[") or _match(lines[0]) is None:
            return False  # JSON-like text is never a chat log
        return not ParlAIFormat().sniff(path, head)  # '1 your persona: ...' is ParlAI

    def read(self, path: Path) -> Iterator[Dialogue]:
        turns: list[tuple[str, list[str]]] = []
        index = 0
        start = 1

        def build() -> Dialogue:
            try:
                return Dialogue(
                    id=f"{path.stem}-{index}",
                    turns=[Turn(speaker=s, text="\n".join(t)) for s, t in turns],
                )
            except DataValidationError as exc:
                raise FormatError(exc.message, path=path, line=start) from None

        for n, line in iter_lines(path):
            if not line.strip():
                if turns:
                    yield build()
                    index += 1
                    turns = []
                continue
            if not turns and line.startswith("#"):
                continue
            m = _match(line)
            if m:
                if not turns:
                    start = n
                turns.append((m[0], [m[1]]))
            elif turns:
                turns[-1][1].append(line)
            else:
                raise FormatError(
                    "expected 'Name: text' to start a dialogue",
                    path=path,
                    line=n,
                    hint="every dialogue starts with a line like 'Ada: hello'",
                )
        if turns:
            yield build()

    def write(self, dialogues: Iterable[Dialogue], path: Path) -> int:
        n = 0
        with atomic_write(path) as f:
            for d in dialogues:
                if n:
                    f.write("\n")
                for t in d.turns:
                    if _match(f"{t.speaker}: x") is None or t.speaker != t.speaker.strip():
                        raise FormatError(
                            f"speaker name {t.speaker!r} cannot be written as 'Name: text' "
                            "(no ':' or tab, at most 40 characters and four words)",
                            path=path,
                            hint="rename the speaker or convert to jsonl",
                        )
                    # blank lines inside a turn would split the dialogue: drop them
                    body = "\n".join(ln for ln in t.text.split("\n") if ln.strip())
                    f.write(f"{t.speaker}: {body}\n")
                n += 1
        return n


DIALOGUE_FORMATS.register("chatlog", ChatLogFormat)
