"""Readers and writers for dialogue and persona formats (see base.py for the protocols)."""

from consona.formats.base import DIALOGUE_FORMATS, PERSONA_FORMATS, DialogueFormat, PersonaFormat

__all__ = ["DIALOGUE_FORMATS", "PERSONA_FORMATS", "DialogueFormat", "PersonaFormat"]
