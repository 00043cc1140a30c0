import math

import pytest

from consona.errors import ConfigError
from consona.evaluation import metrics as M


def test_normalize_answer_parlai():
    assert M.normalize_answer("The Cat's  hat, an apple!") == "cat s hat apple"


def test_unigram_f1_hand_computed():
    # pred {cat, sat}; ref {cat, sat, down}: p = 1, r = 2/3 → F1 = 0.8
    assert M.unigram_f1("The cat sat.", "a cat sat down") == pytest.approx(0.8)
    assert M.unigram_f1("dogs", "cats") == 0.0
    # several references: the best one counts
    assert M.unigram_f1("cat sat", ["dog", "cat sat"]) == pytest.approx(1.0)
    # repeated tokens are clipped: pred [x, x], ref [x] → p = 1/2, r = 1 → 2/3
    assert M.unigram_f1("x x", "x") == pytest.approx(2 / 3)


def test_bleu_hand_computed():
    # precisions 5/6, 3/5, 2/4, 1/3, brevity penalty 1
    expected = 100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    got = M.bleu(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert got == pytest.approx(expected, abs=0.01)
    assert M.bleu(["hello there my friend"], ["hello there my friend"]) == pytest.approx(100.0)
    with pytest.raises(ConfigError):
        M.bleu(["a"], [])


def test_rouge_l_hand_computed():
    # LCS(w x y z, w y z q) = 3 → p = r = 3/4
    assert M.rouge_l("w x y z", "w y z q") == pytest.approx(0.75)
    # p = 3/3, r = 3/4 → F1 = 6/7
    assert M.rouge_l("w y z", "w y z q") == pytest.approx(6 / 7)
    assert M.rouge_l("", "w") == 0.0


def test_distinct_n():
    assert M.distinct_n(["a b a b"], n=1) == pytest.approx(0.5)
    assert M.distinct_n(["a b a b"], n=2) == pytest.approx(2 / 3)
    # corpus level: across texts
    assert M.distinct_n(["x y", "x z"], n=1) == pytest.approx(3 / 4)
    assert math.isnan(M.distinct_n(["x"], n=2))
    with pytest.raises(ConfigError):
        M.distinct_n(["x"], n=0)


def test_perplexity():
    assert M.perplexity([[math.log(0.5), math.log(0.25)]]) == pytest.approx(math.sqrt(8))
    # corpus-level: tokens pooled over replies
    assert M.perplexity([[math.log(0.5)], [math.log(0.5)]]) == pytest.approx(2.0)
    assert math.isnan(M.perplexity([]))


def test_c_score_and_rates():
    replies = [
        ["entailment", "neutral", "neutral"],  # +1
        ["contradiction", "entailment", "neutral"],  # 0
        ["contradiction", "contradiction", "neutral"],  # -2
        ["neutral", "neutral", "neutral"],  # 0
    ]
    assert M.c_score(replies[2]) == -2.0
    assert M.mean_c_score(replies) == pytest.approx(-0.25)
    assert M.contradiction_rate(replies) == pytest.approx(0.5)
    assert M.entailment_rate(replies) == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="entailment"):
        M.c_score(["yes"])


def test_ranks_hits_mrr():
    assert M.rank_of([0.1, 0.9, 0.5], 1) == 1
    assert M.rank_of([0.1, 0.9, 0.5], 0) == 3
    # ties count against the gold: a constant scorer never ranks it first
    assert M.rank_of([1.0, 1.0, 1.0], 0) == 3
    assert M.hits_at_k([1, 2, 4], k=1) == pytest.approx(1 / 3)
    assert M.hits_at_k([1, 2, 4], k=2) == pytest.approx(2 / 3)
    assert M.mean_reciprocal_rank([1, 2, 4]) == pytest.approx((1 + 0.5 + 0.25) / 3)
    with pytest.raises(ConfigError):
        M.rank_of([1.0], 3)


def test_consistency_at_1():
    items = [
        ([0.9, 0.1, 0.2], ["gold", "contradict", "neutral"]),  # gold top
        ([0.1, 0.9, 0.2], ["gold", "contradict", "entail"]),  # contradiction top
        ([0.1, 0.2, 0.9], ["gold", "contradict", "entail"]),  # entailing top
        ([0.5, 0.5, 0.1], ["gold", "neutral", "contradict"]),  # tied top: no hit
    ]
    m = M.consistency_at_1(items)
    assert m["hits@1"] == pytest.approx(0.25)
    assert m["entail@1"] == pytest.approx(0.5)
    assert m["contradict@1"] == pytest.approx(0.25)
    assert m["neutral@1"] == 0.0
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 3 + 1 / 2) / 4)
    with pytest.raises(ConfigError, match="gold"):
        M.consistency_at_1([([1.0, 0.0], ["entail", "neutral"])])
