"""How well do the out-of-character checks find what reading found?

Agent replies from earlier real-turn runs, each labelled out of character or not by
reading (the rubric counts assistant talk, offers of help and counselling;
``bench/results/register_reading_labels.jsonl``: model, setting, reply, label). Each
reply is run through the lexical check (:func:`consona.evaluation.voice.out_of_character`),
the learned assistant-register check (:mod:`consona.evaluation.register`, the shipped
model over the default embedder), and either of the two. Per model the script prints how
many read out-of-character replies each check finds and how many replies it flags that
reading passed, lists the register's flags, and writes JSON. Neither check was fitted on
these replies.

    python bench/register_reading.py --out bench/results/register_reading.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def evaluate(rows: list[dict[str, Any]], register: Any) -> dict[str, Any]:
    """Per model: replies, read out of character, and for each check found / false."""
    from consona.evaluation.voice import out_of_character

    per: dict[str, dict[str, Any]] = defaultdict(
        lambda: (
            {"replies": 0, "read_ooc": 0, "flags": []}
            | {f"{c}_{k}": 0 for c in ("lexical", "register", "either") for k in ("found", "false")}
        )
    )
    for r in rows:
        m = per[r["model"]]
        ooc = bool(r["out_of_character"])
        evidence = register.evidence(r["reply"])
        checks = {"lexical": out_of_character(r["reply"]), "register": bool(evidence)}
        checks["either"] = checks["lexical"] or checks["register"]
        m["replies"] += 1
        m["read_ooc"] += ooc
        for name, hit in checks.items():
            m[f"{name}_found"] += hit and ooc
            m[f"{name}_false"] += hit and not ooc
        if evidence:
            m["flags"].append({"read_ooc": ooc, "setting": r["setting"], "sentence": evidence[0]})
    return dict(per)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=Path, default=RESULTS / "register_reading_labels.jsonl")
    ap.add_argument("--out", type=Path, default=RESULTS / "register_reading.json")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from consona.evaluation.register import default_register

    rows = [json.loads(line) for line in args.labels.read_text().splitlines() if line.strip()]
    result = evaluate(rows, default_register())
    for model, m in result.items():
        print(f"{model}: {m['replies']} replies, {m['read_ooc']} read out of character")
        for c in ("lexical", "register", "either"):
            print(f"  {c:9s} found {m[f'{c}_found']:3d}, flags reading passed {m[f'{c}_false']:3d}")
        for f in m["flags"]:
            print(f"    {'OOC ' if f['read_ooc'] else 'ok  '}{f['sentence'][:100]}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"command": "python bench/register_reading.py", "labels": str(args.labels.name),
               "models": result}  # fmt: skip
    args.out.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
