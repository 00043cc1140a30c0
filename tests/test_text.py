"""consona.text: the shared tokens, stop words, content words, sentences and ROUGE-L."""

from __future__ import annotations

import pytest

from consona.text import (
    FUNCTION_WORDS,
    STOP_WORDS,
    content_words,
    lcs_length,
    rouge_l,
    shares_content_word,
    split_sentences,
    tokens,
)


def test_tokens_keep_inner_apostrophes_and_fold_curly_ones():
    assert tokens("I’ve got 2 DOGS, don't you?") == ["i've", "got", "2", "dogs", "don't", "you"]
    assert tokens("") == [] and tokens("🙂 !!") == []


def test_stop_words_extend_function_words_and_drop_contraction_pieces():
    assert FUNCTION_WORDS < STOP_WORDS
    assert content_words("I don't think they'll come", stop=STOP_WORDS) == {"think", "come"}
    assert content_words("I don't think they'll come") == {"don", "think", "they", "ll", "come"}


def test_shares_content_word_folds_plurals_and_ignores_stop_words():
    assert shares_content_word("I have two dogs.", "my dog is old")
    assert not shares_content_word("What do you like?", "I like it, yes.")
    assert not shares_content_word("", "anything")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("w x y z", "w y z q", 3), ("", "w", 0), ("a b", "b a", 1), ("a a b", "a b a b", 3)],
)
def test_lcs_length(a, b, expected):
    assert lcs_length(a.split(), b.split()) == expected == lcs_length(b.split(), a.split())


def test_rouge_l_hand_computed():
    assert rouge_l("I have two dogs.", "I have two dogs") == 1.0
    assert rouge_l("I have two dogs.", "I have 2 dogs.") == pytest.approx(0.75)
    assert rouge_l("", "I have two dogs") == 0.0 and rouge_l("cats", "dogs") == 0.0
    # p = 3/3, r = 3/4; beta = 2 weighs recall: 5 p r / (4 p + r)
    assert rouge_l("w y z", "w y z q", beta=2.0) == pytest.approx(5 * 0.75 / (4 + 0.75))
    assert rouge_l("A B", "a b", tokenize=str.split) == 0.0  # the tokenizer decides


def test_split_sentences():
    assert split_sentences(" I like tea.  I have a cat!\nDo you? ") == [
        "I like tea.",
        "I have a cat!",
        "Do you?",
    ]
    assert split_sentences("Mira bakes\n\nShe has a cat. ", lines=True) == [
        "Mira bakes",
        "She has a cat.",
    ]
    assert split_sentences("Mira bakes\nShe has a cat.") == ["Mira bakes\nShe has a cat."]
    assert split_sentences("   ") == []
