"""The characters a server offers: the bundled personas plus uploaded cards.

Each character has an id (``mira``), served as the model ``consona/<id>``. Uploads
(Character Card V1/V2/V3 JSON, PNG, CHARX, or a consona persona JSON) are read with
consona's own readers and kept as persona JSON in the server's characters folder, so
they survive a restart. Card text is data, never instructions to the server; ids are
checked (no path tricks) before they touch the file system.

>>> reg = CharacterRegistry(None)
>>> [c.id for c in reg.all()]
['mira', 'theo']
>>> reg.get("mira").persona.name
'Mira'
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from consona.errors import ConsonaError
from consona.server.errors import APIError
from consona.server.schemas import check_id
from consona.types import Persona

__all__ = ["Character", "CharacterRegistry", "slug"]

MODEL_PREFIX = "consona/"


def slug(name: str) -> str:
    """A character id from a display name.

    >>> slug("Captain Ada Lovelace!"), slug("../../etc/passwd"), slug("日本")
    ('captain-ada-lovelace', 'etc-passwd', 'character')
    """
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:48].strip("-")
    return s or "character"


@dataclass
class Character:
    id: str
    persona: Persona
    bundled: bool = False

    @property
    def model_id(self) -> str:
        return MODEL_PREFIX + self.id

    def to_dict(self) -> dict[str, Any]:
        from consona.agent.prompt import persona_facts

        p = self.persona
        return {
            "id": self.id,
            "object": "character",
            "model": self.model_id,
            "name": p.name,
            "description": p.description or "",
            "first_mes": p.first_mes or "",
            "facts": [f.text for f in persona_facts(p)],
            "tags": p.tags or [],
            "bundled": self.bundled,
        }


def _bundled_files() -> list[Path]:
    root = Path(str(resources.files("consona") / "data" / "personas"))
    return sorted(root.glob("*.json"))


def _sniff_suffix(data: bytes, content_type: str | None) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if data.startswith(b"PK\x03\x04"):
        return ".charx"
    if content_type and "png" in content_type:
        return ".png"
    return ".json"


class CharacterRegistry:
    """Characters by id. ``folder``: where uploads are kept (``None``: in memory only);
    ``bundled``: load consona's bundled personas (Mira, Theo)."""

    def __init__(self, folder: str | Path | None, *, bundled: bool = True) -> None:
        self.folder = Path(folder) if folder is not None else None
        self._lock = threading.Lock()
        self._chars: dict[str, Character] = {}
        if bundled:
            from consona.agent.personas import load_persona

            for path in _bundled_files():
                persona = load_persona(path)
                cid = slug(persona.name or path.stem)
                self._chars.setdefault(cid, Character(cid, persona, bundled=True))
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            for path in sorted(self.folder.glob("*.json")):
                cid = path.stem
                if not _safe(cid) or cid in self._chars:
                    continue
                try:
                    persona = Persona.from_dict(json.loads(path.read_text(encoding="utf-8")))
                except (OSError, ValueError, ConsonaError):
                    continue  # a damaged file: skipped, never fatal
                self._chars[cid] = Character(cid, persona)

    def all(self) -> list[Character]:
        with self._lock:
            return list(self._chars.values())

    def ids(self) -> list[str]:
        with self._lock:
            return list(self._chars)

    def find(self, cid: str) -> Character | None:
        with self._lock:
            return self._chars.get(cid)

    def get(self, cid: str, *, param: str | None = None) -> Character:
        """The character ``cid``, or a 404 listing the valid ids."""
        check_id(cid, what="character", param=param)
        found = self.find(cid)
        if found is None:
            raise APIError(
                404,
                f"Unknown character {cid!r}. Valid characters: {', '.join(self.ids()) or '(none)'}",
                code="character_not_found",
                param=param,
            )
        return found

    def add(self, persona: Persona, *, cid: str | None = None, replace: bool = False) -> Character:
        """Register a persona under ``cid`` (default: from its name); 409 if taken."""
        cid = check_id(cid, what="character", param="id") if cid else slug(persona.name)
        with self._lock:
            old = self._chars.get(cid)
            if old is not None and (old.bundled or not replace):
                raise APIError(
                    409,
                    f"A character with id {cid!r} already exists",
                    code="character_exists",
                    hint="pass ?id=OTHER to choose another id"
                    + ("" if old.bundled else ", or ?replace=true to overwrite it"),
                )
            if self.folder is not None:
                _write_atomic(self.folder / f"{cid}.json", persona.to_dict())
            char = Character(cid, persona)
            self._chars[cid] = char
            return char

    def upload(
        self,
        data: bytes,
        *,
        content_type: str | None = None,
        cid: str | None = None,
        replace: bool = False,
    ) -> Character:
        """Read an uploaded card (JSON, PNG, CHARX) and register it; 400 if it is none."""
        if not data:
            raise APIError(
                400,
                "The upload is empty",
                code="invalid_card",
                hint="send the card file as the request body",
            )
        if cid is not None:
            check_id(cid, what="character", param="id")
        persona = read_card_bytes(data, content_type=content_type)
        if not (persona.name or "").strip():
            raise APIError(
                400,
                "The card has no name",
                code="invalid_card",
                hint="give the character a name in the card",
            )
        return self.add(persona, cid=cid, replace=replace)

    def remove(self, cid: str) -> Character:
        """Remove an uploaded character (404 if unknown, 403 for a bundled one)."""
        char = self.get(cid, param="id")
        if char.bundled:
            raise APIError(
                403,
                f"{cid!r} is a bundled character and cannot be removed",
                code="character_bundled",
            )
        with self._lock:
            self._chars.pop(cid, None)
            if self.folder is not None:
                (self.folder / f"{cid}.json").unlink(missing_ok=True)
        return char


def read_card_bytes(data: bytes, *, content_type: str | None = None) -> Persona:
    """A persona from the bytes of a card file, with consona's readers; 400 otherwise."""
    from consona.formats import read_persona

    suffix = _sniff_suffix(data, content_type)
    with tempfile.TemporaryDirectory(prefix="consona-card-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            return read_persona(path)
        except ConsonaError as exc:
            message = str(exc).replace(str(path), "upload")
            raise APIError(
                400,
                f"Not a character card: {message}",
                code="invalid_card",
                hint="upload a Character Card V1/V2/V3 JSON, a card PNG or a CHARX file",
            ) from None
        except Exception as exc:  # a reader tripped on hostile bytes: still a 400
            raise APIError(
                400,
                f"Not a character card ({type(exc).__name__})",
                code="invalid_card",
                hint="upload a Character Card V1/V2/V3 JSON, a card PNG or a CHARX file",
            ) from None


def _safe(cid: str) -> bool:
    try:
        check_id(cid, what="character")
    except APIError:
        return False
    return True


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
