"""Chat messages JSONL (``{"messages": [{"role", "content"}]}``, the layout of OpenAI
fine-tuning files and TRL's conversational datasets) and the ShareGPT export
(``{"conversations": [{"from": "human"|"gpt"|"system", "value"}]}``).

A dialogue's first speaker becomes ``user`` and the second ``assistant`` (a speaker named
``user`` / ``assistant`` keeps its role; the ParlAI ``self`` speaker is the assistant).
The system message is the assistant's persona rendered by :func:`render_persona`;
the reader parses it back (name and facts) with :func:`parse_persona`. Each message also
carries ``name`` (the original speaker) when it differs from the role, and each line the
dialogue ``id``, so a round trip keeps speakers and ids. More than two speakers: the
extra ones are ``user`` messages with their ``name``.

>>> from consona.types import Persona
>>> text = render_persona(Persona(name="Kai", facts=["I surf."]))
>>> print(text)
You are Kai.
Your persona:
- I surf.
>>> parse_persona(text).fact_texts()
['I surf.']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from consona.errors import DataValidationError, FormatError
from consona.formats._util import (
    check_readable,
    data_error,
    expect_object,
    first_line_keys,
    head_text,
    iter_json_array,
    iter_lines,
    parse_json_line,
)
from consona.formats.base import DIALOGUE_FORMATS
from consona.io import atomic_write
from consona.types import Dialogue, Persona, Turn

_PERSONA_HEADER = "Your persona:"


def render_persona(persona: Persona) -> str:
    """The system message for a persona: name, card description/personality/scenario and
    the facts as a bullet list."""
    lines = []
    if persona.name:
        lines.append(f"You are {persona.name}.")
    for field in ("description", "personality", "scenario"):
        value = getattr(persona, field)
        if value:
            lines.append(value.strip())
    if persona.facts:
        lines.append(_PERSONA_HEADER)
        lines.extend(f"- {f.text}" for f in persona.facts)
    return "\n".join(lines)


def parse_persona(text: str, *, name: str = "") -> Persona:
    """Read back a system message written by :func:`render_persona`. Text that is not the
    name line or a fact bullet becomes the persona's description."""
    facts: list[str] = []
    other: list[str] = []
    in_facts = False
    for line in text.splitlines():
        stripped = line.strip()
        if (
            not name
            and not facts
            and not other
            and stripped.startswith("You are ")
            and stripped.endswith(".")
        ):
            name = stripped[len("You are ") : -1]
        elif stripped == _PERSONA_HEADER:
            in_facts = True
        elif in_facts and stripped.startswith("- "):
            facts.append(stripped[2:])
        elif stripped:
            in_facts = False
            other.append(line)
    return Persona(name=name, facts=facts, description="\n".join(other) or None)


def _roles(d: Dialogue) -> dict[str, str]:
    speakers = d.speakers()
    others = [s for s in speakers if s != "user"]
    if "assistant" in speakers:
        bot = "assistant"
    elif "self" in speakers:
        bot = "self"
    elif "user" in speakers:
        bot = others[0] if others else ""
    else:
        bot = speakers[1] if len(speakers) >= 2 else ""
    return {s: "assistant" if s == bot else "user" for s in speakers}


class _ChatJsonl:
    name: str = ""
    extensions: tuple[str, ...] = (".jsonl", ".json")
    can_write: bool = True
    key = ""
    role_key = ""
    text_key = ""
    to_role: ClassVar[dict[str, str]] = {}
    from_role: ClassVar[dict[str, str]] = {}

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head_text(head).lstrip()
        if text.startswith("["):
            return f'"{self.key}"' in text[:200]
        keys = first_line_keys(head)
        return keys is not None and self.key in keys

    def read(self, path: Path) -> Iterator[Dialogue]:
        for index, (n, obj) in enumerate(self._records(path)):
            obj = expect_object(path, n, obj)
            msgs = obj.get(self.key)
            if not isinstance(msgs, list):
                raise FormatError(f"expected a {self.key!r} list", path=path, line=n)
            try:
                yield self._dialogue(path, n, index, obj, msgs)
            except DataValidationError as exc:
                raise data_error(path, n, exc) from None

    def _records(self, path: Path) -> Iterator[tuple[int, Any]]:
        """JSONL lines, or the items of a top-level JSON array (streamed)."""
        check_readable(path)
        with open(path, "rb") as f:
            first = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
        if first == b"[":
            yield from iter_json_array(path)
            return
        for n, text in iter_lines(path):
            if text.strip():
                yield n, parse_json_line(path, n, text)

    def _dialogue(
        self, path: Path, n: int, index: int, obj: dict[str, Any], msgs: list[Any]
    ) -> Dialogue:
        turns: list[Turn] = []
        systems: list[str] = []
        for m in msgs:
            m = expect_object(path, n, m, "message object")
            role, content = m.get(self.role_key), m.get(self.text_key)
            if not isinstance(role, str) or not isinstance(content, str):
                raise FormatError(
                    f"each message needs string {self.role_key!r} and {self.text_key!r}",
                    path=path,
                    line=n,
                )
            role = self.from_role.get(role, role)
            if role == "system":
                systems.append(content)
                continue
            speaker = m.get("name") or role
            tmeta = {k: v for k, v in m.items() if k not in (self.role_key, self.text_key, "name")}
            turns.append(Turn(speaker=str(speaker), text=content, meta=tmeta))
        d = Dialogue(id=str(obj.get("id", f"{path.stem}-{index}")), turns=turns)
        personas: dict[str, Persona] = {}
        meta: dict[str, Any] = {}
        if systems:
            bot = next((s for s, r in _roles(d).items() if r == "assistant"), "assistant")
            persona = parse_persona("\n\n".join(systems))
            personas[bot] = persona if persona.name else persona.model_copy(update={"name": bot})
        extra = {k: v for k, v in obj.items() if k not in (self.key, "id")}
        meta.update(extra)
        return Dialogue(id=d.id, turns=turns, personas=personas, meta=meta)

    def write(self, dialogues: Iterable[Dialogue], path: Path) -> int:
        """One JSON object per line; a ``.json`` path gets one JSON array instead."""
        count = 0
        array = path.suffix.lower() == ".json"
        with atomic_write(path) as f:
            if array:
                f.write("[")
            for d in dialogues:
                roles = _roles(d)
                msgs: list[dict[str, Any]] = []
                bot = next((s for s, r in roles.items() if r == "assistant"), None)
                if bot is not None and bot in d.personas:
                    msgs.append(
                        {
                            self.role_key: self.to_role["system"],
                            self.text_key: render_persona(d.personas[bot]),
                        }
                    )
                for t in d.turns:
                    role = roles[t.speaker]
                    msg: dict[str, Any] = {self.role_key: self.to_role[role], self.text_key: t.text}
                    if t.speaker != role:
                        msg["name"] = t.speaker
                    msgs.append(msg)
                line = json.dumps({"id": d.id, self.key: msgs}, ensure_ascii=False)
                if array:
                    f.write(("\n" if count == 0 else ",\n") + line)
                else:
                    f.write(line + "\n")
                count += 1
            if array:
                f.write("\n]\n")
        return count


class MessagesFormat(_ChatJsonl):
    """Chat messages JSONL: ``{"id", "messages": [{"role", "content", "name"?}]}``.

    >>> MessagesFormat().name
    'messages'
    """

    name: str = "messages"
    key = "messages"
    role_key = "role"
    text_key = "content"
    to_role: ClassVar[dict[str, str]] = {
        "system": "system",
        "user": "user",
        "assistant": "assistant",
    }
    from_role: ClassVar[dict[str, str]] = {}


class ShareGPTFormat(_ChatJsonl):
    """ShareGPT export: ``{"id", "conversations": [{"from": "human"|"gpt"|"system",
    "value"}]}``, one conversation per line, or a ``.json`` array of them (streamed).

    >>> ShareGPTFormat().to_role["assistant"]
    'gpt'
    """

    name: str = "sharegpt"
    key = "conversations"
    role_key = "from"
    text_key = "value"
    to_role: ClassVar[dict[str, str]] = {"system": "system", "user": "human", "assistant": "gpt"}
    from_role: ClassVar[dict[str, str]] = {
        "human": "user",
        "gpt": "assistant",
        "system": "system",
        "user": "user",
        "assistant": "assistant",
        "chatgpt": "assistant",
        "bing": "assistant",
        "bard": "assistant",
        "model": "assistant",
    }


DIALOGUE_FORMATS.register("messages", MessagesFormat)
DIALOGUE_FORMATS.register("sharegpt", ShareGPTFormat)
