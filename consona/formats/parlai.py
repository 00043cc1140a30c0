"""PersonaChat / ConvAI2 in ParlAI text format, and PersonaChat JSON.

ParlAI text: every line is ``<number> <content>``; the number restarts at 1 for each new
episode. Content is a persona line (``your persona: ...`` → the *self* speaker's persona,
``partner's persona: ...`` → the *partner*'s) or a turn pair: tab-separated fields
``text`` (partner), ``label`` (self) and, in the with-candidates variants, ``reward`` and
``candidates`` separated by ``|`` (kept in the self turn's ``meta["candidates"]``).
``__SILENCE__`` as the partner's text means the self speaker opened; it is not a turn.

Speakers are named ``partner`` and ``self``. The writer maps a dialogue's speakers the same
way: ``self`` (or else the second speaker) is the persona side, the other is ``partner``.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "pc.txt"
>>> _ = p.write_text("1 your persona: i like tea.\\n2 hi !\\thello , tea ?\\n")
>>> d = next(ParlAIFormat().read(p))
>>> [(t.speaker, t.text) for t in d.turns], d.personas["self"].fact_texts()
([('partner', 'hi !'), ('self', 'hello , tea ?')], ['i like tea.'])
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from consona.errors import DataValidationError, FormatError
from consona.formats._util import data_error, expect_object, head_text, iter_json_array, iter_lines
from consona.formats.base import DIALOGUE_FORMATS
from consona.io import atomic_write
from consona.types import Dialogue, Fact, Persona, Turn

SELF = "self"
PARTNER = "partner"
SILENCE = "__SILENCE__"
_LINE = re.compile(r"^(\d+) (.*)$", re.DOTALL)
_SELF_P = "your persona:"
_PARTNER_P = "partner's persona:"


def _persona(name: str, facts: list[str]) -> Persona:
    return Persona(name=name, facts=[Fact(text=f, speaker=name) for f in facts])


def self_and_partner(d: Dialogue, *, path: Path) -> tuple[str, str | None]:
    """Which speaker is ``self`` (the persona side) and which is ``partner``."""
    speakers = d.speakers()
    if len(speakers) > 2:
        raise FormatError(
            f"dialogue {d.id!r} has {len(speakers)} speakers ({', '.join(speakers)}); "
            "PersonaChat formats hold two",
            path=path,
            hint="convert to jsonl or chatlog instead",
        )
    if SELF in speakers:
        others = [s for s in speakers if s != SELF]
        return SELF, (others[0] if others else None)
    if len(speakers) == 2:
        return speakers[1], speakers[0]
    if len(speakers) == 1:
        return speakers[0], None
    return SELF, None


def pairs(d: Dialogue, self_name: str) -> Iterator[tuple[str | None, Turn | None]]:
    """Group turns into (partner text, self turn) pairs. A self turn with no partner turn
    before it gets ``__SILENCE__``; a partner turn with no answer gets ``None``."""
    pending: str | None = None
    for t in d.turns:
        if t.speaker == self_name:
            yield (pending if pending is not None else SILENCE), t
            pending = None
        else:
            if pending is not None:
                yield pending, None
            pending = t.text
    if pending is not None:
        yield pending, None


def _escape(text: str) -> str:
    return text.replace("\t", " ").replace("\r\n", "\n").replace("\n", "\\n")


def _unescape(text: str) -> str:
    return text.replace("\\n", "\n")


class ParlAIFormat:
    """PersonaChat / ConvAI2 ParlAI text (all self/other/both/none, original/revised,
    ``_no_cands`` and with-candidates variants).

    >>> ParlAIFormat().name
    'parlai'
    """

    name: str = "parlai"
    extensions: tuple[str, ...] = (".txt",)
    can_write: bool = True

    def sniff(self, path: Path, head: bytes) -> bool:
        lines = [ln for ln in head_text(head).split("\n")[:5] if ln.strip()]
        return (
            bool(lines)
            and lines[0].startswith("1 ")
            and all(_LINE.match(ln) for ln in lines[:-1] or lines)
        )

    def read(self, path: Path) -> Iterator[Dialogue]:
        state = _Episode(path, 0, 1)
        count = 0
        for n, text in iter_lines(path):
            if not text.strip():
                continue
            m = _LINE.match(text)
            if not m:
                raise FormatError(
                    "broken ParlAI line: expected '<number> <text>' (e.g. '1 your persona: ...'"
                    " or '3 partner text<TAB>self reply')",
                    path=path,
                    line=n,
                )
            num, content = int(m.group(1)), m.group(2)
            if num == 1 and not state.empty():
                yield state.build()
                count += 1
                state = _Episode(path, count, n)
            state.add(n, content)
        if not state.empty():
            yield state.build()

    def write(self, dialogues: Iterable[Dialogue], path: Path) -> int:
        count = 0
        with atomic_write(path) as f:
            for d in dialogues:
                self_name, partner = self_and_partner(d, path=path)
                lines: list[str] = []
                for fact in d.persona_of(self_name).facts if self_name in d.personas else []:
                    lines.append(f"{_SELF_P} {_escape(fact.text)}")
                if partner is not None and partner in d.personas:
                    for fact in d.personas[partner].facts:
                        lines.append(f"{_PARTNER_P} {_escape(fact.text)}")
                for text, turn in pairs(d, self_name):
                    fields = [_escape(text or "")]
                    if turn is not None:
                        fields.append(_escape(turn.text))
                        cands = turn.meta.get("candidates")
                        reward = turn.meta.get("reward")
                        if cands or reward is not None:
                            fields.append("" if reward is None else str(reward))
                            fields.append("|".join(_escape(str(c)) for c in cands or []))
                    lines.append("\t".join(fields))
                if not lines:
                    lines.append(SILENCE)  # keep an empty dialogue as an episode
                for i, line in enumerate(lines, start=1):
                    f.write(f"{i} {line}\n")
                count += 1
        return count


class _Episode:
    def __init__(self, path: Path, index: int, line: int) -> None:
        self.path = path
        self.index = index
        self.line = line
        self.self_facts: list[str] = []
        self.partner_facts: list[str] = []
        self.turns: list[Turn] = []
        self.started = False

    def empty(self) -> bool:
        return not self.started

    def add(self, n: int, content: str) -> None:
        self.started = True
        if content.startswith(_SELF_P):
            self.self_facts.append(content[len(_SELF_P) :].strip())
            return
        if content.startswith(_PARTNER_P):
            self.partner_facts.append(content[len(_PARTNER_P) :].strip())
            return
        fields = content.split("\t")
        if len(fields) > 4:
            raise FormatError(
                f"broken ParlAI line: {len(fields)} tab-separated fields, expected at most 4 "
                "(text, label, reward, candidates)",
                path=self.path,
                line=n,
            )
        text = _unescape(fields[0])
        if text and text != SILENCE:
            self.turns.append(Turn(speaker=PARTNER, text=text))
        if len(fields) >= 2:
            meta: dict[str, Any] = {}
            if len(fields) >= 3 and fields[2].strip():
                reward = fields[2].strip()
                try:
                    meta["reward"] = float(reward)
                except ValueError:
                    meta["reward"] = reward
            if len(fields) == 4 and fields[3]:
                meta["candidates"] = [_unescape(c) for c in fields[3].split("|")]
            self.turns.append(Turn(speaker=SELF, text=_unescape(fields[1]), meta=meta))

    def build(self) -> Dialogue:
        personas = {}
        if self.partner_facts:
            personas[PARTNER] = _persona(PARTNER, self.partner_facts)
        if self.self_facts:
            personas[SELF] = _persona(SELF, self.self_facts)
        try:
            return Dialogue(
                id=f"{self.path.stem}-{self.index}", turns=self.turns, personas=personas
            )
        except DataValidationError as exc:
            raise data_error(self.path, self.line, exc) from None


class PersonaChatJsonFormat:
    """PersonaChat JSON: a top-level array of ``{"persona": [...], "turns": [{"text",
    "label", ...}]}`` (valid_dialogs.json) or Xpersona's ``{"persona": [...], "dialogue":
    [[partner, self], ...]}``. ``persona`` is the self speaker's. Items are streamed one at
    a time from the array (constant memory). Extra turn keys (``entailed_persona_idx``,
    ``candidates``...) go to the self turn's meta.

    >>> PersonaChatJsonFormat().name
    'personachat-json'
    """

    name: str = "personachat-json"
    extensions: tuple[str, ...] = (".json",)
    can_write: bool = True

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head_text(head).lstrip()
        return (
            text.startswith("[")
            and '"persona"' in text[:4096]
            and ('"turns"' in text or '"dialogue"' in text)
        )

    def read(self, path: Path) -> Iterator[Dialogue]:
        for i, (line, item) in enumerate(iter_json_array(path)):
            obj = expect_object(path, line, item, "PersonaChat dialogue object")
            try:
                yield self._dialogue(path, i, line, obj)
            except DataValidationError as exc:
                raise data_error(path, line, exc) from None

    def _dialogue(self, path: Path, i: int, line: int, obj: dict[str, Any]) -> Dialogue:
        turns: list[Turn] = []
        if "turns" in obj:
            raw = obj["turns"]
            if not isinstance(raw, list):
                raise FormatError("'turns' must be a list", path=path, line=line)
            for t in raw:
                t = expect_object(path, line, t, "turn object with 'text' and 'label'")
                text, label = t.get("text"), t.get("label")
                if not isinstance(text, str) or not isinstance(label, str):
                    raise FormatError(
                        "each turn needs string 'text' (partner) and 'label' (self)",
                        path=path,
                        line=line,
                    )
                if text and text != SILENCE:
                    turns.append(Turn(speaker=PARTNER, text=text))
                meta = {k: v for k, v in t.items() if k not in ("text", "label")}
                if label or meta:  # an empty label: the partner's turn had no reply
                    turns.append(Turn(speaker=SELF, text=label, meta=meta))
        elif "dialogue" in obj:
            for pair in obj["dialogue"] or []:
                if not isinstance(pair, list) or not 1 <= len(pair) <= 2:
                    raise FormatError(
                        "each 'dialogue' entry must be [partner text, self text]",
                        path=path,
                        line=line,
                    )
                if pair[0] and pair[0] != SILENCE:
                    turns.append(Turn(speaker=PARTNER, text=str(pair[0])))
                if len(pair) == 2:
                    turns.append(Turn(speaker=SELF, text=str(pair[1])))
        else:
            raise FormatError(
                "a PersonaChat dialogue needs 'turns' or 'dialogue'", path=path, line=line
            )
        personas = {}
        facts = obj.get("persona") or []
        if not isinstance(facts, list):
            raise FormatError("'persona' must be a list of strings", path=path, line=line)
        partner_facts = obj.get("partner_persona") or []
        if partner_facts:
            personas[PARTNER] = _persona(PARTNER, [str(x) for x in partner_facts])
        if facts:
            personas[SELF] = _persona(SELF, [str(x) for x in facts])
        did = str(obj.get("id", f"{path.stem}-{i}"))
        return Dialogue(id=did, turns=turns, personas=personas)

    def write(self, dialogues: Iterable[Dialogue], path: Path) -> int:
        count = 0
        with atomic_write(path) as f:
            f.write("[")
            for d in dialogues:
                self_name, partner = self_and_partner(d, path=path)
                obj: dict[str, Any] = {"id": d.id}
                if self_name in d.personas:
                    obj["persona"] = d.personas[self_name].fact_texts()
                else:
                    obj["persona"] = []
                if partner is not None and partner in d.personas:
                    obj["partner_persona"] = d.personas[partner].fact_texts()
                obj["turns"] = [
                    {
                        "text": text or "",
                        "label": turn.text if turn else "",
                        **(turn.meta if turn else {}),
                    }
                    for text, turn in pairs(d, self_name)
                ]
                f.write(("\n" if count == 0 else ",\n") + json.dumps(obj, ensure_ascii=False))
                count += 1
            f.write("\n]\n")
        return count


DIALOGUE_FORMATS.register("parlai", ParlAIFormat)
DIALOGUE_FORMATS.register("personachat-json", PersonaChatJsonFormat)
