"""How does ``consona build`` scale? Dialogues/s on the same input with the local executor
(1 and 2 worker processes, or any --workers list) and on Ray (--ray-workers), plus a check
that every run produced the same shard files (same sha256).

    .venv/bin/python bench/build_scaling.py chitchat: --limit 1000 --extractor fast
    .venv/bin/python bench/build_scaling.py data.jsonl --extractor fake --nli fake

Rates: ``dialogues_per_s`` is over the whole build (worker start-up and model loading
included); ``steady_dialogues_per_s`` leaves out the time to the first committed shard.
Writes JSON (--out) and prints a summary on stderr. The CPU may be shared: say so when
reporting figures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from consona.augmentation import AugmentConfig
from consona.io import atomic_write
from consona.pipeline import BuildConfig, build


def _run(
    inputs: list[str], args: argparse.Namespace, executor: str, workers: int
) -> dict[str, Any]:
    config = BuildConfig(
        extractor=args.extractor,
        nli=args.nli,
        seed=args.seed,
        shard_size=args.shard_size,
        limit=args.limit,
        executor=executor,
        workers=workers,
        augment=AugmentConfig(distractors=args.distractors),
    )
    with tempfile.TemporaryDirectory(prefix="consona-bench-") as tmp:
        out = Path(tmp) / "out"
        start = time.perf_counter()
        res = build(inputs, out, config, show_progress=False)
        wall = time.perf_counter() - start
        manifest = json.loads((out / "manifest.json").read_text())
        first = min((os.stat(out / s["parquet"]["path"]).st_mtime for s in manifest["shards"]),
                    default=None)  # fmt: skip
        last = max((os.stat(out / s["parquet"]["path"]).st_mtime for s in manifest["shards"]),
                   default=None)  # fmt: skip
        n_first = min(
            manifest["shards"], key=lambda s: os.stat(out / s["parquet"]["path"]).st_mtime
        )
        steady = None
        if first is not None and last is not None and last > first:
            steady = (res.dialogues_processed - n_first["stats"]["dialogues"]) / (last - first)
        return {
            "executor": executor,
            "workers": workers,
            "dialogues": res.dialogues_processed,
            "rows": res.rows,
            "seconds": round(wall, 2),
            "dialogues_per_s": round(res.dialogues_processed / wall, 2),
            "steady_dialogues_per_s": round(steady, 2) if steady else None,
            "shard_sha256": [s["parquet"]["sha256"] for s in manifest["shards"]],
            "summary": res.summary,
        }


def _result(args: argparse.Namespace, runs: list[dict[str, Any]]) -> dict[str, Any]:
    hashes = [r["shard_sha256"] for r in runs if "shard_sha256" in r]
    return {
        "inputs": args.inputs,
        "limit": args.limit,
        "extractor": args.extractor,
        "nli": args.nli,
        "shard_size": args.shard_size,
        "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "same_rows_in_every_run": all(h == hashes[0] for h in hashes) if hashes else None,
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="dialogue files / globs / chitchat:")
    ap.add_argument("--extractor", default="fast")
    ap.add_argument("--nli", default="consona")
    ap.add_argument("--limit", type=int, default=1000)
    ap.add_argument("--shard-size", type=int, default=100)
    ap.add_argument("--distractors", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", default="1,2", help="local worker counts, comma-separated")
    ap.add_argument("--ray-workers", default="2", help="Ray actor counts ('' to skip Ray)")
    ap.add_argument("--out", default="bench/results/build_scaling.json")
    args = ap.parse_args(argv)

    runs: list[dict[str, Any]] = []
    out = Path(args.out)
    result = _result(args, runs)
    plan = [("local", int(w)) for w in args.workers.split(",") if w.strip()]
    plan += [("ray", int(w)) for w in args.ray_workers.split(",") if w.strip()]
    for executor, workers in plan:
        print(f"[build_scaling] {executor} x{workers} ...", file=sys.stderr, flush=True)
        try:
            r = _run(args.inputs, args, executor, workers)
        except Exception as exc:  # report and go on (e.g. Ray not installed)
            r = {"executor": executor, "workers": workers, "error": str(exc)}
        runs.append(r)
        print(f"[build_scaling]   {json.dumps({k: v for k, v in r.items() if k not in ('shard_sha256', 'summary')})}",
              file=sys.stderr, flush=True)  # fmt: skip
        result = _result(args, runs)  # written after every run: a kill loses nothing
        with atomic_write(out) as f:
            json.dump(result, f, indent=2)
    print(f"\n{'executor':<8} {'workers':>7} {'dialogues/s':>12} {'steady/s':>9} {'seconds':>8}",
          file=sys.stderr)  # fmt: skip
    for r in runs:
        if "error" in r:
            print(f"{r['executor']:<8} {r['workers']:>7}  error: {r['error']}", file=sys.stderr)
        else:
            print(f"{r['executor']:<8} {r['workers']:>7} {r['dialogues_per_s']:>12} "
                  f"{r['steady_dialogues_per_s']!s:>9} {r['seconds']:>8}", file=sys.stderr)  # fmt: skip
    print(f"same rows in every run: {result['same_rows_in_every_run']}  → {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
