"""One error tree for consona. Every message says what went wrong and how to fix it.

>>> raise FormatError("expected a JSON object", path="a.jsonl", line=3)
Traceback (most recent call last):
...
consona.errors.FormatError: a.jsonl, line 3: expected a JSON object
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class ConsonaError(Exception):
    """Base of every error consona raises on purpose.

    ``hint`` is the fix, shown after the message ("— pass --model PATH ...").
    The CLI prints ``str(error)`` without a traceback and exits with ``exit_code``.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self._render())

    def _render(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ConfigError(ConsonaError):
    """A setting, option or config file is invalid."""

    exit_code = 2


class UnknownNameError(ConfigError):
    """A name (format, backend, model, extractor...) is not registered."""

    def __init__(self, kind: str, name: str, valid: Iterable[str], *, hint: str | None = None):
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        choices = ", ".join(self.valid) if self.valid else "(none registered)"
        super().__init__(f"Unknown {kind} {name!r}. Valid {kind}s: {choices}", hint=hint)


class DataValidationError(ConsonaError):
    """A value does not fit consona's data model (types.py)."""

    exit_code = 2


class FormatError(ConsonaError):
    """A file cannot be read or written in the expected format.

    The message names the file and, when known, the line or chunk.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        chunk: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.chunk = chunk
        where = []
        if self.path:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if chunk is not None:
            where.append(f"chunk {chunk}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message, hint=hint)


class ModelError(ConsonaError):
    """A model is missing, corrupt or cannot be loaded."""

    exit_code = 3


class BackendError(ConsonaError):
    """A chat backend failed (server refused, timed out, bad output)."""

    exit_code = 4


class ContextOverflowError(ConsonaError):
    """The persona prompt plus the latest message do not fit the model's context."""

    exit_code = 4


class MissingDependencyError(ConsonaError):
    """An optional dependency is not installed."""

    exit_code = 2

    def __init__(self, package: str, *, extra: str | None = None, purpose: str = "") -> None:
        install = f"pip install 'consona[{extra}]'" if extra else f"pip install {package}"
        what = f" (needed for {purpose})" if purpose else ""
        super().__init__(f"The package {package!r} is not installed{what}", hint=f"run: {install}")


def require(
    module: str, *, package: str | None = None, extra: str | None = None, purpose: str = ""
):
    """Import an optional heavy dependency lazily, failing with an install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(package or module, extra=extra, purpose=purpose) from exc
