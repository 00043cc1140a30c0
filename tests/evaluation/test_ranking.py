import pytest

from consona.errors import ConfigError, FormatError, UnknownNameError
from consona.evaluation.ranking import (
    LexicalScorer,
    NLIRerankScorer,
    RankingItem,
    build_dnli_ranking,
    make_scorers,
    rank_items,
    read_ranking_set,
    write_ranking_set,
)
from consona.testing import FakeNLI

# Three tiny ConvAI2 DNLI-style dialogues: utterance 1, 3, ... are the partner's, 2, 4, ... yours.
TRIPLES = """\
partner's persona: i am 30 years old.\t['i', 'has_age', '30']
your persona: i love pizza.\t['i', 'like_food', 'pizza']
your persona: i was raised by my aunt.\t['i', 'other', '<blank>']
1\thi , how old are you ?
2\ti am good . i love pizza so much .\t['i', 'like_food', 'pizza']
3\ti am 30 years old , you ?\t['i', 'has_age', '30']
4\tnice .
partner's persona: i have a cat.\t['i', 'have_pet', 'cat']
your persona: i am 45 years old.\t['i', 'has_age', '45']
1\thello !
2\ti am 45 years old .\t['i', 'has_age', '45']
3\ti do not like pizza at all .\t['i', 'dislike', 'pizza']
4\tpizza is my favorite food .\t['i', 'like_food', 'pizza']
partner's persona: i drive a truck.\t['i', 'have_vehicle', 'truck']
your persona: i am 30 years old.\t['i', 'has_age', '30']
1\tmy truck is red .\t['i', 'have_vehicle', 'truck']
2\tthirty years old here .\t['i', 'has_age', '30']
"""


@pytest.fixture
def triples_dir(tmp_path):
    d = tmp_path / "convai2-dnli-triples"
    d.mkdir()
    (d / "valid_both_original_dialogueNLI.txt").write_text(TRIPLES)
    return tmp_path


def test_build_dnli_ranking_kinds(triples_dir):
    items = build_dnli_ranking(triples_dir, seed=1)
    by_id = {i.id: i for i in items}
    # dialogue 0, turn index 2 (partner, "i am 30 years old") has a gold + contradicting ages
    item = by_id["d0:t2:has_age"]
    assert item.candidates[item.gold_index] == "i am 30 years old , you ?"
    kinds = dict(zip(item.candidates, item.kinds, strict=True))
    assert kinds["i am 45 years old ."] == "contradict"
    assert kinds["thirty years old here ."] == "entail"  # same triple, other dialogue
    assert item.persona == ["i am 30 years old."]
    assert item.history == ["hi , how old are you ?", "i am good . i love pizza so much ."]
    # like_food pizza is contradicted by a dislike of pizza (relation swap)
    pizza = by_id["d0:t1:like_food"]
    pk = dict(zip(pizza.candidates, pizza.kinds, strict=True))
    assert pk["i do not like pizza at all ."] == "contradict"
    assert pk["pizza is my favorite food ."] == "entail"
    assert "i was raised by my aunt." in pizza.persona
    # an utterance whose triple is in no persona of its speaker is not a gold
    assert not any(i.meta["triple"][1] == "have_vehicle" for i in items)


def test_build_is_deterministic_and_limited(triples_dir):
    a = build_dnli_ranking(triples_dir, seed=3)
    b = build_dnli_ranking(triples_dir, seed=3)
    assert [(i.id, i.candidates) for i in a] == [(i.id, i.candidates) for i in b]
    assert len(build_dnli_ranking(triples_dir, limit=1)) == 1


def test_bad_triples_file_names_line(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("your persona: i am tall.\t['i', 'physical_attribute', 'tall']\n1\thi\t[oops\n")
    with pytest.raises(FormatError, match="line 2"):
        build_dnli_ranking(p)
    with pytest.raises(ConfigError, match="--data-dir"):
        build_dnli_ranking(tmp_path / "missing")


def test_ranking_set_roundtrip_and_bad_lines(tmp_path, triples_dir):
    items = build_dnli_ranking(triples_dir)
    p = tmp_path / "set.jsonl"
    assert write_ranking_set(items, p) == len(items)
    assert [i.candidates for i in read_ranking_set(p)] == [i.candidates for i in items]
    p.write_text(
        '{"id": "x", "persona": [], "history": [], "candidates": ["a"], "kinds": ["entail"]}\n'
    )
    with pytest.raises(FormatError, match="line 1"):
        read_ranking_set(p)


def test_nli_rerank_pushes_contradictions_down():
    item = RankingItem(
        id="x",
        persona=["I have two dogs."],
        history=["do you have dogs ?"],
        candidates=["i do not have dogs", "yes i have two dogs", "i like jazz"],
        kinds=["contradict", "gold", "neutral"],
    )
    # the lexical scorer alone prefers the contradiction (more overlap with the question)
    base = LexicalScorer().score(item.persona, item.history, item.candidates)
    assert base[0] > base[1]
    res = rank_items(
        [item], {"base": LexicalScorer(), "rerank": NLIRerankScorer(LexicalScorer(), nli=FakeNLI())}
    )
    assert res["base"]["contradict@1"] == 1.0
    assert res["rerank"]["contradict@1"] == 0.0
    assert res["rerank"]["hits@1"] == 1.0
    agent = rank_items([item], make_scorers("agent", nli=FakeNLI()))
    assert agent["rerank"]["contradict@1"] == 0.0


def test_make_scorers_unknown_name_lists_valid():
    with pytest.raises(UnknownNameError, match="agent"):
        make_scorers("bogus", nli=None)
    assert set(make_scorers("lexical", nli=None)) == {"base"}


def test_ranking_item_validates():
    with pytest.raises(ConfigError, match="exactly one"):
        RankingItem(id="x", persona=[], history=[], candidates=["a", "b"], kinds=["gold", "gold"])
    with pytest.raises(ConfigError, match="empty"):
        rank_items([], {"base": LexicalScorer()})
