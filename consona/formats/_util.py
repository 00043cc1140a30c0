"""Shared helpers for the format modules: line reading with exact line numbers, a streaming
reader for top-level JSON arrays/objects, and small sniffing helpers.

>>> import json, tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
>>> _ = p.write_text(json.dumps([{"a": 1}, {"a": 2}]))
>>> [v["a"] for _, v in iter_json_array(p)]
[1, 2]
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from consona.errors import DataValidationError, FormatError

_READ_SIZE = 1 << 16


def check_readable(path: Path) -> None:
    """Fail with a clear message when ``path`` is missing, a directory or empty."""
    if not path.exists():
        raise FormatError("no such file", path=path, hint="check the input path")
    if path.is_dir():
        raise FormatError("is a directory, not a file", path=path, hint="pass a file")
    if path.stat().st_size == 0:
        raise FormatError("the file is empty", path=path, hint="pass a file with content")


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` (1-based, line ending stripped), decoding UTF-8 line by
    line so a bad byte is reported on its exact line. A UTF-8 BOM is dropped."""
    for n, raw in _raw_lines(path):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"not valid UTF-8 text (byte {exc.start + 1} of the line)",
                path=path,
                line=n,
                hint="convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8",
            ) from None
        yield n, text.rstrip("\r\n")


def iter_decoded_lines(path: Path) -> Iterator[str]:
    """The lines of ``path`` with their line endings, decoded one by one (a bad byte is
    reported on its own line); for the csv module."""
    for n, raw in _raw_lines(path):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"not valid UTF-8 text (byte {exc.start + 1} of the line)",
                path=path,
                line=n,
                hint="convert the file to UTF-8, e.g. iconv -f latin1 -t utf-8",
            ) from None


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    check_readable(path)
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            yield n, raw


def parse_json_line(path: Path, line: int, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"invalid JSON ({exc.msg} at column {exc.colno})",
            path=path,
            line=line,
            hint="each line must be one complete JSON object",
        ) from None


def expect_object(path: Path, line: int | None, value: Any, what: str = "JSON object") -> dict:
    if not isinstance(value, dict):
        raise FormatError(f"expected a {what}, got {type(value).__name__}", path=path, line=line)
    return value


def data_error(path: Path, line: int | None, exc: DataValidationError) -> FormatError:
    return FormatError(exc.message, path=path, line=line)


class _JsonStream:
    """Incremental JSON reader over a text file, keeping only the current value in memory."""

    def __init__(self, path: Path) -> None:
        check_readable(path)
        self.path = path
        self._f = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._first = True
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 1  # line number at buf[0]
        self._dec = json.JSONDecoder()

    def close(self) -> None:
        self._f.close()

    def line(self) -> int:
        return self.lines_before + self.buf.count("\n", 0, self.pos)

    def _more(self, size: int = _READ_SIZE) -> bool:
        if self.eof:
            return False
        raw = self._f.read(size)
        if self._first:
            self._first = False
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        try:
            chunk = self._decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            line = self.lines_before + self.buf.count("\n") + raw[: exc.start].count(b"\n")
            raise FormatError(
                "not valid UTF-8 text", path=self.path, line=line, hint="convert the file to UTF-8"
            ) from None
        if not raw:
            self.eof = True
            return False
        # drop what was consumed
        self.lines_before += self.buf.count("\n", 0, self.pos)
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def skip_ws(self) -> str:
        """Skip whitespace; return the next character ('' at end of file)."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def expect(self, chars: str, what: str) -> str:
        c = self.skip_ws()
        if c == "" or c not in chars:
            found = "end of file (truncated?)" if c == "" else repr(c)
            raise FormatError(
                f"invalid JSON: expected {what}, found {found}", path=self.path, line=self.line()
            )
        self.pos += 1
        return c

    def value(self) -> Any:
        self.skip_ws()
        size = _READ_SIZE
        while True:
            try:
                val, end = self._dec.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._more(size):
                    size *= 2  # grow so a big value is not re-parsed too often
                    continue
                line = self.lines_before + self.buf.count("\n", 0, exc.pos)
                msg = exc.msg
                if exc.pos >= len(self.buf.rstrip()):
                    msg += " — the file ends in the middle of a value (truncated?)"
                raise FormatError(f"invalid JSON: {msg}", path=self.path, line=line) from None
            if end >= len(self.buf) and not self.eof and self._more():
                continue  # a number might go on in the next chunk
            self.pos = end
            return val


def iter_json_array(path: Path) -> Iterator[tuple[int, Any]]:
    """Stream the items of a file holding one top-level JSON array: ``(line, item)``."""
    s = _JsonStream(path)
    try:
        s.expect("[", "'[' (a JSON array)")
        if s.skip_ws() == "]":
            return
        while True:
            line = s.line()
            s.skip_ws()
            line = s.line()
            yield line, s.value()
            if s.expect(",]", "',' or ']'") == "]":
                break
        if s.skip_ws() != "":
            raise FormatError("extra data after the JSON array", path=path, line=s.line())
    finally:
        s.close()


def iter_json_object(path: Path) -> Iterator[tuple[int, str, Any]]:
    """Stream the members of a file holding one top-level JSON object: ``(line, key, value)``."""
    s = _JsonStream(path)
    try:
        s.expect("{", "'{' (a JSON object)")
        if s.skip_ws() == "}":
            return
        while True:
            s.skip_ws()
            line = s.line()
            key = s.value()
            if not isinstance(key, str):
                raise FormatError("invalid JSON: expected a string key", path=path, line=line)
            s.expect(":", "':'")
            yield line, key, s.value()
            if s.expect(",}", "',' or '}'") == "}":
                break
        if s.skip_ws() != "":
            raise FormatError("extra data after the JSON object", path=path, line=s.line())
    finally:
        s.close()


# --- sniffing ---------------------------------------------------------------------------

_FIRST_KEY = re.compile(r'^\s*\{\s*"((?:[^"\\]|\\.)*)"\s*:')


def head_text(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.decode("utf-8", errors="replace")


def first_line_keys(head: bytes) -> set[str] | None:
    """The top-level keys of the first non-blank line when it is a JSON object (parsed whole
    when it fits in ``head``; else only its first key). ``None`` when it is not an object."""
    text = head_text(head).lstrip()
    if not text.startswith("{"):
        return None
    line = text.split("\n", 1)[0]
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        m = _FIRST_KEY.match(line)
        return {m.group(1)} if m else None
    return set(obj) if isinstance(obj, dict) else None


def split_sentences(text: str) -> list[str]:
    """Split a persona summary like 'I like tea. I have a cat.' into sentences."""
    parts = re.split(r"(?<=[.!?])\s+(?=\S)", text.strip())
    return [p.strip() for p in parts if p.strip()]
