"""n candidates drawn together vs one after another, on the llamacpp backend (default model).

For each prompt, in the same run and alternating which goes first: ``generate(n=N)`` on
the batched path (one ``llama_decode`` per step for all N sequences) and on the sequential
path (one ``create_chat_completion`` per candidate, prompt reused), same seed and
max_tokens, prompt cache emptied before each call so both read the prompt once. Also a
plain ``n=1`` call (batched path) as the cost of one reply. Reports wall time, completion
tokens, tokens/s, and the per-pair ratio sequential / batched (median and worst).

    python bench/backend_batch.py --pairs 3 --n 4 --max-tokens 32

``--agent``: the server's latency target in one process instead (no HTTP, one model): per
pair, a guarded ``PersonaAgent`` (N candidates, the default NLI judge) reply — the moment
its chosen reply could start streaming — against a plain one-candidate agent's token
stream to its last token (the server's ``--candidates 1 --nli none`` path), same persona,
question, seed and max_tokens, alternating which goes first; per-pair ratio, median, worst.

``--steps``: the cost of one decode step with 1, 2, 4 live sequences on the default model
(one ``llama_decode`` each, no sampling), against one sequence in the same run: on a
CPU that is already compute-bound at one sequence, N candidates cost ~N× one per step.

    python bench/backend_batch.py --steps --n 4 --out bench/results/backend_steps.json

Writes JSON (``--out``, default bench/results/backend_batch.json) and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from consona.io import atomic_write

PROMPTS = [
    "Do you have any pets?",
    "What do you do in the evenings?",
    "Where did you grow up?",
    "Do you like flying?",
    "What do you eat?",
]
SYSTEM = (
    "You are Mira, chatting casually with the user. Facts about you: you have a grey cat "
    "named Pepper; you keep a lighthouse; you grew up in Lisbon; you play the cello. "
    "Reply as Mira in one to three short sentences."
)


def write_report(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"wrote {out}", file=sys.stderr)


def timed(backend: Any, messages: list[dict[str, str]], **kw: Any) -> dict[str, Any]:
    backend.reset_cache()
    start = time.perf_counter()
    g = backend.generate(messages, **kw)
    return {
        "wall_s": round(time.perf_counter() - start, 3),
        "completion_tokens": g.usage.get("completion_tokens", 0),
        "prompt_tokens": g.usage.get("prompt_tokens", 0),
        "texts": g.texts,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--n-ctx", type=int, default=2048)
    ap.add_argument("--model", default=None, help="GGUF (default: the consona chat model)")
    ap.add_argument("--agent", action="store_true", help="guarded n=N vs plain n=1 agent")
    ap.add_argument(
        "--steps",
        action="store_true",
        help="the cost of one decode step with 1, 2, 4, … live sequences (no sampling)",
    )
    ap.add_argument("--out", type=Path, default=Path("bench/results/backend_batch.json"))
    args = ap.parse_args(argv)
    if args.agent:
        return agent_pairs(args)
    if args.steps:
        return decode_steps(args)

    from consona.backends import load_backend
    from consona.backends.llamacpp import LlamaCppBackend

    backend = load_backend("llamacpp", model=args.model, n_ctx=args.n_ctx)
    assert isinstance(backend, LlamaCppBackend)
    if not backend.batched:
        print(
            "this llama-cpp-python has no multi-sequence API: nothing to compare", file=sys.stderr
        )
        return 1
    rows: list[dict[str, Any]] = []
    load0 = os.getloadavg()[0]
    # warm-up: pages of the model in memory, both contexts created
    timed(backend, [{"role": "user", "content": "hi"}], n=2, max_tokens=4, seed=0)
    for i in range(args.pairs):
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": PROMPTS[i % len(PROMPTS)]},
        ]
        kw = {"n": args.n, "max_tokens": args.max_tokens, "seed": 100 + i, "temperature": 0.8}
        runs: dict[str, Any] = {}
        order = ["batched", "sequential"] if i % 2 == 0 else ["sequential", "batched"]
        for path in order:
            backend.batched = path == "batched"
            runs[path] = timed(backend, messages, **kw)
        backend.batched = True
        runs["n1"] = timed(backend, messages, **{**kw, "n": 1})
        b, s = runs["batched"], runs["sequential"]
        row = {
            "prompt": PROMPTS[i % len(PROMPTS)],
            "first": order[0],
            **{f"{k}_{m}": r[m] for k, r in runs.items() for m in ("wall_s", "completion_tokens")},
            "batched_tokens_per_s": round(b["completion_tokens"] / b["wall_s"], 2),
            "sequential_tokens_per_s": round(s["completion_tokens"] / s["wall_s"], 2),
            "n1_tokens_per_s": round(runs["n1"]["completion_tokens"] / runs["n1"]["wall_s"], 2),
            "sequential_over_batched": round(s["wall_s"] / b["wall_s"], 2),
            "batched_over_n1": round(b["wall_s"] / runs["n1"]["wall_s"], 2),
            "texts": {k: r["texts"] for k, r in runs.items()},
        }
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "texts"}), file=sys.stderr)
    ratios = [r["sequential_over_batched"] for r in rows]
    # time per token drawn: fair when the two paths' candidates differ in length
    per_token = [
        (r["sequential_wall_s"] / max(1, r["sequential_completion_tokens"]))
        / (r["batched_wall_s"] / max(1, r["batched_completion_tokens"]))
        for r in rows
    ]
    report = {
        "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "n": args.n,
        "max_tokens": args.max_tokens,
        "pairs": rows,
        "median_sequential_over_batched": round(statistics.median(ratios), 2),
        "worst_sequential_over_batched": round(min(ratios), 2),
        "median_per_token_speedup": round(statistics.median(per_token), 2),
        "median_batched_over_n1": round(statistics.median(r["batched_over_n1"] for r in rows), 2),
        "load_average_1m": [load0, os.getloadavg()[0]],
    }
    write_report(report, args.out)
    print(json.dumps({k: v for k, v in report.items() if k != "pairs"}, indent=1), file=sys.stderr)
    return 0


def decode_steps(args: argparse.Namespace, *, repeats: int = 12) -> int:
    """Median wall time of one ``llama_decode`` that advances k sequences by one token
    (k = 1, 2, 4, … up to ``--n``, then 1 again), after a shared prompt: what drawing
    candidates together costs per step, against one sequence in the same run."""
    import llama_cpp

    from consona.backends import load_backend
    from consona.backends.llamacpp import LlamaCppBackend, _BatchDecoder

    backend = load_backend("llamacpp", model=args.model, n_ctx=args.n_ctx)
    assert isinstance(backend, LlamaCppBackend)
    if not _BatchDecoder.available():
        print("this llama-cpp-python has no multi-sequence API", file=sys.stderr)
        return 1
    dec = _BatchDecoder(backend.llm, n_seq_max=args.n)
    prompt = backend.llm.tokenize((SYSTEM + " " + PROMPTS[0]).encode())
    p = len(prompt)
    dec._decode([(t, j, 0, j == p - 1) for j, t in enumerate(prompt)])
    for i in range(1, args.n):
        llama_cpp.llama_memory_seq_cp(dec.mem, 0, i, -1, -1)
    sizes = [*sorted({1, *[k for k in (2, 4, 8, 16) if k <= args.n], args.n}), 1]
    load0 = os.getloadavg()[0]
    rows = []
    for k in sizes:
        times = []
        for step in range(repeats):
            t = time.perf_counter()
            dec._decode([(100 + s, p + step, s, True) for s in range(k)])
            times.append(time.perf_counter() - t)
        for s in range(args.n):
            llama_cpp.llama_memory_seq_rm(dec.mem, s, p, -1)
        rows.append({"sequences": k, "step_ms": round(statistics.median(times[2:]) * 1000, 2)})
        print(json.dumps(rows[-1]), file=sys.stderr)
    one = statistics.median(r["step_ms"] for r in rows if r["sequences"] == 1)
    for r in rows:
        r["over_one_sequence"] = round(r["step_ms"] / one, 2)
        r["per_sequence_over_one"] = round(r["step_ms"] / one / r["sequences"], 2)
    out = {
        "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": Path(str(getattr(backend.llm, "model_path", "?"))).name,
        "prompt_tokens": p,
        "steps": rows,
        "load_average_1m": [load0, os.getloadavg()[0]],
    }
    write_report(out, args.out)
    for r in rows:
        print(
            f"{r['sequences']} sequence(s): {r['step_ms']} ms/step = {r['over_one_sequence']}× one"
        )
    return 0


def agent_pairs(args: argparse.Namespace) -> int:
    """Guarded n=N reply (first token of the chosen reply) vs plain n=1 stream (last token)."""
    from consona.agent import PersonaAgent
    from consona.cli.chat import load_backend_and_guard
    from consona.config import Settings
    from consona.server.characters import CharacterRegistry

    settings = Settings.load()
    backend, judge = load_backend_and_guard(
        "llamacpp", args.model, None, None, settings, {"n_ctx": args.n_ctx}
    )
    mira = CharacterRegistry(None).get("mira", param="character").persona

    def guarded(q: str, seed: int) -> dict[str, Any]:
        agent = PersonaAgent(mira, backend=backend, nli=judge, candidates=args.n,
                             max_tokens=args.max_tokens, seed=seed, coherence="lexical")  # fmt: skip
        start = time.perf_counter()
        r = agent.reply([], user=q)
        return {"first_token_s": round(time.perf_counter() - start, 3), "text": r.text,
                "completion_tokens": r.usage.get("completion_tokens", 0),
                "rounds": r.timings.get("rounds"), "timings": r.timings}  # fmt: skip

    def plain(q: str, seed: int) -> dict[str, Any]:
        agent = PersonaAgent(mira, backend=backend, nli=None, candidates=1,
                             max_tokens=args.max_tokens, seed=seed, coherence="lexical")  # fmt: skip
        start = time.perf_counter()
        first = None
        stream = agent.stream_reply([], user=q)
        for _ in stream:
            first = first or time.perf_counter() - start
        text = stream.reply.text if stream.reply else ""
        return {"first_token_s": round(first or 0, 3),
                "last_token_s": round(time.perf_counter() - start, 3), "text": text,
                "completion_tokens": backend.count_tokens(text)}  # fmt: skip

    load0 = os.getloadavg()[0]
    guarded(PROMPTS[0], 0)  # warm-up: the judge, both llama.cpp contexts, the prompt prefix
    plain(PROMPTS[0], 0)
    rows = []
    for i in range(args.pairs):
        q = PROMPTS[i % len(PROMPTS)]
        if i % 2 == 0:
            g, p = guarded(q, i), plain(q, i)
        else:
            p, g = plain(q, i), guarded(q, i)
        row = {"question": q, "first": "guarded" if i % 2 == 0 else "plain",
               "guarded": g, "plain": p,
               "ratio": round(g["first_token_s"] / p["last_token_s"], 2)}  # fmt: skip
        rows.append(row)
        print(json.dumps({"question": q, "guarded_first_token_s": g["first_token_s"],
                          "plain_last_token_s": p["last_token_s"], "ratio": row["ratio"]}),
              file=sys.stderr)  # fmt: skip
    ratios = [r["ratio"] for r in rows]
    report = {
        "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": "agent",
        "n": args.n,
        "max_tokens": args.max_tokens,
        "judge": getattr(judge, "name", None),
        "batched": bool(getattr(backend, "batched", False)),
        "pairs": rows,
        "median_ratio": round(statistics.median(ratios), 2),
        "worst_ratio": round(max(ratios), 2),
        "target_ratio": 1.5,
        "met": statistics.median(ratios) <= 1.5,
        "met_by_every_pair": max(ratios) <= 1.5,
        "load_average_1m": [load0, os.getloadavg()[0]],
    }
    write_report(report, args.out)
    print(json.dumps({k: v for k, v in report.items() if k != "pairs"}, indent=1), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
