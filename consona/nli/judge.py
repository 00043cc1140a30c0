"""The default consistency judge: the persona-NLI cross-encoder on what the utterance
states, plus the relation-aware triple check on each of its clauses, behind the one
``NLIModel`` seam.

For a pair (persona fact, utterance) the judge

1. splits the utterance into clauses (:func:`consona.text.split_clauses`, bounded) and
   drops the questions: a question claims nothing, so an utterance of questions only is
   neutral without asking the model;
2. runs the cross-encoder on the statements (``nli_on="statements"``, the default), or
   also on each clause (``nli_on="clauses"``: the most contradicting clause speaks when
   one reaches the threshold, else the most entailing one), or on the raw utterance
   (``nli_on="utterance"``);
3. extracts (subject, relation, object) triples from the fact and from each clause of
   the utterance (:class:`consona.nli.triples.RuleTripleExtractor`, or any extractor) and
   flags a clash (negated relation, conflicting value of a single-valued relation, count
   mismatch), which lifts the contradiction probability to at least
   ``triple_confidence``;
4. caps the cross-encoder where the pair cannot contradict by logic
   (:func:`uncommitted_favourite`): a favourite ("my favorite band is aerosmith") is not
   contradicted by liking something else ("i love travis scott"). The cross-encoder reads
   such same-topic pairs as contradictions (the hand-read pairs' most common false
   contradiction); the cap holds only when the statements name no favourite, no
   negation or dislike and no exclusive or comparative word, and the triples do not clash.

One calibrated threshold (``judge_threshold`` in the part's calibration.json, chosen on
dev pairs with ``consona nli calibrate``) then reads the combined probabilities, as for
any NLIModel. :meth:`PersonaJudge.explain` says which part fired.

Per-clause NLI is not the default: measured on the dialogue benchmark, the persona test
split and the recipe's dev pairs, judging each clause out of context cost more precision
than it bought recall (see the NLI model card).

>>> from consona.testing import FakeNLI
>>> judge = PersonaJudge(FakeNLI())
>>> probs = judge.predict([("i am a vegan .", "i am a carnivore , are you ?")])
>>> bool(probs[0, 2] >= 0.5)
True
>>> judge.explain("i am a vegan .", "i am a carnivore , are you ?")["decided_by"]
'triples'
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from consona.nli.base import CONTRADICTION, ENTAILMENT, LABELS, NLIModel, Pair
from consona.nli.clash import Clash, clash
from consona.nli.triples import RuleTripleExtractor
from consona.text import normalize, split_clauses
from consona.types import Triple

__all__ = ["PersonaJudge", "load_default_judge", "uncommitted_favourite"]

TRIPLE_CONFIDENCE = 0.9
FAVOURITE_CAP = 0.05  # the contradiction left where a favourite cannot be contradicted
NLI_ON = ("statements", "clauses", "utterance")
QUESTION_ROW = np.array([0.02, 0.96, 0.02])  # an utterance of questions only claims nothing


_QUESTION_END = re.compile(r"\?\s*$")
_OWN_FAVOURITE = re.compile(
    r"\b(?:my (?:\w+ ){0,3}(?:favou?rites?|faves?|favs?)|(?:is|are) my (?:\w+ )?"
    r"(?:favou?rites?|faves?|favs?))\b",
    re.I,
)
_NOT_FAVOURITE = re.compile(r"\b(?:least|second|third)\s+(?:favou?rite|fave|fav)", re.I)
_NOT = (
    r"not|no|nope|never|nor|neither|cannot|dont|cant|wont|didnt|doesnt|isnt|arent|wasnt|"
    r"werent|havent|hasnt|hadnt|wouldnt|couldnt|shouldnt|aint"
)
_NEGATED = re.compile(rf"\b(?:{_NOT}|hate[sd]?|dislikes?)\b|n't\b", re.I)
# what can still make an utterance contradict a favourite: another favourite, a negation or
# dislike, an exclusive or comparative word ("only", "mostly", "the best", "more than")
_FAVOURITE_CLAIMS = re.compile(
    rf"\b(?:favou?rites?|faves?|favs?|{_NOT}|hate[sd]?|hating|dislikes?|cringe\w*|"
    r"stand|allergic|gross|ew+|yuck|disgust\w*|awful|terrible|worst|sick of|tired of|"
    r"only|just|mostly|mainly|especially|except|best|most|more|less|than|prefer\w*|rather|"
    r"instead|over|number one|top|anymore|stopped|quit|gave up|used to)\b|n't\b|(?<!\w)#1\b",
    re.I,
)
_FILLERS = re.compile(
    r"^(?:(?:hi|hey|hello|so|and|but|oh|ok|okay|well|lol|haha|yes|yeah|no|nope|nice|cool|"
    r"wow|awesome|great|really|me too|same|sure|hmm|um|then)\b[\s,.!]*)+",
    re.I,
)
_QUESTION_START = re.compile(
    r"^(?:what|who|whom|whose|where|when|why|how|which|do|does|did|are|is|was|were|have|has|"
    r"had|can|could|would|will|should|may|shall|am|aren't|isn't|don't|doesn't|didn't|"
    r"haven't|wanna|any|anything|you|u|your|yours|right)\b",
    re.I,
)


def is_question(text: str) -> bool:
    """A clause that asks rather than states: it ends with "?" and opens like a question
    ("so , do you …", "what about you ?"), or is a short tag ("you ?").

    >>> is_question("so , do you have any kids ?"), is_question("hi my name is darlene how are you?")
    (True, False)
    """
    if not _QUESTION_END.search(text):
        return False
    body = _FILLERS.sub("", text.strip())
    return bool(_QUESTION_START.match(body)) or len(body.split()) <= 3


def uncommitted_favourite(premise: str, statements: Sequence[str]) -> bool:
    """The premise states a favourite of the speaker and the utterance's statements say
    nothing that could contradict it: liking or doing something else, with no favourite,
    negation, dislike, exclusive or comparative word in them.

    >>> uncommitted_favourite("my favorite band is aerosmith .", ["i love travis scott"])
    True
    >>> uncommitted_favourite("my favorite band is aerosmith .", ["my fave band is the who"])
    False
    >>> uncommitted_favourite("my favorite band is aerosmith .", ["i only listen to jazz"])
    False
    >>> uncommitted_favourite("i love aerosmith .", ["i love travis scott"])
    False
    >>> uncommitted_favourite("my favorite is my bike . i do not have a car .", ["i drive a van"])
    False
    >>> uncommitted_favourite("my least favorite food is pizza .", ["i love pizza"])
    False
    """
    premise = premise.replace("’", "'")
    if not statements or not _OWN_FAVOURITE.search(premise) or _NOT_FAVOURITE.search(premise):
        return False
    # only a premise that claims the favourite and nothing else ("pink is my favorite
    # color , but i am a female" also states a gender)
    if len(split_clauses(premise)) > 1 or _NEGATED.search(premise):
        return False
    return not any(_FAVOURITE_CLAIMS.search(s.replace("’", "'")) for s in statements)


def segments(utterance: str, *, max_segments: int = 32) -> list[str]:
    """The utterance's statements and, when it has several, each sentence / clause
    (deduplicated). Questions claim nothing and are left out; an utterance of questions
    only gives ``[]``.

    >>> segments("i like rock , country music makes me cringe .")
    ['i like rock , country music makes me cringe .', 'i like rock', 'country music makes me cringe .']
    >>> segments("nice . i do not have any pets . do you have any kids ?")
    ['i do not have any pets']
    >>> segments("i am a carnivore , are you ?")
    ['i am a carnivore']
    >>> segments("why do you hate orange ?")
    []
    """
    clauses = split_clauses(utterance, max_segments=max_segments)
    if not clauses:
        return [utterance]
    statements = [c for c in clauses if not is_question(c)]
    if not statements:
        return []
    whole = utterance if len(statements) == len(clauses) else " . ".join(statements)
    out = [whole]
    seen = {normalize(whole)}
    for c in statements:
        if normalize(c) not in seen:
            seen.add(normalize(c))
            out.append(c)
    return out


class PersonaJudge:
    """``NLIModel`` that combines a cross-encoder on the statements with a triple check.

    ``nli``: the cross-encoder (any NLIModel). ``extractor``: anything with
    ``extract(text) -> list[Triple]`` (default: the rule extractor); ``triples=False``
    turns the structured check off; ``caps=False`` the logic cap
    (:func:`uncommitted_favourite`). ``nli_on``: ``"statements"`` (the utterance without
    its questions), ``"clauses"`` (also each clause), ``"utterance"`` (as given).

    >>> from consona.testing import FakeNLI
    >>> PersonaJudge(FakeNLI()).predict([("I have two dogs.", "I have dogs.")]).argmax(1).tolist()
    [0]
    """

    def __init__(
        self,
        nli: NLIModel,
        *,
        extractor: Any = None,
        nli_on: str = "statements",
        triples: bool = True,
        triple_confidence: float = TRIPLE_CONFIDENCE,
        caps: bool = True,
        threshold: float | None = None,
        name: str = "consona",
    ) -> None:
        self.nli = nli
        self.extractor = extractor if extractor is not None else RuleTripleExtractor()
        if nli_on not in NLI_ON:
            from consona.errors import UnknownNameError

            raise UnknownNameError("judge NLI scope", nli_on, NLI_ON)
        self.nli_on = nli_on
        self.triples = triples
        self.triple_confidence = float(triple_confidence)
        self.caps = caps
        inner = getattr(nli, "contradiction_threshold", None)
        self.contradiction_threshold: float = float(
            threshold if threshold is not None else inner if inner is not None else 0.5
        )
        self.name = name
        self._extract = lru_cache(maxsize=50_000)(self._extract_uncached)

    def __repr__(self) -> str:
        return (
            f"PersonaJudge({getattr(self.nli, 'name', self.nli)!r}, nli_on={self.nli_on!r}, "
            f"triples={self.triples})"
        )

    def _extract_uncached(self, text: str) -> tuple[Triple, ...]:
        return tuple(self.extractor.extract(text))

    def _clash(self, premise: str, hypothesis: str) -> Clash:
        if not self.triples:
            return Clash(False)
        pt = self._extract(premise)
        if not pt:
            return Clash(False)
        for a in pt:
            for b in self._extract(hypothesis):
                reason = clash(a, b)
                if reason:
                    return Clash(True, reason, a, b)
        return Clash(False)

    def _segments(self, hypothesis: str) -> list[str]:
        if self.nli_on == "utterance":
            return [hypothesis]
        segs = segments(hypothesis)
        return segs if self.nli_on == "clauses" else segs[:1]

    def _nli_rows(
        self, pairs: Sequence[Pair], batch_size: int
    ) -> tuple[list[np.ndarray], list[list[str]]]:
        segs = [self._segments(h) for _, h in pairs]
        index: dict[Pair, int] = {}
        flat: list[Pair] = []
        for (p, _), ss in zip(pairs, segs, strict=True):
            for s in ss:
                if (p, s) not in index:
                    index[(p, s)] = len(flat)
                    flat.append((p, s))
        probs = (
            np.asarray(self.nli.predict(flat, batch_size=batch_size), dtype=np.float64)
            if flat
            else np.zeros((0, 3))
        )
        blocks = [
            np.stack([probs[index[(p, s)]] for s in ss]) if ss else QUESTION_ROW[None, :]
            for (p, _), ss in zip(pairs, segs, strict=True)
        ]
        return blocks, segs

    def _pick(self, block: np.ndarray) -> int:
        thr = self.contradiction_threshold
        if (block[:, CONTRADICTION] >= thr).any():
            return int(np.argmax(block[:, CONTRADICTION]))
        labels = block[:, :2].argmax(axis=1)
        if (labels == ENTAILMENT).any():
            return int(np.argmax(np.where(labels == ENTAILMENT, block[:, ENTAILMENT], -1.0)))
        return 0

    def _capped(self, premise: str, hypothesis: str, row: np.ndarray, found: Clash) -> bool:
        """Whether the logic cap applies: a favourite the utterance cannot contradict."""
        return (
            self.caps
            and not found.fired
            and row[CONTRADICTION] > FAVOURITE_CAP
            and _OWN_FAVOURITE.search(premise) is not None  # cheap test first
            and uncommitted_favourite(premise, segments(hypothesis))
        )

    def _combine(self, row: np.ndarray, found: Clash, capped: bool = False) -> np.ndarray:
        if capped:
            extra = row[CONTRADICTION] - FAVOURITE_CAP
            return np.array([row[0], row[1] + extra, FAVOURITE_CAP])
        if not found.fired or row[CONTRADICTION] >= self.triple_confidence:
            return row
        c = self.triple_confidence
        rest = row[:2].sum()
        scale = (1.0 - c) / rest if rest > 0 else 0.0
        return np.array([row[0] * scale, row[1] * scale, c])

    def predict(self, pairs: Sequence[Pair], *, batch_size: int = 64) -> np.ndarray:
        pairs = [(str(p), str(h)) for p, h in pairs]
        blocks, _ = self._nli_rows(pairs, batch_size)
        out = np.zeros((len(pairs), 3), dtype=np.float32)
        for i, ((p, h), block) in enumerate(zip(pairs, blocks, strict=True)):
            row = block[self._pick(block)]
            found = self._clash(p, h)
            out[i] = self._combine(row, found, self._capped(p, h, row, found))
        return out

    def explain(self, premise: str, hypothesis: str) -> dict[str, Any]:
        """Which part decided: ``nli`` (with the clause that spoke), ``triples`` (with
        the two triples and the reason), both, ``favourite-cap`` (the cross-encoder's
        contradiction capped by :func:`uncommitted_favourite`), or neither."""
        blocks, segs = self._nli_rows([(premise, hypothesis)], 64)
        block = blocks[0]
        k = self._pick(block)
        row = block[k]
        found = self._clash(premise, hypothesis)
        capped = self._capped(premise, hypothesis, row, found)
        final = self._combine(row, found, capped)
        thr = self.contradiction_threshold
        nli_fired = bool(row[CONTRADICTION] >= thr)
        label = (
            "contradiction" if final[CONTRADICTION] >= thr else LABELS[int(np.argmax(final[:2]))]
        )
        decided = (
            "favourite-cap"
            if capped and nli_fired
            else "nli+triples"
            if nli_fired and found.fired
            else "nli"
            if nli_fired
            else "triples"
            if found.fired and label == "contradiction"
            else "nli"
        )
        return {
            "label": label,
            "decided_by": decided,
            "probs": {lab: float(final[j]) for j, lab in enumerate(LABELS)},
            "nli": {
                "probs": {lab: float(row[j]) for j, lab in enumerate(LABELS)},
                "evidence": segs[0][k] if segs[0] else "(questions only: no claim)",
                "contradiction": nli_fired,
                "capped": bool(capped),
            },
            "triples": {
                "fired": found.fired,
                "reason": found.reason,
                "premise": list(found.premise) if found.premise else None,
                "hypothesis": list(found.hypothesis) if found.hypothesis else None,
                "premise_triples": [list(t) for t in self._extract(premise)],
                "hypothesis_triples": [list(t) for t in self._extract(hypothesis)],
            },
        }


def calibrate(
    judge: PersonaJudge, rows: Sequence[dict[str, str]], *, batch_size: int = 64
) -> tuple[float, float]:
    """The contradiction threshold (0.05…0.95) that maximises contradiction F1 of the whole
    judge on ``rows`` (premise, hypothesis, label), and that F1."""
    gold = np.array([LABELS.index(r["label"]) for r in rows])
    probs = judge.predict([(r["premise"], r["hypothesis"]) for r in rows], batch_size=batch_size)
    best = (0.5, -1.0)
    for thr in np.round(np.arange(0.05, 0.96, 0.01), 2):
        pred = probs[:, CONTRADICTION] >= thr
        tp = float(np.sum(pred & (gold == CONTRADICTION)))
        f1 = 2 * tp / max(1.0, float(pred.sum() + (gold == CONTRADICTION).sum()))
        if f1 > best[1] + 1e-9:
            best = (float(thr), f1)
    return best


def judge_threshold(part_dir: Any = None) -> float | None:
    """The judge's own calibrated threshold (``judge_threshold`` in calibration.json)."""
    from consona.nli.crossencoder import CALIBRATION_FILE, shipped_dir

    path = Path(part_dir or shipped_dir()) / CALIBRATION_FILE
    if not path.is_file():
        return None
    value = json.loads(path.read_text()).get("judge_threshold")
    return float(value) if value is not None else None


def load_default_judge(
    *, triples: bool = True, nli_on: str = "statements", part_dir: Any = None, **kwargs: Any
) -> PersonaJudge:
    """``"consona"``: the shipped cross-encoder (int8 ONNX Runtime when available) inside
    :class:`PersonaJudge`, read with the judge's calibrated threshold. Other keyword
    arguments go to the cross-encoder loader."""
    from consona.nli.crossencoder import load_consona_nli

    kwargs.setdefault("quantize", True)
    nli = load_consona_nli(part_dir, **kwargs)
    default = triples and nli_on == "statements"
    thr = judge_threshold(part_dir) if default else None
    name = "consona" if part_dir is None else f"consona:{part_dir}"
    return PersonaJudge(nli, triples=triples, nli_on=nli_on, threshold=thr, name=name)
