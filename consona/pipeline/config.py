"""What a build does: the settings that shape its rows (and so its fingerprint).

>>> cfg = BuildConfig(extractor="fake", nli="fake", shard_size=100, seed=1)
>>> cfg.to_dict()["augment"]["distractors"]
2
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from consona.augmentation.config import AugmentConfig
from consona.errors import ConfigError
from consona.registry import Registry

__all__ = ["EXECUTORS", "ON_ERROR", "PERSONA_SCOPES", "BuildConfig"]

# executor names → factories (strings: loaded on use, so config imports no executor)
EXECUTORS: Registry[Any] = Registry("executor")
EXECUTORS.register("local", "consona.pipeline.executors:LocalExecutor.from_config")
EXECUTORS.register("ray", "consona.pipeline.executors:RayExecutor.from_config")
PERSONA_SCOPES = ("dialogue", "past", "response")
ON_ERROR = ("skip", "fail")


def default_workers() -> int:
    """One worker per two cores: each worker's models already use two threads, and on a
    2-core machine one worker was 13 % faster than two (bench/build_scaling.py)."""
    return max(1, (os.cpu_count() or 2) // 2)


@dataclass(frozen=True)
class BuildConfig:
    """Settings of ``consona build``. Everything here except ``executor``, ``workers`` and
    ``on_error`` goes into the run fingerprint, because it changes the rows.

    - ``extractor`` / ``nli``: names (``fast``/``llm``/``fake``; ``consona``/``fake``).
    - ``context_turns``: how many earlier turns an example keeps as context;
      ``min_context``: examples need at least this many (1 skips each opening turn).
    - ``persona_scope``: an example's persona is the speaker's facts from the whole
      dialogue (``dialogue``), from turns up to the response (``past``), or only from the
      response itself (``response``: PPDS's raw data, every fact used by its response).
    - ``verify``: NLI-verify extracted facts against their source turns.
    - ``paraphrase_backend``: a backend name for LLM paraphrase (with
      ``augment.paraphrase_prob`` > 0).

    >>> BuildConfig(shard_size=0)
    Traceback (most recent call last):
    ...
    consona.errors.ConfigError: shard_size must be >= 1, got 0 — pass --shard-size N with N >= 1
    """

    extractor: str = "fast"
    nli: str = "consona"
    seed: int = 0
    shard_size: int = 1000
    limit: int | None = None
    context_turns: int = 8
    min_context: int = 1
    persona_scope: str = "dialogue"
    verify: bool = True
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    paraphrase_backend: str | None = None
    executor: str = "local"
    workers: int = field(default_factory=lambda: default_workers())
    on_error: str = "skip"

    def __post_init__(self) -> None:
        if self.shard_size < 1:
            raise ConfigError(
                f"shard_size must be >= 1, got {self.shard_size}",
                hint="pass --shard-size N with N >= 1",
            )
        if self.limit is not None and self.limit < 0:
            raise ConfigError(f"limit must be >= 0, got {self.limit}", hint="pass --limit N")
        if self.workers < 0:
            raise ConfigError(f"workers must be >= 0, got {self.workers}", hint="pass --workers N")
        if self.context_turns < 1 or self.min_context < 0:
            raise ConfigError(
                "context_turns must be >= 1 and min_context >= 0",
                hint="pass sensible context sizes",
            )
        if self.executor not in EXECUTORS:
            from consona.errors import UnknownNameError

            raise UnknownNameError("executor", self.executor, EXECUTORS.names())
        if self.persona_scope not in PERSONA_SCOPES:
            from consona.errors import UnknownNameError

            raise UnknownNameError("persona scope", self.persona_scope, PERSONA_SCOPES)
        if self.on_error not in ON_ERROR:
            raise ConfigError(
                f"on_error must be one of {', '.join(ON_ERROR)}, got {self.on_error!r}",
                hint="pass --on-error skip or --on-error fail",
            )
        if self.augment.paraphrase_prob and not self.paraphrase_backend:
            raise ConfigError(
                "paraphrase_prob > 0 needs a backend",
                hint="pass --paraphrase-backend NAME (e.g. llamacpp, openai) or set the "
                "paraphrase probability to 0",
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def rows_config(self) -> dict[str, Any]:
        """The part of the config that decides the rows (fingerprinted)."""
        d = self.to_dict()
        for k in ("executor", "workers", "on_error"):
            d.pop(k)
        return d
