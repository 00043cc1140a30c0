"""Memory on the real default models: the judge, MiniLM and the fast extractor (slow;
skipped when a model is not installed)."""

from __future__ import annotations

import pytest

from consona.errors import ConsonaError
from consona.memory import MemoryStore, PersonaMemory

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models():
    pytest.importorskip("torch")
    pytest.importorskip("sentence_transformers")
    try:
        from consona.memory.memory import default_extractor
        from consona.models.embedder import load_embedder
        from consona.nli.models import load_nli_model

        return load_nli_model(), load_embedder(), default_extractor()
    except ConsonaError as exc:
        pytest.skip(f"default models not available: {exc}")


def test_injected_updates_supersede_without_collateral(models):
    from consona.evaluation.memory import injected_updates

    nli, embedder, extractor = models
    r = injected_updates(nli=nli, embedder=embedder, extractor=extractor)
    assert r["unrelated_retired"] == 0
    assert r["original_superseded_rate"] == 1.0, r["missed"]
    assert r["superseded_rate"] >= 0.75, r["missed"]


def test_observe_keeps_speakers_apart_on_real_extractor(models):
    nli, embedder, extractor = models
    mem = PersonaMemory(
        MemoryStore("sqlite://"),
        user="ana",
        character="Mira",
        nli=nli,
        embedder=embedder,
        extractor=extractor,
    )
    mem.observe(
        "i live in lisbon and i work as a nurse. do you like fado?", "i bake bread every day."
    )
    mem.observe("you must be a great baker!", "i have a grey cat named pepper.")
    user = " ".join(f.text.lower() for f in mem.facts("user"))
    bot = " ".join(f.text.lower() for f in mem.facts("bot"))
    assert "lisbon" in user and "nurse" in user
    assert "baker" not in user and "fado" not in user  # "you …" and questions are not hers
    assert "bread" in bot and "pepper" in bot
    mem.observe("i moved to oslo last month.", "oh nice!")
    user_active = [f.text.lower() for f in mem.facts("user")]
    assert any("oslo" in t for t in user_active)
    assert not any("lisbon" in t and "nurse" not in t for t in user_active)
    assert "pepper" in mem.recall("how is your cat?").block()
