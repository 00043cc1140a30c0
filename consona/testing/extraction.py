"""A deterministic extractor fake: every first-person clause that is not a question, a
hypothetical or small talk becomes a tidy fact; ``facts`` maps exact utterances to facts.

>>> from consona.types import Turn
>>> ex = FakeExtractor()
>>> [f.text for f in ex.extract(Turn(speaker="a", text="i'm a nurse lol. do you like cats?"))]
['I am a nurse.']
>>> FakeExtractor(facts={"hi": ["I am Bob."]}).extract(Turn(speaker="a", text="hi"))[0].text
'I am Bob.'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from consona.extraction.base import extract_batch_by_loop
from consona.extraction.text import (
    about_other,
    is_hypothetical,
    is_question,
    is_small_talk,
    rewrite_clause,
    split_clauses,
)
from consona.text import tokens
from consona.types import Fact, Turn

_FIRST = {"i", "i'm", "im", "i've", "ive", "my", "me", "we", "our"}


class FakeExtractor:
    """Rule-based, deterministic; counts ``calls``."""

    name = "fake"

    def __init__(self, facts: Mapping[str, Sequence[str]] | None = None) -> None:
        self.facts = {k: list(v) for k, v in (facts or {}).items()}
        self.calls = 0

    def extract(self, turn: Turn, *, context: Sequence[Turn] = ()) -> list[Fact]:
        self.calls += 1
        if turn.text in self.facts:
            return [Fact(text=t, confidence=1.0) for t in self.facts[turn.text]]
        out = []
        for c in split_clauses(turn.text):
            if is_question(c.text) or is_hypothetical(c.text) or is_small_talk(c.text):
                continue
            if about_other(c.text) or not (set(tokens(c.text)) & _FIRST):
                continue
            text = rewrite_clause(c.text)
            if text:
                out.append(Fact(text=text, confidence=0.9))
        return out

    def extract_batch(
        self, turns: Sequence[Turn], *, contexts: Sequence[Sequence[Turn]] | None = None
    ) -> list[list[Fact]]:
        return extract_batch_by_loop(self, turns, contexts)


def create_fake(**_: Any) -> FakeExtractor:
    return FakeExtractor()


class FakeEncoder:
    """A deterministic clause encoder for the fast extractor (its ``encoder=`` seam): each
    clause becomes a normalised bag of hashed words, no MiniLM needed.

    >>> enc = FakeEncoder(dim=8).encode(["i have two dogs . lol"])[0]
    >>> enc.clause_vecs.shape[1], len(enc.clauses) == enc.clause_vecs.shape[0]
    (8, True)
    """

    def __init__(self, dim: int = 8) -> None:
        self.dim = dim

    def encode(self, texts: list[str]) -> list[Any]:
        import numpy as np

        from consona.extraction.encoder import EncodedTurn

        out = []
        for text in texts:
            clauses = split_clauses(text)
            vecs = np.zeros((len(clauses), self.dim), np.float32)
            for i, c in enumerate(clauses):
                for w in tokens(c.text):
                    vecs[i, sum(map(ord, w)) % self.dim] += 1.0
            norm = np.linalg.norm(vecs, axis=1, keepdims=True)
            vecs = vecs / np.maximum(norm, 1e-9)
            pooled = vecs.mean(0) if len(vecs) else np.zeros(self.dim, np.float32)
            out.append(EncodedTurn(clauses, vecs, pooled))
        return out
