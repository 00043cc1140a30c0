"""The bundled default persona, and reading a persona file for the agent.

>>> default_persona().name
'Mira'
>>> len(default_persona().facts)
6
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from consona.errors import DataValidationError, FormatError
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
    persona JSON/YAML, Character Card V2/V3 JSON or PNG...). Falls back to persona/card
    JSON when the format readers are not installed. Errors are ``FormatError`` naming
    the file."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(
            "no such persona file" if not path.exists() else "not a file",
            path=path,
            hint="pass --persona FILE with a persona JSON/YAML or a character card",
        )
    try:
        from consona.formats import read_persona
    except ImportError:
        return _read_json_persona(path)
    return read_persona(path)


def _read_json_persona(path: Path) -> Persona:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise FormatError(
            "not a UTF-8 text file", path=path, hint="pass a persona JSON file or a character card"
        ) from None
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"not valid JSON: {exc.msg}",
            path=path,
            line=exc.lineno,
            hint="fix the JSON or pass another persona file",
        ) from None
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and "spec" in data:
        data = data["data"]  # Character Card V2/V3 wrapper
    try:
        return Persona.from_dict(data)
    except DataValidationError as exc:
        raise FormatError(str(exc), path=path) from None
