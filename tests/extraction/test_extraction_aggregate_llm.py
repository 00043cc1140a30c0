"""Per-dialogue aggregation and the LLM extractor (with fakes)."""

from __future__ import annotations

import json

from consona.errors import BackendError
from consona.extraction import load_extractor
from consona.extraction.aggregate import extract_dialogue, merge_facts
from consona.extraction.llm import FACTS_SCHEMA, LLMExtractor, parse_facts
from consona.testing import FakeBackend, FakeExtractor, FakeNLI
from consona.types import Dialogue, Fact, Persona, Turn


def _dialogue() -> Dialogue:
    return Dialogue(
        id="d1",
        turns=[
            Turn(speaker="ann", text="hi! i have two dogs"),
            Turn(speaker="bob", text="lol ok. do you walk them?"),
            Turn(speaker="ann", text="yes. i have two dogs lol"),
            Turn(speaker="bob", text="i work as a nurse"),
            Turn(speaker="ann", text="i do not have dogs"),
        ],
        personas={"ann": Persona(name="Ann", facts=["I like tea."], tags=["x"])},
    )


def test_extract_dialogue_merges_flags_and_keeps_sources():
    out = extract_dialogue(_dialogue(), FakeExtractor(), nli=FakeNLI())
    ann = out.personas["ann"]
    assert ann.name == "Ann" and ann.tags == ["x"]  # card fields kept
    texts = [f.text for f in ann.facts]
    assert texts == ["I like tea.", "I have two dogs.", "I do not have dogs."]
    assert [f.source_turn for f in ann.facts] == [None, 0, 4]
    assert all(f.speaker == "ann" for f in ann.facts[1:])
    flags = ann.extensions["consona"]["contradictions"]
    assert len(flags) == 1 and flags[0]["turns"] == [0, 4]
    bob = out.personas["bob"]
    assert [(f.text, f.source_turn) for f in bob.facts] == [("I work as a nurse.", 3)]
    assert bob.extensions["consona"]["contradictions"] == []
    # the input dialogue is unchanged
    assert _dialogue().personas["ann"].fact_texts() == ["I like tea."]


def test_extract_dialogue_without_verification_and_empty():
    out = extract_dialogue(Dialogue(id="e"), FakeExtractor(), verify=False)
    assert out.personas == {}
    out = extract_dialogue(_dialogue(), FakeExtractor(), verify=False)
    assert len(out.personas["bob"].facts) == 1


def test_extract_dialogue_uses_verified_extractor_nli():
    nli = FakeNLI(verdicts={("i work as a nurse", "I work as a nurse."): "neutral"})
    ex = load_extractor("fake", nli=nli)
    out = extract_dialogue(_dialogue(), ex)
    assert out.personas["bob"].facts == []
    assert nli.calls > 0


def test_merge_facts_by_nli_both_ways():
    facts = [Fact(text="I own a dog.", confidence=0.5), Fact(text="I have a dog.", confidence=0.9)]
    nli = FakeNLI(
        verdicts={
            ("I own a dog.", "I have a dog."): "entailment",
            ("I have a dog.", "I own a dog."): "entailment",
        }
    )
    merged = merge_facts(facts, nli=nli)
    assert [(f.text, f.confidence) for f in merged] == [("I own a dog.", 0.9)]
    assert len(merge_facts(facts)) == 2  # without NLI only near-identical wording merges


def test_llm_extractor_parses_and_grounds():
    reply = json.dumps(
        {
            "facts": [
                {"text": "I am a nurse.", "relation": "has_profession", "object": "nurse"},
                {"text": "I live on the moon."},  # not in the utterance: dropped
                {"text": "Do I like cats?"},
            ]
        }
    )
    backend = FakeBackend([reply])
    ex = LLMExtractor(backend)
    facts = ex.extract(Turn(speaker="a", text="i've been a nurse for ten years lol"))
    assert [(f.text, f.relation, f.object) for f in facts] == [
        ("I am a nurse.", "has_profession", "nurse")
    ]
    assert backend.requests[-1]["json_schema"] == FACTS_SCHEMA
    prompt = backend.calls[-1][-1]["content"]
    assert "nurse for ten years" in prompt


def test_llm_extractor_small_talk_and_questions_skip_the_model():
    backend = FakeBackend(['{"facts": [{"text": "I am ok."}]}'])
    ex = LLMExtractor(backend)
    assert ex.extract(Turn(speaker="a", text="lol ok")) == []
    assert ex.extract(Turn(speaker="a", text="do you have pets?")) == []
    assert backend.calls == []


def test_llm_extractor_survives_malformed_output_and_backend_errors():
    ex = LLMExtractor(
        FakeBackend(['Sure! ```json\n{"facts": [{"text": "I have a cat."}]}\n```']),
        use_schema=False,
    )
    assert [f.text for f in ex.extract(Turn(speaker="a", text="i have a cat"))] == ["I have a cat."]
    ex = LLMExtractor(FakeBackend(["{not json"]), use_schema=False)
    assert ex.extract(Turn(speaker="a", text="i have a cat")) == []
    ex = LLMExtractor(FakeBackend(["x"], fail=BackendError("down")))
    assert ex.extract(Turn(speaker="a", text="i have a cat")) == [] and ex.failures == 1


def test_parse_facts_variants():
    assert parse_facts('["I have a cat."]') == [
        {"text": "I have a cat.", "relation": None, "object": None}
    ]
    assert parse_facts('{"facts": [{"text": 3}, {"text": ""}, 5]}') == []
    assert parse_facts("") == []


def test_llm_registry_with_backend_object():
    ex = load_extractor("llm", backend=FakeBackend(['{"facts": []}']))
    assert ex.extract_batch([Turn(speaker="a", text="i have a cat")]) == [[]]
