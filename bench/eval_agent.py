"""Run ``consona eval dialogue`` for the default agent with N=1 and N=4 candidates on the
first dialogues of PersonaChat valid, then ``consona eval compare`` the two runs.

    .venv/bin/python bench/eval_agent.py --data-dir /work/shared/data --dialogues 10 \\
        --max-turns 4 --backend llamacpp --nli consona

Run directories go under --work (default bench/results/eval_agent/); they hold the reply
caches, so re-running the same command resumes. Writes bench/results/eval_agent.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DATA = "personachat/valid_self_original_no_cands.txt"
KEYS = ("n", "c_score", "contradiction_rate", "entailment_rate", "f1", "bleu", "rouge_l",
        "distinct_1", "distinct_2", "avg_words", "flagged_rate", "avg_latency_s")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--dialogues", type=int, default=10)
    ap.add_argument("--max-turns", type=int, default=None, help="turns per dialogue")
    ap.add_argument("--backend", default="llamacpp")
    ap.add_argument("--model", default=None)
    ap.add_argument("--nli", default="consona", help="NLI for the agent's re-ranking and scoring")
    ap.add_argument("--ns", default="1,4", help="candidate counts to compare")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="llama.cpp CPU threads (default: all cores; 1 leaves a core free)",
    )
    ap.add_argument("--work", default="bench/results/eval_agent")
    ap.add_argument("-o", "--out", default="bench/results/eval_agent.json")
    args = ap.parse_args(argv)

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cfg = work / "agent.toml"
    lines = [f'backend = "{args.backend}"', f'nli = "{args.nli}"', "seed = 0",
             f"max_tokens = {args.max_tokens}", "temperature = 0.8"]  # fmt: skip
    if args.model:
        lines.append(f'model = "{args.model}"')
    if args.threads:
        lines += ["[backend_options]", f"n_threads = {args.threads}"]
    cfg.write_text("\n".join(lines) + "\n")
    exe = str(Path(sys.executable).with_name("consona"))
    data = str(Path(args.data_dir) / DATA)
    runs: dict[str, dict] = {}
    for n in args.ns.split(","):
        out_dir = work / f"n{n}"
        cmd = [exe, "eval", "dialogue", data, "--agent", str(cfg), "-n", n, "-o", str(out_dir),
               "--limit", str(args.dialogues), "--nli", args.nli, "--json"]  # fmt: skip
        if args.max_turns:
            cmd += ["--max-turns", str(args.max_turns)]
        print("$ " + " ".join(cmd), file=sys.stderr)
        t = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            print(f"run N={n} failed (exit {proc.returncode})", file=sys.stderr)
            return proc.returncode
        m = json.loads(proc.stdout)
        runs[f"N={n}"] = {k: m.get(k) for k in KEYS} | {"wall_s": round(time.perf_counter() - t, 1)}
    result = {
        "bench": "eval_agent",
        "data": f"{DATA}, first {args.dialogues} dialogues"
        + (f", first {args.max_turns} bot turns each" if args.max_turns else ""),
        "backend": args.backend,
        "model": args.model or "default",
        "nli": args.nli,
        "runs": runs,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'metric':22s}" + "".join(f"{k:>10s}" for k in runs))
    for key in KEYS:
        vals = [runs[r].get(key) for r in runs]
        print(f"{key:22s}" + "".join(f"{v:10.4f}" if isinstance(v, float) else f"{v!s:>10s}"
                                     for v in vals))  # fmt: skip
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
