"""consona JSONL, the canonical dialogue format: one ``Dialogue.to_dict()`` per line.

The layout is documented by a JSON Schema generated from the pydantic models
(:func:`json_schema`, written to docs/consona-jsonl.schema.json).

>>> import tempfile, pathlib
>>> from consona.types import Dialogue, Turn
>>> p = pathlib.Path(tempfile.mkdtemp()) / "d.jsonl"
>>> fmt = JsonlFormat()
>>> fmt.write([Dialogue(id="d1", turns=[Turn(speaker="a", text="hi")])], p)
1
>>> [d.id for d in fmt.read(p)]
['d1']
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from consona.errors import DataValidationError
from consona.formats._util import (
    data_error,
    expect_object,
    first_line_keys,
    iter_lines,
    parse_json_line,
)
from consona.formats.base import DIALOGUE_FORMATS
from consona.io import atomic_write
from consona.types import Dialogue

SCHEMA_ID = "https://consona.dev/schemas/consona-jsonl.schema.json"


_DESCRIPTIONS = {
    "Dialogue": "A conversation: turns in order, a persona per speaker, free-form meta.",
    "Turn": "One utterance: who said it, the text, an optional id and free-form meta.",
    "Persona": (
        "A speaker's persona: a name, facts, and every Character Card V2/V3 field. "
        "Unknown fields are allowed and kept as they are."
    ),
    "Fact": "One persona fact (a first-person statement), optionally with a triple.",
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one line of consona JSONL (a Dialogue), from the pydantic models."""
    schema = Dialogue.model_json_schema()
    schema.pop("title", None)
    schema["description"] = _DESCRIPTIONS["Dialogue"]
    for name, sub in schema.get("$defs", {}).items():
        if name in _DESCRIPTIONS:
            sub["description"] = _DESCRIPTIONS[name]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "consona JSONL line (one Dialogue)",
        **schema,
    }


class JsonlFormat:
    """consona JSONL: one Dialogue per line (blank lines are skipped).

    >>> JsonlFormat().name
    'jsonl'
    """

    name: str = "jsonl"
    extensions: tuple[str, ...] = (".jsonl", ".ndjson")
    can_write: bool = True

    def sniff(self, path: Path, head: bytes) -> bool:
        keys = first_line_keys(head)
        return keys is not None and ("turns" in keys or keys == {"id"})

    def read(self, path: Path) -> Iterator[Dialogue]:
        for n, text in iter_lines(path):
            if not text.strip():
                continue
            obj = expect_object(path, n, parse_json_line(path, n, text), "JSON object (a dialogue)")
            try:
                yield Dialogue.from_dict(obj)
            except DataValidationError as exc:
                raise data_error(path, n, exc) from None

    def write(self, dialogues: Iterable[Dialogue], path: Path) -> int:
        n = 0
        with atomic_write(path) as f:
            for d in dialogues:
                f.write(json.dumps(d.to_dict(), ensure_ascii=False) + "\n")
                n += 1
        return n


DIALOGUE_FORMATS.register("jsonl", JsonlFormat)
