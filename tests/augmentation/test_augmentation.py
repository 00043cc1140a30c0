"""Persona augmentation: distractors (NLI-checked), drop, shuffle, paraphrase cache."""

from __future__ import annotations

import random

import pytest

from consona.augmentation import (
    AugmentConfig,
    DistractorPool,
    LLMParaphraser,
    augment_examples,
    has_unused_fact,
)
from consona.errors import ConfigError
from consona.testing import FakeBackend, FakeNLI
from consona.types import Example, Persona, Turn

POOL = [
    ("d2", "I like jazz music."),
    ("d3", "I am a nurse."),
    ("d4", "I have no dogs."),  # contradicts the d1 persona → must never be added there
    ("d5", "I play the guitar."),
    ("d6", "I live in Ohio."),
    ("d1", "I drive a red truck."),  # same dialogue → never a distractor for d1
]


def _example(i: int = 0, response: str = "I have two dogs.") -> Example:
    return Example(
        id=f"d1:{i}",
        speaker="b",
        persona=Persona(facts=["I have two dogs.", "I like tea."]),
        context=[Turn(speaker="a", text="any pets?")],
        response=response,
        used_facts=[0],
        source={"dialogue_id": "d1"},
    )


def test_distractors_are_neutral_from_other_dialogues_and_recorded():
    cfg = AugmentConfig(distractors=3, drop_prob=0, empty_prob=0, shuffle=False)
    exs = [_example(i) for i in range(20)]
    out, stats = augment_examples(exs, pool=DistractorPool(POOL), nli=FakeNLI(), seed=1, config=cfg)
    nli = FakeNLI()
    for ex in out:
        texts = ex.persona.fact_texts()
        added = [texts[i] for i in ex.distractor_facts]
        assert added == ex.meta["augmentation"]["distractors"]
        assert len(added) == 3
        assert "I drive a red truck." not in texts and "I have no dogs." not in texts
        for t in added:
            assert nli.label(ex.response, t) == "neutral"
        # used facts still point at the facts the response uses
        assert [texts[i] for i in ex.used_facts] == ["I have two dogs."]
    assert stats["distractors_added"] == 60
    assert stats["distractors_rejected_nli"] > 0  # "I have no dogs." was drawn and refused


def test_unused_share_rises_and_counts_match():
    exs = [_example(i, response="I have two dogs and I like tea.") for i in range(10)]
    exs = [e.model_copy(update={"used_facts": [0, 1]}) for e in exs]
    assert not any(has_unused_fact(e) for e in exs)
    cfg = AugmentConfig(distractors=1, drop_prob=0, empty_prob=0)
    out, stats = augment_examples(exs, pool=DistractorPool(POOL), nli=FakeNLI(), seed=0, config=cfg)
    assert stats["with_unused_before"] == 0
    assert stats["with_unused_after"] == sum(has_unused_fact(e) for e in out) == 10


def test_drop_keeps_used_facts_and_empty_persona():
    exs = [_example(i) for i in range(40)]
    cfg = AugmentConfig(distractors=2, drop_prob=0.9, empty_prob=0.3, shuffle=True)
    out, stats = augment_examples(exs, pool=DistractorPool(POOL), nli=FakeNLI(), seed=3, config=cfg)
    emptied = [e for e in out if e.meta["augmentation"]["emptied"]]
    assert 0 < len(emptied) < 40 and stats["personas_emptied"] == len(emptied)
    for e in emptied:
        assert e.persona.facts == [] and e.used_facts == [] and e.distractor_facts == []
    for e in out:
        if not e.meta["augmentation"]["emptied"]:
            # the used fact is never dropped (drop_used=False); dropped ones are recorded
            assert "I have two dogs." in e.persona.fact_texts()
            assert e.persona.fact_texts()[e.used_facts[0]] == "I have two dogs."
    assert stats["facts_dropped"] == sum(len(e.meta["augmentation"]["dropped"]) for e in out)
    assert stats["empty_after"] == len(emptied)


def test_same_seed_same_result_different_seed_differs():
    exs = [_example(i) for i in range(15)]
    cfg = AugmentConfig(distractors=2, drop_prob=0.3, empty_prob=0.1)
    a, _ = augment_examples(exs, pool=DistractorPool(POOL), nli=FakeNLI(), seed=7, config=cfg)
    # batch composition must not matter: one by one gives the same examples
    b = [augment_examples([e], pool=DistractorPool(POOL), nli=FakeNLI(), seed=7, config=cfg)[0][0]
         for e in exs]  # fmt: skip
    c, _ = augment_examples(exs, pool=DistractorPool(POOL), nli=FakeNLI(), seed=8, config=cfg)
    assert [e.to_dict() for e in a] == [e.to_dict() for e in b]
    assert [e.to_dict() for e in a] != [e.to_dict() for e in c]


def test_pool_excludes_group_and_known_texts():
    pool = DistractorPool(POOL)
    got = pool.sample(random.Random(0), exclude_group="d1", n=10, exclude_texts=["I am a nurse."])
    assert "I drive a red truck." not in got and "I am a nurse." not in got
    assert len(got) == len(set(got)) == 4


def test_paraphrase_is_cached_and_recorded(tmp_path):
    backend = FakeBackend(lambda msgs: "Paraphrased: " + msgs[-1]["content"])
    para = LLMParaphraser(backend, cache_dir=tmp_path, model_id="fake")
    cfg = AugmentConfig(
        distractors=0, drop_prob=0, empty_prob=0, shuffle=False, paraphrase_prob=1.0
    )
    exs = [_example(i) for i in range(3)]
    out, stats = augment_examples(
        exs, pool=DistractorPool([]), nli=FakeNLI(), seed=0, config=cfg, paraphraser=para
    )
    assert out[0].persona.fact_texts() == [
        "Paraphrased: I have two dogs.",
        "Paraphrased: I like tea.",
    ]
    assert stats["paraphrased"] == 6
    assert out[0].meta["augmentation"]["paraphrased"][0]["original"] == "I have two dogs."
    assert len(backend.calls) == 2  # two distinct facts; the rest from the cache
    fresh = LLMParaphraser(FakeBackend(["never used"]), cache_dir=tmp_path, model_id="fake")
    assert fresh.paraphrase(["I like tea."]) == ["Paraphrased: I like tea."]
    assert fresh.hits == 1 and fresh.misses == 0


def test_paraphrase_bad_reply_keeps_original(tmp_path):
    para = LLMParaphraser(FakeBackend(["line one\nline two"]), cache_dir=tmp_path)
    assert para.paraphrase(["I like tea."]) == ["I like tea."]


def test_config_validation_says_how_to_fix():
    with pytest.raises(ConfigError, match="--distractors"):
        AugmentConfig(distractors=-1)
    with pytest.raises(ConfigError, match="drop_prob"):
        AugmentConfig(drop_prob=1.5)
