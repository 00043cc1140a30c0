"""Persona consistency: per-fact NLI verdicts, the C-score and a calibrated contradiction flag.

Each persona fact is the premise, the utterance the hypothesis. The C-score (Madotto et
al. 2019) sums +1 per entailed fact, 0 per neutral one and −1 per contradicted one.

>>> from consona.testing import FakeNLI
>>> r = check_consistency(["I have two dogs.", "I like jazz."], "I do not have dogs.",
...                       nli=FakeNLI())
>>> r.contradiction, r.contradicted, r.c_score
(True, ['I have two dogs.'], -1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from consona.errors import ConfigError
from consona.nli.base import CONTRADICTION, LABELS, NLIModel
from consona.nli.models import CachedNLI, load_nli_model, nli_model_names
from consona.text import split_clauses

__all__ = [
    "DEFAULT_THRESHOLD",
    "CachedNLI",
    "ConsistencyResult",
    "FactVerdict",
    "check_consistency",
    "check_many",
    "load_nli_model",
    "nli_model_names",
]

DEFAULT_THRESHOLD = 0.5
_SCORE = {"entailment": 1.0, "neutral": 0.0, "contradiction": -1.0}


@dataclass(frozen=True)
class FactVerdict:
    """One fact's verdict: ``label`` in LABELS, ``probs`` {label: p}.

    ``scored`` is False when the embedding pre-filter skipped the fact (then it counts as
    neutral with empty ``probs``). ``evidence``: with ``split_sentences``, the sentence or
    clause whose probabilities decided (None when the whole utterance did).
    """

    fact: str
    label: str
    probs: dict[str, float]
    scored: bool = True
    evidence: str | None = None  # the sentence/clause that decided, with split_sentences

    @property
    def score(self) -> float:
        return _SCORE[self.label]

    def to_dict(self) -> dict[str, Any]:
        out = {"fact": self.fact, "label": self.label, "probs": self.probs, "scored": self.scored}
        if self.evidence is not None:
            out["evidence"] = self.evidence
        return out


@dataclass(frozen=True)
class ConsistencyResult:
    """Verdicts for every fact, in the order given.

    >>> from consona.testing import FakeNLI
    >>> check_consistency(["I have two dogs."], "I have dogs.", nli=FakeNLI()).entailed
    ['I have two dogs.']
    """

    utterance: str
    verdicts: list[FactVerdict]
    threshold: float
    model: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def c_score(self) -> float:
        return float(sum(v.score for v in self.verdicts))

    @property
    def contradicted(self) -> list[str]:
        return [v.fact for v in self.verdicts if v.label == "contradiction"]

    @property
    def entailed(self) -> list[str]:
        return [v.fact for v in self.verdicts if v.label == "entailment"]

    @property
    def contradiction(self) -> bool:
        return bool(self.contradicted)

    @property
    def max_contradiction(self) -> float:
        return max((v.probs.get("contradiction", 0.0) for v in self.verdicts), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "utterance": self.utterance,
            "model": self.model,
            "threshold": self.threshold,
            "c_score": self.c_score,
            "contradiction": self.contradiction,
            "contradicted": self.contradicted,
            "entailed": self.entailed,
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


def _fact_text(fact: Any) -> str:
    text = getattr(fact, "text", fact)
    if not isinstance(text, str):
        raise ConfigError(
            f"A persona fact must be a string or a Fact, got {type(fact).__name__}",
            hint="pass facts as strings or consona.types.Fact objects",
        )
    return text


def resolve_threshold(nli: NLIModel, threshold: float | None) -> float:
    """The explicit threshold, else the model's calibrated one, else 0.5."""
    if threshold is None:
        threshold = getattr(nli, "contradiction_threshold", None)
    if threshold is None:
        return DEFAULT_THRESHOLD
    threshold = float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(
            f"Contradiction threshold {threshold} is outside [0, 1]",
            hint="pass a probability, e.g. --threshold 0.5",
        )
    return threshold


def label_from_probs(row: np.ndarray, threshold: float) -> str:
    """Contradiction when its probability reaches ``threshold``; else the likelier of the
    other two labels (or contradiction if it is the argmax and the threshold is lower)."""
    if row[CONTRADICTION] >= threshold:
        return "contradiction"
    return LABELS[int(np.argmax(row[:2]))]


def _prefilter(facts: list[str], utterance: str, k: int, embedder: Any) -> set[int]:
    if k >= len(facts):
        return set(range(len(facts)))
    if embedder is None:
        from consona.models import load_embedder

        embedder = load_embedder()
    vecs = np.asarray(embedder.encode([utterance, *facts]), dtype=np.float32)
    vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    sims = vecs[1:] @ vecs[0]
    return {int(i) for i in np.argsort(-sims, kind="stable")[:k]}


def check_consistency(
    facts: Sequence[Any],
    utterance: str,
    *,
    nli: NLIModel,
    threshold: float | None = None,
    prefilter: int | None = None,
    embedder: Any = None,
    batch_size: int = 64,
    split_sentences: bool = False,
) -> ConsistencyResult:
    """Judge ``utterance`` against each persona fact (strings or ``Fact``).

    ``threshold``: contradiction probability that flags a fact (default: the model's
    calibrated threshold, else 0.5). ``prefilter=k``: score only the k facts most similar
    to the utterance by embedding (``embedder.encode(list[str])``; default: consona's
    embedder); the rest count as neutral, unscored. ``split_sentences``: also judge each
    sentence / clause of the utterance — a fact counts as contradicted (or entailed) when
    any part contradicts (entails) it, so one clause is not diluted by the others.
    """
    return check_many(
        facts,
        [utterance],
        nli=nli,
        threshold=threshold,
        prefilter=prefilter,
        embedder=embedder,
        batch_size=batch_size,
        split_sentences=split_sentences,
    )[0]


def split_segments(utterance: str) -> list[str]:
    """The utterance and, when it has several, its sentences / clauses (2+ words each,
    :func:`consona.text.split_clauses`).

    >>> split_segments("I love jazz; I don't have a dog, and I hate cats!")[1:]
    ['I love jazz', "I don't have a dog", 'I hate cats!']
    """
    parts = split_clauses(utterance)
    return [utterance, *parts] if len(parts) > 1 else [utterance]


def _pick(rows: np.ndarray, threshold: float) -> int:
    """Which segment's probabilities speak for the utterance: the most contradicting one
    if any contradicts, else the most entailing one if any entails, else the whole."""
    labels = [label_from_probs(r, threshold) for r in rows]
    if "contradiction" in labels:
        return int(np.argmax(rows[:, CONTRADICTION]))
    if "entailment" in labels:
        return int(np.argmax(rows[:, 0]))
    return 0


def check_many(
    facts: Sequence[Any],
    utterances: Sequence[str],
    *,
    nli: NLIModel,
    threshold: float | None = None,
    prefilter: int | None = None,
    embedder: Any = None,
    batch_size: int = 64,
    split_sentences: bool = False,
) -> list[ConsistencyResult]:
    """:func:`check_consistency` for several utterances (e.g. reply candidates) in one
    batched NLI call."""
    texts = [_fact_text(f) for f in facts]
    thr = resolve_threshold(nli, threshold)
    if prefilter is not None and prefilter < 0:
        raise ConfigError(f"prefilter must be ≥ 0, got {prefilter}", hint="pass a count or None")
    selected: list[set[int]] = []
    segments: list[list[str]] = []
    pairs: list[tuple[str, str]] = []
    for utt in utterances:
        if not isinstance(utt, str):
            raise ConfigError(
                f"An utterance must be a string, got {type(utt).__name__}", hint="pass text"
            )
        chosen = (
            set(range(len(texts)))
            if prefilter is None or not texts
            else _prefilter(texts, utt, prefilter, embedder)
        )
        segs = split_segments(utt) if split_sentences else [utt]
        selected.append(chosen)
        segments.append(segs)
        pairs.extend((texts[i], seg) for i in sorted(chosen) for seg in segs)
    probs = (
        np.asarray(nli.predict(pairs, batch_size=batch_size), dtype=np.float64)
        if pairs
        else np.zeros((0, 3))
    )
    name = getattr(nli, "name", type(nli).__name__)
    results: list[ConsistencyResult] = []
    row = 0
    for utt, chosen, segs in zip(utterances, selected, segments, strict=True):
        verdicts: list[FactVerdict] = []
        for i, text in enumerate(texts):
            if i in chosen:
                block = probs[row : row + len(segs)]
                row += len(segs)
                k = _pick(block, thr)
                p = block[k]
                verdicts.append(
                    FactVerdict(
                        fact=text,
                        label=label_from_probs(p, thr),
                        probs={lab: float(p[j]) for j, lab in enumerate(LABELS)},
                        evidence=segs[k] if k else None,
                    )
                )
            else:
                verdicts.append(FactVerdict(fact=text, label="neutral", probs={}, scored=False))
        results.append(
            ConsistencyResult(utterance=utt, verdicts=verdicts, threshold=thr, model=name)
        )
    return _excuse_persona_conflicts(results, nli=nli, threshold=thr, batch_size=batch_size)


def _excuse_persona_conflicts(
    results: list[ConsistencyResult], *, nli: NLIModel, threshold: float, batch_size: int
) -> list[ConsistencyResult]:
    """A reply that restates fact B does not contradict fact A when the persona itself holds
    both and A contradicts B ("i am a doctor" + "i am looking for a new job": "Yes, I am a
    doctor." is no contradiction). Such verdicts become neutral, with the fact that
    explains them as ``evidence``."""
    asks: list[tuple[str, str]] = []
    for r in results:
        entailed = r.entailed
        for a in r.contradicted:
            asks.extend((a, b) for b in entailed if b != a)
    if not asks:
        return results
    asks = list(dict.fromkeys(asks))
    probs = np.asarray(nli.predict(asks, batch_size=batch_size), dtype=np.float64)
    clashing = {pair for pair, p in zip(asks, probs, strict=True) if p[CONTRADICTION] >= threshold}
    out = []
    for r in results:
        verdicts = []
        for v in r.verdicts:
            held = next((b for b in r.entailed if (v.fact, b) in clashing), None)
            if v.label == "contradiction" and held is not None:
                v = FactVerdict(
                    fact=v.fact,
                    label="neutral",
                    probs=v.probs,
                    scored=v.scored,
                    evidence=f"the persona also says: {held}",
                )
            verdicts.append(v)
        out.append(
            ConsistencyResult(
                utterance=r.utterance, verdicts=verdicts, threshold=r.threshold, model=r.model
            )
        )
    return out
