"""NLI evaluation: accuracy, per-class precision/recall/F1, confusion matrix.

Data: JSONL with ``premise``, ``hypothesis``, ``label`` (entailment|neutral|contradiction,
or e/n/c, 0/1/2), or a named evaluation set read from the data directory
(``snli`` = SNLI test from ``nli/snli-becel``, ``sick`` = SICK test, ``anli`` = ANLI
rounds 1–3 dev, ``challenge`` = the hand-written persona challenge set in
:mod:`consona.nli.challenge`, which needs no data directory; ``dialogue`` = the dialogue
contradiction benchmark of :mod:`consona.nli.dialogue`, test split unless ``split=``;
``dev-read`` = the hand-read ``persona-contradictions-dev`` pairs, ambiguous ones left out). Pure functions; no pydantic (runs on bare GPU machines too).

>>> m = nli_metrics(["entailment", "neutral"], ["entailment", "contradiction"])
>>> m["accuracy"], m["per_class"]["contradiction"]["precision"]
(0.5, 0.0)
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import ConfigError, DataValidationError
from consona.nli.base import LABELS, NLIModel

_ALIASES = {
    "entailment": "entailment", "e": "entailment", "0": "entailment",
    "neutral": "neutral", "n": "neutral", "1": "neutral",
    "contradiction": "contradiction", "c": "contradiction", "2": "contradiction",
}  # fmt: skip
NAMED_SETS = ("dialogue", "dev-read", "snli", "sick", "anli", "challenge")
BUILTIN_SETS = ("challenge",)  # need no data directory


def norm_label(value: Any) -> str | None:
    return _ALIASES.get(str(value).strip().lower())


def nli_metrics(gold: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class P/R/F1, macro F1 and the confusion matrix (rows = gold)."""
    if len(gold) != len(pred):
        raise DataValidationError(f"{len(gold)} gold labels but {len(pred)} predictions")
    idx = {lab: i for i, lab in enumerate(LABELS)}
    cm = np.zeros((3, 3), dtype=int)
    for g, p in zip(gold, pred, strict=True):
        cm[idx[g], idx[p]] += 1
    n = int(cm.sum())
    per_class: dict[str, dict[str, float]] = {}
    for lab, i in idx.items():
        tp = cm[i, i]
        prec = tp / cm[:, i].sum() if cm[:, i].sum() else 0.0
        rec = tp / cm[i, :].sum() if cm[i, :].sum() else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per_class[lab] = {
            "precision": float(prec),
            "recall": float(rec),
            "f1": float(f1),
            "support": int(cm[i, :].sum()),
        }
    return {
        "n": n,
        "accuracy": float(np.trace(cm) / n) if n else 0.0,
        "macro_f1": float(np.mean([c["f1"] for c in per_class.values()])),
        "per_class": per_class,
        "confusion": {
            "labels": list(LABELS),
            "matrix": cm.tolist(),
        },
    }


def contradiction_prf(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """Precision, recall, F1 and support of the contradiction class.

    >>> contradiction_prf(["contradiction", "neutral"], ["contradiction", "contradiction"])["precision"]
    0.5
    """
    tp = sum(g == p == "contradiction" for g, p in zip(gold, pred, strict=True))
    n_pred = sum(p == "contradiction" for p in pred)
    n_gold = sum(g == "contradiction" for g in gold)
    prec = tp / n_pred if n_pred else 0.0
    rec = tp / n_gold if n_gold else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {
        "precision": prec,
        "recall": rec,
        "f1": f1,
        "support": float(n_gold),
        "n": float(len(gold)),
    }


def read_named_set(
    name: str, data_dir: str | Path | None = None, *, split: str = "test"
) -> Iterator[dict[str, str]]:
    """Rows of a named evaluation set (see module docstring)."""
    if name == "challenge":
        from consona.nli.challenge import challenge_rows

        yield from challenge_rows()
        return
    if data_dir is None:
        raise ConfigError(
            f"the {name!r} set is read from the datasets folder",
            hint="pass --data-dir DIR (the folder holding nli/)",
        )
    if name == "dialogue":
        from consona.nli.dialogue import SPLITS, build_dialogue_pairs

        if split not in SPLITS:
            from consona.errors import UnknownNameError

            raise UnknownNameError("dialogue benchmark split", split, SPLITS)
        yield from build_dialogue_pairs(data_dir)[split]
        return
    if name == "dev-read":
        from consona.nli.dialogue import read_dev_read

        yield from read_dev_read(data_dir)
        return
    root = Path(data_dir) / "nli"
    csv.field_size_limit(sys.maxsize)
    if name == "snli":
        with open(root / "snli-becel" / "test.tsv", encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                lab = norm_label(r.get("label"))
                if lab:
                    yield {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": lab}
    elif name == "sick":
        with open(root / "sick" / "SICK.txt", encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                if (r.get("SemEval_set") or "").strip() != "TEST":
                    continue
                lab = norm_label(r.get("entailment_label", "").lower())
                if lab:
                    yield {"premise": r["sentence_A"], "hypothesis": r["sentence_B"], "label": lab}
    elif name == "anli":
        for path in sorted((root / "anli-devtest").glob("R*/dev.jsonl")):
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        r = json.loads(line)
                        lab = norm_label(r.get("label"))
                        if lab:
                            yield {
                                "premise": r["context"],
                                "hypothesis": r["hypothesis"],
                                "label": lab,
                                "source": path.parent.name,
                            }
    else:
        from consona.errors import UnknownNameError

        raise UnknownNameError("evaluation set", name, NAMED_SETS)


def evaluate_rows(
    nli: NLIModel,
    rows: Sequence[dict[str, str]],
    *,
    batch_size: int = 64,
    threshold: float | None = None,
    by_source: bool = True,
) -> dict[str, Any]:
    """Predict every row and score it. With ``threshold`` the contradiction label follows
    the calibrated rule of :func:`consona.nli.consistency.label_from_probs` (reported as
    ``thresholded``), else plain argmax."""
    pairs = [(r["premise"], r["hypothesis"]) for r in rows]
    probs = np.asarray(nli.predict(pairs, batch_size=batch_size)) if pairs else np.zeros((0, 3))
    gold = [r["label"] for r in rows]
    pred = [LABELS[int(i)] for i in probs.argmax(axis=1)]
    out = nli_metrics(gold, pred)
    if threshold is not None:
        thr_pred = [
            "contradiction" if p[2] >= threshold else LABELS[int(np.argmax(p[:2]))] for p in probs
        ]
        out["thresholded"] = {"threshold": threshold, **nli_metrics(gold, thr_pred)}
    groups = sorted({str(r["group"]) for r in rows if r.get("group")})
    if groups:
        labels = thr_pred if threshold is not None else pred
        out["by_group"] = {
            g: contradiction_prf(
                [x for x, r in zip(gold, rows, strict=True) if r.get("group") == g],
                [x for x, r in zip(labels, rows, strict=True) if r.get("group") == g],
            )
            for g in groups
        }
    if by_source:
        sources = sorted({r["source"] for r in rows if r.get("source")})
        if len(sources) > 1:
            out["by_source"] = {
                s: nli_metrics(
                    [g for g, r in zip(gold, rows, strict=True) if r.get("source") == s],
                    [p for p, r in zip(pred, rows, strict=True) if r.get("source") == s],
                )["accuracy"]
                for s in sources
            }
    return out
