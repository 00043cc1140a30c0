"""The public format API: detect a file's format, read and write dialogues and personas.

>>> import tempfile, pathlib
>>> from consona.types import Dialogue, Turn
>>> out = pathlib.Path(tempfile.mkdtemp()) / "chat.jsonl"
>>> write_dialogues([Dialogue(id="d", turns=[Turn(speaker="a", text="hi")])], out)
1
>>> detect_format(out)
('dialogue', 'jsonl')
>>> [d.id for d in read_dialogues(out)]
['d']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from consona.errors import FormatError, UnknownNameError
from consona.formats.base import DIALOGUE_FORMATS, PERSONA_FORMATS, DialogueFormat, PersonaFormat
from consona.formats.chitchat import is_chitchat_spec
from consona.types import Dialogue, Persona

Kind = Literal["dialogue", "persona"]
_HEAD = 1 << 16

# Sniffing order: specific layouts first, catch-alls last. Formats not listed here (the
# character cards) are tried first: their sniffers look for a card marker.
_SNIFF_ORDER = (
    "jsonl",
    "msc",
    "messages",
    "sharegpt",
    "personachat-json",
    "synthetic-persona-chat",
    "chitchat",
    "parlai",
    "persona-json",
    "chatlog",
    "persona-txt",
)
# Default writer per output extension (others: the first writable format with the suffix).
_DEFAULT_WRITERS: dict[str, dict[str, str]] = {
    "dialogue": {
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "personachat-json",
        ".txt": "parlai",
        ".csv": "synthetic-persona-chat",
        ".log": "chatlog",
        ".chat": "chatlog",
    },
    "persona": {".json": "persona-json", ".txt": "persona-txt"},
}


def format_names(kind: Kind | None = None) -> list[str]:
    """Registered format names (of one kind, or all)."""
    names: list[str] = []
    if kind in (None, "dialogue"):
        names += DIALOGUE_FORMATS.names()
    if kind in (None, "persona"):
        names += PERSONA_FORMATS.names()
    return names


def format_kind(name: str) -> Kind:
    """``"dialogue"`` or ``"persona"``; UnknownNameError listing every format otherwise."""
    if name in DIALOGUE_FORMATS:
        return "dialogue"
    if name in PERSONA_FORMATS:
        return "persona"
    raise UnknownNameError("format", name, format_names())


def get_format(name: str) -> DialogueFormat | PersonaFormat:
    if format_kind(name) == "dialogue":
        return DIALOGUE_FORMATS.create(name)
    return PERSONA_FORMATS.create(name)


def _ordered() -> list[tuple[Kind, str]]:
    entries: list[tuple[Kind, str]] = [("dialogue", n) for n in DIALOGUE_FORMATS.names()]
    entries += [("persona", n) for n in PERSONA_FORMATS.names()]
    rank = {n: i for i, n in enumerate(_SNIFF_ORDER)}
    return sorted(entries, key=lambda e: rank.get(e[1], -1))


def detect_format(path: str | Path) -> tuple[Kind, str]:
    """``(kind, name)`` of an input file: candidates by extension, confirmed by sniffing the
    content; when none fits, every format is sniffed. ``chitchat:`` / ``chitchat:N`` is the
    installed chitchat corpus."""
    if is_chitchat_spec(path):
        return "dialogue", "chitchat"
    path = Path(path)
    from consona.formats._util import check_readable

    check_readable(path)
    with open(path, "rb") as f:
        head = f.read(_HEAD)
    suffix = path.suffix.lower()
    entries = _ordered()
    by_ext = [e for e in entries if suffix and suffix in _fmt(e).extensions]
    rest = [e for e in entries if e not in by_ext]
    for kind, name in by_ext + rest:
        if _fmt((kind, name)).sniff(path, head):
            return kind, name
    if suffix == ".json":
        _raise_json_error(path)
    raise FormatError(
        "cannot tell the format of this file",
        path=path,
        hint="pass the format by name (--from NAME); formats: " + ", ".join(format_names()),
    )


def _raise_json_error(path: Path) -> None:
    """A ``.json`` file no format accepts: name the JSON syntax error when there is one."""
    if path.stat().st_size > 64 * 1024 * 1024:
        return
    import json

    try:
        json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason})", path=path) from None
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"invalid JSON: {exc.msg} (column {exc.colno})",
            path=path,
            line=exc.lineno,
            hint="fix the JSON (truncated file?) or pass --from NAME",
        ) from None


def _fmt(entry: tuple[Kind, str]) -> DialogueFormat | PersonaFormat:
    kind, name = entry
    return DIALOGUE_FORMATS.create(name) if kind == "dialogue" else PERSONA_FORMATS.create(name)


def output_format(path: str | Path, *, kind: Kind | None = None) -> tuple[Kind, str]:
    """The writer for an output path, from its extension (``kind`` first when given)."""
    path = Path(path)
    suffix = path.suffix.lower()
    both: list[Kind] = ["dialogue", "persona"]
    kinds: list[Kind] = [kind] if kind else []
    kinds += [k for k in both if k not in kinds]
    for k in kinds:
        default = _DEFAULT_WRITERS[k].get(suffix)
        if default and default in (DIALOGUE_FORMATS if k == "dialogue" else PERSONA_FORMATS):
            return k, default
        for e in _ordered():
            if e[0] == k and suffix and suffix in _fmt(e).extensions and _fmt(e).can_write:
                return e
    writable = [n for n in format_names() if get_format(n).can_write]
    raise FormatError(
        f"no format writes {suffix or 'files without an extension'}",
        path=path,
        hint="pass the format by name (--to NAME); writable formats: " + ", ".join(writable),
    )


def _require_writable(fmt: DialogueFormat | PersonaFormat, path: Path) -> None:
    if not fmt.can_write:
        writable = [n for n in format_names() if get_format(n).can_write]
        raise FormatError(
            f"the {fmt.name} format is read-only",
            path=path,
            hint="write one of: " + ", ".join(writable),
        )


def read_dialogues(path: str | Path, *, fmt: str | None = None) -> Iterator[Dialogue]:
    """Stream the dialogues of a file. A persona file reads as one dialogue with no turns
    (so a card converts to jsonl and back). The format is resolved (and a bad name or an
    unreadable file reported) at the call, before iteration starts. ``fmt="auto"`` is the
    same as ``None``."""
    fmt = None if fmt == "auto" else fmt
    kind, name = (format_kind(fmt), fmt) if fmt else detect_format(path)
    if kind == "persona":
        persona = read_persona(path, fmt=name)
        speaker = persona.name or "self"
        return iter([Dialogue(id=persona.name or Path(path).stem, personas={speaker: persona})])
    reader = DIALOGUE_FORMATS.create(name)
    return reader.read(path if is_chitchat_spec(path) else Path(path))  # type: ignore[arg-type]


def write_dialogues(
    dialogues: Iterable[Dialogue], path: str | Path, *, fmt: str | None = None
) -> int:
    """Write dialogues atomically (nothing is left behind on failure); returns the count.
    A persona format takes exactly one dialogue with one persona and no turns."""
    path = Path(path)
    kind, name = (format_kind(fmt), fmt) if fmt else output_format(path, kind="dialogue")
    if kind == "persona":
        write_persona(persona_of_dialogues(dialogues, path=path), path, fmt=name)
        return 1
    writer = DIALOGUE_FORMATS.create(name)
    _require_writable(writer, path)
    return writer.write(dialogues, path)


def persona_of_dialogues(dialogues: Iterable[Dialogue], *, path: Path | None = None) -> Persona:
    """The persona held by a single turnless, single-persona dialogue (what a persona file
    becomes when read as dialogues); FormatError for anything else."""
    it = iter(dialogues)
    first = next(it, None)
    extra = next(it, None)
    if first is None or extra is not None or first.turns or len(first.personas) != 1:
        raise FormatError(
            "a dialogue file is not a persona (a persona needs exactly one dialogue with one "
            "persona and no turns)",
            path=path,
            hint="write a dialogue format (e.g. .jsonl), or read a persona file",
        )
    return next(iter(first.personas.values()))


def read_persona(path: str | Path, *, fmt: str | None = None) -> Persona:
    """Read one persona (persona JSON/TXT, or a character card when cards are installed)."""
    path = Path(path)
    kind, name = (format_kind(fmt), fmt) if fmt else detect_format(path)
    if kind == "dialogue":
        return persona_of_dialogues(DIALOGUE_FORMATS.create(name).read(path), path=path)
    return PERSONA_FORMATS.create(name).read_persona(path)


def write_persona(persona: Persona, path: str | Path, *, fmt: str | None = None) -> None:
    """Write one persona atomically; the format comes from ``fmt`` or the extension."""
    path = Path(path)
    kind, name = (format_kind(fmt), fmt) if fmt else output_format(path, kind="persona")
    if kind == "dialogue":
        speaker = persona.name or "self"
        write_dialogues(
            [Dialogue(id=persona.name or path.stem, personas={speaker: persona})], path, fmt=name
        )
        return
    writer = PERSONA_FORMATS.create(name)
    _require_writable(writer, path)
    writer.write_persona(persona, path)
