"""The evaluation harness: turn dialogues into examples, get a reply for each (from an agent
or from a file of replies generated elsewhere), score them, and write a run directory.

A run directory holds ``metrics.json``, ``examples.jsonl`` (one scored row per example),
``report.html`` and, for agent runs, ``replies.jsonl`` — the cache of generated replies that
lets an interrupted run resume (``run.json`` keeps the fingerprint that guards it).

>>> from consona.testing import FakeNLI
>>> from consona.types import Dialogue, Persona, Turn
>>> d = Dialogue(id="d1", personas={"bot": Persona(facts=["I have two dogs."])},
...              turns=[Turn(speaker="user", text="any pets?"),
...                     Turn(speaker="bot", text="yes , two dogs .")])
>>> examples, skipped = build_examples([d])
>>> [e.id for e in examples]
['d1:1']
>>> metrics, rows = score_examples(examples, ["I have dogs."], nli=FakeNLI())
>>> metrics["c_score"], metrics["contradiction_rate"]
(1.0, 0.0)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from consona.errors import ConfigError, FormatError
from consona.evaluation import metrics as M
from consona.io import atomic_write
from consona.nli.base import NLIModel
from consona.progress import progress
from consona.types import Dialogue, Persona, Turn

__all__ = [
    "EvalExample",
    "ReplyCache",
    "Responder",
    "build_examples",
    "generate_replies",
    "json_safe",
    "read_data",
    "read_responses",
    "score_examples",
    "write_run",
]


@dataclass
class EvalExample:
    """One reply to evaluate: the speaker's persona, the turns before it, the reference.

    >>> EvalExample(id="d:1", dialogue_id="d", speaker="bot", persona=Persona(),
    ...             context=[], reference="hi").id
    'd:1'
    """

    id: str
    dialogue_id: str
    speaker: str
    persona: Persona
    context: list[Turn]
    reference: str
    meta: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Responder(Protocol):
    """Anything that replies as ``persona`` after ``context``.

    The harness passes ``context`` with the evaluated speaker's turns as ``"assistant"``
    and every other speaker's as ``"user"`` (the last turn is the user's). ``reply``
    returns the text, or an object with ``.text`` (e.g. an ``AgentReply``).
    """

    def reply(self, persona: Persona, context: Sequence[Turn]) -> Any: ...


# --- data -----------------------------------------------------------------------------


def read_data(path: str | Path, *, fmt: str | None = None) -> list[Dialogue]:
    """Read dialogues in any format ``consona.formats`` knows (ParlAI/PersonaChat text,
    consona JSONL, MSC ...)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"No data at {str(p)!r}", hint="check the DATA path")
    from consona.formats import read_dialogues

    return list(read_dialogues(p, fmt=fmt))


def build_examples(
    dialogues: Iterable[Dialogue],
    *,
    speaker: str | None = None,
    skip_invalid: bool = False,
    limit: int | None = None,
) -> tuple[list[EvalExample], dict[str, Any]]:
    """One example per turn of the evaluated speaker(s) that has at least one turn before
    it. Evaluated speakers: ``speaker`` when given, else every speaker with persona facts.

    A dialogue whose evaluated speaker has no persona facts, or a reference turn that is
    empty, raises ``ConfigError`` naming it — unless ``skip_invalid``, which skips it and
    counts it. ``limit`` caps the number of dialogues. Returns (examples, skipped) where
    ``skipped`` has counts per reason and the first skipped ids.
    """
    examples: list[EvalExample] = []
    counts: Counter[str] = Counter()
    first: dict[str, list[str]] = {}

    def skip(reason: str, what: str, message: str, hint: str) -> None:
        if not skip_invalid:
            raise ConfigError(message, hint=hint + ", or pass --skip-invalid to skip and count")
        counts[reason] += 1
        first.setdefault(reason, [])
        if len(first[reason]) < 5:
            first[reason].append(what)

    n_dialogues = 0
    for d in dialogues:
        if limit is not None and n_dialogues >= limit:
            break
        n_dialogues += 1
        if speaker is not None:
            targets = [speaker]
        else:
            targets = [s for s in d.speakers() if d.persona_of(s).facts]
        if speaker is not None and speaker not in d.speakers():
            skip("missing_speaker", d.id,
                 f"Dialogue {d.id!r} has no speaker {speaker!r} (speakers: "
                 f"{', '.join(d.speakers()) or 'none'})", "pick one with --speaker")  # fmt: skip
            continue
        if not targets or not all(d.persona_of(s).facts for s in targets):
            skip("missing_persona", d.id,
                 f"Dialogue {d.id!r} has no persona facts for "
                 f"{', '.join(repr(t) for t in targets) or 'any speaker'}",
                 "give its speaker a persona (PersonaChat 'your persona:' lines, "
                 "consona JSONL 'personas')")  # fmt: skip
            continue
        for i, turn in enumerate(d.turns):
            if turn.speaker not in targets or i == 0:
                if turn.speaker in targets:
                    counts["no_context"] += 1  # an opening turn has nothing to reply to
                continue
            ex_id = f"{d.id}:{i}"
            if not turn.text.strip():
                skip("empty_reference", ex_id, f"Example {ex_id!r}: the reference turn is empty",
                     "fix the data")  # fmt: skip
                continue
            examples.append(
                EvalExample(
                    id=ex_id, dialogue_id=d.id, speaker=turn.speaker,
                    persona=d.persona_of(turn.speaker), context=list(d.turns[:i]),
                    reference=turn.text, meta={"turn": i},
                )
            )  # fmt: skip
    skipped: dict[str, Any] = {"counts": dict(counts), "first_ids": first}
    return examples, skipped


# --- replies from a file --------------------------------------------------------------

_REPLY_KEYS = ("response", "reply", "text", "prediction")


def read_responses(
    path: str | Path, examples: Sequence[EvalExample], *, skip_invalid: bool = False
) -> tuple[list[str | None], dict[str, int]]:
    """Replies for ``examples`` from a JSONL file: one JSON object per line with a reply
    under ``response`` (or ``reply``/``text``/``prediction``) and an optional ``id`` (the
    example id, ``<dialogue id>:<turn index>``), or one JSON string per line.

    With ids on every line, replies are matched by id; without, by order and the counts
    must match. A missing, extra or empty reply raises ``FormatError`` naming the example;
    with ``skip_invalid`` an empty or missing reply gives ``None`` and is counted.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"No responses file at {str(p)!r}", hint="check the RESPONSES path")
    rows: list[tuple[int, str | None, str]] = []
    with open(p, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"not JSON ({exc.msg})", path=p, line=n) from None
            if isinstance(obj, str):
                rows.append((n, None, obj))
                continue
            if not isinstance(obj, dict):
                raise FormatError("expected a JSON object or string", path=p, line=n)
            key = next((k for k in _REPLY_KEYS if k in obj), None)
            if key is None or not isinstance(obj[key], str):
                raise FormatError(
                    f"no reply text (expected a string under one of {', '.join(_REPLY_KEYS)})",
                    path=p, line=n,
                )  # fmt: skip
            rid = obj.get("id")
            rows.append((n, None if rid is None else str(rid), obj[key]))
    counts: Counter[str] = Counter()
    with_id = [r for r in rows if r[1] is not None]
    if rows and len(with_id) == len(rows):
        by_id: dict[str, tuple[int, str]] = {}
        for n, rid, text in rows:
            assert rid is not None
            if rid in by_id:
                raise FormatError(f"duplicate reply for example {rid!r}", path=p, line=n)
            by_id[rid] = (n, text)
        known = {e.id for e in examples}
        extra = [rid for rid in by_id if rid not in known]
        if extra:
            raise FormatError(
                f"{len(extra)} replies name no example of DATA, first {extra[0]!r} "
                f"(line {by_id[extra[0]][0]})", path=p,
                hint="ids are '<dialogue id>:<turn index>'; check DATA, --speaker and --limit",
            )  # fmt: skip
        out: list[str | None] = []
        for e in examples:
            if e.id not in by_id:
                if not skip_invalid:
                    raise FormatError(
                        f"no reply for example {e.id!r}", path=p,
                        hint="add it, or pass --skip-invalid to skip and count missing ones",
                    )  # fmt: skip
                counts["missing_reply"] += 1
                out.append(None)
                continue
            out.append(_check_reply(by_id[e.id][1], e.id, p, by_id[e.id][0], skip_invalid, counts))
        return out, dict(counts)
    if with_id:
        raise FormatError(
            f"{len(with_id)} of {len(rows)} lines have an 'id'", path=p,
            hint="give every line an id, or none (then replies match examples in order)",
        )  # fmt: skip
    if len(rows) != len(examples):
        first_missing = examples[len(rows)].id if len(rows) < len(examples) else None
        detail = (
            f"; the first example without a reply is {first_missing!r}"
            if first_missing
            else f"; line {rows[len(examples)][0]} is past the last example "
            f"{examples[-1].id if examples else '(none)'!r}"
        )
        raise FormatError(
            f"{len(rows)} replies but DATA has {len(examples)} examples{detail}", path=p,
            hint="generate one reply per example in order, or add an 'id' to every line",
        )  # fmt: skip
    out = [
        _check_reply(text, e.id, p, n, skip_invalid, counts)
        for (n, _, text), e in zip(rows, examples, strict=True)
    ]
    return out, dict(counts)


def _check_reply(
    text: str, ex_id: str, path: Path, line: int, skip_invalid: bool, counts: Counter[str]
) -> str | None:
    if text.strip():
        return text
    if not skip_invalid:
        raise FormatError(
            f"empty reply for example {ex_id!r}", path=path, line=line,
            hint="fix the reply, or pass --skip-invalid to skip and count empty ones",
        )  # fmt: skip
    counts["empty_reply"] += 1
    return None


# --- replies from an agent, with a resumable cache ------------------------------------


def fingerprint(data: Any) -> str:
    """A short stable hash of JSON-able ``data`` (run configuration)."""
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


class ReplyCache:
    """Generated replies, appended to ``DIR/replies.jsonl`` as they come (fsynced), so an
    interrupted run resumes where it stopped. ``DIR/run.json`` records the configuration
    fingerprint; a different configuration is refused rather than mixed in.

    >>> import tempfile
    >>> c = ReplyCache(tempfile.mkdtemp(), fingerprint="abc")
    >>> c.add("d:1", "hello", {})
    >>> ReplyCache(c.directory, fingerprint="abc").get("d:1")["response"]
    'hello'
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        fingerprint: str,
        config: Any = None,
        overwrite: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.path = self.directory / "replies.jsonl"
        self.fingerprint = fingerprint
        self._rows: dict[str, dict[str, Any]] = {}
        run_json = self.directory / "run.json"
        if run_json.is_file() and not overwrite:
            try:
                old = json.loads(run_json.read_text(encoding="utf-8")).get("fingerprint")
            except (json.JSONDecodeError, AttributeError):
                old = None
            if old != fingerprint:
                raise ConfigError(
                    f"{str(self.directory)!r} holds a run with another configuration "
                    f"(fingerprint {old} ≠ {fingerprint})",
                    hint="use another --out directory, or pass --overwrite to start over",
                )
        if overwrite and self.path.exists():
            self.path.unlink()
        with atomic_write(run_json) as f:
            json.dump({"fingerprint": fingerprint, "config": config}, f, indent=2, default=str)
        if self.path.is_file():
            with open(self.path, encoding="utf-8") as f:
                for line in f:
                    try:
                        row = json.loads(line)
                        self._rows[str(row["id"])] = row
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue  # a line cut by an interruption: generate it again

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, example_id: str) -> dict[str, Any] | None:
        return self._rows.get(example_id)

    def add(self, example_id: str, response: str, info: dict[str, Any]) -> None:
        row = {"id": example_id, "response": response, **info}
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._rows[example_id] = row


def _reply_info(result: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(result, str):
        return result, {}
    text = getattr(result, "text", None)
    if not isinstance(text, str):
        raise ConfigError(
            f"The responder returned {type(result).__name__}, not text",
            hint="return a str or an object with .text",
        )
    info: dict[str, Any] = {}
    cands = getattr(result, "candidates", None)
    if cands is not None:
        info["n_candidates"] = len(cands)
    for key in ("flagged", "repaired", "latency_s"):
        val = getattr(result, key, None)
        if isinstance(val, bool | int | float):
            info[key] = val
    return text, info


def responder_context(example: EvalExample) -> list[Turn]:
    """``example.context`` with the evaluated speaker as "assistant", others as "user"."""
    return [
        Turn(speaker="assistant" if t.speaker == example.speaker else "user", text=t.text)
        for t in example.context
    ]


def generate_replies(
    examples: Sequence[EvalExample],
    responder: Responder,
    cache: ReplyCache,
    *,
    show_progress: bool = True,
) -> list[str]:
    """A reply per example: from the cache when present, else from ``responder`` (and then
    cached at once). Returns the replies in example order."""
    todo = [e for e in examples if cache.get(e.id) is None]
    extra: dict[str, Any] = {} if show_progress else {"disable": True}
    bar = progress(total=len(examples), initial=len(examples) - len(todo), desc="replies", **extra)
    try:
        for e in todo:
            text, info = _reply_info(responder.reply(e.persona, responder_context(e)))
            cache.add(e.id, text, info)
            bar.update(1)
    finally:
        bar.close()
    out = []
    for e in examples:
        row = cache.get(e.id)
        assert row is not None
        out.append(str(row["response"]))
    return out


# --- scoring --------------------------------------------------------------------------


def score_examples(
    examples: Sequence[EvalExample],
    responses: Sequence[str | None],
    *,
    nli: NLIModel,
    threshold: float | None = None,
    skipped: dict[str, Any] | None = None,
    show_progress: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score replies against personas (NLI) and references (F1, BLEU, ROUGE-L, Distinct).

    ``responses[i]`` answers ``examples[i]``; ``None`` marks a skipped one (counted under
    ``skipped``). Returns (metrics, rows): metrics is a flat dict of floats plus ``n`` and
    ``skipped``; rows hold per-example scores and verdicts.
    """
    from consona.nli.consistency import check_many

    if len(responses) != len(examples):
        raise ConfigError(
            f"{len(responses)} replies for {len(examples)} examples",
            hint="pass one reply (or None) per example",
        )
    rows: list[dict[str, Any]] = []
    labels: list[list[str]] = []
    preds: list[str] = []
    refs: list[str] = []
    pairs = list(zip(examples, responses, strict=True))
    it: Iterable[tuple[EvalExample, str | None]] = (
        progress(pairs, total=len(pairs), desc="scoring") if show_progress else pairs
    )
    for e, reply in it:
        if reply is None:
            continue
        res = check_many(e.persona.facts, [reply], nli=nli, threshold=threshold)[0]
        fact_labels = [v.label for v in res.verdicts]
        labels.append(fact_labels)
        preds.append(reply)
        refs.append(e.reference)
        rows.append(
            {
                "id": e.id,
                "dialogue_id": e.dialogue_id,
                "speaker": e.speaker,
                "facts": e.persona.fact_texts(),
                "context": e.context[-1].text if e.context else "",
                "reference": e.reference,
                "response": reply,
                "c_score": M.c_score(fact_labels),
                "contradicted": res.contradicted,
                "entailed": res.entailed,
                "max_contradiction": res.max_contradiction,
                "f1": M.unigram_f1(reply, e.reference),
                "rouge_l": M.rouge_l(reply, e.reference),
            }
        )
    counts = dict((skipped or {}).get("counts", {}))
    n_skipped = sum(v for k, v in counts.items() if k not in ("no_context", "over_max_turns"))
    metrics: dict[str, Any] = {
        "n": len(rows),
        "n_skipped": n_skipped,
        "c_score": M.mean_c_score(labels),
        "contradiction_rate": M.contradiction_rate(labels),
        "entailment_rate": M.entailment_rate(labels),
        "f1": M.mean([r["f1"] for r in rows]),
        "bleu": M.bleu(preds, refs),
        "rouge_l": M.mean([r["rouge_l"] for r in rows]),
        "distinct_1": M.distinct_n(preds, n=1),
        "distinct_2": M.distinct_n(preds, n=2),
        "avg_words": M.mean([len(p.split()) for p in preds]),
        "nli_model": getattr(nli, "name", type(nli).__name__),
        "skipped": skipped or {"counts": {}, "first_ids": {}},
    }
    return metrics, rows


def write_run(
    out_dir: str | Path,
    metrics: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    *,
    title: str = "consona eval",
) -> dict[str, Path]:
    """Write metrics.json, examples.jsonl and report.html into ``out_dir`` (each atomically)."""
    from consona.evaluation.report import render_report

    out = Path(out_dir)
    paths = {
        "metrics": out / "metrics.json",
        "examples": out / "examples.jsonl",
        "report": out / "report.html",
    }
    html = render_report(metrics, rows, title=title)
    with atomic_write(paths["examples"]) as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
    with atomic_write(paths["report"]) as f:
        f.write(html)
    with atomic_write(paths["metrics"]) as f:
        json.dump(json_safe(metrics), f, indent=2, ensure_ascii=False, default=str)
        f.write("\n")
    return paths


def json_safe(value: Any) -> Any:
    """NaN/inf become null so metrics.json is strict JSON."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
