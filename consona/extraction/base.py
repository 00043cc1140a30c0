"""The Extractor protocol and the registry of extractors by name.

An extractor turns one utterance into persona facts about its speaker (``Fact.speaker``
left for the caller unless the fact is about the other speaker), with ``confidence`` and
the (subject, relation, object) triple when it knows it.

>>> ex = EXTRACTORS.create("fake")
>>> [f.text for f in ex.extract(Turn(speaker="a", text="lol ok. i have two dogs"))]
['I have two dogs.']
>>> EXTRACTORS.create("nope")
Traceback (most recent call last):
...
consona.errors.UnknownNameError: Unknown extractor 'nope'. Valid extractors: fake, fast, llm

:func:`consona.extraction.load_extractor` loads one by name, verified when given an NLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from consona.registry import Registry
from consona.types import Fact, Turn

__all__ = ["EXTRACTORS", "Extractor", "extract_batch_by_loop"]


@runtime_checkable
class Extractor(Protocol):
    """``extract(turn, *, context=()) -> list[Fact]``; ``extract_batch`` does many at once."""

    name: str

    def extract(self, turn: Turn, *, context: Sequence[Turn] = ()) -> list[Fact]: ...

    def extract_batch(
        self, turns: Sequence[Turn], *, contexts: Sequence[Sequence[Turn]] | None = None
    ) -> list[list[Fact]]: ...


def extract_batch_by_loop(
    extractor: Extractor,
    turns: Sequence[Turn],
    contexts: Sequence[Sequence[Turn]] | None = None,
) -> list[list[Fact]]:
    """``extract_batch`` for extractors without a faster batched path."""
    ctxs: Sequence[Sequence[Turn]] = contexts if contexts is not None else [()] * len(turns)
    return [extractor.extract(t, context=c) for t, c in zip(turns, ctxs, strict=True)]


# Factories take keyword arguments backend=, nli=, settings= (each may be None).
EXTRACTORS: Registry[Extractor] = Registry("extractor")
EXTRACTORS.register("fast", "consona.extraction.fast:create_fast")
EXTRACTORS.register("llm", "consona.extraction.llm:create_llm")
EXTRACTORS.register("fake", "consona.testing.extraction:create_fake")
