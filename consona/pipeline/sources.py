"""Build inputs: paths, globs, directories and pseudo-inputs (``chitchat:``), read as one
ordered stream of dialogues; bad records are reported with file and line, then skipped or
fatal (``on_error``).

>>> import json, pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "d.jsonl"
>>> _ = p.write_text(json.dumps({"id": "a", "turns": [{"speaker": "x", "text": "hi"}]})
...                  + "\\n{broken\\n")
>>> reader = InputReader([str(p)], on_error="skip")
>>> [r.dialogue.id for r in reader], reader.errors
(['a'], 1)
>>> reader.error_samples[0]["line"]
2
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consona.errors import ConfigError, ConsonaError, FormatError
from consona.types import Dialogue

__all__ = ["InputReader", "SourceRecord", "expand_inputs", "fingerprint_inputs"]

MAX_ERROR_SAMPLES = 50
_PSEUDO_PREFIXES = ("chitchat:",)


@dataclass(frozen=True)
class SourceRecord:
    """One dialogue with where it came from (``line`` is 1-based for line formats)."""

    dialogue: Dialogue
    file: str
    line: int | None
    index: int


def _is_pseudo(spec: str) -> bool:
    return spec.startswith(_PSEUDO_PREFIXES)


def expand_inputs(inputs: Sequence[str | Path]) -> list[str]:
    """Paths in a fixed order: globs and directories expanded and sorted."""
    if not inputs:
        raise ConfigError("No input given", hint="pass one or more files, globs or 'chitchat:'")
    out: list[str] = []
    for raw in inputs:
        spec = str(raw)
        if _is_pseudo(spec):
            out.append(spec)
        elif any(ch in spec for ch in "*?["):
            matches = sorted(p for p in glob.glob(spec, recursive=True) if os.path.isfile(p))
            if not matches:
                raise ConfigError(f"No file matches {spec!r}", hint="check the glob pattern")
            out.extend(matches)
        elif os.path.isdir(spec):
            files = sorted(
                str(p)
                for p in Path(spec).rglob("*")
                if p.is_file() and not any(part.startswith(".") for part in p.parts)
            )
            if not files:
                raise ConfigError(f"Directory {spec!r} has no files", hint="pass a data directory")
            out.extend(files)
        elif os.path.isfile(spec):
            out.append(spec)
        else:
            raise ConfigError(
                f"Input {spec!r} does not exist",
                hint="check the path (quote globs so the shell does not expand them)",
            )
    return out


def fingerprint_inputs(paths: Sequence[str]) -> list[dict[str, Any]]:
    """A content hash per input (pseudo-inputs: their spec and package version)."""
    out: list[dict[str, Any]] = []
    for spec in paths:
        if _is_pseudo(spec):
            out.append({"input": spec, "version": _pseudo_version(spec)})
            continue
        h = hashlib.sha256()
        try:
            with open(spec, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
        except OSError as exc:
            raise ConfigError(
                f"Cannot read input {spec!r}: {exc.strerror}", hint="check it"
            ) from None
        out.append({"input": spec, "bytes": os.path.getsize(spec), "sha256": h.hexdigest()})
    return out


def _pseudo_version(spec: str) -> str | None:
    from importlib import metadata

    name = {"chitchat:": "chitchat-dataset"}.get(spec.split(":", 1)[0] + ":")
    try:
        return metadata.version(name) if name else None
    except metadata.PackageNotFoundError:
        return None


def _format_of(path: str) -> str | None:
    """The dialogue format name of ``path`` (None: consona JSONL, read line by line)."""
    if _is_pseudo(path):
        return "auto"
    from consona.formats import detect_format

    try:
        _kind, name = detect_format(path)
    except ConsonaError:
        return None if path.endswith(".jsonl") else "auto"
    return None if name == "jsonl" else str(name)


class InputReader:
    """Iterates ``SourceRecord``s over all inputs; counts and samples errors.

    With ``on_error="fail"`` the first bad record raises ``FormatError`` (file and line);
    with ``"skip"`` it is counted in ``errors`` and kept in ``error_samples``. Consona JSONL
    is read line by line (so one bad line loses only itself); other formats go through
    ``consona.formats.read_dialogues`` and an error there ends that file.
    """

    def __init__(
        self, inputs: Sequence[str | Path], *, on_error: str = "skip", limit: int | None = None
    ) -> None:
        self.paths = expand_inputs(inputs)
        self.on_error = on_error
        self.limit = limit
        self.errors = 0
        self.error_samples: list[dict[str, Any]] = []
        self.read = 0

    def _error(self, message: str, *, path: str | None, line: int | None = None) -> None:
        if self.on_error == "fail":
            raise FormatError(
                message, path=path, line=line, hint="fix the record or pass --on-error skip"
            )
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append({"file": path, "line": line, "error": message})

    def estimate_total(self) -> int | None:
        """How many dialogues the inputs hold (JSONL: non-empty lines; other formats: a
        quick read), for the progress bar's ETA. None when it cannot be known cheaply."""
        total = 0
        for p in self.paths:
            if self.limit is not None and total >= self.limit:
                break
            try:
                if _format_of(p) is None:
                    with open(p, "rb") as f:
                        total += sum(1 for line in f if line.strip())
                else:
                    from consona.formats import read_dialogues

                    total += sum(1 for _ in read_dialogues(p))
            except (ConsonaError, OSError, ValueError):
                return self.limit
        return total if self.limit is None else min(total, self.limit)

    def __iter__(self) -> Iterator[SourceRecord]:
        self.errors, self.error_samples, self.read = 0, [], 0
        for path in self.paths:
            fmt = _format_of(path)
            records = self._read_jsonl(path) if fmt is None else self._read_format(path, fmt)
            for dialogue, line in records:
                if self.limit is not None and self.read >= self.limit:
                    return
                yield SourceRecord(dialogue=dialogue, file=path, line=line, index=self.read)
                self.read += 1
            if self.limit is not None and self.read >= self.limit:
                return

    def _read_jsonl(self, path: str) -> Iterator[tuple[Dialogue, int | None]]:
        try:
            f = open(path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ConfigError(f"Cannot read {path!r}: {exc.strerror}", hint="check it") from None
        with f:
            for lineno, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    dialogue = Dialogue.from_dict(json.loads(raw.decode("utf-8")))
                except UnicodeDecodeError as exc:
                    self._error(f"not UTF-8 ({exc.reason})", path=path, line=lineno)
                    continue
                except json.JSONDecodeError as exc:
                    self._error(f"invalid JSON ({exc.msg})", path=path, line=lineno)
                    continue
                except ConsonaError as exc:
                    self._error(exc.message, path=path, line=lineno)
                    continue
                yield dialogue, lineno

    def _read_format(self, path: str, fmt: str) -> Iterator[tuple[Dialogue, int | None]]:
        from consona.formats import read_dialogues

        try:
            for dialogue in read_dialogues(path, fmt=None if fmt == "auto" else fmt):
                yield dialogue, None
        except ConsonaError as exc:
            if self.on_error == "fail":
                raise
            line = exc.line if isinstance(exc, FormatError) else None
            self._error(str(exc), path=path, line=line)
