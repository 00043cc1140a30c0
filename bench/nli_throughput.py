"""NLI throughput on CPU: pairs/s at batch 64 for consona's default judge ("consona": the
int8 cross-encoder per clause + the triple check), the cross-encoder alone (torch fp32,
ONNX Runtime fp32 = "consona-nli", ONNX Runtime int8 = "consona-int8", torch int8) and, in
the same run, a randomly initialised BERT-base-sized cross-encoder (the size of the
classic DNLI BERT judge).

    .venv/bin/python bench/nli_throughput.py [--data PAIRS.jsonl] [--threads 2]
        [--pairs 512] [--out bench/results/nli_throughput.json]

Without --data, persona-style pairs are generated (fact + utterance, ~30 tokens/pair).
Writes JSON and prints a summary. Also reports how far int8 predictions move from fp32
(label agreement, max |Δp|) on the same pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

import numpy as np

FACTS = [
    "i have two dogs.", "i am a nurse at the local hospital.", "my favorite color is blue.",
    "i like to go hiking on weekends.", "i am thirty years old.", "i live in a small town.",
    "i play the guitar in a band.", "i do not eat meat.", "my mother is a teacher.",
    "i drive a red truck.",
]  # fmt: skip
UTTERANCES = [
    "hi ! how are you doing today ? i just got back from walking my dogs .",
    "i work nights at the hospital so i sleep during the day .",
    "blue is nice but i really love green , it reminds me of the forest .",
    "i hate going outside , i prefer staying home and playing video games .",
    "i am only 19 , just started college this year .",
    "we moved to new york city last year for my job .",
    "i have never played an instrument but i love listening to jazz .",
    "i had a great steak for dinner last night .",
    "my mom works at a bank downtown .",
    "i take the bus everywhere , i do not have a car .",
]  # fmt: skip


def make_pairs(n: int, data: Path | None, seed: int = 0) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    if data is not None:
        rows = [json.loads(x) for x in data.read_text().splitlines() if x.strip()]
        rng.shuffle(rows)
        return [(r["premise"], r["hypothesis"]) for r in rows[:n]]
    # every pair distinct (a number appended), so no model gains from de-duplication
    return [(rng.choice(FACTS), f"{rng.choice(UTTERANCES)} {i}") for i in range(n)]


def timed(predict, pairs: list[tuple[str, str]], batch: int) -> tuple[dict[str, float], np.ndarray]:
    """Wall-clock pairs/s, plus pairs per CPU-second of this process (all its threads):
    on a machine shared with other jobs the wall figure drops, the CPU-time one much less."""
    predict(pairs[:batch], batch_size=batch)  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    out = predict(pairs, batch_size=batch)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"pairs_per_s": len(pairs) / wall, "pairs_per_cpu_s": len(pairs) / max(cpu, 1e-9)}, out


def bert_base_like(tokenizer):
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from consona.nli.hf import SequenceClassifierNLI

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=tokenizer.vocab_size,
        num_labels=3,
        id2label={0: "entailment", 1: "neutral", 2: "contradiction"},
    )  # hidden 768, 12 layers, 12 heads: BERT-base
    return SequenceClassifierNLI(tokenizer, BertForSequenceClassification(cfg), name="bert-base")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, help="JSONL with premise/hypothesis (optional)")
    ap.add_argument("--pairs", type=int, default=512)
    ap.add_argument("--bert-pairs", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("bench/results/nli_throughput.json"))
    args = ap.parse_args()

    import torch

    from consona.nli.crossencoder import load_consona_nli

    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]  # other work on the machine slows every figure alike
    pairs = make_pairs(args.pairs, args.data)
    t0 = time.perf_counter()
    fp32 = load_consona_nli(threads=args.threads, backend="torch")
    load_s = time.perf_counter() - t0
    onnx = load_consona_nli(threads=args.threads, backend="onnx")  # exported once, cached
    int8 = load_consona_nli(threads=args.threads, quantize=True, backend="torch")
    onnx8 = load_consona_nli(threads=args.threads, quantize=True, backend="onnx")
    tok = fp32.tokenizer
    lengths = [len(tok(p, h)["input_ids"]) for p, h in pairs]
    results: dict[str, dict[str, float]] = {}
    results["consona_torch_fp32"], p32 = timed(fp32.predict, pairs, args.batch_size)
    results["consona_nli_onnx_fp32"], pon = timed(onnx.predict, pairs, args.batch_size)
    results["consona_int8_onnx"], po8 = timed(onnx8.predict, pairs, args.batch_size)
    results["consona_torch_int8"], p8 = timed(int8.predict, pairs, args.batch_size)
    from consona.nli.judge import PersonaJudge

    judge = PersonaJudge(onnx8)  # what load_nli_model("consona") builds
    results["default_judge"], _ = timed(judge.predict, pairs, args.batch_size)
    bert = bert_base_like(tok)
    results["bert_base_random"], _ = timed(bert.predict, pairs[: args.bert_pairs], args.batch_size)
    agree = float((p32.argmax(1) == p8.argmax(1)).mean())
    base = results["bert_base_random"]["pairs_per_s"]
    for v in results.values():
        v["x_bert_base"] = v["pairs_per_s"] / base
    report = {
        "batch_size": args.batch_size,
        "threads": args.threads,
        "pairs": len(pairs),
        "mean_tokens_per_pair": float(np.mean(lengths)),
        "data": str(args.data) if args.data else "generated persona pairs",
        "load_seconds": round(load_s, 2),
        "results": results,
        "onnx_vs_torch": {
            "label_agreement": float((p32.argmax(1) == pon.argmax(1)).mean()),
            "max_abs_prob_diff": float(np.abs(p32 - pon).max()),
        },
        "onnx_int8_vs_fp32": {
            "label_agreement": float((p32.argmax(1) == po8.argmax(1)).mean()),
            "max_abs_prob_diff": float(np.abs(p32 - po8).max()),
        },
        "int8_vs_fp32": {
            "label_agreement": agree,
            "max_abs_prob_diff": float(np.abs(p32 - p8).max()),
        },
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch": torch.__version__,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"batch {args.batch_size}, {args.threads} threads, {np.mean(lengths):.1f} tokens/pair")
    for name, v in results.items():
        print(
            f"  {name:26s} {v['pairs_per_s']:8.1f} pairs/s ({v['x_bert_base']:.1f}x BERT-base)"
            f"  {v['pairs_per_cpu_s']:8.1f} pairs/CPU-s"
        )
    o = report["onnx_vs_torch"]
    print(
        f"  onnx vs torch: label agreement {o['label_agreement']:.4f}, "
        f"max |dp| {o['max_abs_prob_diff']:.1e}"
    )
    print(f"  load average (1 min) before/after: {report['load_average_1m']}")
    q = report["onnx_int8_vs_fp32"]
    print(
        f"  onnx int8 vs fp32: label agreement {q['label_agreement']:.4f}, "
        f"max |dp| {q['max_abs_prob_diff']:.4f}"
    )
    print(
        f"  torch int8 vs fp32: label agreement {agree:.4f}, max |dp| {report['int8_vs_fp32']['max_abs_prob_diff']:.4f}"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
