"""The ``llm`` extractor's triples in the Dialogue-NLI schema (FakeBackend; one slow test on
the real default chat model)."""

from __future__ import annotations

import json

import pytest

from consona.extraction.llm import (
    FACTS_SCHEMA,
    FEW_SHOT,
    SYSTEM,
    LLMExtractor,
    normalize_relation,
)
from consona.extraction.relations import DNLI_RELATIONS
from consona.extraction.triple_eval import GoldItem, evaluate_triples, score_triples
from consona.testing import FakeBackend
from consona.types import Fact, Triple, Turn


def _reply(*facts: dict[str, str]) -> str:
    return json.dumps({"facts": list(facts)})


def test_schema_constrains_the_relation_to_the_dnli_list():
    item = FACTS_SCHEMA["properties"]["facts"]["items"]
    assert item["properties"]["relation"]["enum"] == list(DNLI_RELATIONS)
    assert {"text", "subject", "relation", "object"} <= set(item["properties"])
    assert all(r in SYSTEM for r in DNLI_RELATIONS)  # the model sees the names it may use


def test_few_shot_answers_use_the_schema():
    jsonschema = pytest.importorskip("jsonschema")
    for _, answer in FEW_SHOT:
        jsonschema.validate(answer, FACTS_SCHEMA)
        for f in answer["facts"]:
            assert set(f) == {"text", "subject", "relation", "object"}
            assert f["relation"] in DNLI_RELATIONS
    assert any(not a["facts"] for _, a in FEW_SHOT)  # "none" is shown too


def test_triples_are_read_and_normalised():
    reply = _reply(
        {"text": "My dad is a cop.", "subject": "My Father", "relation": "has_profession",
         "object": "Police Officer."},
        {"text": "I have two dogs.", "subject": "I", "relation": "have_pet", "object": "2 dog"},
    )  # fmt: skip
    backend = FakeBackend([reply])
    facts = LLMExtractor(backend).extract(
        Turn(speaker="a", text="my dad is a cop and i have two dogs")
    )
    assert [f.triple for f in facts] == [
        ("my father", "has_profession", "police officer"),
        ("i", "have_pet", "2 dog"),
    ]
    assert backend.requests[-1]["json_schema"] == FACTS_SCHEMA


def test_relations_outside_the_schema_without_a_grammar():
    # a backend that ignores the schema may answer other spellings: known ones are mapped,
    # unknown ones leave the statement without a triple
    reply = _reply(
        {"text": "I have a son.", "relation": "have_children", "object": "son"},
        {"text": "I like dogs a lot.", "relation": "adores", "object": "dogs"},
    )
    ex = LLMExtractor(FakeBackend([reply]), use_schema=False)
    facts = ex.extract(Turn(speaker="a", text="i have a son and i like dogs a lot"))
    assert [(f.text, f.triple) for f in facts] == [
        ("I have a son.", ("i", "have_chidren", "son")),
        ("I like dogs a lot.", None),
    ]
    assert normalize_relation("Like Food") == "like_food"
    assert normalize_relation(None) is None and normalize_relation("other") is None


NO_PERSONA = [
    "lol ok",  # small talk
    "what do you do for a living ?",  # a question
    "so what kind of music do you like to listen to when you drive ?",  # a long question
    "if i won the lottery i would buy a huge boat and sail away .",  # a hypothetical
    "you must be a really great cook then , your family is lucky .",  # about the partner
]


def test_utterances_without_persona_content_yield_no_triple():
    backend = FakeBackend([_reply()])  # the model answers "none"
    ex = LLMExtractor(backend)
    preds = ex.extract_batch([Turn(speaker="a", text=t) for t in NO_PERSONA])
    assert preds == [[] for _ in NO_PERSONA]
    assert len(backend.calls) == 3  # small talk and the short question never reach the model
    # and the metric counts them as true negatives: precision and recall stay perfect
    items = [GoldItem(t) for t in NO_PERSONA] + [
        GoldItem("i am 30 .", (Triple("i", "has_age", "30"),))
    ]
    ages = {"text": "I am 30.", "subject": "i", "relation": "has_age", "object": "30"}
    ex = LLMExtractor(
        FakeBackend(lambda msgs: _reply(ages) if "i am 30" in msgs[-1]["content"] else _reply())
    )
    s = evaluate_triples(ex, items, batch_size=1)
    assert (s["precision"], s["recall"], s["triple_rouge_l"]) == (1.0, 1.0, 1.0)
    assert s["n"] == 6 and s["gold_positive"] == 1
    # a model that invents a triple for them is caught as false positives
    bad = score_triples(
        items, [[Fact(text="I am 30.", relation="has_age", object="30")] for _ in items]
    )
    assert bad["precision"] == pytest.approx(1 / 6)


@pytest.mark.slow
def test_default_model_emits_dnli_triples(llama):
    # ~1-4 min on a busy 2-core machine (the grammar-constrained answer dominates)
    ex = LLMExtractor(llama)
    facts = ex.extract(Turn(speaker="a", text="we live on a farm . i have two dogs ."))
    triples = [f.triple for f in facts if f.triple]
    assert triples, facts
    assert all(t[1] in DNLI_RELATIONS and t[0] for t in triples)
    assert any(t[1] == "have_pet" and "dog" in t[2] for t in triples), triples
