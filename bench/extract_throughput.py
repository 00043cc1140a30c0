"""Throughput (and quality) of the persona extractors on MSC persona-summary utterances,
or on ConvAI2 DNLI-triple utterances (PPDS's triple metric).

    python bench/extract_throughput.py DATA [--n 1000] [--llm-n 20] [--out bench/results/extract_throughput.json]
    python bench/extract_throughput.py --dnli DNLI_FILE [--split dev] [--llm-n 20] \
        [--out bench/results/extract_throughput_dnli.json]

DATA is an msc_personasummary file or folder. Measures the ``fast`` extractor on ``--n``
utterances (utterances/s, detection F1, ROUGE-L), with its shipped statement editor and,
as the baseline of the same run, with the rewrite rules only (``fast_rules``); and, when
the default chat model and llama-cpp-python are installed, the ``llm`` extractor on
``--llm-n`` utterances. Writes a JSON result and prints a summary.

With ``--dnli`` (the ``convai2-dnli-triples`` file) it runs the ``fast`` extractor on the
utterances of the dialogue-disjoint ``--split`` (default dev; all of them unless ``--n``)
and, in the same run, the ``llm`` extractor on the first ``--llm-n`` of them, and reports
both rates (utterances/s wall and per CPU-second) with the triple metrics of
``consona eval extraction`` (triple ROUGE-L, detection P/R/F1, relation and exact-triple
accuracy). The target is >= 200 utterances/s for ``fast`` on 2 cores.
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
    ap.add_argument("data", type=Path, nargs="?", help="MSC persona-summary file or folder")
    ap.add_argument("--dnli", type=Path, default=None, help="a ConvAI2 DNLI-triples file")
    ap.add_argument(
        "--n", type=int, default=None, help="utterances for the fast extractor (MSC: 1000)"
    )
    ap.add_argument("--llm-n", type=int, default=20, help="utterances for the llm (0 skips)")
    ap.add_argument("--llm-model", default=None, help="GGUF path (default: consona's model)")
    ap.add_argument(
        "--split",
        choices=["all", "train", "dev", "test"],
        default=None,
        help="MSC: all | test (default test); DNLI: all | train | dev | test (default dev)",
    )
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if (args.data is None) == (args.dnli is None):
        ap.error("pass either DATA (MSC) or --dnli FILE")
    if args.dnli is not None:
        return _dnli(args)
    args.split = args.split or "test"
    args.n = args.n or 1000
    args.out = args.out or Path("bench/results/extract_throughput.json")
    if args.split not in ("all", "test"):
        ap.error("MSC splits: all, test")

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
    }
    fast = _load_fast_timed(result)
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


def _timed(ex: Any, items: Any, *, batch_size: int) -> dict[str, float]:
    from consona.extraction.triple_eval import evaluate_triples

    cpu0 = time.process_time()
    r = evaluate_triples(ex, items, batch_size=batch_size)
    # CPU seconds are less sensitive than wall time to other load on a shared machine
    r["cpu_seconds"] = time.process_time() - cpu0
    r["utterances_per_cpu_s"] = r["n"] / max(r["cpu_seconds"], 1e-9)
    return r


def _load_fast_timed(result: dict[str, Any]) -> Any:
    """The shipped fast extractor; the machine, its load time and torch's threads go into
    ``result``."""
    from consona.extraction.fast import load_fast

    result.update(
        cpu_count=os.cpu_count(), machine=platform.machine(), python=platform.python_version()
    )
    t0 = time.perf_counter()
    fast = load_fast()
    result["fast_load_s"] = round(time.perf_counter() - t0, 2)
    import torch

    result["torch_threads"] = torch.get_num_threads()
    return fast


def _dnli(args: argparse.Namespace) -> int:
    """The DNLI mode: fast on the split, llm on a sample of it, one run."""
    from consona.errors import ConsonaError
    from consona.extraction.triple_eval import read_dnli_gold

    split = args.split or "dev"
    out = args.out or Path("bench/results/extract_throughput_dnli.json")
    try:
        gold = read_dnli_gold(args.dnli).split(split)
    except ConsonaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    items = gold.utterances[: args.n] if args.n else gold.utterances
    result: dict[str, Any] = {
        "data": str(args.dnli),
        "mode": "dnli",
        "split": split,
        "dialogues": len(gold.dialogues),
    }
    fast = _load_fast_timed(result)
    result["load_avg_1m_before"] = os.getloadavg()[0]
    _timed(fast, items[:64], batch_size=args.batch_size)  # warm-up
    result["fast"] = _timed(fast, items, batch_size=args.batch_size)
    result["fast"]["persona_lines"] = _timed(fast, gold.persona_lines, batch_size=args.batch_size)
    result["load_avg_1m"] = os.getloadavg()[0]
    if args.llm_n > 0:
        try:
            llm = _llm_extractor(args.llm_model)
            result["llm"] = _timed(llm, items[: args.llm_n], batch_size=1)
        except (ConsonaError, ImportError) as exc:
            result["llm"] = {"skipped": str(exc)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name in ("fast", "llm"):
        r = result.get(name) or {}
        if "utterances_per_s" not in r:
            if r:
                print(f"{name}: skipped ({r['skipped']})")
            continue
        print(
            f"{name}: {r['utterances_per_s']:.3g} utt/s wall ({r['utterances_per_cpu_s']:.3g} "
            f"per CPU-second) on {int(r['n'])} {split} utterances: triple ROUGE-L "
            f"{r['triple_rouge_l']:.3f}, detection F1 {r['f1']:.3f} (P {r['precision']:.3f} "
            f"R {r['recall']:.3f}), relation acc {r['relation_accuracy']:.3f}, exact "
            f"{r['exact_triple_accuracy']:.3f}"
        )
    print(f"load average {result['load_avg_1m']:.1f}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
