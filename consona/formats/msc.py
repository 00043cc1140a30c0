"""Multi-Session Chat (MSC) JSONL, read only. Two layouts, told apart per line:

* ``msc_personasummary``: ``{"dialog": [{"id": "bot_0", "text", "persona_text"?, ...}],
  "init_personachat": {"init_personas": [[...], [...]]}, "initial_data_id", ...}``.
  Each utterance's ``persona_text`` goes into the turn's meta and, split into sentences,
  into the speaker's persona facts (``Fact.source_turn`` = the turn index).
* ``msc_dialogue``: ``{"personas": [[speaker 1 facts], [speaker 2 facts]], "dialog":
  [{"id": "Speaker 1", "text"}], "metadata": {...}, "previous_dialogs": [...],
  "init_personas": [...]}``. The summaries become the speakers' persona facts; metadata,
  previous sessions and the initial PersonaChat personas are kept in the dialogue meta.

>>> import json, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "valid.txt"
>>> line = {"dialog": [{"id": "bot_0", "text": "I love tea!", "persona_text": "I love tea."}]}
>>> _ = p.write_text(json.dumps(line) + "\\n")
>>> d = next(MscFormat().read(p))
>>> d.personas["bot_0"].fact_texts(), d.turns[0].meta["persona_text"]
(['I love tea.'], 'I love tea.')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from consona.errors import DataValidationError, FormatError
from consona.formats._util import (
    data_error,
    expect_object,
    first_line_keys,
    iter_lines,
    parse_json_line,
    split_sentences,
)
from consona.formats.base import DIALOGUE_FORMATS
from consona.types import Dialogue, Fact, Persona, Turn

_SESSION = re.compile(r"session_(\d+)")
# keys of a personasummary utterance that are redundant or dialogue-level
_DROP_TURN_KEYS = {"id", "text", "persona_text", "problem_data", "agg_persona_list", "convai2_id"}


class MscFormat:
    """MSC persona-summary and msc_dialogue JSONL (one episode per line).

    >>> MscFormat().can_write
    False
    """

    name: str = "msc"
    extensions: tuple[str, ...] = (".jsonl", ".txt")
    can_write: bool = False

    def sniff(self, path: Path, head: bytes) -> bool:
        keys = first_line_keys(head)
        return keys is not None and (
            (
                "dialog" in keys
                and (
                    "personas" in keys
                    or "init_personachat" in keys
                    or "initial_data_id" in keys
                    or len(keys) == 1
                )
            )
            or keys == {"personas"}
        )

    def read(self, path: Path) -> Iterator[Dialogue]:
        m = _SESSION.search(str(path.parent.name)) or _SESSION.search(path.stem)
        session = int(m.group(1)) if m else None
        index = 0
        for n, text in iter_lines(path):
            if not text.strip():
                continue
            obj = expect_object(path, n, parse_json_line(path, n, text), "MSC episode object")
            dialog = obj.get("dialog")
            if not isinstance(dialog, list):
                raise FormatError("an MSC episode needs a 'dialog' list", path=path, line=n)
            try:
                if "personas" in obj:
                    yield _from_dialogue(path, n, index, obj, session)
                else:
                    yield _from_summary(path, n, index, obj, session)
            except DataValidationError as exc:
                raise data_error(path, n, exc) from None
            index += 1

    def write(self, dialogues: Iterable[Dialogue], path: Path) -> int:
        raise FormatError("msc is read-only", path=path, hint="write jsonl instead")


def _turn(path: Path, n: int, u: Any) -> tuple[str, str, dict[str, Any]]:
    u = expect_object(path, n, u, "utterance object")
    speaker, text = u.get("id"), u.get("text")
    if not isinstance(speaker, str) or not isinstance(text, str):
        raise FormatError("each utterance needs string 'id' and 'text'", path=path, line=n)
    return speaker, text, u


def _id(path: Path, index: int, obj: dict[str, Any], session: int | None) -> str:
    base = obj.get("initial_data_id") or (obj.get("metadata") or {}).get("initial_data_id")
    if not base:
        return f"{path.stem}-{index}"
    return f"{base}-s{session}" if session is not None else str(base)


def _from_summary(
    path: Path, n: int, index: int, obj: dict[str, Any], session: int | None
) -> Dialogue:
    turns: list[Turn] = []
    facts: dict[str, list[Fact]] = {}
    seen: dict[str, set[str]] = {}
    convai2_id = None
    for i, u in enumerate(obj["dialog"]):
        speaker, text, raw = _turn(path, n, u)
        convai2_id = convai2_id or raw.get("convai2_id")
        tmeta = {k: v for k, v in raw.items() if k not in _DROP_TURN_KEYS}
        ptext = raw.get("persona_text")
        if isinstance(ptext, str) and ptext.strip():
            tmeta["persona_text"] = ptext
            for sent in split_sentences(ptext):
                if sent.lower() not in seen.setdefault(speaker, set()):
                    seen[speaker].add(sent.lower())
                    facts.setdefault(speaker, []).append(
                        Fact(text=sent, speaker=speaker, source_turn=i)
                    )
        facts.setdefault(speaker, [])
        turns.append(Turn(speaker=speaker, text=text, meta=tmeta))
    personas = {s: Persona(name=s, facts=f) for s, f in facts.items() if f}
    meta: dict[str, Any] = {"source": "msc_personasummary"}
    if session is not None:
        meta["session"] = session
    for key in ("initial_data_id", "followup", "newfact"):
        if key in obj:
            meta[key] = obj[key]
    if convai2_id:
        meta["convai2_id"] = convai2_id
    init = (obj.get("init_personachat") or {}).get("init_personas")
    if init:
        meta["init_personas"] = _by_speaker(init, ["bot_0", "bot_1"])
    return Dialogue(id=_id(path, index, obj, session), turns=turns, personas=personas, meta=meta)


def _by_speaker(lists: list[Any], names: list[str]) -> dict[str, Any]:
    return {names[i] if i < len(names) else f"speaker_{i}": v for i, v in enumerate(lists)}


def _from_dialogue(
    path: Path, n: int, index: int, obj: dict[str, Any], session: int | None
) -> Dialogue:
    turns = []
    convai2_id = None
    for u in obj["dialog"]:
        speaker, text, raw = _turn(path, n, u)
        convai2_id = convai2_id or raw.get("convai2_id")
        tmeta = {k: v for k, v in raw.items() if k not in _DROP_TURN_KEYS}
        turns.append(Turn(speaker=speaker, text=text, meta=tmeta))
    names = ["Speaker 1", "Speaker 2"]
    personas = {}
    raw_personas = obj.get("personas") or []
    if not isinstance(raw_personas, list):
        raise FormatError("'personas' must be a list of two lists", path=path, line=n)
    for i, plist in enumerate(raw_personas):
        name = names[i] if i < len(names) else f"Speaker {i + 1}"
        texts = [str(x) for x in plist or [] if str(x).strip()]
        if texts:
            personas[name] = Persona(name=name, facts=[Fact(text=t, speaker=name) for t in texts])
    meta: dict[str, Any] = {"source": "msc_dialogue"}
    md = obj.get("metadata") or {}
    meta.update({k: v for k, v in md.items()})
    if session is not None:
        meta["session"] = session
    if convai2_id:
        meta["convai2_id"] = convai2_id
    if obj.get("init_personas"):
        meta["init_personas"] = _by_speaker(obj["init_personas"], names)
    if obj.get("previous_dialogs"):
        meta["previous_dialogs"] = obj["previous_dialogs"]
    return Dialogue(id=_id(path, index, obj, session), turns=turns, personas=personas, meta=meta)


DIALOGUE_FORMATS.register("msc", MscFormat)
