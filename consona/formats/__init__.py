"""Readers and writers for dialogue and persona formats (see base.py for the protocols).

>>> {"persona-json", "persona-txt"} <= set(format_names("persona"))
True
>>> "parlai" in format_names("dialogue")
True

Dialogue formats: jsonl (canonical), parlai, personachat-json, msc, synthetic-persona-chat,
messages, sharegpt, chatlog, chitchat. Persona formats: persona-json, persona-txt and the
character cards (card formats from cards.py, when present).
"""

from importlib.util import find_spec as _find_spec

import consona.formats.chatlog
import consona.formats.chitchat
import consona.formats.jsonl
import consona.formats.messages
import consona.formats.msc
import consona.formats.parlai
import consona.formats.persona
import consona.formats.spc
from consona.formats.api import (
    detect_format,
    format_kind,
    format_names,
    get_format,
    output_format,
    persona_of_dialogues,
    read_dialogues,
    read_persona,
    write_dialogues,
    write_persona,
)
from consona.formats.base import DIALOGUE_FORMATS, PERSONA_FORMATS, DialogueFormat, PersonaFormat

if _find_spec("consona.formats.cards") is not None:  # written separately; optional until then
    import consona.formats.cards  # noqa: F401

__all__ = [
    "DIALOGUE_FORMATS",
    "PERSONA_FORMATS",
    "DialogueFormat",
    "PersonaFormat",
    "detect_format",
    "format_kind",
    "format_names",
    "get_format",
    "output_format",
    "persona_of_dialogues",
    "read_dialogues",
    "read_persona",
    "write_dialogues",
    "write_persona",
]
