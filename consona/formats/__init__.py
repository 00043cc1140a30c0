"""Readers and writers for dialogue and persona formats (see base.py for the protocols).

>>> {"persona-json", "persona-txt"} <= set(format_names("persona"))
True
>>> "parlai" in format_names("dialogue")
True

Dialogue formats: jsonl (canonical), parlai, personachat-json, msc, synthetic-persona-chat,
messages, sharegpt, chatlog, chitchat. Persona formats: persona-json, persona-txt and the
character cards (``consona.formats.cards``: V1/V2/V3 JSON, PNG, CHARX).
"""

# the format modules register their formats when imported
from consona.formats import (  # noqa: F401
    cards,
    chatlog,
    chitchat,
    jsonl,
    messages,
    msc,
    parlai,
    persona,
    spc,
)
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
