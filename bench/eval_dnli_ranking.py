"""DNLI-style consistency ranking on ConvAI2 valid (convai2-dnli-triples): Hits@1, Entail@1,
Contradict@1 and MRR for each scorer, without and with NLI re-ranking.

    .venv/bin/python bench/eval_dnli_ranking.py --data-dir /work/shared/data --nli fake
    .venv/bin/python bench/eval_dnli_ranking.py --data-dir /work/shared/data --nli consona

Writes bench/results/eval_dnli_ranking_<nli>.json and prints a summary table.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", required=True, help="folder holding convai2-dnli-triples/")
    ap.add_argument("--nli", default="fake", help="NLI model name (fake, consona, hf:<dir>)")
    ap.add_argument("--scorers", default="agent,agent-embed,lexical,embed")
    ap.add_argument("--limit", type=int, default=None, help="first N items only")
    ap.add_argument("--n-each", type=int, default=10, help="candidates per kind")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--heldout",
        action="store_true",
        help="only items whose persona fact is outside the consona NLI train split",
    )
    ap.add_argument("-o", "--out", default=None)
    args = ap.parse_args(argv)

    from consona.errors import ConsonaError
    from consona.evaluation.ranking import (
        build_dnli_ranking,
        heldout_items,
        make_scorers,
        rank_items,
    )
    from consona.nli.consistency import CachedNLI, load_nli_model

    try:
        t0 = time.perf_counter()
        items = build_dnli_ranking(args.data_dir, n_entail=args.n_each, n_contradict=args.n_each,
                                   n_neutral=args.n_each, seed=args.seed)  # fmt: skip
        if args.heldout:
            items = heldout_items(items)
        items = items[: args.limit]
        build_s = time.perf_counter() - t0
        nli = load_nli_model(args.nli)
        if not isinstance(nli, CachedNLI):
            nli = CachedNLI(nli)  # the re-ranked scorers share the pair cache
        results: dict[str, dict] = {}
        timings: dict[str, float] = {}
        for name in args.scorers.split(","):
            t = time.perf_counter()
            results[name] = rank_items(items, make_scorers(name, nli=nli), show_progress=True)
            timings[name] = round(time.perf_counter() - t, 2)
    except ConsonaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kinds: dict[str, int] = {}
    for it in items:
        for k in it.kinds:
            kinds[k] = kinds.get(k, 0) + 1
    out = {
        "bench": "eval_dnli_ranking",
        "data": "convai2-dnli-triples valid_both_original",
        "nli": args.nli,
        "heldout": args.heldout,
        "items": len(items),
        "candidates_by_kind": kinds,
        "n_each": args.n_each,
        "seed": args.seed,
        "build_s": round(build_s, 2),
        "rank_s": timings,
        "results": results,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
    }
    tag = args.nli.replace(":", "_") + ("_heldout" if args.heldout else "")
    path = Path(args.out or f"bench/results/eval_dnli_ranking_{tag}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"{len(items)} items ({kinds}); NLI {args.nli}; heldout={args.heldout}")
    print(f"{'ranker':28s} {'Hits@1':>7s} {'Entail@1':>8s} {'Contra@1':>8s} {'MRR':>6s}")
    for name, res in results.items():
        for key, m in res.items():
            label = name if key == "base" else f"{name} + NLI re-rank"
            print(f"{label:28s} {m['hits@1']:7.3f} {m['entail@1']:8.3f} "
                  f"{m['contradict@1']:8.3f} {m['mrr']:6.3f}")  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
