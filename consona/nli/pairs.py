"""Reading NLI pair files (JSONL) with per-line errors.

Each line is a JSON object with string ``premise`` and ``hypothesis`` (and ``label`` when
required); other keys are kept. A bad line raises :class:`FormatError` naming the file
and line, unless ``skip_invalid`` — then it is recorded in ``skipped``.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "in.jsonl"
>>> _ = p.write_text('{"premise": "a", "hypothesis": "b"}\\n[1]\\n')
>>> rows, skipped = read_pairs_jsonl(p, skip_invalid=True)
>>> len(rows), skipped
(1, [(2, 'expected a JSON object, got list')])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from consona.errors import FormatError
from consona.nli.evaluate import norm_label


def read_pairs_jsonl(
    path: str | Path,
    *,
    skip_invalid: bool = False,
    need_label: bool = False,
) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """Rows (with ``label`` normalised when present) and the skipped ``(line, reason)``."""
    path = Path(path)
    if not path.is_file():
        raise FormatError("no such file", path=path, hint="check the input path")
    rows: list[dict[str, Any]] = []
    skipped: list[tuple[int, str]] = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append(_parse(line, need_label=need_label))
            except ValueError as exc:
                if not skip_invalid:
                    raise FormatError(
                        str(exc), path=path, line=lineno, hint="fix the line or pass --skip-invalid"
                    ) from None
                skipped.append((lineno, str(exc)))
    return rows, skipped


def _parse(line: str, *, need_label: bool) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"expected a JSON object, got {type(obj).__name__}")
    for key in ("premise", "hypothesis"):
        if key not in obj:
            raise ValueError(f"missing key {key!r}")
        if not isinstance(obj[key], str):
            raise ValueError(f"{key!r} must be a string, got {type(obj[key]).__name__}")
    if need_label:
        if "label" not in obj:
            raise ValueError("missing key 'label'")
        label = norm_label(obj["label"])
        if label is None:
            raise ValueError(
                f"unknown label {obj['label']!r} (use entailment, neutral or contradiction)"
            )
        obj["label"] = label
    return obj
