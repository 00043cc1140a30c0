"""Speed of ``consona train sft`` on the default base, before and after issue #14's fixes,
measured in the same run: the arms alternate, a fixed number of steps each, on the same
examples (PersonaChat valid converted to chat messages), each in a fresh process.

Arms (``--arms``, comma list):

- ``before``: the old path: TRL's stock LM head (on CPU it projects every position through
  the 49k-token head and folds entropy and top-1 over it), uniformly random batches, fp32,
  OpenMP's default wait policy (threads spin between parallel regions);
- ``passive``: as ``before`` with ``OMP_WAIT_POLICY=PASSIVE`` (the new CLI default);
- ``compact``: + the LM head on the trained positions only (same loss), random batches, fp32;
- ``grouped``: compact + length-grouped batches, fp32;
- ``after``: the new defaults: compact + length-grouped + ``--precision auto`` (fp32 on CPU)
  + ``OMP_WAIT_POLICY=PASSIVE``;
- ``nodrop``: ``after`` with ``--lora-dropout 0`` (no copy of each adapted layer's input;
  the CLI default since it was measured; ``after`` here keeps the old 0.05);
- ``bf16``: ``after`` with ``--precision bf16`` (opt-in on CPU: faster with AVX512-BF16,
  trains a little differently).

Other engineers share the CPU, so every arm records the load average (sampled every 2 s) and
its process CPU time; the ratio between arms of the same round is the honest figure and the
absolute rate a lower bound. The projection for the full 1,000 examples uses the arm's
steady-state seconds per padded token (steps after the first) times the padded tokens a whole
epoch costs under that arm's batching (exact for length-grouped batches; the mean over 20
random orders for random ones).

    python bench/train_speed.py --data-dir ../shared/data --steps 4 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from consona.io import atomic_write

# the CLI's defaults since the speed work (compact head, length-grouped batches, passive OpenMP)
AFTER = [
    "--lm-head",
    "compact",
    "--group-by-length",
    "--precision",
    "auto",
    "--omp-wait",
    "passive",
]
ARMS: dict[str, list[str]] = {
    "before": [
        "--lm-head",
        "full",
        "--random-batches",
        "--precision",
        "fp32",
        "--omp-wait",
        "inherit",
    ],
    "passive": [
        "--lm-head",
        "full",
        "--random-batches",
        "--precision",
        "fp32",
        "--omp-wait",
        "passive",
    ],
    "compact": ["--lm-head", "compact", "--random-batches", "--precision", "fp32"],
    "grouped": ["--lm-head", "compact", "--group-by-length", "--precision", "fp32"],
    "after": [*AFTER],
    "nodrop": [*AFTER, "--lora-dropout", "0"],
    "bf16": [
        "--lm-head",
        "compact",
        "--group-by-length",
        "--precision",
        "bf16",
        "--omp-wait",
        "passive",
    ],
}
# the arms measured before the CLI's LoRA dropout default became 0 keep the old 0.05
for _name, _flags in ARMS.items():
    if "--lora-dropout" not in _flags:
        _flags += ["--lora-dropout", "0.05"]


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def messages_file(data_dir: Path, work: Path, examples: int) -> Path:
    """PersonaChat valid (self speaker) as chat-messages JSONL, as ``consona convert`` writes."""
    src = data_dir / "personachat" / "valid_self_original_no_cands.txt"
    if not src.is_file():
        src = data_dir / "valid_self_original_no_cands.txt"
    out = work / "msgs.jsonl"
    cmd = [sys.executable, "-m", "consona.cli.main", "-q", "convert", str(src), str(out),
           "--to", "messages", "--limit", str(examples)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def epoch_tokens(lengths: list[int], batch: int, *, grouped: bool, seed: int) -> float:
    """Padded tokens of one epoch (each batch padded to its longest example)."""
    import torch

    from consona.training.sampler import SeededLengthGroupedSampler

    def cost(order: list[int]) -> int:
        return sum(
            max(lengths[j] for j in order[i : i + batch]) * len(order[i : i + batch])
            for i in range(0, len(order), batch)
        )

    if grouped:
        return float(cost(list(SeededLengthGroupedSampler(lengths, batch_size=batch, seed=seed))))
    g = torch.Generator().manual_seed(seed)
    return statistics.mean(cost(torch.randperm(len(lengths), generator=g).tolist())
                           for _ in range(20))  # fmt: skip


def token_lengths(msgs: Path, *, max_length: int, examples: int) -> list[int]:
    from transformers import AutoTokenizer

    from consona.models.trainbase import trainable_base_path
    from consona.training import encode_example, read_examples

    tok = AutoTokenizer.from_pretrained(str(trainable_base_path(setup=True)))
    return [
        len(encode_example(tok, ex, max_length=max_length).input_ids)
        for ex in read_examples(msgs, limit=examples)
    ]


class LoadSampler:
    """The 1-minute load average every ``every`` seconds while a block runs."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(self.every)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        s = self.samples or [os.getloadavg()[0]]
        return {"mean": round(statistics.mean(s), 2), "min": round(min(s), 2),
                "max": round(max(s), 2)}  # fmt: skip


def run_arm(name: str, msgs: Path, work: Path, args: argparse.Namespace, rnd: int) -> dict:
    run_dir = work / f"run-{name}-{rnd}"
    cmd = [sys.executable, "-m", "consona.cli.main", "-q", "train", "sft", str(msgs),
           "-o", str(run_dir), "--limit", str(args.examples), "--max-steps", str(args.steps),
           "--save-steps", "100000", "--batch-size", str(args.batch_size),
           "--max-length", str(args.max_length), "--no-merge", "--json", *ARMS[name]]  # fmt: skip
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    started = time.monotonic()
    with LoadSampler() as load:
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"arm {name} failed:\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout)
    t = report["time"]
    steady_s = sum(t["step_s"][1:])
    steady_tok = sum(t["padded_tokens"][1:])
    return {
        "arm": name,
        "round": rnd,
        "flags": ARMS[name],
        "command": "consona " + " ".join(cmd[cmd.index("train") :]),
        "process_wall_s": round(time.monotonic() - started, 2),
        "train_s": t["train_s"],
        "train_cpu_s": t["train_cpu_s"],
        "step_s": t["step_s"],
        "padded_tokens": t["padded_tokens"],
        "examples_per_s": t["examples_per_s"],
        "steady_examples_per_s": round(args.batch_size * (len(t["step_s"]) - 1) / steady_s, 3)
        if steady_s
        else None,
        "steady_s_per_1k_padded_tokens": round(1000 * steady_s / steady_tok, 3)
        if steady_tok
        else None,
        "cpu_s_per_example": round(t["train_cpu_s"] / (args.batch_size * len(t["step_s"])), 3),
        "losses": [round(x["loss"], 5) for x in report["losses"]],
        "peak_rss_mb": report["machine"]["peak_rss_mb"],
        "precision": report["machine"]["precision"],
        "torch_threads": report["machine"]["torch_threads"],
        "omp_wait_policy": report["machine"].get("omp_wait_policy"),
        "load_avg_1m": load.summary(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", type=Path, required=True, help="the shared data folder")
    ap.add_argument("--examples", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=4, help="optimizer steps per arm and round")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--arms", default="before,after")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--out", type=Path, default=Path("bench/results/train_speed.json"))
    args = ap.parse_args()
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise SystemExit(f"unknown arms {unknown}; choose from {sorted(ARMS)}")
    work = Path(tempfile.mkdtemp(prefix="train_speed."))
    msgs = messages_file(args.data_dir, work, args.examples)
    lengths = token_lengths(msgs, max_length=args.max_length, examples=args.examples)
    epoch = {
        "grouped": epoch_tokens(lengths, args.batch_size, grouped=True, seed=42),
        "random": epoch_tokens(lengths, args.batch_size, grouped=False, seed=42),
    }
    log(f"{len(lengths)} examples, mean {statistics.mean(lengths):.1f} tokens; padded tokens "
        f"per epoch: random {epoch['random']:.0f}, grouped {epoch['grouped']:.0f}")  # fmt: skip
    runs = []
    for rnd in range(args.rounds):
        order = arms if rnd % 2 == 0 else arms[::-1]  # alternate, and reverse every round
        for name in order:
            log(f"round {rnd + 1}/{args.rounds}: {name}")
            r = run_arm(name, msgs, work, args, rnd)
            batching = "grouped" if "--group-by-length" in ARMS[name] else "random"
            per_tok = r["steady_s_per_1k_padded_tokens"]
            r["projected_minutes_for_epoch"] = (
                round(per_tok * epoch[batching] / 1000 / 60, 1) if per_tok else None
            )
            log(f"  {name}: {r['steady_examples_per_s']} ex/s steady, "
                f"{r['steady_s_per_1k_padded_tokens']} s/1k tokens, cpu {r['train_cpu_s']} s, "
                f"load {r['load_avg_1m']['mean']}, rss {r['peak_rss_mb']} MB, "
                f"projected {r['projected_minutes_for_epoch']} min")  # fmt: skip
            runs.append(r)
    summary: dict[str, Any] = {}
    for name in arms:
        mine = [r for r in runs if r["arm"] == name]
        summary[name] = {
            "s_per_1k_padded_tokens": [r["steady_s_per_1k_padded_tokens"] for r in mine],
            "cpu_s_per_example": [r["cpu_s_per_example"] for r in mine],
            "projected_minutes_for_epoch": [r["projected_minutes_for_epoch"] for r in mine],
            "load_avg_mean": [r["load_avg_1m"]["mean"] for r in mine],
            "peak_rss_mb": [r["peak_rss_mb"] for r in mine],
        }
    if "before" in arms:
        for name in arms:
            ratios = []
            for rnd in range(args.rounds):
                b = next(r for r in runs if r["arm"] == "before" and r["round"] == rnd)
                a = next(r for r in runs if r["arm"] == name and r["round"] == rnd)
                if a["projected_minutes_for_epoch"] and b["projected_minutes_for_epoch"]:
                    ratios.append(round(b["projected_minutes_for_epoch"]
                                        / a["projected_minutes_for_epoch"], 2))  # fmt: skip
            summary[name]["speedup_vs_before_same_round"] = ratios
            cpu = [
                round(
                    next(r for r in runs if r["arm"] == "before" and r["round"] == k)[
                        "cpu_s_per_example"
                    ]
                    / next(r for r in runs if r["arm"] == name and r["round"] == k)[
                        "cpu_s_per_example"
                    ],
                    2,
                )
                for k in range(args.rounds)
            ]
            summary[name]["cpu_ratio_vs_before_same_round"] = cpu
    result = {
        "command": "python bench/train_speed.py " + " ".join(sys.argv[1:]),
        "what": "consona train sft on the default base (SmolLM2-135M fp32 + LoRA r=16), first "
        "N steps of each arm, arms alternating in one run on a shared 2-core machine",
        "data": "personachat valid_self_original_no_cands.txt -> consona convert --to messages",
        "target": "1,000 examples in <= 25 min on 2 cores",
        "config": {
            "examples": args.examples,
            "steps": args.steps,
            "rounds": args.rounds,
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "threads": args.threads,
        },
        "cpu_count": os.cpu_count(),
        "lengths": {
            "mean": round(statistics.mean(lengths), 1),
            "min": min(lengths),
            "max": max(lengths),
        },
        "padded_tokens_per_epoch": epoch,
        "summary": summary,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(json.dumps(summary, indent=2))
    shutil.rmtree(work, ignore_errors=True)  # the arms' RUN folders (checkpoints, adapters)


if __name__ == "__main__":
    main()
