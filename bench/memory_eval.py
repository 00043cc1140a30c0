"""Long-term memory on MSC, every figure of issue #15 against its baseline in one run.

    python bench/memory_eval.py ../shared/data --episodes 15 --baseline
    python bench/memory_eval.py ../shared/data --probes 12 --probes-only --out bench/results/memory_probes.json

* recall of gold persona-summary facts, duplicates per gold fact, injected updates, the write
  path's latency beyond extraction, ``add`` at 10,000 facts vs 100
  (``consona.evaluation.memory.run_memory_eval``);
* probes (``--probes N``, needs the chat model): the first user turn of session 3 answered by
  the character with memory (recalled facts, ``--budget`` tokens) vs no memory vs the earlier
  sessions' text truncated to 10× that budget; each reply judged against the character's
  gold facts (contradiction rate with its 95% Wilson interval, paired counts, entailment rate,
  prompt tokens); each probe is saved as it is done, so a time limit keeps what was done;
* two processes writing one SQLite store for ``--writers-seconds`` (default 60): every write
  kept, ``PRAGMA integrity_check`` ok;
* ``--baseline``: recall, duplicates and updates again, in the same run, with the write path
  as it was before the triple signal (``triples=False``, ``anchored_merge=False``, facts
  without a first-person word kept) — under ``"baseline"``.

Writes bench/results/memory_eval.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WRITER = """
import sys, time
from consona.memory.store import MemoryStore
url, name, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = MemoryStore(url, busy_timeout_ms=60000)
end, i = time.time() + seconds, 0
while time.time() < end:
    with s.transaction("ana", "Mira") as tx:
        n = len(tx.active_ids("user"))
        tx.add("user", f"{name} fact {i} after {n}")
    i += 1
print(i)
"""


def two_writers(seconds: float) -> dict[str, Any]:
    import sqlite3

    from consona.memory import MemoryStore

    path = Path(tempfile.mkdtemp()) / "memory.db"
    MemoryStore(path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    counts = [int(p.communicate()[0].strip()) for p in procs]
    texts = [f.text for f in MemoryStore(path).active("ana", "Mira", "user")]
    lost = 0
    for name, n in zip(("p1", "p2"), counts, strict=True):
        got = {int(t.split()[2]) for t in texts if t.startswith(name + " ")}
        lost += n - len(got & set(range(n)))
    serial = sorted(int(t.rsplit(" ", 1)[1]) for t in texts) == list(range(len(texts)))
    with sqlite3.connect(path) as c:
        integrity = c.execute("PRAGMA integrity_check").fetchone()[0]
    return {
        "seconds": seconds,
        "writes": counts,
        "stored": len(texts),
        "lost": lost,
        "serialised": serial,
        "integrity_check": integrity,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", help="the shared data folder (with msc/)")
    ap.add_argument("--episodes", type=int, default=12)
    ap.add_argument(
        "--probes", type=int, default=0, help="episodes to probe (needs the chat model)"
    )
    ap.add_argument("--budget", type=int, default=80, help="memory prompt budget in tokens")
    ap.add_argument(
        "--probe-candidates",
        type=int,
        default=1,
        help="candidates per probe reply; above 1 the guard re-ranks them (as in chat)",
    )
    ap.add_argument("--writers-seconds", type=float, default=60.0)
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument(
        "--max-novel", type=int, default=None, help="MemoryWriter max_novel (default: its own)"
    )
    ap.add_argument(
        "--clause-threshold",
        type=float,
        default=None,
        help="the extractor's clause threshold (default: the memory's own)",
    )
    ap.add_argument(
        "--baseline",
        action="store_true",
        help="also run the previous write path (no triples, no first-person filter)",
    )
    ap.add_argument(
        "--probes-only",
        action="store_true",
        help="only the probes (no writers, recall, updates or scaling)",
    )
    ap.add_argument(
        "--updates-only",
        action="store_true",
        help="only the injected updates (through the extractor, and as plain text facts)",
    )
    ap.add_argument("--out", default=str(ROOT / "bench/results/memory_eval.json"))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from consona.evaluation.harness import json_safe
    from consona.memory.memory import default_extractor
    from consona.models.embedder import load_embedder
    from consona.nli.models import load_nli_model

    nli, embedder = load_nli_model(), load_embedder()
    extractor = default_extractor(threshold=args.clause_threshold)
    t0 = time.time()
    result: dict[str, Any] = {"command": " ".join(sys.argv)}
    if args.updates_only:
        from consona.evaluation.memory import injected_updates

        result["updates"] = injected_updates(nli=nli, embedder=embedder, extractor=extractor)
        result["updates_text"] = injected_updates(nli=nli, embedder=embedder)
    elif not args.probes_only:
        evaluate(args, result, nli, embedder, extractor)
    if args.probes:
        from consona.backends import load_backend
        from consona.evaluation.memory import probe_answers

        done: list[dict[str, Any]] = []

        def save_probe(i: int, row: dict[str, Any]) -> None:  # kept if a time limit hits
            done.append(row)
            result["probes"] = {"n_done": len(done), "rows": done}
            Path(args.out).write_text(json.dumps(json_safe(result), indent=2) + "\n")
            print(f"probe {i + 1}: {row['id']}", file=sys.stderr)

        result["probes"] = probe_answers(
            args.data_dir,
            backend=load_backend("llamacpp"),
            nli=nli,
            embedder=embedder,
            extractor=extractor,
            episodes=args.probes,
            budget_tokens=args.budget,
            candidates=args.probe_candidates,
            on_episode=save_probe,
        )
    result["seconds"] = round(time.time() - t0, 1)
    Path(args.out).write_text(json.dumps(json_safe(result), indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k not in ("rows", "baseline_rows")}
    for key in ("updates", "updates_text"):
        if key in result:
            summary[key] = {k: v for k, v in result[key].items() if k != "rows"}
    if "baseline" in summary:
        summary["baseline"] = {
            k: ({kk: vv for kk, vv in v.items() if kk != "rows"} if isinstance(v, dict) else v)
            for k, v in result["baseline"].items()
        }
    if "probes" in summary:
        summary["probes"] = {k: v for k, v in result["probes"].items() if k != "rows"}
    print(json.dumps(json_safe(summary), indent=2))


def evaluate(args: Any, result: dict[str, Any], nli: Any, embedder: Any, extractor: Any) -> None:
    """Writers, recall, duplicates, updates, latency (and ``--baseline``) into ``result``."""
    from consona.evaluation.harness import json_safe
    from consona.evaluation.memory import run_memory_eval

    result["writers"] = two_writers(args.writers_seconds)
    print("two writers:", json.dumps(result["writers"]), file=sys.stderr)
    result.update(
        run_memory_eval(
            args.data_dir,
            nli=nli,
            embedder=embedder,
            extractor=extractor,
            episodes=args.episodes,
            scaling=not args.no_scaling,
            writer_options={} if args.max_novel is None else {"max_novel": args.max_novel},
            on_episode=lambda i, r: print(
                f"episode {i + 1}: recall {r['recall']} dup {r['duplicates']}", file=sys.stderr
            ),
        )
    )
    Path(args.out).write_text(json.dumps(json_safe(result), indent=2) + "\n")
    if args.baseline:
        base = run_memory_eval(
            args.data_dir,
            nli=nli,
            embedder=embedder,
            extractor=extractor,
            episodes=args.episodes,
            scaling=False,
            writer_options={"triples": False, "anchored_merge": False},
            first_person=False,
            on_episode=lambda i, r: print(
                f"baseline episode {i + 1}: recall {r['recall']} dup {r['duplicates']}",
                file=sys.stderr,
            ),
        )
        result["baseline"] = {k: v for k, v in base.items() if k != "rows"}
        result["baseline_rows"] = base["rows"]
        Path(args.out).write_text(json.dumps(json_safe(result), indent=2) + "\n")


if __name__ == "__main__":
    main()
