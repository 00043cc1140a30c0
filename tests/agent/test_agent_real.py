"""PersonaAgent on the real default chat model (slow; skipped when it is not set up)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consona.agent import PersonaAgent, default_persona
from consona.config import Settings
from consona.errors import ModelError
from consona.testing import FakeNLI


@pytest.fixture(scope="module")
def llama():
    pytest.importorskip("llama_cpp")
    from consona.backends import load_backend
    from consona.models import chat_model_path

    home = Path("~/.cache/consona").expanduser()  # the real cache, not the test's
    try:
        path = chat_model_path(Settings.load(env={"CONSONA_HOME": str(home)}))
    except ModelError as exc:
        pytest.skip(f"default chat model not set up: {exc}")
    return load_backend("llamacpp", model=str(path), n_ctx=2048)


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
