"""PersonaAgent on the real default chat model (slow; skipped when it is not set up)."""

from __future__ import annotations

import pytest

from consona.agent import PersonaAgent, default_persona
from consona.testing import FakeNLI


@pytest.mark.slow
def test_agent_on_default_model_reuses_prompt_across_candidates(llama):
    agent = PersonaAgent(
        default_persona(),
        backend=llama,
        nli=FakeNLI(),
        candidates=3,
        seed=0,
        max_tokens=32,
        coherence="lexical",
    )
    r = agent.reply([], user="What do you do for a living?")
    assert r.text.strip() and len(r.candidates) >= 3
    assert all(c.verdicts for c in r.candidates)
    # 3 candidates, but the long persona prompt is evaluated about once
    assert r.usage["prompt_eval_tokens"] < 1.5 * r.usage["prompt_tokens"]
    s = agent.stream_reply([], user="Where did you grow up?")
    assert "".join(s).strip() == s.reply.text
