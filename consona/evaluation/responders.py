"""Responders for the harness: the persona agent from a config file, and simple ones.

An agent config is TOML or JSON::

    backend = "llamacpp"      # llamacpp | openai | transformers | fake
    model = "/models/x.gguf"  # optional: the backend's default otherwise
    candidates = 4            # N: 1 turns re-ranking off
    nli = "consona"           # NLI model for re-ranking; "none" for no guard
    temperature = 0.8
    max_tokens = 64
    seed = 0
    coherence = "auto"        # auto | embedding | lexical
    repair_attempts = 1
    [backend_options]         # passed to the backend, e.g. replies = [...] for "fake"

>>> from consona.testing import FakeBackend
>>> from consona.types import Persona, Turn
>>> cfg = AgentConfig(backend="fake", nli="none", candidates=1, coherence="lexical")
>>> r = AgentResponder(cfg,
...                    backend=FakeBackend(["hi there!"]))
>>> r.reply(Persona(facts=["I like tea."]), [Turn(speaker="user", text="hello")]).text
'hi there!'
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from consona.errors import ConfigError
from consona.types import Persona, Turn

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["AgentConfig", "AgentResponder", "load_agent_config"]


@dataclass
class AgentConfig:
    """What ``consona eval dialogue --agent CONFIG`` runs (see the module docstring)."""

    backend: str = "llamacpp"
    model: str | None = None
    candidates: int = 4
    nli: str | None = "consona"
    threshold: float | None = None
    temperature: float = 0.8
    max_tokens: int = 64
    seed: int | None = 0
    coherence: str = "auto"
    repair_attempts: int = 1
    backend_options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_agent_config(path: str | Path, **overrides: Any) -> AgentConfig:
    """Read an agent config (TOML, or JSON for ``.json``); ``overrides`` that are not
    ``None`` win (e.g. ``candidates=1`` from ``--candidates``). Unknown keys are errors
    that list the valid ones."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"No agent config at {str(p)!r}", hint="pass --agent FILE.toml")
    text = p.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot parse agent config {str(p)!r}: {exc}",
                          hint="fix the TOML/JSON syntax") from None  # fmt: skip
    if not isinstance(data, dict):
        raise ConfigError(f"Agent config {str(p)!r} must be a table/object")
    valid = {f.name for f in fields(AgentConfig)}
    unknown = sorted(set(data) - valid)
    if unknown:
        raise ConfigError(
            f"Unknown key(s) in agent config {str(p)!r}: {', '.join(unknown)}",
            hint="valid keys: " + ", ".join(sorted(valid)),
        )
    data.update({k: v for k, v in overrides.items() if v is not None})
    cfg = AgentConfig(**data)
    if not isinstance(cfg.candidates, int) or cfg.candidates < 1:
        raise ConfigError(f"candidates must be an integer ≥ 1, got {cfg.candidates!r}",
                          hint="set candidates = 1 .. 16")  # fmt: skip
    if not isinstance(cfg.backend_options, dict):
        raise ConfigError("backend_options must be a table", hint="[backend_options] in TOML")
    return cfg


class AgentResponder:
    """Replies with a fresh ``PersonaAgent`` per example (same seed each time, so a resumed
    run gives the replies an uninterrupted one would). The backend, NLI model and
    coherence scorer are loaded once. ``context`` comes from the harness with the evaluated
    speaker's turns as "assistant" and every other speaker's as "user".
    """

    def __init__(self, config: AgentConfig, *, backend: Any = None, nli: Any = None) -> None:
        from consona.agent.rerank import make_coherence

        self.config = config
        if backend is None:
            from consona.backends.base import load_backend

            backend = load_backend(config.backend, model=config.model, **config.backend_options)
        self.backend = backend
        if nli is None and config.nli is not None:
            from consona.nli.models import load_optional_nli

            nli = load_optional_nli(config.nli)
        self.nli = nli
        self.coherence = make_coherence(config.coherence)

    def reply(self, persona: Persona, context: Sequence[Turn]) -> Any:
        from consona.agent import PersonaAgent

        agent = PersonaAgent(
            persona,
            backend=self.backend, nli=self.nli, candidates=self.config.candidates,
            temperature=self.config.temperature, max_tokens=self.config.max_tokens,
            coherence=self.coherence, repair_attempts=self.config.repair_attempts,
            threshold=self.config.threshold, seed=self.config.seed,
        )  # fmt: skip
        return agent.reply(list(context))
