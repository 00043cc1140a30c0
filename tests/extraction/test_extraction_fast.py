"""The fast extractor's trained part and pipeline, with a stub encoder (no MiniLM); the
shipped model is exercised by the slow test."""

from __future__ import annotations

import numpy as np
import pytest

from consona.errors import FormatError, ModelError
from consona.extraction.fast import (
    FastExtractor,
    FastModel,
    default_model_path,
    guess_object,
)
from consona.types import Turn


def test_fast_pipeline_with_stub_encoder(fast_model, stub_encoder):
    ex = FastExtractor(fast_model, encoder=stub_encoder)
    facts = ex.extract(Turn(speaker="a", text="oh wow. i have a dog lol. do you have pets?"))
    assert [f.text for f in facts] == ["I have a dog."]
    assert facts[0].relation == "have_pet" and facts[0].object == "dog"
    assert 0.5 < facts[0].confidence <= 1.0
    batch = ex.extract_batch(
        [Turn(speaker="a", text=t) for t in ["lol ok", "", "😀", "cool, you?"]]
    )
    assert batch == [[], [], [], []]


def test_fast_states_possession_first(fast_model, stub_encoder):
    ex = FastExtractor(fast_model, encoder=stub_encoder)
    facts = ex.extract(Turn(speaker="a", text="yes! my son is in junior high"))
    assert [f.text for f in facts] == ["I have a son.", "My son is in junior high."]
    # a passing activity gives way to what lasts
    facts = ex.extract(Turn(speaker="a", text="I'm good. Just relaxing with my two dogs."))
    assert [f.text for f in facts] == ["I have two dogs."]


def test_fast_extractor_reads_answers_to_questions_put_to_the_speaker(fast_model, stub_encoder):
    ex = FastExtractor(fast_model, encoder=stub_encoder)
    asked = Turn(speaker="b", text="nice! ever been to spain?")
    turn = Turn(speaker="a", text="yes, last year.")
    alone = [f.text for f in ex.extract(turn)]  # without the question: no answer to read
    got = [f.text for f in ex.extract(turn, context=[asked])]
    assert "I have been to spain." not in alone
    assert got == [*alone, "I have been to spain."]
    ex.answers = False
    assert [f.text for f in ex.extract(turn, context=[asked])] == alone


def test_model_roundtrip_and_errors(tmp_path, fast_model):
    m = fast_model
    path = tmp_path / "m.npz"
    m.save(path)
    back = FastModel.load(path)
    assert back.relations == m.relations and back.threshold == m.threshold
    assert back.utt_threshold == m.utt_threshold
    feats = np.random.default_rng(0).normal(size=(3, m.w1.shape[0])).astype(np.float32)
    assert np.allclose(back.clause_probs(feats), m.clause_probs(feats), atol=1e-2)
    with pytest.raises(ModelError, match="extract train"):
        FastModel.load(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(FormatError, match=r"bad\.npz"):
        FastModel.load(tmp_path / "bad.npz")


def test_guess_object():
    assert guess_object("I have a dog.") == "dog"
    assert guess_object("I work as a nurse.") == "nurse"
    assert guess_object("I love to play the guitar.") == "guitar"


def test_shipped_model_is_small():
    path = default_model_path()
    if not path.is_file():
        pytest.skip("the fast extractor model is not shipped yet")
    assert path.stat().st_size < 10_000_000
    m = FastModel.load(path)
    assert m.relations and 0.0 < m.threshold < 1.0


@pytest.mark.slow
def test_shipped_fast_extractor_on_real_encoder():
    pytest.importorskip("torch")
    from consona.extraction.fast import load_fast

    try:
        ex = load_fast()
    except (ModelError, FormatError) as exc:
        pytest.skip(f"fast extractor not available: {exc}")
    turns = [
        Turn(speaker="a", text=t)
        for t in [
            "lol ok",
            "do you have any pets?",
            "i've been a nurse for ten years lol",
            "😀😀",
            "Hola, ¿cómo estás?",
            "x" * 20000,
        ]
    ]
    facts = ex.extract_batch(turns)
    assert facts[0] == [] and facts[1] == [] and facts[3] == []
    assert any("nurse" in f.text for f in facts[2])
    assert facts[4] == []
