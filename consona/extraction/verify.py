"""Verification of extracted facts against their utterance.

A fact is kept only when (1) the clause it comes from is not a question or a hypothetical,
(2) it is about the speaker — a clause in the second person ("you have a cute dog") is
re-attributed to the other speaker when one is known, else dropped — and (3) with an NLI
model, the utterance entails it (P(entailment) ≥ ``threshold`` and above P(contradiction)).

>>> from consona.testing import FakeNLI
>>> v = Verifier(nli=FakeNLI())
>>> turn = Turn(speaker="a", text="I have two dogs. Do you like jazz?")
>>> [f.text for f in v.verify(turn, [Fact(text="I have dogs."), Fact(text="I like jazz.")])]
['I have dogs.']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from consona.extraction.base import EXTRACTORS, Extractor
from consona.extraction.text import (
    Clause,
    about_other,
    is_hypothetical,
    is_question,
    split_clauses,
)
from consona.nli.base import CONTRADICTION, ENTAILMENT, NLIModel
from consona.text import rouge_l, tokens
from consona.types import Fact, Turn

__all__ = ["VerifiedExtractor", "Verifier", "load_extractor", "other_speaker", "swap_person"]

_SWAP = {
    "you": "I", "your": "my", "yours": "mine", "yourself": "myself", "you're": "I'm",
    "youre": "I'm", "you've": "I've", "you'll": "I'll", "you'd": "I'd", "u": "I", "ur": "my",
}  # fmt: skip


def swap_person(text: str) -> str:
    """Second person → first person ("you have a dog" → "I have a dog")."""

    def rep(m: re.Match[str]) -> str:
        return _SWAP.get(m.group(0).lower(), m.group(0))

    out = re.sub(
        r"\b(?:you're|youre|you've|you'll|you'd|yourself|yours|your|you|u|ur)\b",
        rep,
        text,
        flags=re.IGNORECASE,
    )
    out = re.sub(r"\bI are\b", "I am", out)
    out = re.sub(r"\bI were\b", "I was", out)
    return out


def other_speaker(turns: Sequence[Turn], index: int) -> str | None:
    """The nearest other speaker before (else after) turn ``index`` in a dialogue."""
    me = turns[index].speaker
    for j in [*range(index - 1, -1, -1), *range(index + 1, len(turns))]:
        if turns[j].speaker != me:
            return turns[j].speaker
    return None


def _source_clause(clauses: list[Clause], fact: str) -> Clause | None:
    best, score = None, 0.0
    ft = set(tokens(fact))
    for c in clauses:
        s = rouge_l(c.text, fact) + 0.01 * len(ft & set(tokens(c.text)))
        if s > score:
            best, score = c, s
    return best


class Verifier:
    """Rule checks plus (optionally) NLI entailment of each fact by its utterance.

    ``Verifier(nli=None)`` runs the rule checks only.
    """

    def __init__(self, nli: NLIModel | None = None, *, threshold: float = 0.5) -> None:
        self.nli = nli
        self.threshold = threshold

    def verify(self, turn: Turn, facts: Sequence[Fact], *, other: str | None = None) -> list[Fact]:
        """Facts that survive, each with ``speaker`` set (the turn's speaker or ``other``)."""
        return self.verify_many([turn], [facts], others=[other])[0]

    def verify_many(
        self,
        turns: Sequence[Turn],
        facts: Sequence[Sequence[Fact]],
        *,
        others: Sequence[str | None] | None = None,
    ) -> list[list[Fact]]:
        others = others if others is not None else [None] * len(turns)
        kept: list[list[tuple[Fact, str]]] = []  # (fact, premise)
        for turn, fs, other in zip(turns, facts, others, strict=True):
            clauses = split_clauses(turn.text)
            row: list[tuple[Fact, str]] = []
            for f in fs:
                c = _source_clause(clauses, f.text)
                if c is None:
                    continue
                if is_question(c.text) or is_hypothetical(c.text):
                    continue
                premise = turn.text
                speaker = f.speaker or turn.speaker
                if about_other(c.text) and speaker == turn.speaker:
                    if other is None:
                        continue
                    speaker, premise = other, swap_person(c.text)
                    text = swap_person(f.text)
                    f = f.model_copy(update={"text": text[:1].upper() + text[1:]})
                row.append((f.model_copy(update={"speaker": speaker}), premise))
            kept.append(row)
        if self.nli is None:
            return [[f for f, _ in row] for row in kept]
        pairs = [(p, f.text) for row in kept for f, p in row]
        probs = self.nli.predict(pairs) if pairs else None
        out: list[list[Fact]] = []
        k = 0
        for row in kept:
            good = []
            for f, _ in row:
                assert probs is not None
                pe, pc = float(probs[k, ENTAILMENT]), float(probs[k, CONTRADICTION])
                k += 1
                if pe >= self.threshold and pe > pc:
                    conf = pe if f.confidence is None else f.confidence * pe
                    good.append(f.model_copy(update={"confidence": round(min(conf, 1.0), 4)}))
            out.append(good)
        return out


class VerifiedExtractor:
    """Wraps an extractor so every fact is verified (``load_extractor(..., nli=...)``).

    >>> from consona.testing import FakeExtractor, FakeNLI
    >>> ex = VerifiedExtractor(FakeExtractor(), nli=FakeNLI())
    >>> [f.text for f in ex.extract(Turn(speaker="a", text="i have a cat"))]
    ['I have a cat.']
    """

    def __init__(self, inner: Extractor, *, nli: NLIModel | None, threshold: float = 0.5) -> None:
        self.inner = inner
        self.name = inner.name
        self.verifier = Verifier(nli, threshold=threshold)

    @property
    def nli(self) -> Any:
        return self.verifier.nli

    def extract(self, turn: Turn, *, context: Sequence[Turn] = ()) -> list[Fact]:
        return self.extract_batch([turn], contexts=[context])[0]

    def extract_batch(
        self, turns: Sequence[Turn], *, contexts: Sequence[Sequence[Turn]] | None = None
    ) -> list[list[Fact]]:
        raw = self.inner.extract_batch(turns, contexts=contexts)
        others = []
        for i, t in enumerate(turns):
            ctx = contexts[i] if contexts is not None else ()
            others.append(next((c.speaker for c in reversed(ctx) if c.speaker != t.speaker), None))
        return self.verifier.verify_many(turns, raw, others=others)


def load_extractor(
    name: str, *, backend: Any = None, nli: Any = None, settings: Any = None
) -> Extractor:
    """An extractor by name. With ``nli`` every fact is verified against its utterance
    (``consona.extraction.verify``); ``backend`` is a ChatBackend or backend name (llm)."""
    extractor = EXTRACTORS.create(name, backend=backend, nli=nli, settings=settings)
    if nli is not None:
        return VerifiedExtractor(extractor, nli=nli)
    return extractor
