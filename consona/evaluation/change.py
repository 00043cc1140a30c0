"""Can a chat model tell that a new statement ends an old fact? (``bench/change_judge.py``)

The memory's write path supersedes a fact when the judge finds a contradiction or a rule
of :mod:`consona.memory.update` reads a change ("I sold my motorcycle."). The rules are
written per phrasing, and held-out update sets written after them show it: the later the
set, the fewer changes they read. This module measures the obvious alternative, a chat
model asked directly, on both sides of the decision:

* **changes** (:data:`~consona.evaluation.memory.UPDATE_SETS` and
  :data:`~consona.evaluation.memory.UPDATES`): (old fact, update) pairs where the update
  ends the old fact: the share the model calls ended (higher is better);
* **same-topic pairs**: two active facts of one speaker from a memory evaluation run
  (``bench/memory_eval.py``'s JSON) on one topic (embedding similarity ≥ ``min_sim``; the
  writer itself compares a new fact with its ``k`` nearest active facts, and a gate over
  them would see pairs like these), where nearly always both stay true: the share the
  model calls ended (each one would retire a true fact; lower is better).

Two questions are asked: **pairwise** (can both statements be true of the person today?)
and **unary** (does the new statement say something in the speaker's life changed or
ended?), each with a JSON schema where the backend takes one. A model fit to gate the write
path calls nearly every change ended and nearly no same-topic pair ended.

>>> from consona.testing import FakeBackend
>>> fake = FakeBackend(lambda m: '{"both_true": "no"}' if "sold" in m[-1]["content"]
...                    else '{"both_true": "yes"}')
>>> ask_pairwise(fake, "I ride a motorcycle.", "I sold my motorcycle.")
True
>>> ask_pairwise(fake, "I ride a motorcycle.", "I ride it to work.")
False
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import BackendError, FormatError

__all__ = [
    "PAIRWISE_SCHEMA",
    "PAIRWISE_SYSTEM",
    "UNARY_SCHEMA",
    "UNARY_SYSTEM",
    "ask_pairwise",
    "ask_unary",
    "change_judge_report",
    "same_topic_pairs",
    "update_pairs",
]

PAIRWISE_SYSTEM = """Two statements by the same person, said on different days. Can both be true of that person today?
Answer "yes" if both can be true at once (one adds detail, or they are about different things).
Answer "no" if the second one means the first is not true anymore.
Examples:
FIRST: I have a dog. SECOND: I walk my dog every morning. -> {"both_true": "yes"}
FIRST: I live in Paris. SECOND: I moved to Rome last year. -> {"both_true": "no"}
FIRST: I love cooking. SECOND: I made pasta for my family tonight. -> {"both_true": "yes"}
FIRST: I am a student. SECOND: I finished my degree and got a job. -> {"both_true": "no"}
FIRST: I have two kids. SECOND: My kids love soccer. -> {"both_true": "yes"}
Reply only with JSON: {"both_true": "yes"} or {"both_true": "no"}."""


def _yes_no_schema(key: str) -> dict[str, Any]:
    """The JSON schema of ``{key: "yes" | "no"}``."""
    return {
        "type": "object",
        "properties": {key: {"type": "string", "enum": ["yes", "no"]}},
        "required": [key],
        "additionalProperties": False,
    }


PAIRWISE_SCHEMA = _yes_no_schema("both_true")

UNARY_SYSTEM = """Does the sentence say that something in the speaker's life changed or ended: they stopped, quit, left, moved, sold, lost, gave up, broke up, graduated, got older, switched, or a state of theirs is over?
Examples:
"I moved to Rome last year." -> {"change": "yes"}
"I love hiking in the mountains." -> {"change": "no"}
"My dog passed away." -> {"change": "yes"}
"I have two kids who play soccer." -> {"change": "no"}
"I don't smoke anymore." -> {"change": "yes"}
"I work at a bank." -> {"change": "no"}
Reply only with JSON: {"change": "yes"} or {"change": "no"}."""

UNARY_SCHEMA = _yes_no_schema("change")


def _answer(backend: Any, system: str, user: str, schema: dict[str, Any], key: str) -> str | None:
    """The model's "yes" or "no" for ``key`` (greedy, constrained where the backend can);
    None when the reply holds neither."""
    caps = getattr(backend, "capabilities", None)
    kw = {"json_schema": schema} if getattr(caps, "json_schema", False) else {}
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    try:
        gen = backend.generate(messages, n=1, temperature=0.0, max_tokens=16, seed=0, **kw)
    except BackendError:
        if not kw:
            raise
        # the constrained reply broke the schema (cut off, or a backend that checks but
        # cannot constrain): ask once more and read the plain reply
        gen = backend.generate(messages, n=1, temperature=0.0, max_tokens=16, seed=0)
    text = gen.texts[0]
    try:
        value = json.loads(text).get(key)
    except (json.JSONDecodeError, AttributeError):
        value = None
    if value in ("yes", "no"):
        return str(value)
    low = text.lower()
    found = [w for w in ("yes", "no") if f'"{w}"' in low or low.strip().strip(".!").strip() == w]
    return found[0] if len(found) == 1 else None  # both: an echo of the instruction


def ask_pairwise(backend: Any, old: str, new: str) -> bool | None:
    """True when the model says ``new`` means ``old`` is no longer true (not both true);
    None when its reply answers neither way."""
    a = _answer(
        backend, PAIRWISE_SYSTEM, f"FIRST: {old} SECOND: {new} ->", PAIRWISE_SCHEMA, "both_true"
    )
    return None if a is None else a == "no"


def ask_unary(backend: Any, sentence: str) -> bool | None:
    """True when the model says ``sentence`` states a change or an ending in the speaker's
    life; None when its reply answers neither way."""
    a = _answer(backend, UNARY_SYSTEM, f'"{sentence}" ->', UNARY_SCHEMA, "change")
    return None if a is None else a == "yes"


def update_pairs() -> list[tuple[str, str, str]]:
    """(set name, old fact, update) of every injected update of the memory evaluation."""
    from consona.evaluation.memory import UPDATE_SETS, UPDATES

    out = [("original", old, new) for old, _, new in UPDATES]
    for name, rows in UPDATE_SETS.items():
        out += [(name, old, new) for _, old, _, new in rows]
    return out


def same_topic_pairs(
    results: str | Path | dict[str, Any], embedder: Any, *, min_sim: float = 0.3
) -> list[tuple[str, str, float]]:
    """(earlier fact, later fact, similarity) for every two active facts of one speaker
    in a memory evaluation's ``rows`` whose embedding similarity is at least ``min_sim``
    (the facts are in the order the store keeps them)."""
    if not isinstance(results, dict):
        path = Path(results)
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FormatError("no such file", path=path) from None
        except json.JSONDecodeError as exc:
            raise FormatError(f"not JSON ({exc.msg})", path=path) from None
    assert isinstance(results, dict)
    rows = results.get("rows")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "facts" in r for r in rows):
        raise FormatError(
            "no rows with facts: not the JSON of a memory evaluation",
            hint="pass the --out file of bench/memory_eval.py (e.g. bench/results/memory_eval.json)",
        )
    out: list[tuple[str, str, float]] = []
    for row in rows:
        for facts in row["facts"].values():
            facts = [f for f in facts if isinstance(f, str) and f.strip()]
            if len(facts) < 2:
                continue
            vecs = np.asarray(embedder.encode(facts), dtype=np.float64)
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            sims = vecs @ vecs.T
            for i in range(len(facts)):
                for j in range(i + 1, len(facts)):
                    if sims[i, j] >= min_sim:
                        out.append((facts[i], facts[j], float(sims[i, j])))
    return out


def _rate(values: Iterable[bool | None]) -> dict[str, Any]:
    vals = list(values)
    answered = [v for v in vals if v is not None]
    return {
        "n": len(vals),
        "ended": sum(answered),
        "unparsed": len(vals) - len(answered),
        "rate": (sum(answered) / len(vals)) if vals else float("nan"),
    }


def change_judge_report(
    backend: Any,
    *,
    updates: Sequence[tuple[str, str, str]],
    pairs: Sequence[tuple[str, str, float]],
    unary: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Ask ``backend`` about every update (``(set, old, new)``) and every same-topic pair
    (``(old, new, similarity)``): pairwise always, and unary on each update and each
    pair's later fact when ``unary``. Rates are shares of all rows; an unparsed reply
    counts as not ended. ``rows`` keeps every answer."""
    total = (len(updates) + len(pairs)) * (2 if unary else 1)
    done = 0
    start = time.perf_counter()

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    rows: list[dict[str, Any]] = [
        {"kind": "update", "set": name, "old": old, "new": new} for name, old, new in updates
    ]
    rows += [
        {"kind": "same_topic", "old": old, "new": new, "sim": round(sim, 4)}
        for old, new, sim in pairs
    ]
    # one question kind after the other: each keeps its system prompt, which a backend
    # with a prompt cache (llama.cpp) then reads once instead of once per question
    for r in rows:
        r["pairwise"] = ask_pairwise(backend, r["old"], r["new"])
        step()
    if unary:
        for r in rows:
            r["unary"] = ask_unary(backend, r["new"])
            step()
    ups = [r for r in rows if r["kind"] == "update"]
    same = [r for r in rows if r["kind"] == "same_topic"]
    report: dict[str, Any] = {"pairwise": {}, "unary": {}, "both": {}}
    for q in ("pairwise", "unary") if unary else ("pairwise",):
        report[q]["updates"] = _rate(r[q] for r in ups)
        report[q]["updates_by_set"] = {
            name: _rate(r[q] for r in ups if r["set"] == name)
            for name in dict.fromkeys(r["set"] for r in ups)
        }
        report[q]["same_topic"] = _rate(r[q] for r in same)
    if unary:  # a gate that needs both answers
        report["both"]["updates"] = _rate(bool(r["pairwise"] and r["unary"]) for r in ups)
        report["both"]["same_topic"] = _rate(bool(r["pairwise"] and r["unary"]) for r in same)
    else:
        del report["unary"], report["both"]
    report["seconds"] = round(time.perf_counter() - start, 1)
    report["rows"] = rows
    return report
