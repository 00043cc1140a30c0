"""Re-grade saved agent replies with today's default judge, cross-checked by the LLM judge.

Reads the replies a bench or eval run already saved (no generation) and judges each
reply against its persona facts:

* ``--agent-bench FILE``: ``bench/agent_consistency.py`` output (``samples`` with
  ``facts`` and the ``off`` / ``on`` replies);
* ``--eval-run DIR``: a ``consona eval dialogue`` run folder (``examples.jsonl`` with
  ``facts`` and ``response``).

Reports, per condition, the contradiction rate under the judge that graded the run then
(stored in the file), under the default judge now, and — on a sample of ``--llm-sample``
replies — under the LLM judge (``nli="llm"``, the configured chat backend), with the
agreement of the two judges. Writes JSON (``--out``) with every re-graded reply, so the
flagged ones can be read.

    python bench/judge_regrade.py --agent-bench bench/results/agent_consistency_50.json \\
        --out bench/results/regrade_agent_consistency.json --llm-sample 60
    python bench/judge_regrade.py --eval-run bench/results/eval_agent/n4 \\
        --out bench/results/regrade_eval_n4.json --nli fake --llm-sample 0
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from consona.io import atomic_write
from consona.nli.consistency import check_many
from consona.nli.models import load_nli_model


def _agent_items(path: Path) -> dict[str, list[dict[str, Any]]]:
    data = json.loads(path.read_text())
    out: dict[str, list[dict[str, Any]]] = {}
    for cond in ("off", "on"):
        out[f"rerank_{cond}"] = [
            {
                "id": f"{s['persona']}:{s['kind']}",
                "facts": s["facts"],
                "context": s["question"],
                "reply": s[cond]["reply"],
                "then": bool(s[cond]["contradiction"]),
            }
            for s in data["samples"]
            if s.get(cond)
        ]
    return out


def _eval_items(folder: Path) -> dict[str, list[dict[str, Any]]]:
    rows = [json.loads(x) for x in (folder / "examples.jsonl").read_text().splitlines() if x]
    return {
        folder.name: [
            {
                "id": r["id"],
                "facts": r["facts"],
                "context": r.get("context", ""),
                "reply": r["response"],
                "then": bool(r.get("contradicted")),
            }
            for r in rows
        ]
    }


def regrade(items: list[dict[str, Any]], nli: Any, llm: Any, llm_ids: set[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    for it in items:
        r = check_many(it["facts"], [it["reply"]], nli=nli)[0]
        it["now"] = r.contradiction
        it["now_contradicted"] = r.contradicted
    judge_s = time.perf_counter() - t0
    for it in items:
        if it["id"] in llm_ids and llm is not None:
            r = check_many(it["facts"], [it["reply"]], nli=llm)[0]
            it["llm"] = r.contradiction
            it["llm_contradicted"] = r.contradicted
    n = len(items)
    out: dict[str, Any] = {
        "n": n,
        "contradiction_rate_then": sum(it["then"] for it in items) / max(n, 1),
        "contradiction_rate_now": sum(it["now"] for it in items) / max(n, 1),
        "judge_seconds": round(judge_s, 2),
    }
    sample = [it for it in items if "llm" in it]
    if sample:
        m = len(sample)
        out["llm_sample"] = {
            "n": m,
            "rate_llm": sum(it["llm"] for it in sample) / m,
            "rate_now_on_sample": sum(it["now"] for it in sample) / m,
            "rate_then_on_sample": sum(it["then"] for it in sample) / m,
            "agreement_now_llm": sum(it["now"] == it["llm"] for it in sample) / m,
            "agreement_then_llm": sum(it["then"] == it["llm"] for it in sample) / m,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--agent-bench", type=Path)
    src.add_argument("--eval-run", type=Path)
    ap.add_argument("--nli", default=None, help="judge to re-grade with (default: consona)")
    ap.add_argument("--llm-sample", type=int, default=50, help="replies also judged by nli=llm")
    ap.add_argument("--llm-cache", type=Path, help="sqlite file that keeps the LLM judge's answers")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    groups = _agent_items(args.agent_bench) if args.agent_bench else _eval_items(args.eval_run)
    nli = load_nli_model(args.nli)
    llm = load_nli_model("llm", cache_path=args.llm_cache) if args.llm_sample else None
    report: dict[str, Any] = {
        "bench": "judge_regrade",
        "source": str(args.agent_bench or args.eval_run),
        "judge": nli.name,
        "llm_judge": llm.name if llm is not None else None,
        "conditions": {},
    }
    for name, items in groups.items():
        ids = [it["id"] for it in items]
        rng = random.Random(args.seed)
        llm_ids = set(rng.sample(ids, min(args.llm_sample, len(ids))))
        summary = regrade(items, nli, llm, llm_ids)
        report["conditions"][name] = {**summary, "items": items}
        print(f"{name}: {json.dumps(summary)}", file=sys.stderr)
    if llm is not None:
        report["llm_judge"] = llm.name
        report["llm_unparsed"] = getattr(llm.model, "unparsed", None)
    with atomic_write(args.out) as fh:
        fh.write(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
