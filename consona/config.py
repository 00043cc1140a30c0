"""Settings from ``CONSONA_*`` environment variables and an optional TOML file.

Precedence: explicit arguments > environment > config file > defaults. The config file
is ``$CONSONA_CONFIG`` or ``$CONSONA_HOME/config.toml``; its keys are the field names::

    chat_model = "/models/my.gguf"
    backend = "openai"
    [openai]
    base_url = "http://localhost:8000/v1"

>>> s = Settings.load(env={"CONSONA_HOME": "/tmp/h", "CONSONA_BACKEND": "fake"})
>>> (str(s.home), s.backend)
('/tmp/h', 'fake')
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from consona.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def default_home() -> Path:
    return Path(os.path.expanduser("~/.cache/consona"))


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=default_home)
    chat_model: str | None = None  # GGUF path, HF id/dir or model name for the backend
    embedder: str | None = None  # sentence-transformers dir or id
    nli_model: str = "consona"
    backend: str = "llamacpp"
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    log_level: str = "WARNING"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cache_dir(self) -> Path:
        return self.home

    @classmethod
    def load(
        cls,
        *,
        env: Mapping[str, str] | None = None,
        config_file: str | Path | None = None,
        **overrides: Any,
    ) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        home = Path(env["CONSONA_HOME"]).expanduser() if env.get("CONSONA_HOME") else default_home()
        path = config_file or env.get("CONSONA_CONFIG")
        file_path = Path(path).expanduser() if path else home / "config.toml"
        if file_path.is_file():
            values.update(_read_toml(file_path))
        elif path:
            raise ConfigError(
                f"Config file {str(file_path)!r} does not exist",
                hint="fix CONSONA_CONFIG or create the file",
            )
        names = {f.name for f in fields(cls)} - {"extra"}
        for name in names:
            key = f"CONSONA_{name.upper()}"
            if env.get(key):
                values[name] = env[key]
        if "OPENAI_API_KEY" in env and "openai_api_key" not in values:
            values["openai_api_key"] = env["OPENAI_API_KEY"]
        values.update({k: v for k, v in overrides.items() if v is not None})
        extra = {k: values.pop(k) for k in list(values) if k not in names}
        if "home" in values:
            values["home"] = Path(str(values["home"])).expanduser()
        else:
            values["home"] = home
        return cls(**values, extra=extra)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key == "openai":
            for k, v in value.items():
                flat[f"openai_{k}"] = v
        else:
            flat[key] = value
    return flat


def get_settings() -> Settings:
    """Settings from the current environment (re-read on every call; cheap)."""
    return Settings.load()
