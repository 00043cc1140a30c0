"""The triple tagger of the fast extractor: labels, decoding, the PPDS score, training and
storage on a tiny BERT the tests create (no MiniLM), and its use by the fast extractor; the
shipped tagger is exercised by the slow test."""

from __future__ import annotations

import numpy as np
import pytest

from consona.errors import FormatError, ModelError
from consona.extraction.fast import FastExtractor, load_triple_model
from consona.extraction.triple_train import (
    TripleItem,
    dnli_items,
    learn_singular,
    score_triples,
    span_label,
    train_triples,
)
from consona.extraction.triples import (
    TriplePrediction,
    best_span,
    load_triple_tagger,
    normalize_object,
    object_words,
    triple_statement,
)
from consona.types import Fact, Triple, Turn

DNLI = """your persona: i have two dogs.\t['i', 'have_pet', '2 dog']
your persona: i work as a nurse.\t['i', 'has_profession', 'nurse']
partner's persona: i like hiking.\t['i', 'like_activity', 'hiking']
partner's persona: i was raised by my mom.\t['i', 'other', '<blank>']
1\tlol ok
2\tyes i have two dogs\t['i', 'have_pet', 'dog']\t['i', 'like_animal', 'dog']
3\tmy mom raised me\t['i', 'other', '<blank>']
4\ti work as a nurse\t['i', 'has_profession', 'nurse']
"""


def pred(rel: str, obj: str, subject: str = "i", detect: float = 0.9) -> TriplePrediction:
    return TriplePrediction(subject, rel, obj, confidence=detect, detect=detect)


def test_object_normalisation_and_span_labels():
    assert object_words("Two DOGS, a cat") == ["2", "dogs", "a", "cat"]
    assert normalize_object(["my", "three", "cats"], {"cats": "cat"}) == "3 cat"
    assert normalize_object(["video", "games"], {}) == "video games"
    assert normalize_object(["the"], {}) == ""
    # the shortest best-matching span; a gold object with no word in the utterance: F1 0
    assert span_label(["i", "love", "my", "two", "dogs", "a", "lot"], "2 dog", {"dogs": "dog"}) == (
        3,
        5,
        1.0,
    )
    assert span_label(["lol", "ok"], "dog", {})[2] == 0.0
    assert span_label([], "dog", {}) == (0, 0, 0.0)


def test_learn_singular_keeps_what_the_annotators_keep_plural():
    items = [
        TripleItem("i walk my dogs", [Triple("i", "have_pet", "dog")]),
        TripleItem("my dogs are cute", [Triple("i", "have_pet", "dog")]),
        TripleItem("i play video games", [Triple("i", "like_activity", "video games")]),
        TripleItem("i love games", [Triple("i", "like_activity", "games")]),
    ]
    single = learn_singular(items)
    assert single.get("dogs") == "dog"
    assert "games" not in single  # kept plural as often as made singular


def test_best_span_prefers_the_likely_span_and_respects_valid_words():
    lp = np.log(np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05]]))
    assert best_span(lp)[:2] == (1, 3)
    assert best_span(lp, max_len=1)[:2] == (1, 2)
    valid = np.array([True, False, True, True])
    a, b, _ = best_span(lp, valid=valid)
    assert 1 not in range(a, b)
    assert best_span(np.zeros((0, 3)))[2] == -np.inf


def test_ppds_score_best_gold_no_prediction_and_vague_items():
    items = [
        TripleItem(
            "yes i have two dogs",
            [Triple("i", "have_pet", "2 dog"), Triple("i", "like_animal", "dog")],
        ),
        TripleItem("i am a nurse", [Triple("i", "has_profession", "nurse")]),
        TripleItem("lol ok"),
        TripleItem("my mom raised me", vague=True),
    ]
    perfect = [pred("like_animal", "dog"), pred("has_profession", "nurse"), None, None]
    s = score_triples(items, perfect)
    assert s["triple_rouge_l"] == 1.0 and s["f1"] == 1.0 and s["exact_triple_accuracy"] == 1.0
    # a missed triple scores 0; a false alarm costs precision; a vague item counts nowhere
    s = score_triples(
        items, [pred("have_pet", "dog"), None, pred("like_food", "ok"), pred("x", "mom")]
    )
    assert s["gold_positive"] == 2.0
    assert s["recall"] == 0.5 and s["precision"] == 0.5
    assert 0.0 < s["triple_rouge_l"] < 0.5  # (0.89 + 0) / 2
    assert s["relation_accuracy"] == 0.5 and s["exact_triple_accuracy"] == 0.0


def test_dnli_items_split_vague_and_unknown_relation(tmp_path):
    path = tmp_path / "dnli.txt"
    path.write_text(DNLI)
    items = dnli_items(path)
    utts = [it for it in items if it.kind == "utterance"]
    assert [it.text for it in utts] == ["lol ok", "yes i have two dogs", "my mom raised me",
                                        "i work as a nurse"]  # fmt: skip
    assert [it.vague for it in utts] == [False, False, True, False]
    assert {it.split for it in utts} == {utts[0].split}  # one dialogue, one split
    personas = [it for it in items if it.kind == "persona"]
    assert len(personas) == 4 and personas[3].vague
    bad = tmp_path / "bad.txt"
    bad.write_text(DNLI.replace("has_profession', 'nurse']\n", "works_as', 'nurse']\n", 1))
    with pytest.raises(FormatError, match=r"unknown relation 'works_as'") as err:
        dnli_items(bad)
    assert "bad.txt" in str(err.value) and "2" in str(err.value)


def test_triple_statement_reads_as_a_sentence():
    assert triple_statement("i", "has_age", "30") == "I am 30 years old."
    assert triple_statement("i", "favorite_color", "red") == "My favorite color is red."
    assert triple_statement("i", "like_food", "pizza") == "I like pizza."
    assert triple_statement("i", "have_sibling", "3 sister") == "I have 3 sister."
    assert triple_statement("my father", "job_status", "retired").startswith("My father")


class FakeTagger:
    state_layer = 4

    def __init__(self, triples):
        self.triples = triples

    def predict(self, turns):
        return [self.triples.get(t.text) for t in turns]


class StateEncoder:
    """Clause vectors from ``inner`` plus dummy states; records the layer asked for."""

    def __init__(self, inner):
        self.inner, self.layers = inner, []

    def encode(self, texts, *, keep_states=False, state_layer=None):
        self.layers.append(state_layer)
        out = self.inner.encode(texts)
        for e, t in zip(out, texts, strict=True):
            e.text, e.states = t, np.zeros((2, 3), np.float32)
        return out


def test_fast_extractor_puts_the_tagger_triple_on_the_right_fact(fast_model, stub_encoder):
    texts = ["i have a dog and i work as a nurse", "lol ok", "i am so tired of this"]
    tagger = FakeTagger({
        texts[0]: pred("has_profession", "nurse"),
        texts[1]: pred("like_general", "ok"),  # the statements missed it: a fact of its own
    })  # fmt: skip
    enc = StateEncoder(stub_encoder)
    ex = FastExtractor(fast_model, encoder=enc, triples=tagger)
    facts = ex.extract_batch([Turn(speaker="a", text=t) for t in texts])
    assert enc.layers == [4]
    nurse = [f for f in facts[0] if f.relation is not None]
    assert len(nurse) == 1 and "nurse" in nurse[0].text.lower()
    assert nurse[0].triple == ("i", "has_profession", "nurse")
    # with a tagger, the relation head no longer guesses for the other facts
    assert all(f.relation is None for f in facts[0] if f is not nurse[0])
    assert [f.text for f in facts[1]] == ["I like ok."] and facts[1][0].relation == "like_general"
    assert all(f.relation is None for f in facts[2])


def test_fast_extractor_refuses_a_tagger_on_another_layer(fast_model, stub_encoder):
    class Editor:
        state_layer = 3

    with pytest.raises(ModelError, match="share the encoder pass"):
        FastExtractor(fast_model, encoder=stub_encoder, writer=Editor(), triples=FakeTagger({}))


def test_load_triple_tagger_errors(tmp_path):
    with pytest.raises(ModelError, match="No triple tagger"):
        load_triple_tagger(tmp_path / "nothing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "triples.safetensors").write_bytes(b"x")
    (bad / "triples.json").write_text("{not json")
    with pytest.raises(ModelError, match="triple tagger config"):
        load_triple_model(bad)
    assert load_triple_model("off") is None


@pytest.mark.slow  # trains the tagger for 40 epochs on a tiny BERT: a few seconds
def test_tagger_learns_saves_and_reloads(tiny_base, tmp_path):
    torch = pytest.importorskip("torch")
    from consona.extraction.encoder import ClauseEncoder

    torch.manual_seed(0)
    enc = ClauseEncoder(path=tiny_base, quantize=False)
    train = [
        TripleItem("i have two dogs", [Triple("i", "have_pet", "2 dog")]),
        TripleItem("i work as a nurse", [Triple("i", "has_profession", "nurse")]),
        TripleItem("i love hiking", [Triple("i", "like_activity", "hiking")]),
        TripleItem("lol ok"),
        TripleItem("wow cool"),
    ] * 6
    for k, it in enumerate(train):
        it.dialogue = k
    out = tmp_path / "tagger"
    report = train_triples(train, out=out, encoder=enc, layers=1, epochs=40, batch_size=8,
                           lr=3e-3, head_lr=1e-2, tune_fraction=0.0)  # fmt: skip
    assert report["loss"][-1] < report["loss"][0] / 4
    tagger = load_triple_tagger(out, base_dir=tiny_base, quantize=False)
    texts = ["i have two dogs", "i work as a nurse", "lol ok"]
    got = tagger.predict(enc.encode(texts, keep_states=True, state_layer=tagger.state_layer))
    assert (got[0].relation, got[0].object) == ("have_pet", "2 dog")
    assert (got[1].relation, got[1].object) == ("has_profession", "nurse")
    assert got[2] is None


@pytest.mark.slow
def test_shipped_tagger_on_real_encoder():
    from consona.extraction.fast import load_fast

    try:
        ex = load_fast()
    except ModelError as exc:
        pytest.skip(f"fast extractor not available: {exc}")
    if ex.triples is None:
        pytest.skip("no triple tagger shipped")
    texts = [
        "yes i have two dogs , they are my babies", "i am a nurse .",
        "lol ok", "do you have any pets ?", "if i had a dog i would walk it",
        "you have a lovely cat", "",
    ]  # fmt: skip
    facts = ex.extract_batch([Turn(speaker="a", text=t) for t in texts])
    triples = [[f.triple for f in fs if f.relation] for fs in facts]
    assert any(t[1] == "have_pet" and "dog" in t[2] for t in triples[0])
    assert any(t[1] == "has_profession" and "nurse" in t[2] for t in triples[1])
    assert triples[2:] == [[], [], [], [], []]
    assert isinstance(facts[0][0], Fact)


class ScriptedNet:
    """Logits for a TripleTagger: detect fires, relation 0, span B on ``target`` words."""

    def __init__(self, target_words):
        self.target = target_words
        self.texts = []
        self.rows = []

    def eval(self):
        return self

    def __call__(self, h, m, f):
        torch = pytest.importorskip("torch")
        b, w = f.shape
        self.rows.append(b)
        tag = torch.zeros(b, w, 3)
        tag[..., 0] = 2.0  # O everywhere ...
        for r, words in enumerate(self.texts):
            for j, word in enumerate(words[:w]):
                if word in self.target:
                    tag[r, j, 1] = 4.0 + self.target.index(word)  # ... but B on a target
        return {
            "detect": torch.full((b,), 5.0),
            "relation": torch.zeros(b, 2),
            "subject": torch.zeros(b, 1),
            "source": torch.tensor([[5.0, 0.0]]).expand(b, 2),
            "tag": tag,
        }


def _turn(text):
    from consona.extraction.editor import word_spans
    from consona.extraction.encoder import EncodedTurn

    spans = word_spans(text)
    offsets = np.array([(0, 0), *[(a, e) for _, a, e in spans], (0, 0)])
    states = np.zeros((len(offsets), 4), np.float32)
    return EncodedTurn([], np.zeros((0, 4)), np.zeros(4), states=states, offsets=offsets, text=text)


def test_tagger_never_takes_the_object_from_questions_hypotheticals_or_the_partner():
    pytest.importorskip("torch")
    from consona.extraction.triples import TripleTagger

    texts = ["i love dogs . do you have a cat ?", "do you have a cat ?",
             "if i had a cat i would walk it", "you have a lovely cat", "lol ok"]  # fmt: skip
    net = ScriptedNet(["dogs", "cat"])  # "cat" scores higher, but sits in a question
    tagger = TripleTagger(net, relations=["have_pet", "like_animal"], subjects=["i"],
                          objects=["pet"], singular={"dogs": "dog"}, state_layer=4)  # fmt: skip
    turns = [_turn(t) for t in texts]
    # only the first turn has a clause that can state a fact: the others never reach the net
    net.texts = [texts[0].replace("?", "").split()]
    preds = tagger.predict(turns)
    assert preds[0] is not None and (preds[0].relation, preds[0].object) == ("have_pet", "dog")
    assert preds[0].span == (7, 11)
    assert preds[1:] == [None, None, None, None]
    assert net.rows == [1]
