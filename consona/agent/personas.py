"""The bundled default persona, and reading a persona file for the agent.

>>> default_persona().name
'Mira'
>>> len(default_persona().facts)
6
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from consona.errors import FormatError
from consona.formats import read_persona
from consona.types import Persona

__all__ = ["default_persona", "default_persona_path", "load_persona"]

DEFAULT_PERSONA_FILE = "agent_default.json"


def default_persona_path() -> Path:
    """The bundled default persona file (``consona/data/personas/agent_default.json``)."""
    return Path(str(resources.files("consona") / "data" / "personas" / DEFAULT_PERSONA_FILE))


def default_persona() -> Persona:
    """Mira, a lighthouse keeper with six facts — the persona ``consona chat`` starts with."""
    return load_persona(default_persona_path())


def load_persona(path: str | Path) -> Persona:
    """A persona from any persona format consona reads (``consona.formats.read_persona``:
    persona JSON/YAML, Character Card V2/V3 JSON or PNG...). Errors are ``FormatError``
    naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(
            "no such persona file" if not path.exists() else "not a file",
            path=path,
            hint="pass --persona FILE with a persona JSON/YAML or a character card",
        )
    return read_persona(path)
