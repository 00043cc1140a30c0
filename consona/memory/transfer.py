"""Export and import of memory facts as JSON Lines (one fact per line).

Each line is :meth:`MemoryFact.to_dict`: ``role``, ``text``, ``triple``, ``session``,
``turn``, ``valid_from``, ``invalid_at``, ``superseded_by``, ``retired``, ``times_seen``,
``last_seen`` (and the exporting store's ``id``, ``user``, ``character``, for reference).
An import checks every line first; with any bad line nothing is imported and the error
names each bad line.

>>> import io
>>> from consona.memory.store import MemoryStore
>>> s = MemoryStore("sqlite://")
>>> _ = s.add("ana", "Mira", "user", "I am a nurse.")
>>> buf = io.StringIO(); export_jsonl(s, "ana", "Mira", buf)
1
>>> t = MemoryStore("sqlite://")
>>> import_jsonl(t, "ana", "Mira", io.StringIO(buf.getvalue()), source="ana.jsonl")
1
>>> [f.text for f in t.active("ana", "Mira")]
['I am a nurse.']
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from consona.errors import FormatError
from consona.memory.schema import (
    MemoryStoreError,
    check_role,
    check_text,
    parse_time,
    utcnow,
)
from consona.memory.store import MemoryStore

__all__ = ["export_jsonl", "import_jsonl", "parse_fact_line"]

_KNOWN = {
    "id", "user", "character", "role", "text", "triple", "session", "turn", "valid_from",
    "invalid_at", "superseded_by", "retired", "times_seen", "last_seen",
}  # fmt: skip


def export_jsonl(
    store: MemoryStore, user: str, character: str, out: IO[str], *, include_retired: bool = True
) -> int:
    """Write the facts of (user, character), history included, one JSON object per line."""
    n = 0
    for f in store.facts(user, character, include_retired=include_retired):
        out.write(json.dumps(f.to_dict(), ensure_ascii=False) + "\n")
        n += 1
    return n


def _opt_int(data: dict[str, Any], key: str, *, minimum: int = 0) -> int | None:
    v = data.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise MemoryStoreError(f"{key!r} must be an integer ≥ {minimum}, got {v!r}")
    return v


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    v = data.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise MemoryStoreError(f"{key!r} must be a string, got {v!r}")
    return v


def parse_fact_line(line: str) -> dict[str, Any]:
    """One export line → the row values the store inserts (raises on anything wrong)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MemoryStoreError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise MemoryStoreError(f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise MemoryStoreError(f"unknown field(s) {', '.join(unknown)}")
    if "role" not in data or "text" not in data:
        raise MemoryStoreError("a fact needs 'role' and 'text'")
    role = check_role(data["role"])
    text = check_text(data["text"])
    triple = data.get("triple")
    if triple is not None and (
        not isinstance(triple, list)
        or len(triple) != 3
        or not all(x is None or isinstance(x, str) for x in triple)
    ):
        raise MemoryStoreError(f"'triple' must be [subject, relation, object], got {triple!r}")
    valid_from = parse_time(data.get("valid_from"), what="valid_from") or utcnow()
    invalid_at = parse_time(data.get("invalid_at"), what="invalid_at")
    if invalid_at is not None and invalid_at < valid_from:
        raise MemoryStoreError("invalid_at is before valid_from")
    retired = _opt_str(data, "retired")
    if invalid_at is not None and retired is None:
        retired = "superseded" if data.get("superseded_by") is not None else "forgotten"
    subject, relation, obj = triple if triple else (None, None, None)
    return {
        "id": _opt_int(data, "id", minimum=1),
        "role": role,
        "text": text,
        "subject": subject,
        "relation": relation,
        "object": obj,
        "session": _opt_str(data, "session"),
        "turn": _opt_int(data, "turn"),
        "valid_from": valid_from,
        "invalid_at": invalid_at,
        "superseded_by": _opt_int(data, "superseded_by", minimum=1),
        "retired": retired if invalid_at is not None else None,
        "times_seen": _opt_int(data, "times_seen", minimum=1) or 1,
        "last_seen": parse_time(data.get("last_seen"), what="last_seen") or valid_from,
    }


def import_jsonl(
    store: MemoryStore, user: str, character: str, lines: Iterable[str], *, source: str = "input"
) -> int:
    """Import exported facts into (user, character); all or nothing. Returns how many
    facts were added (facts already stored are skipped)."""
    rows, errors = [], []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(parse_fact_line(line))
        except MemoryStoreError as exc:
            errors.append(f"line {n}: {exc.message}")
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise FormatError(
            f"{len(errors)} bad line(s), nothing imported: " + "; ".join(errors[:5]) + more,
            path=source,
            hint="fix those lines (one fact per line, as 'consona memory export' writes)",
        )
    return store.insert_rows(user, character, rows)
