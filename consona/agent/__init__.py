"""The persona agent: prompt from a persona, over-sample, NLI re-rank, repair.

>>> from consona.testing import FakeBackend, FakeNLI
>>> from consona.types import Persona
>>> agent = PersonaAgent(Persona(name="Ada", facts=["I have two dogs."]),
...                      backend=FakeBackend(["I have two dogs, yes."]), nli=FakeNLI(),
...                      candidates=2, coherence="lexical")
>>> agent.reply([], user="Any pets?").text
'I have two dogs, yes.'
"""

from consona.agent.agent import AgentReply, PersonaAgent, ReplyStream
from consona.agent.personas import default_persona, default_persona_path
from consona.agent.prompt import (
    SYSTEM_TEMPLATE,
    build_messages,
    derive_facts,
    render_system_prompt,
)
from consona.agent.rerank import (
    Candidate,
    EmbeddingCoherence,
    LexicalCoherence,
    ScoreWeights,
    score_candidates,
)
from consona.agent.terms import CharacterTerms
from consona.errors import ContextOverflowError

__all__ = [
    "SYSTEM_TEMPLATE",
    "AgentReply",
    "Candidate",
    "CharacterTerms",
    "ContextOverflowError",
    "EmbeddingCoherence",
    "LexicalCoherence",
    "PersonaAgent",
    "ReplyStream",
    "ScoreWeights",
    "build_messages",
    "default_persona",
    "default_persona_path",
    "derive_facts",
    "render_system_prompt",
    "score_candidates",
]
