"""Format protocols and registries.

A *dialogue format* reads (and maybe writes) a stream of ``Dialogue`` objects; a
*persona format* reads (and maybe writes) one ``Persona`` (character cards, persona
JSON/YAML). Readers stream in constant memory; writers go through ``atomic_write`` so a
failure never leaves a partial output file. Errors are ``FormatError`` naming the file and
the line or chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

from consona.registry import Registry
from consona.types import Dialogue, Persona


@runtime_checkable
class DialogueFormat(Protocol):
    """Reads/writes dialogues. ``extensions`` are lower-case suffixes such as ``".jsonl"``."""

    name: str
    extensions: tuple[str, ...]
    can_write: bool

    def sniff(self, path: Path, head: bytes) -> bool:
        """True when ``head`` (the first few KiB of ``path``) looks like this format."""
        ...

    def read(self, path: Path) -> Iterator[Dialogue]: ...

    def write(self, dialogues: Iterable[Dialogue], path: Path) -> int:
        """Write all dialogues atomically; return how many were written."""
        ...


@runtime_checkable
class PersonaFormat(Protocol):
    name: str
    extensions: tuple[str, ...]
    can_write: bool

    def sniff(self, path: Path, head: bytes) -> bool: ...

    def read_persona(self, path: Path) -> Persona: ...

    def write_persona(self, persona: Persona, path: Path) -> None: ...


DIALOGUE_FORMATS: Registry[DialogueFormat] = Registry("dialogue format")
PERSONA_FORMATS: Registry[PersonaFormat] = Registry("persona format")
