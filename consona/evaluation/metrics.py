"""Evaluation metrics: pure functions that take texts, labels or scores and return floats.

Persona consistency (Madotto et al. 2019; Welleck et al. 2019), response quality (ParlAI
unigram F1, BLEU, ROUGE-L, Distinct-n, perplexity) and ranking (Hits@k, MRR).

>>> round(unigram_f1("The cat sat.", "a cat sat down"), 3)
0.8
>>> c_score(["entailment", "neutral", "contradiction", "entailment"])
1.0
>>> distinct_n(["a b a b"], n=1)
0.5
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from consona import text as _text
from consona.errors import ConfigError, require

__all__ = [
    "LABEL_SCORE",
    "bleu",
    "c_score",
    "consistency_at_1",
    "contradiction_rate",
    "distinct_n",
    "entailment_rate",
    "hits_at_k",
    "mean",
    "mean_c_score",
    "mean_reciprocal_rank",
    "normalize_answer",
    "perplexity",
    "rank_of",
    "rouge_l",
    "unigram_f1",
]

# Madotto et al. 2019: NLI(u, p) = +1 entailment, 0 neutral, -1 contradiction.
LABEL_SCORE: dict[str, int] = {"entailment": 1, "neutral": 0, "contradiction": -1}

_RE_ART = re.compile(r"\b(a|an|the)\b")
_RE_PUNC = re.compile(r"[!\"#$%&()*+,\-./:;<=>?@\[\]\\^`{|}~_']")


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean; ``nan`` for no values (so an empty run is never reported as 0)."""
    return float(sum(values) / len(values)) if len(values) else float("nan")


# --- persona consistency -------------------------------------------------------------


def _check_label(label: str) -> int:
    try:
        return LABEL_SCORE[label]
    except KeyError:
        raise ConfigError(
            f"Unknown NLI label {label!r}",
            hint="use one of: " + ", ".join(LABEL_SCORE),
        ) from None


def c_score(fact_labels: Sequence[str]) -> float:
    """C-score of one reply: the sum over persona facts of +1 (entailed), 0 (neutral) and
    -1 (contradicted). ``fact_labels`` holds one NLI label per persona fact."""
    return float(sum(_check_label(lab) for lab in fact_labels))


def mean_c_score(replies: Sequence[Sequence[str]]) -> float:
    """Average C-score over replies (each a list of per-fact labels)."""
    return mean([c_score(r) for r in replies])


def contradiction_rate(replies: Sequence[Sequence[str]]) -> float:
    """Fraction of replies that contradict at least one persona fact."""
    return mean([1.0 if any(_check_label(x) < 0 for x in r) else 0.0 for r in replies])


def entailment_rate(replies: Sequence[Sequence[str]]) -> float:
    """Persona-entailment rate: fraction of replies that entail (use) at least one fact."""
    return mean([1.0 if any(_check_label(x) > 0 for x in r) else 0.0 for r in replies])


# --- response quality ----------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """ParlAI's normalisation: lower case, punctuation and articles removed, spaces squeezed."""
    text = text.lower()
    text = _RE_PUNC.sub(" ", text)
    text = _RE_ART.sub(" ", text)
    return " ".join(text.split())


def unigram_f1(prediction: str, references: str | Sequence[str]) -> float:
    """ParlAI unigram F1 of ``prediction`` against one reference (or the max over several)."""
    refs = [references] if isinstance(references, str) else list(references)
    if not refs:
        raise ConfigError("unigram_f1 needs at least one reference", hint="pass a reference text")
    pred = normalize_answer(prediction).split()
    best = 0.0
    for ref in refs:
        gold = normalize_answer(ref).split()
        same = sum((Counter(pred) & Counter(gold)).values())
        if same == 0:
            continue
        p, r = same / len(pred), same / len(gold)
        best = max(best, 2 * p * r / (p + r))
    return best


def bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (sacrebleu, default 13a tokenisation), 0-100, one reference per prediction."""
    if len(predictions) != len(references):
        raise ConfigError(
            f"bleu: {len(predictions)} predictions but {len(references)} references",
            hint="pass one reference per prediction",
        )
    if not predictions:
        return float("nan")
    sacrebleu = require("sacrebleu", extra="eval", purpose="BLEU")
    return float(sacrebleu.corpus_bleu(list(predictions), [list(references)]).score)


def _parlai_tokens(text: str) -> list[str]:
    return normalize_answer(text).split()


def rouge_l(prediction: str, reference: str, *, beta: float = 1.0) -> float:
    """ROUGE-L F-measure on ParlAI-normalised tokens (LCS-based; ``beta`` weights recall):
    ``consona.text.rouge_l`` with ParlAI's tokenisation (articles and punctuation dropped)."""
    return _text.rouge_l(prediction, reference, beta=beta, tokenize=_parlai_tokens)


def distinct_n(texts: Sequence[str], *, n: int) -> float:
    """Distinct-n (Li et al. 2016): unique n-grams / all n-grams over the whole set of texts
    (lower-cased whitespace tokens). ``nan`` when the texts hold no n-gram."""
    if n < 1:
        raise ConfigError(f"distinct_n: n must be >= 1, got {n}", hint="use n=1 or n=2")
    grams: list[tuple[str, ...]] = []
    for t in texts:
        toks = t.lower().split()
        grams.extend(tuple(toks[i : i + n]) for i in range(len(toks) - n + 1))
    return len(set(grams)) / len(grams) if grams else float("nan")


def perplexity(token_logprobs: Sequence[Sequence[float]]) -> float:
    """Corpus perplexity from per-token natural-log probabilities of each reply:
    ``exp(-sum(logp) / number of tokens)``."""
    total = sum(len(x) for x in token_logprobs)
    if total == 0:
        return float("nan")
    return math.exp(-sum(sum(x) for x in token_logprobs) / total)


# --- ranking -------------------------------------------------------------------------


def rank_of(scores: Sequence[float], index: int) -> int:
    """1-based rank of candidate ``index`` under ``scores`` (higher is better). Ties count
    against it, so a scorer that gives every candidate the same score never ranks first."""
    if not 0 <= index < len(scores):
        raise ConfigError(
            f"rank_of: index {index} outside {len(scores)} candidates",
            hint="pass the gold candidate's index",
        )
    s = scores[index]
    return 1 + sum(1 for i, x in enumerate(scores) if i != index and x >= s)


def hits_at_k(ranks: Sequence[int], *, k: int = 1) -> float:
    """Fraction of items whose gold rank (1-based) is <= k."""
    return mean([1.0 if r <= k else 0.0 for r in ranks])


def mean_reciprocal_rank(ranks: Sequence[int]) -> float:
    """Mean of 1/rank over items."""
    return mean([1.0 / r for r in ranks])


def _top(scores: Sequence[float]) -> int | None:
    """Index of the unique best score; ``None`` when the best is tied."""
    if not scores:
        return None
    best = max(scores)
    tops = [i for i, s in enumerate(scores) if s == best]
    return tops[0] if len(tops) == 1 else None


def consistency_at_1(items: Sequence[tuple[Sequence[float], Sequence[str]]]) -> dict[str, float]:
    """DNLI-style ranking metrics (Welleck et al. 2019).

    Each item is (scores, kinds) with one kind per candidate: ``"gold"``, ``"entail"``,
    ``"contradict"`` or ``"neutral"``. Returns Hits@1 (gold ranked first), Entail@1 (the
    top candidate is the gold or another persona-entailing one), Contradict@1 (the top
    candidate contradicts the persona), Neutral@1 and MRR of the gold. A tied top counts as
    no hit of any kind.
    """
    hits, ent, con, neu, rr = [], [], [], [], []
    for scores, kinds in items:
        if len(scores) != len(kinds):
            raise ConfigError(
                f"consistency_at_1: {len(scores)} scores but {len(kinds)} kinds",
                hint="give one kind per candidate",
            )
        gold = [i for i, k in enumerate(kinds) if k == "gold"]
        if len(gold) != 1:
            raise ConfigError(
                "consistency_at_1: each item needs exactly one 'gold' candidate",
                hint="mark the gold reply's kind as 'gold'",
            )
        top = _top(scores)
        kind = kinds[top] if top is not None else None
        hits.append(float(kind == "gold"))
        ent.append(float(kind in ("gold", "entail")))
        con.append(float(kind == "contradict"))
        neu.append(float(kind == "neutral"))
        rr.append(1.0 / rank_of(scores, gold[0]))
    return {
        "hits@1": mean(hits),
        "entail@1": mean(ent),
        "contradict@1": mean(con),
        "neutral@1": mean(neu),
        "mrr": mean(rr),
        "n": float(len(hits)),
    }
