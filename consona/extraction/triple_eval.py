"""PPDS's extraction metric: predicted (subject, relation, object) triples against the
ConvAI2 Dialogue-NLI annotations.

The gold file is the DNLI-triple text format (:mod:`consona.formats.dnli`). A gold triple
is *usable* unless its relation is ``other`` or its object ``<blank>``. Per utterance (and,
separately, per persona line):

- the predicted triple is that of the first fact with a relation (subject None → ``i``);
- ``triple_rouge_l``: ROUGE-L F of the linearised predicted triple (``subject relation
  object``, relation underscores as spaces) against the best-matching usable gold triple,
  averaged over the utterances with a usable gold triple (no prediction scores 0);
- detection precision / recall / F1: gold positive = a usable triple, predicted positive =
  a fact with a relation; an utterance whose only gold triples are unusable is ambiguous
  and left out of detection (``excluded`` counts them);
- ``relation_accuracy`` (the predicted relation is that of a usable gold triple) and
  ``exact_triple_accuracy`` (the predicted triple equals one after lower-casing and
  whitespace normalisation), both over the gold-positive utterances.

``--split`` picks dialogues by :func:`consona.nli.dialogue.assign_splits` (dialogue-disjoint,
the judge benchmark's split).

>>> from consona.types import Fact, Triple
>>> g = GoldItem(text="i have two dogs .", triples=(Triple("i", "have_pet", "2 dog"),))
>>> s = score_triples([g], [[Fact(text="I have two dogs.", relation="have_pet", object="2 dog")]])
>>> s["triple_rouge_l"], s["exact_triple_accuracy"], s["f1"]
(1.0, 1.0, 1.0)
>>> linearize(Triple("i", "like_food", "pizza"))
'i like food pizza'
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consona.errors import ConfigError
from consona.formats.dnli import DnliDialogue
from consona.text import rouge_l
from consona.types import Fact, Triple, Turn

__all__ = [
    "SPLITS",
    "DnliGold",
    "GoldItem",
    "evaluate_triples",
    "linearize",
    "predicted_triple",
    "prediction_records",
    "read_dnli_gold",
    "score_triples",
]

SPLITS = ("all", "train", "dev", "test")


@dataclass(frozen=True)
class GoldItem:
    """One utterance or persona line with its usable gold triples and the number of
    unusable (``other`` / ``<blank>``) annotations it carries."""

    text: str
    triples: tuple[Triple, ...] = ()
    unusable: int = 0
    dialogue: int = 0
    line: int = 0
    speaker: str = "you"
    context: tuple[str, ...] = ()

    @property
    def gold(self) -> str:
        """``positive`` (a usable triple), ``ambiguous`` (only unusable ones) or ``negative``."""
        if self.triples:
            return "positive"
        return "ambiguous" if self.unusable else "negative"


@dataclass
class DnliGold:
    """A DNLI-triples file read for evaluation: the dialogues (as
    :func:`consona.formats.dnli.read_dnli_dialogues` gives them, for the split) and the
    utterances and persona lines as :class:`GoldItem`."""

    path: str
    dialogues: list[DnliDialogue] = field(default_factory=list)
    utterances: list[GoldItem] = field(default_factory=list)
    persona_lines: list[GoldItem] = field(default_factory=list)

    def split(self, name: str) -> DnliGold:
        """The dialogues of one split (``all`` | ``train`` | ``dev`` | ``test``) with their
        utterances and (deduplicated) persona lines."""
        if name not in SPLITS:
            raise ConfigError(f"Unknown split {name!r}. Valid splits: {', '.join(SPLITS)}")
        if name == "all":
            keep = {d.index for d in self.dialogues}
        else:
            from consona.nli.dialogue import assign_splits

            _, dialogue_split = assign_splits(self.dialogues)
            keep = {i for i, s in dialogue_split.items() if s == name}
        seen: set[str] = set()
        persona = []
        for p in self.persona_lines:
            if p.dialogue in keep and p.text not in seen:
                seen.add(p.text)
                persona.append(p)
        return DnliGold(
            path=self.path,
            dialogues=[d for d in self.dialogues if d.index in keep],
            utterances=[u for u in self.utterances if u.dialogue in keep],
            persona_lines=persona,
        )


def read_dnli_gold(path: str | Path) -> DnliGold:
    """Read a DNLI-triples file (:func:`consona.formats.dnli.read_dnli_dialogues`) into
    gold items, each with the count of its unusable annotations, its line and, for an
    utterance, the two turns before it."""
    from consona.formats.dnli import read_dnli_dialogues

    out = DnliGold(path=str(path))
    for d in read_dnli_dialogues(path):
        out.dialogues.append(d)
        for (who, text, trs), (line, unusable) in zip(d.persona_lines, d.persona_info, strict=True):
            out.persona_lines.append(GoldItem(text, tuple(trs), unusable, d.index, line, who))
        history: list[str] = []
        for k, ((text, trs), (line, unusable)) in enumerate(zip(d.turns, d.turn_info, strict=True)):
            out.utterances.append(
                GoldItem(text, tuple(trs), unusable, d.index, line, d.speaker(k),
                         tuple(history[-2:]))
            )  # fmt: skip
            history.append(text)
    return out


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def predicted_triple(facts: Iterable[Fact]) -> Triple | None:
    """The triple of the first fact that has a relation (subject None → ``i``, object None
    → empty); None when no fact has one."""
    for f in facts:
        if f.relation:
            return Triple(_norm(f.subject or "i"), _norm(f.relation), _norm(f.object or ""))
    return None


def linearize(t: Triple) -> str:
    """``subject relation object`` with the relation's underscores as spaces."""
    return " ".join(x for x in (t.subject, t.relation.replace("_", " "), t.object) if x)


def _rates(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    return p, r, 2 * p * r / max(p + r, 1e-9)


def score_triples(
    items: Sequence[GoldItem], predictions: Sequence[Sequence[Fact]]
) -> dict[str, float]:
    """The metrics of the module docstring, as floats (counts too)."""
    tp = fp = fn = tn = excluded = 0
    rouge_sum = 0.0
    rel_hits = exact_hits = positives = 0
    for item, facts in zip(items, predictions, strict=True):
        pred = predicted_triple(facts)
        kind = item.gold
        if kind == "ambiguous":
            excluded += 1
            continue
        if kind == "negative":
            fp += pred is not None
            tn += pred is None
            continue
        positives += 1
        if pred is None:
            fn += 1
            continue
        tp += 1
        gold = [Triple(_norm(g.subject), _norm(g.relation), _norm(g.object)) for g in item.triples]
        rouge_sum += max(rouge_l(linearize(pred), linearize(g)) for g in gold)
        rel_hits += any(pred.relation == g.relation for g in gold)
        exact_hits += pred in gold
    p, r, f1 = _rates(tp, fp, fn)
    return {
        "n": float(len(items)),
        "gold_positive": float(positives),
        "excluded": float(excluded),
        "triple_rouge_l": rouge_sum / max(positives, 1),
        "precision": p,
        "recall": r,
        "f1": f1,
        "relation_accuracy": rel_hits / max(positives, 1),
        "exact_triple_accuracy": exact_hits / max(positives, 1),
    }


def _context(x: GoldItem) -> list[Turn]:
    """The earlier turns of ``x``; turns alternate, so the last is the other speaker's."""
    other = {"you": "partner", "partner": "you"}.get(x.speaker, "other")
    n = len(x.context)
    return [
        Turn(speaker=other if (n - k) % 2 else x.speaker, text=c) for k, c in enumerate(x.context)
    ]


def evaluate_triples(
    extractor: Any,
    items: Sequence[GoldItem],
    *,
    batch_size: int = 64,
    max_seconds: float | None = None,
    on_batch: Callable[[int], None] | None = None,
    use_context: bool = True,
    predictions: list[list[Fact]] | None = None,
) -> dict[str, float]:
    """Run ``extractor`` over ``items`` (utterances with up to two earlier turns as context)
    and :func:`score_triples` it; adds ``utterances_per_s`` (wall time of the extractor
    calls). With ``max_seconds`` it stops after the batch that passes the budget and scores
    what was done (``n`` says how many). ``predictions``, when given, receives the facts
    of each utterance done (for :func:`prediction_records`)."""
    preds: list[list[Fact]] = []
    elapsed = 0.0
    for b in range(0, len(items), batch_size):
        chunk = items[b : b + batch_size]
        turns = [Turn(speaker=x.speaker, text=x.text) for x in chunk]
        ctxs = [_context(x) if use_context else [] for x in chunk]
        t0 = time.perf_counter()
        preds.extend(extractor.extract_batch(turns, contexts=ctxs))
        elapsed += time.perf_counter() - t0
        if on_batch is not None:
            on_batch(len(preds))
        if max_seconds is not None and elapsed > max_seconds:
            break
    if predictions is not None:
        predictions.extend(preds)
    out = score_triples(items[: len(preds)], preds)
    out["utterances_per_s"] = len(preds) / max(elapsed, 1e-9)
    return out


def prediction_records(
    items: Sequence[GoldItem], predictions: Sequence[Sequence[Fact]]
) -> list[dict[str, Any]]:
    """One JSON-ready record per utterance (text, gold, predicted triple, its ROUGE-L
    against the best gold triple), for reading what the metric counted.

    >>> g = GoldItem("i am 30 .", (Triple("i", "has_age", "30"),), line=4)
    >>> prediction_records([g], [[]])[0]["triple_rouge_l"]
    0.0
    """
    out = []
    for item, facts in zip(items, predictions, strict=False):
        pred = predicted_triple(facts)
        gold = [Triple(_norm(g.subject), _norm(g.relation), _norm(g.object)) for g in item.triples]
        rec: dict[str, Any] = {
            "line": item.line,
            "dialogue": item.dialogue,
            "text": item.text,
            "gold": item.gold,
            "gold_triples": [list(g) for g in gold],
            "predicted": list(pred) if pred else None,
            "facts": [f.text for f in facts],
        }
        if gold:
            rec["triple_rouge_l"] = (
                max(rouge_l(linearize(pred), linearize(g)) for g in gold) if pred else 0.0
            )
        out.append(rec)
    return out
