"""Persona files: ``persona-json`` (``Persona.to_dict()`` as one JSON object, lossless) and
``persona-txt`` (one fact per line; an optional ``# name: NAME`` header; other ``#`` lines
are comments; a ParlAI ``your persona:`` prefix is dropped).

Character cards (V1/V2/V3 JSON, PNG, CHARX) live in cards.py; a card JSON has a ``spec``
key or card fields without ``facts``, which is how ``persona-json`` tells them apart.

>>> import tempfile, pathlib
>>> from consona.types import Persona
>>> p = pathlib.Path(tempfile.mkdtemp()) / "kai.txt"
>>> PersonaTxtFormat().write_persona(Persona(name="Kai", facts=["I surf."]), p)
>>> print(p.read_text(), end="")
# name: Kai
I surf.
>>> PersonaTxtFormat().read_persona(p).name
'Kai'
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from consona.errors import DataValidationError, FormatError
from consona.formats._util import check_readable, head_text, iter_lines
from consona.formats.base import PERSONA_FORMATS
from consona.io import atomic_write
from consona.types import Fact, Persona

_FIRST_KEY = re.compile(r'^\{\s*"(\w+)"\s*:')
_NAME = re.compile(r"^#\s*name\s*:\s*(.*)$", re.IGNORECASE)
_PREFIXES = ("your persona:", "partner's persona:")
_CARD_KEYS = ("first_mes", "mes_example", "spec", "spec_version", "data")


class PersonaJsonFormat:
    """A persona as JSON: ``{"name": ..., "facts": [{"text": ...}], ...card fields}``.

    >>> PersonaJsonFormat().name
    'persona-json'
    """

    name: str = "persona-json"
    extensions: tuple[str, ...] = (".json",)
    can_write: bool = True

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head_text(head).lstrip()
        if not text.startswith("{"):
            return False
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:  # longer than the head: look at the first key
            m = _FIRST_KEY.match(text)
            return m is not None and m.group(1) in ("name", "facts")
        if not isinstance(obj, dict) or any(k in obj for k in ("spec", "turns", "messages")):
            return False
        if "facts" in obj:
            return isinstance(obj["facts"], list)
        return isinstance(obj.get("name"), str) and not any(k in obj for k in _CARD_KEYS)

    def read_persona(self, path: Path) -> Persona:
        check_readable(path)
        try:
            data = path.read_bytes()
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormatError(
                "not valid UTF-8 text",
                path=path,
                line=data[: exc.start].count(b"\n") + 1,
                hint="convert the file to UTF-8",
            ) from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            msg = exc.msg
            if exc.pos >= len(text.rstrip()):
                msg += " — the file ends in the middle of a value (truncated?)"
            raise FormatError(f"invalid JSON: {msg}", path=path, line=exc.lineno) from None
        if not isinstance(obj, dict):
            raise FormatError(
                f"a persona must be a JSON object, got {type(obj).__name__}", path=path, line=1
            )
        try:
            return Persona.from_dict(_without_local_source(obj))
        except DataValidationError as exc:
            raise FormatError(exc.message, path=path) from None

    def write_persona(self, persona: Persona, path: Path) -> None:
        with atomic_write(path) as f:
            f.write(json.dumps(persona.to_dict(), ensure_ascii=False, indent=2) + "\n")


def _without_local_source(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without ``_card.source``: older versions recorded there the local path of
    the card a persona came from, which must not be copied into new files."""
    rec = obj.get("_card")
    if isinstance(rec, dict) and "source" in rec:
        return {**obj, "_card": {k: v for k, v in rec.items() if k != "source"}}
    return obj


class PersonaTxtFormat:
    """One persona fact per line.

    >>> PersonaTxtFormat().extensions
    ('.txt',)
    """

    name: str = "persona-txt"
    extensions: tuple[str, ...] = (".txt",)
    can_write: bool = True

    def sniff(self, path: Path, head: bytes) -> bool:
        if path.stat().st_size > 64 * 1024:  # a persona is a short file
            return False
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError:
            return False
        if any(ord(c) < 32 and c not in "\t\r\n" for c in text):
            return False
        lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
        if not lines or lines[0][0] in "{[":  # JSON-like: never a fact list
            return False
        body = [ln for ln in lines if not ln.startswith("#")]
        return all(len(ln) < 300 and "\t" not in ln for ln in body[:20])

    def read_persona(self, path: Path) -> Persona:
        name = ""
        facts: list[Fact] = []
        for n, line in iter_lines(path):
            stripped = line.strip()
            if not stripped:
                continue
            if stripped.startswith("#"):
                m = _NAME.match(stripped)
                if m and not facts:
                    name = m.group(1).strip()
                continue
            for prefix in _PREFIXES:
                if stripped.lower().startswith(prefix):
                    stripped = stripped[len(prefix) :].strip()
            if stripped:
                try:
                    facts.append(Fact(text=stripped))
                except DataValidationError as exc:
                    raise FormatError(exc.message, path=path, line=n) from None
        return Persona(name=name, facts=facts)

    def write_persona(self, persona: Persona, path: Path) -> None:
        with atomic_write(path) as f:
            if persona.name:
                f.write(f"# name: {persona.name}\n")
            for fact in persona.facts:
                f.write(" ".join(fact.text.split()) + "\n")


PERSONA_FORMATS.register("persona-json", PersonaJsonFormat)
PERSONA_FORMATS.register("persona-txt", PersonaTxtFormat)
