"""Consistency verdicts, C-score, thresholds, pre-filter and the cached model loader."""

from __future__ import annotations

import numpy as np
import pytest

from consona.errors import ConfigError, UnknownNameError
from consona.nli.consistency import (
    CachedNLI,
    check_consistency,
    check_many,
    load_nli_model,
)
from consona.testing import FakeEmbedder, FakeNLI, FixedNLI
from consona.types import Fact

FACTS = ["I have two dogs.", "I like jazz music.", "I live in Paris."]


def test_c_score_sums_entail_minus_contradict():
    # the fake's rules: a negation on one side of a shared content word contradicts, no
    # shared content word is neutral (the dog fact; jazz and Paris)
    r = check_consistency(FACTS, "I do not have dogs.", nli=FakeNLI())
    assert [v.label for v in r.verdicts] == ["contradiction", "neutral", "neutral"]
    assert r.c_score == -1.0 and r.contradiction is True
    # +1 per entailed fact, -1 per contradicted one, 0 for the rest
    u = "x"
    verdicts = {(FACTS[0], u): "entailment", (FACTS[1], u): "entailment"}
    r = check_consistency(FACTS, u, nli=FakeNLI(verdicts=verdicts))
    assert [v.label for v in r.verdicts] == ["entailment", "entailment", "neutral"]
    assert r.c_score == 2.0 and r.contradiction is False
    verdicts[(FACTS[2], u)] = "contradiction"
    r = check_consistency(FACTS, u, nli=FakeNLI(verdicts=verdicts))
    assert r.c_score == 1.0 and r.contradiction is True


def test_entailed_and_contradicted_lists():
    nli = FakeNLI(verdicts={(FACTS[0], "x"): "entailment", (FACTS[2], "x"): "contradiction"})
    r = check_consistency(FACTS, "x", nli=nli)
    assert r.entailed == [FACTS[0]]
    assert r.contradicted == [FACTS[2]]
    assert r.c_score == 0.0
    assert r.contradiction is True
    assert set(r.verdicts[0].probs) == {"entailment", "neutral", "contradiction"}
    assert r.to_dict()["contradicted"] == [FACTS[2]]


def test_accepts_fact_objects_and_empty_facts():
    r = check_consistency([Fact(text="I have two dogs.")], "I have dogs.", nli=FakeNLI())
    assert r.entailed == ["I have two dogs."]
    empty = check_consistency([], "hello", nli=FakeNLI())
    assert empty.verdicts == [] and empty.c_score == 0.0 and not empty.contradiction


def test_threshold_explicit_model_default_and_fallback():
    row = [0.35, 0.25, 0.40]  # contradiction is argmax but only 0.40
    assert check_consistency(["f"], "u", nli=FixedNLI(row)).contradiction is False  # 0.5 default
    assert check_consistency(["f"], "u", nli=FixedNLI(row, threshold=0.3)).contradiction is True
    r = check_consistency(["f"], "u", nli=FixedNLI(row, threshold=0.3), threshold=0.45)
    assert r.contradiction is False and r.verdicts[0].label == "entailment"
    assert r.threshold == 0.45
    # the calibrated threshold survives the cache wrapper
    assert check_consistency(["f"], "u", nli=CachedNLI(FixedNLI(row, threshold=0.3))).contradiction
    with pytest.raises(ConfigError):
        check_consistency(["f"], "u", nli=FixedNLI(row), threshold=1.5)


def test_prefilter_scores_only_the_most_similar_facts():
    nli = FakeNLI()
    r = check_consistency(
        FACTS, "I do not have dogs.", nli=nli, prefilter=1, embedder=FakeEmbedder()
    )
    assert nli.pairs_seen == 1
    assert [v.scored for v in r.verdicts] == [True, False, False]
    assert r.contradicted == [FACTS[0]]
    assert r.verdicts[1].label == "neutral" and r.verdicts[1].probs == {}


def test_check_many_batches_all_candidates_in_one_call():
    nli = FakeNLI()
    results = check_many(FACTS, ["I have dogs.", "I do not like jazz music."], nli=nli)
    assert nli.calls == 1 and nli.pairs_seen == 6
    assert results[0].entailed == [FACTS[0]]
    assert results[1].contradicted == [FACTS[1]]


def test_cache_hits_and_dedup():
    inner = FakeNLI()
    nli = CachedNLI(inner, cache_size=2, batch_size=2)
    pairs = [("a b", "a b"), ("c d", "c"), ("a b", "a b"), ("e", "f")]
    first = nli.predict(pairs)
    assert inner.pairs_seen == 3 and inner.calls == 2  # 3 unique pairs, batches of 2
    assert np.allclose(first[0], first[2])
    assert nli.cache_info() == {"hits": 1, "misses": 3, "size": 2, "maxsize": 2}
    again = nli.predict([("e", "f")])  # most recent → still cached
    assert inner.pairs_seen == 3 and np.allclose(again[0], first[3])
    nli.predict([("a b", "a b")])  # evicted by the LRU bound → recomputed
    assert inner.pairs_seen == 4


def test_load_nli_model_names():
    nli = load_nli_model("fake")
    assert isinstance(nli, CachedNLI) and nli.name == "fake"
    with pytest.raises(UnknownNameError) as err:
        load_nli_model("nope")
    assert "fake" in str(err.value) and "hf:<id or dir>" in str(err.value)
    with pytest.raises(ConfigError):
        load_nli_model("hf:")


def test_default_name_comes_from_settings(monkeypatch):
    monkeypatch.setenv("CONSONA_NLI_MODEL", "fake")
    assert load_nli_model().name == "fake"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["consona", "consona-int8"])
def test_shipped_model_on_clear_pairs(name):
    from consona.nli.crossencoder import PART_FILE, shipped_dir

    pytest.importorskip("torch")
    if not (shipped_dir() / PART_FILE).is_file():
        pytest.skip("the shipped NLI part is not installed")
    try:
        nli = load_nli_model(name)
    except Exception as exc:  # base package missing
        pytest.skip(f"consona NLI model unavailable: {exc}")
    facts = ["I have two dogs.", "I am a nurse.", "My favorite color is blue."]
    r = check_consistency(facts, "I don't have any pets at all.", nli=nli)
    assert r.contradicted == ["I have two dogs."]
    r = check_consistency(facts, "I work as a nurse at the hospital.", nli=nli)
    assert "I am a nurse." in r.entailed and not r.contradiction
    r = check_consistency(facts, "My favorite color is green.", nli=nli)
    assert r.contradicted == ["My favorite color is blue."]
    assert 0.0 < nli.contradiction_threshold < 1.0
    if name == "consona":  # the judge: liking another colour leaves a favourite alone
        r = check_consistency(facts, "hey , i like the color yellow a lot !", nli=nli)
        assert not r.contradiction


def test_restating_one_of_two_clashing_persona_facts_is_no_contradiction():
    """The persona holds both "doctor" and "out of work": a reply that restates one of
    them is not flagged for clashing with the other."""
    from consona.testing import fake_judge

    facts = ["i am a doctor .", "i am now out of work .", "i like jazz ."]
    r = check_consistency(facts, "I am a doctor.", nli=fake_judge())
    assert not r.contradiction
    excused = next(v for v in r.verdicts if v.fact == facts[1])
    assert excused.label == "neutral" and "i am a doctor" in (excused.evidence or "")
    # a reply that clashes with a fact and restates none still contradicts
    lawyer = check_consistency(facts, "I am a lawyer.", nli=fake_judge())
    assert facts[0] in lawyer.contradicted
    assert all(v.evidence is None for v in lawyer.verdicts)
