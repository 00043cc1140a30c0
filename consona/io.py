"""Safe file output: write to a temp file beside the target, fsync, rename.

A failure (exception, Ctrl-C) leaves no partial file behind.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with atomic_write(d / "out.txt") as f:
...     _ = f.write("hello")
>>> (d / "out.txt").read_text()
'hello'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from consona.errors import ConsonaError


@contextlib.contextmanager
def atomic_write(
    path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None
) -> Iterator[IO[Any]]:
    """Open a temp file next to ``path``; on success fsync and rename it over ``path``."""
    path = Path(path)
    binary = "b" in mode
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        # mkstemp makes 0600 files; outputs get the permissions open() would give them
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o666 & ~_umask())
    except OSError as exc:
        raise ConsonaError(
            f"Cannot write {str(path)!r}: {exc.strerror or exc}",
            hint="choose a writable output path",
        ) from None
    try:
        f: IO[Any] = (
            os.fdopen(fd, mode)
            if binary
            else os.fdopen(fd, mode, encoding=encoding, newline=newline)
        )
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
