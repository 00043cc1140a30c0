"""A training RUN folder: its identity (data fingerprint, base, recipe), atomic checkpoints,
resume, and what a finished run holds (adapter, merged folder, GGUF).

Layout::

    RUN/run.json                 identity: checked before a run is resumed
    RUN/checkpoints/checkpoint-N committed checkpoints (written in .staging, then renamed)
    RUN/adapter/                 the LoRA adapter (PEFT) of the final step
    RUN/merged/                  base + adapter merged into a plain Hugging Face folder
    RUN/model-<quant>.gguf       the merged model for llama.cpp (``consona train export``)
    RUN/train_report.json        data fingerprint, config, losses, time

A checkpoint is written into ``checkpoints/.staging`` and renamed into place only when it is
complete, so a kill or a full disk never leaves a half checkpoint under its final name and
the last good one stays intact.

>>> import tempfile
>>> run = RunDir(tempfile.mkdtemp())
>>> run.write_identity({"data_fingerprint": "abc", "base": "b", "recipe": {}})
>>> run.check_identity({"data_fingerprint": "abc", "base": "b", "recipe": {}})
>>> run.last_checkpoint() is None
True
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from consona.io import atomic_write
from consona.training.errors import CheckpointError, RunMismatchError, TrainingError

__all__ = ["IDENTITY_FORMAT", "RunDir", "is_run_dir"]

IDENTITY_FORMAT = "consona-train/1"
_CKPT = re.compile(r"^checkpoint-(\d+)$")
_STATE = "trainer_state.json"


def is_run_dir(path: str | Path) -> bool:
    """True when ``path`` is a ``consona train`` RUN folder."""
    return (Path(path).expanduser() / "run.json").is_file()


class RunDir:
    """The folder of one training run (see the module docstring for its layout)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser()

    # ------------------------------------------------------------------ paths
    @property
    def identity_path(self) -> Path:
        return self.root / "run.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def staging(self) -> Path:
        return self.checkpoints / ".staging"

    @property
    def adapter(self) -> Path:
        return self.root / "adapter"

    @property
    def merged(self) -> Path:
        return self.root / "merged"

    @property
    def report_path(self) -> Path:
        return self.root / "train_report.json"

    def gguf_files(self) -> list[Path]:
        return sorted(self.root.glob("model-*.gguf"))

    # ------------------------------------------------------------------ identity
    def read_identity(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.identity_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise TrainingError(
                f"Unreadable run identity {str(self.identity_path)!r}: {exc}",
                hint="use a new -o RUN folder",
            ) from None
        return data if isinstance(data, dict) else None

    def write_identity(self, identity: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.identity_path) as f:
            json.dump({"format": IDENTITY_FORMAT, **identity}, f, indent=2, sort_keys=True)
            f.write("\n")

    def check_identity(self, identity: dict[str, Any]) -> None:
        """Refuse to resume a run of other data, another base or another recipe."""
        old = self.read_identity()
        if old is None:
            return
        if old.get("data_fingerprint") != identity.get("data_fingerprint"):
            raise RunMismatchError(
                f"{str(self.root)!r} holds a run trained on other data (fingerprint "
                f"{str(old.get('data_fingerprint'))[:12]}…, this data "
                f"{str(identity.get('data_fingerprint'))[:12]}…, "
                f"{old.get('examples')} vs {identity.get('examples')} examples)",
                hint="use a new -o RUN folder, or the same DATA and --limit as that run",
            )
        for key in ("base", "recipe"):
            if old.get(key) != identity.get(key):
                diff = _diff(old.get(key), identity.get(key))
                raise RunMismatchError(
                    f"{str(self.root)!r} holds a run with another {key} ({diff})",
                    hint="use a new -o RUN folder, or the same options as that run",
                )

    # ------------------------------------------------------------------ checkpoints
    def committed(self) -> list[tuple[int, Path]]:
        """Committed checkpoints (step, folder), oldest first."""
        out = []
        if self.checkpoints.is_dir():
            for p in self.checkpoints.iterdir():
                m = _CKPT.match(p.name)
                if m and p.is_dir() and (p / _STATE).is_file():
                    out.append((int(m.group(1)), p))
        return sorted(out)

    def last_checkpoint(self) -> Path | None:
        done = self.committed()
        return done[-1][1] if done else None

    def clean_staging(self) -> None:
        """Remove what a killed run left half-written."""
        if self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)

    def commit_checkpoint(self, step: int, write: Callable[[Path], None], *, keep: int = 2) -> Path:
        """Write a checkpoint with ``write(staging_folder)``; rename it into
        ``checkpoints/checkpoint-<step>`` only when complete; keep the ``keep`` newest. A
        full disk or another OSError raises CheckpointError and leaves the committed
        checkpoints as they were."""
        self.clean_staging()
        target = self.checkpoints / f"checkpoint-{step}"
        try:
            self.staging.mkdir(parents=True, exist_ok=True)
            write(self.staging)
            built = self.staging / target.name
            if not built.is_dir():  # the writer wrote the files directly into staging
                built = self.staging
            _fsync_tree(built)
            if target.exists():
                shutil.rmtree(target)
            os.replace(built, target)
            _fsync_dir(self.checkpoints)
        except (OSError, RuntimeError) as exc:  # torch.save reports write errors as RuntimeError
            self.clean_staging()
            last = self.last_checkpoint()
            full = getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or (
                "No space left" in str(exc)
            )
            why = "disk full" if full else getattr(exc, "strerror", None) or str(exc)[:200]
            raise CheckpointError(
                f"Could not write checkpoint {step} in {str(self.checkpoints)!r}"
                f" ({why}); the last good checkpoint "
                f"{'is ' + last.name if last else 'does not exist yet'} and is intact",
                hint="free disk space and run the same command again to resume",
            ) from None
        finally:
            with contextlib.suppress(OSError):
                if self.staging.exists():
                    shutil.rmtree(self.staging)
        for _step, old in self.committed()[:-keep] if keep > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
        return target


def _diff(old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        return ", ".join(f"{k}: {old.get(k)!r} → {new.get(k)!r}" for k in keys[:4])
    return f"{old!r} → {new!r}"


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for root, _dirs, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def backend_for_run(path: str | Path, backend: str | None) -> tuple[str, str]:
    """(backend name, model path) that serve the trained RUN folder ``path``: its GGUF on
    ``llamacpp`` when exported (and ``backend`` is None or ``llamacpp``), else its merged
    folder (or its adapter, which transformers loads onto the base through PEFT) on
    ``transformers``. Cheap: reads no weights."""
    from consona.errors import ModelError

    run = RunDir(path)
    ggufs = run.gguf_files()
    preferred = [g for g in ggufs if g.name == "model-q8_0.gguf"] + ggufs
    if backend in (None, "llamacpp") and preferred:
        return "llamacpp", str(preferred[0])
    if backend == "llamacpp":
        raise ModelError(
            f"The run {str(run.root)!r} has no GGUF for llama.cpp",
            hint=f"export one: consona train export {run.root} --gguf q8_0, or use "
            "--backend transformers",
        )
    if backend not in (None, "transformers"):
        raise ModelError(
            f"A training run cannot be served by the {backend!r} backend",
            hint="use --backend llamacpp (after 'consona train export --gguf') or transformers",
        )
    for folder in (run.merged, run.adapter):
        if (folder / "config.json").is_file() or (folder / "adapter_config.json").is_file():
            return "transformers", str(folder)
    raise ModelError(
        f"The run {str(run.root)!r} has no trained model yet",
        hint=f"train it (consona train sft DATA -o {run.root}) or wait for it to finish",
    )
