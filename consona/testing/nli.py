"""A deterministic NLI fake for tests and offline demos.

Rules, in order: an explicit ``verdicts`` entry for the pair wins; a negation on exactly
one side of two sentences that share a content word → contradiction; the hypothesis'
content words all in the premise → entailment; otherwise neutral.

>>> nli = FakeNLI()
>>> nli.label("I have two dogs.", "I have dogs.")
'entailment'
>>> nli.label("I have two dogs.", "I do not have dogs.")
'contradiction'
>>> nli.label("I have two dogs.", "I like jazz.")
'neutral'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from consona.nli.base import LABELS, Pair
from consona.text import FUNCTION_WORDS

_NEG = {
    "not",
    "no",
    "never",
    "don't",
    "dont",
    "doesn't",
    "didn't",
    "isn't",
    "aren't",
    "can't",
    "cannot",
    "won't",
    "hate",
    "n't",
}
_STOP = FUNCTION_WORDS


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("n't", " n't"))


def _content(text: str) -> set[str]:
    return {w for w in _words(text) if w not in _STOP and w not in _NEG}


def _negated(text: str) -> bool:
    return any(w in _NEG for w in _words(text))


class FakeNLI:
    """Deterministic rule-based NLI (see module docstring). Counts ``calls`` and ``pairs``."""

    name = "fake"

    def __init__(self, verdicts: Mapping[Pair, str] | None = None) -> None:
        self.verdicts = dict(verdicts or {})
        self.calls = 0
        self.pairs_seen = 0

    def label(self, premise: str, hypothesis: str) -> str:
        if (premise, hypothesis) in self.verdicts:
            return self.verdicts[(premise, hypothesis)]
        p, h = _content(premise), _content(hypothesis)
        if p & h and _negated(premise) != _negated(hypothesis):
            return "contradiction"
        if h and h <= p and _negated(premise) == _negated(hypothesis):
            return "entailment"
        return "neutral"

    def predict(self, pairs: Sequence[Pair], *, batch_size: int = 64) -> np.ndarray:
        self.calls += 1
        self.pairs_seen += len(pairs)
        out = np.full((len(pairs), 3), 0.05, dtype=np.float32)
        for i, (p, h) in enumerate(pairs):
            out[i, LABELS.index(self.label(p, h))] = 0.9
        return out


def fake_judge(**kwargs: object) -> object:
    """The default judge's structure over :class:`FakeNLI`: per-clause fake NLI plus the
    real triple check (registered as NLI model ``"fake-judge"``).

    >>> fake_judge().explain("i am a vegan .", "i am a carnivore .")["decided_by"]
    'triples'
    """
    from consona.nli.judge import PersonaJudge

    return PersonaJudge(FakeNLI(), name="fake-judge", **kwargs)  # type: ignore[arg-type]


class FixedNLI:
    """An NLI model that returns the same probabilities for every pair (optionally with a
    calibrated threshold), for testing thresholds and verdict logic.

    >>> FixedNLI([0.1, 0.2, 0.7], threshold=0.3).predict([("a", "b")]).tolist()
    [[0.10000000149011612, 0.20000000298023224, 0.699999988079071]]
    """

    name = "fixed"

    def __init__(self, row: Sequence[float], *, threshold: float | None = None) -> None:
        self.row = np.asarray(row, dtype=np.float32)
        if threshold is not None:
            self.contradiction_threshold = threshold

    def predict(self, pairs: Sequence[Pair], *, batch_size: int = 64) -> np.ndarray:
        return np.tile(self.row, (len(pairs), 1))


class ScriptedNLI:
    """Contradiction (0.9) for the listed (premise, hypothesis) pairs, neutral otherwise;
    remembers every pair it was asked (``seen``).

    >>> nli = ScriptedNLI({("i swim", "i never swim")})
    >>> nli.predict([("i swim", "i never swim"), ("i swim", "hi")]).argmax(1).tolist(), len(nli.seen)
    ([2, 1], 2)
    """

    name = "scripted"
    contradiction_threshold = 0.5

    def __init__(self, contradicting: Iterable[Pair] = ()) -> None:
        self.contradicting = set(contradicting)
        self.seen: list[Pair] = []

    def predict(self, pairs: Sequence[Pair], *, batch_size: int = 64) -> np.ndarray:
        self.seen.extend(pairs)
        rows = [[0.05, 0.05, 0.9] if p in self.contradicting else [0.1, 0.85, 0.05] for p in pairs]
        return np.array(rows, dtype=np.float32).reshape(len(pairs), 3)


class FakeEmbedder:
    """Bag-of-words vectors (similarity = shared words), with ``encode(list[str])`` like a
    sentence-transformers model.

    >>> v = FakeEmbedder().encode(["i like jazz", "jazz is great", "dogs bark"])
    >>> bool(v[0] @ v[1] > v[0] @ v[2])
    True
    """

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.vocab: dict[str, int] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().replace(".", "").split():
                out[i, self.vocab.setdefault(w, len(self.vocab)) % self.dim] += 1
        return out
