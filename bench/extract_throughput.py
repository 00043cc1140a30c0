"""Throughput (and quality) of the persona extractors on MSC persona-summary utterances.

    python bench/extract_throughput.py DATA [--n 1000] [--llm-n 20] [--out bench/results/extract_throughput.json]

DATA is an msc_personasummary file or folder. Measures the ``fast`` extractor on ``--n``
utterances (utterances/s, detection F1, ROUGE-L), with its shipped statement editor and,
as the baseline of the same run, with the rewrite rules only (``fast_rules``); and, when
the default chat model and llama-cpp-python are installed, the ``llm`` extractor on
``--llm-n`` utterances. Writes a JSON result and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any


def _llm_extractor(model: str | None) -> Any:
    from consona.backends.base import load_backend
    from consona.extraction.llm import LLMExtractor

    return LLMExtractor(load_backend("llamacpp", model=model))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--n", type=int, default=1000, help="utterances for the fast extractor")
    ap.add_argument("--llm-n", type=int, default=20, help="utterances for the llm (0 skips)")
    ap.add_argument("--llm-model", default=None, help="GGUF path (default: consona's model)")
    ap.add_argument("--split", choices=["all", "test"], default="test")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--out", type=Path, default=Path("bench/results/extract_throughput.json"))
    args = ap.parse_args(argv)

    from consona.errors import ConsonaError
    from consona.extraction.data import held_out, read_labeled
    from consona.extraction.evaluate import evaluate_extractor
    from consona.extraction.fast import load_fast

    try:
        items = [x for x in read_labeled(args.data) if args.split == "all" or held_out(x.group)]
    except ConsonaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result: dict[str, Any] = {
        "data": str(args.data),
        "split": args.split,
        "cpu_count": os.cpu_count(),
        "torch_threads": None,
        "machine": platform.machine(),
        "python": platform.python_version(),
    }
    t0 = time.perf_counter()
    fast = load_fast()
    result["fast_load_s"] = round(time.perf_counter() - t0, 2)
    import torch

    result["torch_threads"] = torch.get_num_threads()
    rules = load_fast(writer="off", encoder=fast.encoder)
    for name, ex in (("fast", fast), ("fast_rules", rules)):
        evaluate_extractor(ex, items[:64])  # warm-up
        cpu0 = time.process_time()
        r = evaluate_extractor(ex, items[: args.n], batch_size=args.batch_size)
        # CPU seconds are less sensitive than wall time to other load on a shared machine
        r["cpu_seconds"] = time.process_time() - cpu0
        r["utterances_per_cpu_s"] = r["n"] / max(r["cpu_seconds"], 1e-9)
        result[name] = r
    result["fast_statements"] = "editor" if fast.writer is not None else "rules"
    result["load_avg_1m"] = os.getloadavg()[0]
    if args.llm_n > 0:
        try:
            llm = _llm_extractor(args.llm_model)
            result["llm"] = evaluate_extractor(llm, items[: args.llm_n], batch_size=1)
        except (ConsonaError, ImportError) as exc:
            result["llm"] = {"skipped": str(exc)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name in ("fast", "fast_rules"):
        f = result[name]
        print(
            f"{name}: {f['utterances_per_s']:.0f} utt/s wall ({f['utterances_per_cpu_s']:.0f} "
            f"per CPU-second, load {result['load_avg_1m']:.1f}) on {int(f['n'])} utterances "
            f"(F1 {f['f1']:.3f}, ROUGE-L {f['rouge_l']:.3f})"
        )
    llm_res = result.get("llm") or {}
    if "utterances_per_s" in llm_res:
        print(
            f"llm:  {llm_res['utterances_per_s']:.2f} utt/s on {int(llm_res['n'])} utterances "
            f"(F1 {llm_res['f1']:.3f}, ROUGE-L {llm_res['rouge_l']:.3f})"
        )
    elif llm_res:
        print(f"llm:  skipped ({llm_res['skipped']})")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
