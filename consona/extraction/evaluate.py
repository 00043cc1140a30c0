"""Evaluation of extractors on labelled utterances (MSC persona summaries, PersonaExt).

- detection precision / recall / F1: does the utterance reveal a persona fact (gold:
  ``persona_text`` or triples present; predicted: at least one fact);
- ROUGE-L F of the extracted statements (joined) against the gold ``persona_text``, on the
  true positives;
- relation accuracy and triple accuracy on items with gold triples that the extractor
  detected: a gold relation predicted (relation), and with the object matching (token F1
  ≥ 0.5 with the gold object; triple).

>>> from consona.testing import FakeExtractor
>>> from consona.extraction.data import LabeledUtterance as U
>>> items = [U(text="i have two dogs", persona_text="I have two dogs."), U(text="lol ok")]
>>> r = evaluate_extractor(FakeExtractor(), items)
>>> r["f1"], r["rouge_l"]
(1.0, 1.0)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from consona.extraction.base import Extractor
from consona.extraction.data import LabeledUtterance
from consona.progress import progress
from consona.text import rouge_l, tokens
from consona.types import Fact, Turn

__all__ = ["evaluate_encoded", "evaluate_extractor", "score", "token_f1"]


def token_f1(a: str, b: str) -> float:
    ta, tb = tokens(a), tokens(b)
    common = sum(min(ta.count(w), tb.count(w)) for w in set(ta))
    if not common:
        return 0.0
    p, r = common / len(ta), common / len(tb)
    return 2 * p * r / (p + r)


def score(
    items: Sequence[LabeledUtterance], predictions: Sequence[Sequence[Fact]]
) -> dict[str, float]:
    """Metrics (see module docstring) from gold items and predicted facts, as floats."""
    tp = fp = fn = tn = 0
    rouges: list[float] = []
    rel_hits = trip_hits = trip_total = 0
    for x, facts in zip(items, predictions, strict=True):
        pred, gold = bool(facts), x.positive
        tp += pred and gold
        fp += pred and not gold
        fn += gold and not pred
        tn += not pred and not gold
        if pred and gold and x.persona_text:
            rouges.append(rouge_l(" ".join(f.text for f in facts), x.persona_text))
        if x.triples and pred:
            trip_total += 1
            gold_rel = {t[1] for t in x.triples}
            rel_ok = [f for f in facts if f.relation in gold_rel]
            rel_hits += bool(rel_ok)
            trip_hits += any(
                f.object and token_f1(f.object, t[2]) >= 0.5
                for f in rel_ok
                for t in x.triples
                if t[1] == f.relation
            )
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    out = {
        "n": float(len(items)),
        "gold_positive": float(tp + fn),
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / max(p + r, 1e-9),
        "accuracy": (tp + tn) / max(len(items), 1),
        "rouge_l": float(np.mean(rouges)) if rouges else 0.0,
        "rouge_l_n": float(len(rouges)),
    }
    if trip_total:
        out["relation_accuracy"] = rel_hits / trip_total
        out["triple_accuracy"] = trip_hits / trip_total
        out["triple_n"] = float(trip_total)
    return out


def evaluate_extractor(
    extractor: Extractor,
    items: Sequence[LabeledUtterance],
    *,
    batch_size: int = 64,
    show_progress: bool = False,
    on_batch: Callable[[int], None] | None = None,
    max_seconds: float | None = None,
) -> dict[str, float]:
    """Run ``extractor`` over ``items`` (with up to two context turns) and ``score`` it;
    adds ``utterances_per_s``. With ``max_seconds`` it stops after the batch that passes
    the budget and scores the utterances done (``n`` says how many)."""
    preds: list[list[Fact]] = []
    start = time.perf_counter()
    batches = range(0, len(items), batch_size)
    it = progress(batches, total=len(batches), desc="extracting") if show_progress else batches
    for b in it:
        chunk = items[b : b + batch_size]
        turns = [Turn(speaker="speaker", text=x.text) for x in chunk]
        ctxs = [[Turn(speaker="other", text=c) for c in x.context] for x in chunk]
        preds.extend(extractor.extract_batch(turns, contexts=ctxs))
        if on_batch is not None:
            on_batch(len(preds))
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            break
    elapsed = time.perf_counter() - start
    out = score(items[: len(preds)], preds)
    out["utterances_per_s"] = len(preds) / max(elapsed, 1e-9)
    return out


def evaluate_encoded(
    model: Any, items: Sequence[LabeledUtterance], encs: Sequence[Any]
) -> dict[str, float]:
    """``score`` a ``FastModel`` on utterances already encoded by ``ClauseEncoder``."""
    from consona.extraction.fast import FastExtractor

    ex = FastExtractor.on_vectors(model)
    return score(items, [ex.facts_from(e, x.text) for x, e in zip(items, encs, strict=True)])
