"""consona — build, serve and measure persona-consistent dialogue agents.

The names a user imports live here (loaded on first use):

>>> from consona import Persona, Fact, PersonaAgent, FakeBackend, FakeNLI, check_consistency
>>> persona = Persona(name="Ada", facts=[Fact(text="I have two dogs.")])
>>> check_consistency(persona.facts, "I do not have dogs.", nli=FakeNLI()).contradiction
True
>>> PersonaAgent(persona, backend=FakeBackend(["Two dogs, yes!"]), nli=FakeNLI()).reply([], user="Dogs?").text
'Two dogs, yes!'

"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "ConsonaError": "consona.errors",
    "Dialogue": "consona.types",
    "Example": "consona.types",
    "Fact": "consona.types",
    "Persona": "consona.types",
    "Turn": "consona.types",
    "Triple": "consona.types",
    "PersonaAgent": "consona.agent",
    "check_consistency": "consona.nli.consistency",
    "load_nli_model": "consona.nli.consistency",
    "read_dialogues": "consona.formats",
    "read_persona": "consona.formats",
    "write_dialogues": "consona.formats",
    "FakeBackend": "consona.testing",
    "FakeNLI": "consona.testing",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:  # lazy, so light tools don't import pydantic
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'consona' has no attribute {name!r}")
