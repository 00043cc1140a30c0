"""consona — build, serve and measure persona-consistent dialogue agents.

>>> from consona import Persona, Fact
>>> Persona(name="Ada", facts=[Fact(text="I have two dogs.")]).fact_texts()
['I have two dogs.']
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
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:  # lazy, so light tools don't import pydantic
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'consona' has no attribute {name!r}")
