"""The card persona formats: JSON, PNG and CHARX readers/writers (``PersonaFormat``).

>>> import tempfile, pathlib
>>> from consona.types import Persona
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> CardPNG(spec="v3").write_persona(Persona(name="Ada", facts=["I fix engines."]), d / "a.png")
>>> p = CardPNG().read_persona(d / "a.png")
>>> p.name, p.fact_texts()
('Ada', ['I fix engines.'])
"""

from __future__ import annotations

import json
import re
import weakref
import zipfile
from pathlib import Path
from typing import Any, Literal

from consona.errors import FormatError
from consona.formats._util import check_readable
from consona.formats.cards.charx import embedded_entry, read_charx, write_charx
from consona.formats.cards.mapping import (
    CardSpec,
    card_from_persona,
    card_spec_of,
    is_card,
    persona_from_card,
)
from consona.formats.cards.png import (
    PNG_SIGNATURE,
    read_card_png,
    to_png_bytes,
    write_card_png,
)
from consona.io import atomic_write
from consona.types import Persona

__all__ = [
    "CardJSON",
    "CardPNG",
    "CharX",
    "read_card_json",
    "sniff_card_json",
    "write_card_json",
]

SpecChoice = Literal["auto", "v2", "v3"]
_SPEC_RE = re.compile(r'"spec"\s*:\s*"chara_card_v[23]"')
_KEY_RE = {
    k: re.compile(rf'"{k}"\s*:')
    for k in ("spec", "data", "facts", "name", "first_mes", "description")
}


def _check_spec(spec: str) -> None:
    if spec not in ("auto", "v2", "v3"):
        raise FormatError(f"unknown card spec {spec!r}", hint="use 'auto', 'v2' or 'v3'")


def _resolve(spec: SpecChoice, persona: Persona) -> CardSpec:
    return card_spec_of(persona) if spec == "auto" else spec


# The card file (PNG or CHARX) each persona in memory was read from, kept beside the
# persona and never in it: an export of that persona reuses the file's image and assets,
# while nothing written (persona JSON, dialogues, cards) records a local path.
_ORIGINS: dict[int, tuple[str, Path]] = {}


def _remember_origin(persona: Persona, kind: str, path: str | Path) -> Persona:
    key = id(persona)
    _ORIGINS[key] = (kind, Path(path).resolve())
    weakref.finalize(persona, _ORIGINS.pop, key, None)
    return persona


def _origin(persona: Persona) -> tuple[str, Path] | None:
    """``(kind, path)`` of the PNG/CHARX ``persona`` was read from, while it is still there."""
    origin = _ORIGINS.get(id(persona))
    return origin if origin is not None and origin[1].is_file() else None


def sniff_card_json(head: bytes) -> bool:
    """True when ``head`` (the start of a file) looks like one character card JSON object."""
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    if not text.startswith("{"):
        return False
    try:
        obj, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        pass  # the head ends inside the object: decide on the keys seen so far
    else:
        return not text[end:].strip() and is_card(obj)
    if _SPEC_RE.search(text):
        return True
    seen = {k for k, rx in _KEY_RE.items() if rx.search(text)}
    return (
        "name" in seen
        and bool(seen & {"first_mes", "description"})
        and not seen & {"spec", "data", "facts"}
    )


def read_card_json(path: str | Path) -> Any:
    """The parsed JSON of a card file (errors name the file and line)."""
    path = Path(path)
    check_readable(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"not valid UTF-8 text (byte {exc.start})", path=path, hint="convert it to UTF-8"
        ) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", path=path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip())
        raise FormatError(
            f"invalid JSON: {exc.msg} at column {exc.colno}"
            + (" — the file ends in the middle of the card (truncated?)" if truncated else ""),
            path=path,
            line=exc.lineno,
            hint="export the card again" if truncated else "fix the JSON at that position",
        ) from None


def write_card_json(path: str | Path, card: dict[str, Any]) -> None:
    """Write a card dict as UTF-8 JSON, atomically."""
    with atomic_write(path) as f:
        json.dump(card, f, ensure_ascii=False, indent=2)
        f.write("\n")


class CardJSON:
    """Character Card JSON: reads V1, V2 and V3 (by ``spec``); writes V2 or V3.

    ``spec="auto"`` (registered as ``card-json``) writes the spec the persona was read in
    (V3 for V3/CHARX cards, else V2); ``card-json-v2`` / ``card-json-v3`` force one.

    >>> import tempfile, pathlib
    >>> from consona.types import Persona
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "mira.json"
    >>> CardJSON(spec="v3").write_persona(Persona(name="Mira", description="Keeper."), out)
    >>> CardJSON().read_persona(out).description
    'Keeper.'
    """

    can_write = True

    def __init__(self, *, spec: SpecChoice = "auto") -> None:
        _check_spec(spec)
        self.spec: SpecChoice = spec
        self.name = "card-json" if spec == "auto" else f"card-json-{spec}"
        self.extensions: tuple[str, ...] = (".json",) if spec == "auto" else ()

    def sniff(self, path: Path, head: bytes) -> bool:
        return self.spec == "auto" and sniff_card_json(head)

    def read_persona(self, path: Path) -> Persona:
        return persona_from_card(read_card_json(path), path=path)

    def write_persona(self, persona: Persona, path: Path) -> None:
        write_card_json(path, card_from_persona(persona, spec=_resolve(self.spec, persona)))


class CardPNG:
    """Character Card PNG: the card as base64 JSON in ``chara`` (V2) / ``ccv3`` (V3) chunks.

    A V3 export writes both chunks (``chara`` holds the V2 view). The image is ``image``
    when given, else the PNG (or CHARX icon) the persona was read from, else a generated
    placeholder.

    >>> import tempfile, pathlib
    >>> from consona.types import Persona
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "kai.png"
    >>> CardPNG().write_persona(Persona(name="Kai", first_mes="Surf's up!"), out)
    >>> CardPNG().read_persona(out).first_mes
    "Surf's up!"
    """

    can_write = True

    def __init__(self, *, spec: SpecChoice = "auto", image: bytes | str | Path | None = None):
        _check_spec(spec)
        self.spec: SpecChoice = spec
        self.image = image
        self.name = "card-png" if spec == "auto" else f"card-png-{spec}"
        self.extensions: tuple[str, ...] = (".png",) if spec == "auto" else ()

    def sniff(self, path: Path, head: bytes) -> bool:
        return self.spec == "auto" and head.startswith(PNG_SIGNATURE)

    def read_persona(self, path: Path) -> Persona:
        check_readable(Path(path))
        card, keyword = read_card_png(path)
        persona = persona_from_card(card, path=path, chunk=keyword)
        return _remember_origin(persona, "png", path)

    def write_persona(self, persona: Persona, path: Path) -> None:
        spec = _resolve(self.spec, persona)
        cards = {"chara": card_from_persona(persona, spec="v2")}
        if spec == "v3":
            cards["ccv3"] = card_from_persona(persona, spec="v3")
        image = self.image if self.image is not None else _source_image(persona)
        write_card_png(path, cards, image=image)


class CharX:
    """CHARX: a zip with the V3 card as ``card.json`` and its assets under ``assets/``.

    Writing carries every asset of the CHARX the persona was read from; remote asset URLs
    are kept as URLs and never fetched.

    >>> import tempfile, pathlib
    >>> from consona.types import Persona
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "ada.charx"
    >>> CharX().write_persona(Persona(name="Ada", nickname="A"), out)
    >>> CharX().read_persona(out).nickname
    'A'
    """

    name: str = "charx"
    extensions: tuple[str, ...] = (".charx",)
    can_write: bool = True

    def sniff(self, path: Path, head: bytes) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        return Path(path).suffix.lower() == ".charx" or b"card.json" in head

    def read_persona(self, path: Path) -> Persona:
        check_readable(Path(path))
        card, _ = read_charx(path)
        persona = persona_from_card(card, path=path, chunk="card.json")
        return _remember_origin(persona, "charx", path)

    def write_persona(self, persona: Persona, path: Path) -> None:
        card = card_from_persona(persona, spec="v3")
        needed = [e for a in persona.assets or () if (e := embedded_entry(a.get("uri")))]
        origin = _origin(persona)
        carry = origin[1] if origin is not None and origin[0] == "charx" else None
        write_charx(path, card, carry_from=carry, require_entries=needed)


def _source_image(persona: Persona) -> bytes | Path | None:
    """The image of the card file the persona was read from, when it is still there."""
    origin = _origin(persona)
    if origin is None:
        return None
    kind, path = origin
    if kind == "png":
        return path
    icons = [a for a in persona.assets or () if a.get("type") == "icon"]
    icons.sort(key=lambda a: a.get("name") != "main")
    for asset in icons:
        entry = embedded_entry(asset.get("uri"))
        if entry is None:
            continue
        try:
            with zipfile.ZipFile(path) as zf:
                data = zf.read(entry)
        except (OSError, KeyError, zipfile.BadZipFile):
            continue
        return to_png_bytes(data, name=f"{path}!{entry}")
    return None
