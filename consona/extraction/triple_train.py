"""Training the triple tagger (:mod:`consona.extraction.triples`) on the ConvAI2
Dialogue-NLI triple annotations.

The data are the utterances and persona lines of a DNLI-triples file, split as the judge's
dialogue benchmark splits them (:func:`consona.nli.dialogue.assign_splits`: no persona
sentence or utterance of a dev/test dialogue in train). Per item the labels are:

* detect: 1 with a usable triple, 0 with none, ignored when the annotators marked it
  ``other`` / ``<blank>`` only (persona content outside the schema);
* relation: a soft target over the relations of its triples;
* subject, and the object: a span of the utterance's words when one matches the gold
  object (token F1 ≥ 0.8 after :func:`~consona.extraction.triples.normalize_object`),
  else one of the frequent objects when it is one, else a looser span (F1 ≥ 0.5), else
  no object label.

The detect threshold is chosen on a slice of the train dialogues held back from training
(detection F1), never on dev or test.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import ModelError, require
from consona.extraction.editor import _batch, _first_tokens, provenance
from consona.extraction.triples import (
    B_TAG,
    I_TAG,
    MAX_SPAN,
    O_TAG,
    SPAN,
    TriplePrediction,
    TripleTagger,
    new_triple_net,
    normalize_object,
    object_words,
    save_triple_tagger,
)
from consona.text import normalize
from consona.types import Fact, Triple

__all__ = [
    "TripleItem",
    "dnli_items",
    "learn_singular",
    "score_triples",
    "span_label",
    "train_triples",
]

log = logging.getLogger(__name__)


@dataclass
class TripleItem:
    """One utterance or persona line with its usable gold triples."""

    text: str
    triples: list[Triple] = field(default_factory=list)
    vague: bool = False
    """Annotated only ``other`` / ``<blank>``: left out of detection."""
    kind: str = "utterance"
    dialogue: int = -1
    split: str = "train"


def dnli_items(path: str | Path) -> list[TripleItem]:
    """Utterances and (distinct) persona lines of a DNLI-triples file, each with its split.
    An unknown relation is a FormatError naming the file and line."""
    from consona.extraction.relations import DNLI_RELATIONS
    from consona.formats.dnli import read_dnli_dialogues
    from consona.nli.dialogue import assign_splits

    dialogues = list(read_dnli_dialogues(path, relations=DNLI_RELATIONS))
    sentence_split, dialogue_split = assign_splits(dialogues)
    items: list[TripleItem] = []
    seen: set[str] = set()
    for d in dialogues:
        for _, text, trs in d.persona_lines:
            key = normalize(text)
            if key in seen:
                continue
            seen.add(key)
            split = sentence_split.get(key, "train")
            items.append(TripleItem(text, list(trs), not trs, "persona", d.index, split))
        split = dialogue_split[d.index]
        for k, (text, trs) in enumerate(d.turns):
            items.append(
                TripleItem(text, list(trs), k in d.vague_turns, "utterance", d.index, split)
            )
    return items


def learn_singular(items: Sequence[TripleItem]) -> dict[str, str]:
    """Plural utterance words that the annotators write singular in objects more often
    than they keep them ("dogs" → "dog"; "video games" stays)."""
    to_single: Counter[tuple[str, str]] = Counter()
    kept: Counter[str] = Counter()
    for it in items:
        words = set(object_words(it.text))
        for t in it.triples:
            for g in object_words(t.object):
                forms = [g + "s", g + "es"] + ([g[:-1] + "ies"] if g.endswith("y") else [])
                for p in forms:
                    if p in words:
                        to_single[(p, g)] += 1
                if g.endswith("s") and g in words:
                    kept[g] += 1
    return {p: g for (p, g), c in sorted(to_single.items()) if c > kept[p] and len(g) >= 3}


def _f1(pred: Sequence[str], gold: Sequence[str]) -> float:
    common = sum((Counter(pred) & Counter(gold)).values())
    if not common:
        return 0.0
    p, r = common / len(pred), common / len(gold)
    return 2 * p * r / (p + r)


def span_label(words: Sequence[str], gold: str, singular: dict[str, str]) -> tuple[int, int, float]:
    """The shortest span ``[a, b)`` of ``words`` whose normalised form best matches the
    gold object (token F1), with that F1.

    >>> span_label(["i", "walk", "my", "two", "dogs"], "2 dog", {"dogs": "dog"})
    (3, 5, 1.0)
    """
    g = normalize_object([gold], singular).split()
    best = (0, 0, 0.0)
    if not g:
        return best
    for length in range(1, min(len(words), MAX_SPAN) + 1):
        for a in range(len(words) - length + 1):
            f = _f1(normalize_object(words[a : a + length], singular).split(), g)
            if f > best[2] + 1e-9:
                best = (a, a + length, f)
    return best


def score_triples(
    items: Sequence[TripleItem], preds: Sequence[TriplePrediction | None]
) -> dict[str, float]:
    """PPDS's metric (:func:`consona.extraction.triple_eval.score_triples`) of the tagger's
    predictions on ``items``."""
    from consona.extraction.triple_eval import GoldItem
    from consona.extraction.triple_eval import score_triples as score

    gold = [
        GoldItem(text=it.text, triples=tuple(it.triples), unusable=int(it.vague)) for it in items
    ]
    facts = [
        []
        if p is None
        else [Fact(text=p.object or "-", subject=p.subject, relation=p.relation, object=p.object)]
        for p in preds
    ]
    return score(gold, facts)


@dataclass
class _Labels:
    detect: float  # 1, 0 or -1 (ignored)
    relations: list[int]
    subject: int  # -100: ignored
    source: int  # -100: ignored
    span: tuple[int, int] | None


def _labels(
    it: TripleItem,
    words: Sequence[str],
    *,
    rel_index: dict[str, int],
    subj_index: dict[str, int],
    obj_index: dict[str, int],
    singular: dict[str, str],
) -> _Labels:
    if not it.triples:
        return _Labels(-1.0 if it.vague else 0.0, [], -100, -100, None)
    spans = [span_label(words, t.object, singular) for t in it.triples]
    k = max(range(len(spans)), key=lambda j: spans[j][2])
    t, (a, b, f) = it.triples[k], spans[k]
    obj = normalize_object([t.object], singular)
    if f >= 0.8:
        source, span = SPAN, (a, b)
    elif obj in obj_index:
        source, span = obj_index[obj] + 1, None
    elif f >= 0.5:
        source, span = SPAN, (a, b)
    else:
        source, span = -100, None
    return _Labels(
        1.0,
        sorted({rel_index[x.relation] for x in it.triples}),
        subj_index.get(t.subject, -100),
        source,
        span,
    )


def _vocabularies(
    items: Sequence[TripleItem], singular: dict[str, str], *, max_objects: int
) -> tuple[list[str], list[str]]:
    subjects = Counter(t.subject for it in items for t in it.triples)
    subj = ["i", *[s for s, c in subjects.most_common() if c >= 5 and s != "i"]]
    # an object the utterances do not spell out, used by two or more persona sentences
    # (a persona sentence recurs across dialogues: one sentence's object is not generic)
    personas: dict[str, set[str]] = defaultdict(set)
    for it in items:
        if it.kind == "persona":
            for t in it.triples:
                personas[normalize_object([t.object], singular)].add(normalize(it.text))
    need: Counter[str] = Counter()
    for it in items:
        words = object_words(it.text)
        for t in it.triples:
            if span_label(words, t.object, singular)[2] < 0.8:
                need[normalize_object([t.object], singular)] += 1
    objects = sorted(
        (o for o in need if o and len(personas[o]) >= 2),
        key=lambda o: (-need[o], o),
    )[:max_objects]
    return subj, objects


def train_triples(
    items: Sequence[TripleItem],
    *,
    out: str | Path,
    encoder: Any = None,
    layers: int = 2,
    epochs: int = 6,
    batch_size: int = 32,
    lr: float = 1e-4,
    head_lr: float = 1e-3,
    tune_fraction: float = 0.1,
    max_objects: int = 300,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit a triple tagger on the ``train`` items (a ``tune_fraction`` of their dialogues held
    back to choose the detect threshold), save it to ``out`` and return a report with the
    dev / test scores of the utterances (and persona lines) of those splits."""
    torch = require("torch", extra="ml", purpose="training the triple tagger")
    from consona.extraction.encoder import ClauseEncoder
    from consona.extraction.relations import DNLI_RELATIONS

    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    pool = [it for it in items if it.split == "train"]
    if not pool:
        raise ModelError("No training items for the triple tagger (no 'train' split)")
    train_dialogues = sorted({it.dialogue for it in pool if it.kind == "utterance"})
    rng.shuffle(train_dialogues)
    tune_d = set(train_dialogues[: int(len(train_dialogues) * tune_fraction)])
    tune = [it for it in pool if it.kind == "utterance" and it.dialogue in tune_d]
    train = [it for it in pool if not (it.kind == "utterance" and it.dialogue in tune_d)]
    singular = learn_singular(train)
    subjects, objects = _vocabularies(train, singular, max_objects=max_objects)
    rel_index = {r: i for i, r in enumerate(DNLI_RELATIONS)}
    subj_index = {s: i for i, s in enumerate(subjects)}
    obj_index = {o: i for i, o in enumerate(objects)}
    encoder = encoder or ClauseEncoder()
    total = int(encoder.model.config.num_hidden_layers)
    state_layer = total - layers
    say = progress or (lambda msg: log.info(msg))

    def encode(xs: Sequence[TripleItem]) -> list[Any]:
        encs = encoder.encode([x.text for x in xs], keep_states=True, state_layer=state_layer)
        for e in encs:
            e.states = e.states.astype(np.float16)
        return encs

    say(f"encoding {len(train)} training items")
    encs = encode(train)
    firsts, labels = [], []
    for e, it in zip(encs, train, strict=True):
        words, first = _first_tokens(e)
        firsts.append(first)
        labels.append(
            _labels(
                it,
                words,
                rel_index=rel_index,
                subj_index=subj_index,
                obj_index=obj_index,
                singular=singular,
            )
        )
    net = new_triple_net(
        encoder.path,
        layers=layers,
        relations=len(DNLI_RELATIONS),
        subjects=len(subjects),
        objects=len(objects),
        init=True,
    )
    net.train()
    heads = [p for n, p in net.named_parameters() if not n.startswith("layers.")]
    opt = torch.optim.AdamW(
        [{"params": net.layers.parameters(), "lr": lr}, {"params": heads, "lr": head_lr}],
        weight_decay=0.01,
    )
    steps = epochs * math.ceil(len(train) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, [lr, head_lr], total_steps=steps, pct_start=0.1
    )
    F = torch.nn.functional
    losses: list[float] = []
    order = list(range(len(train)))
    for epoch in range(epochs):
        rng.shuffle(order)
        run = 0.0
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        for step, idx in enumerate(batches, 1):
            h, m, f, _ = _batch([encs[i] for i in idx], [firsts[i] for i in idx])
            res = net(h.float(), m, f)
            lab = [labels[i] for i in idx]
            y_det = torch.tensor([x.detect for x in lab])
            sel = y_det >= 0
            loss = F.binary_cross_entropy_with_logits(res["detect"][sel], y_det[sel])
            pos = [r for r, x in enumerate(lab) if x.detect == 1.0]
            if pos:
                target = torch.zeros(len(pos), len(DNLI_RELATIONS))
                for j, r in enumerate(pos):
                    target[j, lab[r].relations] = 1.0 / len(lab[r].relations)
                lp = F.log_softmax(res["relation"][pos], -1)
                loss = loss + (-(target * lp).sum(-1)).mean()
                ys = torch.tensor([lab[r].subject for r in pos])
                if bool((ys >= 0).any()):
                    loss = loss + 0.5 * F.cross_entropy(res["subject"][pos], ys, ignore_index=-100)
                yo = torch.tensor([lab[r].source for r in pos])
                if bool((yo >= 0).any()):
                    loss = loss + F.cross_entropy(res["source"][pos], yo, ignore_index=-100)
                w = f.shape[1]
                y_tag = torch.full((len(idx), w), -100, dtype=torch.long)
                for r in pos:
                    sp = lab[r].span
                    if sp is None:
                        continue
                    n_w = len(firsts[idx[r]])
                    y_tag[r, :n_w] = O_TAG
                    y_tag[r, sp[0]] = B_TAG
                    y_tag[r, sp[0] + 1 : sp[1]] = I_TAG
                if bool((y_tag >= 0).any()):
                    loss = loss + F.cross_entropy(
                        res["tag"].reshape(-1, 3), y_tag.reshape(-1), ignore_index=-100
                    )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            run += float(loss.detach())
            if step % 100 == 0:
                say(f"epoch {epoch + 1}/{epochs} step {step}/{len(batches)} loss {run / step:.3f}")
        losses.append(round(run / max(1, len(batches)), 4))
        say(f"epoch {epoch + 1}: loss {losses[-1]}")
    tagger = TripleTagger(
        net,
        relations=DNLI_RELATIONS,
        subjects=subjects,
        objects=objects,
        singular=singular,
        state_layer=state_layer,
    )
    threshold, tune_scores = 0.5, {}
    if tune:
        tune_enc = encode(tune)
        every = tagger.predict(tune_enc, all_=True)
        for th in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
            preds = [p if p is not None and p.detect >= th else None for p in every]
            tune_scores[th] = score_triples(tune, preds)
        threshold = max(tune_scores, key=lambda t: (tune_scores[t]["f1"], -abs(t - 0.5)))
    tagger.threshold = threshold
    config = {
        "layers": layers,
        "state_layer": state_layer,
        "threshold": threshold,
        "relations": list(DNLI_RELATIONS),
        "subjects": subjects,
        "objects": objects,
        "singular": singular,
        **provenance(encoder, trained_on=len(train), epochs=epochs, lr=lr, seed=seed),
    }
    save_triple_tagger(net, out, config=config)
    report: dict[str, Any] = {
        "loss": losses,
        "items": len(train),
        "utterances": sum(it.kind == "utterance" for it in train),
        "persona_lines": sum(it.kind == "persona" for it in train),
        "tune_utterances": len(tune),
        "tune": {str(t): {k: round(v, 4) for k, v in s.items()} for t, s in tune_scores.items()},
        **{k: v for k, v in config.items() if k not in {"relations", "objects", "singular"}},
        "objects": len(objects),
        "singular": len(singular),
    }
    for split in ("dev", "test"):
        for kind in ("utterance", "persona"):
            part = [it for it in items if it.split == split and it.kind == kind]
            if part:
                s = score_triples(part, tagger.predict(encode(part)))
                report[f"{split}_{kind}"] = {k: round(v, 4) for k, v in s.items()}
    report["seconds"] = round(time.perf_counter() - start, 1)
    from consona.io import atomic_write

    with atomic_write(Path(out) / "train_report.json") as fh:
        fh.write(json.dumps(report, indent=2) + "\n")
    return report
