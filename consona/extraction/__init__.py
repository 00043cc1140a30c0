"""Persona extraction: utterances → verified persona facts per speaker.

>>> from consona.extraction import extract_dialogue, load_extractor
>>> from consona.testing import FakeNLI
>>> from consona.types import Dialogue, Turn
>>> d = Dialogue(id="d", turns=[Turn(speaker="a", text="lol ok. i have two dogs")])
>>> extract_dialogue(d, load_extractor("fake"), nli=FakeNLI()).personas["a"].fact_texts()
['I have two dogs.']

Extractors by name: ``fast`` (MiniLM heads + statement editor shipped in
consona/data/extraction),
``llm`` (any ChatBackend, JSON-schema output) and ``fake`` (rules, for tests).
"""

from consona.extraction.aggregate import extract_dialogue, merge_facts
from consona.extraction.base import EXTRACTORS, Extractor
from consona.extraction.verify import VerifiedExtractor, Verifier, load_extractor

__all__ = [
    "EXTRACTORS",
    "Extractor",
    "VerifiedExtractor",
    "Verifier",
    "extract_dialogue",
    "load_extractor",
    "merge_facts",
]
