"""Is a chat model fit to tell the memory that a new statement ends an old fact?

Asks a chat backend (default: the default chat model) about every injected update of the
memory evaluation (must read "ended") and about every pair of same-speaker active facts
of a memory evaluation run that are similar enough for the write path to compare them
(``--min-sim``; nearly all should read "still true"): pairwise ("can both be true today?")
and unary ("does the later one state a change?"). See :mod:`consona.evaluation.change`.
Prints the rates and the same-topic pairs called ended (to read), writes JSON.

    python bench/change_judge.py --memory-results bench/results/memory_eval.json \\
        --out bench/results/change_judge.json
    python bench/change_judge.py --backend openai --model http://localhost:8000/v1 ...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--memory-results",
        type=Path,
        default=RESULTS / "memory_eval.json",
        help="a bench/memory_eval.py --out file: its stored facts give the same-topic pairs",
    )
    ap.add_argument("--min-sim", type=float, default=0.3, help="embedding similarity of a pair")
    ap.add_argument("--backend", default=None, help="chat backend name (default: settings)")
    ap.add_argument("--model", default=None, help="GGUF path, model id or server URL")
    ap.add_argument("--no-unary", action="store_true", help="ask the pairwise question only")
    ap.add_argument(
        "--limit-pairs", type=int, default=None, help="the first N same-topic pairs (file order)"
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "change_judge.json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from consona.backends.base import load_backend
    from consona.evaluation.change import change_judge_report, same_topic_pairs, update_pairs
    from consona.models import load_embedder

    pairs = same_topic_pairs(args.memory_results, load_embedder(), min_sim=args.min_sim)
    if args.limit_pairs is not None:
        if args.limit_pairs < 0:
            ap.error("--limit-pairs must be ≥ 0")
        pairs = pairs[: args.limit_pairs]
    updates = update_pairs()
    backend = load_backend(args.backend, model=args.model)

    def progress(done: int, total: int) -> None:
        if done % 50 == 0 or done == total:
            print(f"  {done}/{total} questions", file=sys.stderr, flush=True)

    report = change_judge_report(
        backend, updates=updates, pairs=pairs, unary=not args.no_unary, progress=progress
    )
    for q in ("pairwise", "unary", "both"):
        if q not in report:
            continue
        u, s = report[q]["updates"], report[q]["same_topic"]
        print(
            f"{q:8s} updates called ended {u['ended']}/{u['n']} ({u['rate']:.0%}); "
            f"same-topic pairs called ended {s['ended']}/{s['n']} ({s['rate']:.0%}); "
            f"unreadable replies {u['unparsed']} + {s['unparsed']} (counted as not ended)"
        )
        for name, r in report[q].get("updates_by_set", {}).items():
            print(f"    {name:9s} {r['ended']}/{r['n']}")
    print("same-topic pairs the pairwise question called ended:")
    for r in report["rows"]:
        if r["kind"] == "same_topic" and r["pairwise"]:
            print(f"    {r['sim']:.2f}  {r['old']}  =>  {r['new']}")
    argv_s = " ".join(argv if argv is not None else sys.argv[1:])
    payload = {
        "command": f"python bench/change_judge.py {argv_s}".strip(),
        "backend": getattr(backend, "name", None),
        "model": args.model,
        "memory_results": str(args.memory_results),
        "min_sim": args.min_sim,
    } | report
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
