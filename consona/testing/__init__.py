"""Fakes for every consona protocol, for tests and offline demos.

Inject them through the public seams, e.g. ``PersonaAgent(backend=FakeBackend([...]),
nli=FakeNLI())``.
"""

from consona.testing.backends import FakeBackend
from consona.testing.extraction import FakeEncoder, FakeExtractor
from consona.testing.nli import FakeEmbedder, FakeNLI, FixedNLI, ScriptedNLI, fake_judge

__all__ = [
    "FakeBackend",
    "FakeEmbedder",
    "FakeEncoder",
    "FakeExtractor",
    "FakeNLI",
    "FixedNLI",
    "ScriptedNLI",
    "fake_judge",
]
