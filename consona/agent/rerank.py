"""Candidate scoring for the persona agent: NLI against every fact, coherence with the user.

score = ``w_coherence`` · coherence + ``w_entail`` · entailment − ``w_contra`` · max p(contradiction)

* *contradiction* of any fact (its NLI label, at the model's calibrated threshold) is
  disqualifying: a disqualified candidate ranks below every qualified one;
* *entailment* is the mean entailment probability of the facts relevant to the user's
  turn (the facts most similar to it, lexically), or of the most entailed fact when no
  fact is relevant — a bonus for answering from the persona;
* *coherence* is how well the candidate follows the user's turn: cosine similarity of
  sentence embeddings (``EmbeddingCoherence``) or a cheap lexical overlap
  (``LexicalCoherence``), in [0, 1].

Empty candidates and (near-)repeats of the agent's previous reply are disqualified too; a
candidate that merely echoes the user's message keeps 30% of its coherence.

>>> score = LexicalCoherence()
>>> a, b = score("Do you have any pets?", ["Yes, two pets: dogs.", "I like jazz."])
>>> a > b
True
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from consona.errors import UnknownNameError
from consona.nli.base import NLIModel
from consona.text import STOP_WORDS, content_words

__all__ = [
    "COHERENCE",
    "Candidate",
    "EmbeddingCoherence",
    "LexicalCoherence",
    "ScoreWeights",
    "make_coherence",
    "score_candidates",
]

CoherenceFn = Callable[[str, Sequence[str]], list[float]]


class LexicalCoherence:
    """Coherence without a model: overlap of content words between the user's turn and a
    candidate, plus a small reward for a direct answer shape (yes/no to a question).

    >>> LexicalCoherence()("Where do you live?", ["I live in Oslo.", "Bananas!"])[0] > 0
    True
    """

    name = "lexical"

    def __call__(self, context: str, candidates: Sequence[str]) -> list[float]:
        ctx = content_words(context, stop=STOP_WORDS)
        question = context.strip().endswith("?")
        out = []
        for c in candidates:
            words = content_words(c, stop=STOP_WORDS)
            overlap = len(ctx & words) / max(1, len(ctx)) if ctx else 0.0
            bonus = 0.1 if question and re.match(r"^\W*(yes|no|yeah|nope|sure)\b", c, re.I) else 0
            out.append(float(min(1.0, 0.3 + 0.7 * overlap + bonus)) if c.strip() else 0.0)
        return out


class EmbeddingCoherence:
    """Coherence as cosine similarity of sentence embeddings (default: consona's MiniLM
    embedder), mapped from [-1, 1] to [0, 1]. ``embedder`` needs ``encode(list[str])``.

    >>> EmbeddingCoherence()("hi, how are you?", ["good thanks!", "the tax code"])  # doctest: +SKIP
    [0.74, 0.52]
    """

    name = "embedding"

    def __init__(self, embedder: Any = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from consona.models.embedder import load_embedder

            self._embedder = load_embedder()
        return self._embedder

    def __call__(self, context: str, candidates: Sequence[str]) -> list[float]:
        if not candidates:
            return []
        vecs = np.asarray(self.embedder.encode([context, *candidates]), dtype=np.float32)
        vecs = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        sims = vecs[1:] @ vecs[0]
        return [float((s + 1.0) / 2.0) for s in sims]


COHERENCE = ("auto", "embedding", "lexical")


def make_coherence(spec: str | CoherenceFn | None) -> CoherenceFn:
    """``"lexical"``, ``"embedding"``, ``"auto"`` (embedding when the embedder is
    installed, else lexical) or a callable ``(context, candidates) -> scores``."""
    if spec is None or spec == "auto":
        try:
            import importlib.util

            from consona.models.embedder import embedder_path

            if importlib.util.find_spec("sentence_transformers") is None:
                return LexicalCoherence()
            embedder_path()
        except Exception:  # any missing piece → the lexical fallback
            return LexicalCoherence()
        return EmbeddingCoherence()
    if callable(spec):
        return spec
    if spec == "lexical":
        return LexicalCoherence()
    if spec == "embedding":
        return EmbeddingCoherence()
    raise UnknownNameError("coherence scorer", str(spec), COHERENCE)


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the candidate score (see the module docstring).

    >>> ScoreWeights().entail
    0.5
    """

    coherence: float = 1.0
    entail: float = 0.5
    contra: float = 1.0
    relevant_facts: int = 2


@dataclass
class Candidate:
    """One sampled reply and its scores.

    >>> Candidate(text="I have two dogs.", coherence=0.8).to_dict()["coherence"]
    0.8

    ``verdicts``: per fact, ``{"fact", "label",
    "probs"}``; ``contradicted``: facts it contradicts; ``attempt``: 0 for the first
    sampling, 1.. for repair rounds; ``edit``: ``"trimmed"`` when the agent made it from a
    sampled candidate by cutting sentences or clauses (:mod:`consona.agent.trim`), else ``""``."""

    text: str
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    c_score: float = 0.0
    contradiction: float = 0.0
    entailment: float = 0.0
    coherence: float = 0.0
    score: float = 0.0
    contradicted: list[str] = field(default_factory=list)
    disqualified: bool = False
    reason: str = ""
    attempt: int = 0
    terms: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    ooc: bool = False
    leaked: bool = False
    edit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "score": round(self.score, 4),
            "c_score": self.c_score,
            "contradiction": round(self.contradiction, 4),
            "entailment": round(self.entailment, 4),
            "coherence": round(self.coherence, 4),
            "contradicted": self.contradicted,
            "disqualified": self.disqualified,
            "reason": self.reason,
            "attempt": self.attempt,
            "flags": self.flags,
            "terms": {k: round(v, 4) if isinstance(v, float) else v for k, v in self.terms.items()},
            "ooc": self.ooc,
            "leaked": self.leaked,
            "edit": self.edit,
            "verdicts": self.verdicts,
        }


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def _relevant(facts: Sequence[str], user: str, k: int) -> list[int]:
    words = content_words(user, stop=STOP_WORDS)
    overlaps = [(len(words & content_words(f, stop=STOP_WORDS)), i) for i, f in enumerate(facts)]
    ranked = sorted((o for o in overlaps if o[0] > 0), key=lambda o: (-o[0], o[1]))
    return [i for _, i in ranked[:k]]


def score_candidates(
    texts: Sequence[str],
    *,
    facts: Sequence[str],
    user: str,
    nli: NLIModel | None,
    coherence: CoherenceFn,
    weights: ScoreWeights = ScoreWeights(),
    previous_reply: str | None = None,
    threshold: float | None = None,
    attempt: int = 0,
    user_facts: Sequence[str] = (),
) -> list[Candidate]:
    """Score each candidate text (see the module docstring). Without ``nli`` only
    coherence counts. ``user_facts``: what the user said about themselves (long-term
    memory); a candidate's clauses about the user ("you …", read as "I …") must not
    contradict them — such a fact is listed in ``contradicted`` as ``"the user: <fact>"``."""
    cands = [Candidate(text=t, attempt=attempt) for t in texts]
    coh = coherence(user, list(texts)) if texts else []
    for c, s in zip(cands, coh, strict=True):
        c.coherence = float(s)
    if nli is not None and facts and texts:
        from consona.nli.consistency import check_many

        # Each sentence/clause is judged too: a reply's contradiction must not hide behind
        # its other clauses (a false alarm only costs a re-rank; a miss reaches the user).
        results = check_many(
            list(facts), list(texts), nli=nli, threshold=threshold, split_sentences=True
        )
        relevant = _relevant(facts, user, weights.relevant_facts)
        for c, r in zip(cands, results, strict=True):
            c.verdicts = [v.to_dict() for v in r.verdicts]
            c.c_score = r.c_score
            c.contradicted = r.contradicted
            c.contradiction = r.max_contradiction
            ent = [v.probs.get("entailment", 0.0) for v in r.verdicts]
            if relevant:
                c.entailment = float(np.mean([ent[i] for i in relevant]))
            else:
                c.entailment = float(max(ent, default=0.0))
    if nli is not None and user_facts and texts:
        _judge_user_facts(cands, list(user_facts), nli=nli, threshold=threshold)
    if nli is not None:
        for c in cands:
            if c.contradicted:
                c.disqualified = True
                c.reason = "contradicts: " + "; ".join(c.contradicted)
    prev = _norm(previous_reply or "")
    said = _norm(user)
    for c in cands:
        text = _norm(c.text)
        if not text:
            c.disqualified, c.reason = True, "empty reply"
        elif prev and difflib.SequenceMatcher(None, text, prev).ratio() >= 0.9:
            c.disqualified, c.reason = True, "repeats the previous reply"
        elif said and difflib.SequenceMatcher(None, text, said).ratio() >= 0.85:
            c.coherence *= 0.3  # parroting the user's message is not an answer
            if not c.reason:
                c.reason = "echoes the user"
        c.score = (
            weights.coherence * c.coherence
            + weights.entail * c.entailment
            - weights.contra * c.contradiction
        )
    return cands


def _judge_user_facts(
    cands: Sequence[Candidate], user_facts: list[str], *, nli: NLIModel, threshold: float | None
) -> None:
    """What a candidate says about the user, turned to the first person ("you are a
    nurse" → "I am a nurse"), judged against the user's own facts."""
    from consona.extraction.text import about_other, split_clauses
    from consona.extraction.verify import swap_person
    from consona.nli.consistency import check_many

    for c in cands:
        about_user = [swap_person(x.text) for x in split_clauses(c.text) if about_other(x.text)]
        if not about_user:
            continue
        for r in check_many(user_facts, about_user, nli=nli, threshold=threshold):
            for fact in r.contradicted:
                label = f"the user: {fact}"
                if label not in c.contradicted:
                    c.contradicted.append(label)
                    c.contradiction = max(c.contradiction, r.max_contradiction)


def rank(cands: Sequence[Candidate]) -> list[int]:
    """Indices best first: qualified before disqualified; among qualified ones every
    in-character candidate before any out-of-character one (``ooc``), then the higher
    score; among disqualified ones the least bad first (a prompt leak last, then the
    fewest contradicted facts, then the lowest contradiction probability)."""

    def key(i: int) -> tuple[Any, ...]:
        c = cands[i]
        if not c.disqualified:
            return (0, int(c.ooc), 0, 0.0, -c.score, i)
        return (1, int(c.leaked), len(c.contradicted), c.contradiction, -c.score, i)

    return sorted(range(len(cands)), key=key)
