"""Text rules, the fake extractor, the registry and verification."""

from __future__ import annotations

import pytest

from consona.errors import UnknownNameError
from consona.extraction import EXTRACTORS, Extractor, load_extractor
from consona.extraction.text import (
    about_other,
    answer_statement,
    is_hypothetical,
    is_question,
    is_small_talk,
    possession_statement,
    rewrite_clause,
    split_clauses,
)
from consona.extraction.verify import VerifiedExtractor, Verifier, swap_person
from consona.testing import FakeExtractor, FakeNLI
from consona.text import rouge_l
from consona.types import Fact, Turn


def test_split_clauses_is_linear_on_long_unpunctuated_text():
    import time

    for text in ("x but " * 6000 + "me", "a, do you " * 5000, "x what do you " * 4000):
        start = time.perf_counter()
        split_clauses(text)
        assert time.perf_counter() - start < 1.0  # a quadratic lookahead took seconds


def test_split_clauses_keeps_spans():
    text = "I am good, I just got off work and tired, I have two jobs."
    clauses = split_clauses(text)
    assert [c.text for c in clauses] == [
        "I am good",
        "I just got off work and tired",
        "I have two jobs.",
    ]
    for c in clauses:
        assert text[c.start : c.end] == c.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a tag question after a statement is a clause of its own
        ("I've a cat, do you?", ["I've a cat", "do you?"]),
        ("I love pizza, what about you?", ["I love pizza", "what about you?"]),
        (
            "I have to walk 3 miles to work everyday what do you do?",
            ["I have to walk 3 miles to work everyday", "what do you do?"],
        ),
        # a contrast that says more about the speaker
        (
            "I love horror but true crime is my favorite thing to read.",
            ["I love horror", "but true crime is my favorite thing to read."],
        ),
        # ... but not a contrast about something else, nor a question that is only a question
        ("I like cats but not dogs.", ["I like cats but not dogs."]),
        ("I have nothing but love for my dog.", ["I have nothing but love for my dog."]),
        ("I can't help but laugh at my cat.", ["I can't help but laugh at my cat."]),
        ("He is rich but mean to me.", ["He is rich but mean to me."]),
        ("So what do you do?", ["So what do you do?"]),
        ("I asked her what do you want for dinner?", ["I asked her what do you want for dinner?"]),
        ("Do you have any pets?", ["Do you have any pets?"]),
        ("what do you do for fun?", ["what do you do for fun?"]),
    ],
)
def test_split_clauses_separates_tag_questions_and_contrasts(text, expected):
    assert [c.text for c in split_clauses(text)] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "but true crime is my favorite thing to read.",
            "True crime is my favorite thing to read.",
        ),
        ("True, I love it", "I love it."),
        ("So true", ""),
        ("not much of a reader", "I am not much of a reader."),
        ("Not much of a problem", "Not much of a problem."),
        ("Not really into cars.", "I am not into cars."),
        ("I see the rolling stones every year", "I see the rolling stones every year."),
        ("I see, I am a nurse", "I am a nurse."),
        ("not a big fan of country music", "I am not a big fan of country music."),
        ("Huge fan of jazz", "I am a huge fan of jazz."),
        ("yeah i've been a nurse for ten years lol", "I have been a nurse for ten years."),
        ("I do love jazz very much", "I love jazz."),
        ("Just came back from mountain biking", "I came back from mountain biking."),
        ("Just relaxing with my two dogs", "I am relaxing with my two dogs."),
        ("Going abroad is something I want", "Going abroad is something I want."),
        ("I work at a grocery store because it pays", "I work at a grocery store."),
        ("since my parents are wealthy", "My parents are wealthy."),
        ("Thank you for asking about my pups", ""),
        ("I'm only 23 and I don't drive", "I am 23 and I don't drive."),
        ("Oh wow, im a teacher :)", "I am a teacher."),
        ("lol ok", ""),
        ("😀😀", ""),
    ],
)
def test_rewrite_clause(raw, expected):
    assert rewrite_clause(raw) == expected


def test_possession_statement():
    assert possession_statement("I am relaxing with my two dogs.") == "I have two dogs."
    assert possession_statement("My son is in junior high.") == "I have a son."
    assert possession_statement("My older sister got me a job.") == "I have an older sister."
    assert possession_statement("I have a son.") is None
    assert possession_statement("I like jazz.") is None


def test_cues():
    assert is_question("do you have pets?")
    assert is_question("what do you do for work")
    assert not is_question("I have two cats.")
    assert is_hypothetical("if I had a dog I would walk it")
    assert not is_hypothetical("I walk my dog every day")
    assert about_other("you have a cute dog")
    assert not about_other("I like your dog")
    assert is_small_talk("lol ok") and is_small_talk("") and not is_small_talk("I like jazz")


def test_rouge_l():
    assert rouge_l("I have two dogs.", "I have two dogs") == 1.0
    assert rouge_l("", "I have two dogs") == 0.0
    assert 0.0 < rouge_l("I have a cat", "I have two dogs") < 1.0


def test_registry_lists_names_and_fake_protocol():
    assert {"fast", "llm", "fake"} <= set(EXTRACTORS.names())
    with pytest.raises(UnknownNameError, match="fast"):
        load_extractor("nope")
    ex = load_extractor("fake")
    assert isinstance(ex, Extractor)


@pytest.mark.parametrize(
    "text",
    [
        "lol ok",
        "",
        "   ",
        "😂😂😂",
        "Do you have any pets?",
        "what do you do for a living?",
        "¿Dónde vives tú?",
        "hahaha yes",
    ],
)
def test_small_talk_and_questions_yield_nothing(text):
    ex = FakeExtractor()
    assert ex.extract(Turn(speaker="a", text=text)) == []
    v = VerifiedExtractor(ex, nli=FakeNLI())
    assert v.extract(Turn(speaker="a", text=text)) == []


def test_very_long_turn_does_not_crash():
    text = "I have two dogs. " + "blah " * 5000
    facts = FakeExtractor().extract(Turn(speaker="a", text=text))
    assert facts and facts[0].text == "I have two dogs."


def test_verifier_drops_questions_hypotheticals_and_unentailed():
    turn = Turn(speaker="a", text="I have two dogs. If I won I would buy a boat. Do you like jazz?")
    facts = [
        Fact(text="I have dogs."),
        Fact(text="I would buy a boat."),
        Fact(text="I like jazz."),
        Fact(text="I am a pilot."),
    ]
    kept = Verifier(FakeNLI()).verify(turn, facts)
    assert [f.text for f in kept] == ["I have dogs."]
    assert kept[0].speaker == "a"
    assert 0 < kept[0].confidence <= 1


def test_verifier_attributes_you_to_other_speaker():
    turn = Turn(speaker="a", text="you have a cute dog")
    fact = [Fact(text="You have a cute dog.")]
    kept = Verifier(FakeNLI()).verify(turn, fact, other="b")
    assert [(f.text, f.speaker) for f in kept] == [("I have a cute dog.", "b")]
    assert Verifier(FakeNLI()).verify(turn, fact, other=None) == []


def test_swap_person():
    assert swap_person("you are a nurse and your dog is cute") == "I am a nurse and my dog is cute"


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        ("Do you like the holidays?", "I don't.", "I don't like the holidays."),
        ("Do you like the holidays?", "Yes I do!", "I like the holidays."),
        ("Have you ever been to Disneyland?", "No, we can't afford it.",
         "I have never been to Disneyland."),
        ("have you ever been to disneyland?", "Yeah, twice", "I have been to disneyland."),
        ("Do you have any kids?", "Nope.", "I don't have any kids."),
        ("Do you have any kids?", "yes, two boys", "I have two boys."),
        ("Do you have any kids?", "yes, we do", "I have kids."),
        ("Do you have any pets?", "A dog and a cat.", "I have a dog and a cat."),
        ("Do you have kids?", "a lot of work, lol", None),
        # a pronoun answer names what the question named
        ("Do you like math?", "I hate it.", "I hate math."),
        ("Do you enjoy hiking?", "oh I love it!", "I love hiking."),
        ("are you in school too?", "no. i finished in 1995", "I am not in school."),
        ("do you have any birds then?", "no, we look out of the windows", "I don't have any birds."),
        ("are you all happy together?", "absolutely!", None),
        # a yes word with "not" is a no; a no that answers nothing is none
        ("Do you like dogs?", "Definitely not.", "I don't like dogs."),
        ("Do you like dogs?", "Of course not!", "I don't like dogs."),
        ("Do you like dogs?", "no idea what you mean", None),
        ("Do you like dogs?", "not really sure", None),
        ("Do you like dogs?", "Never mind.", None),
        ("Do you like dogs?", "Never tried one", None),
        ("Do you like dogs?", "No, of course I do!", None),
        ("Are you a student?", "I'm not.", "I am not a student."),
        # tense and grammar
        ("Did you ever go to Paris?", "no", "I never did go to Paris."),
        ("Ever play chess?", "yes", "I play chess."),
        ("Do you not like cats?", "no", None),
        ("Are you and your wife happy?", "yes", None),
        ("Have you ever?", "no", None),
        ("have you been?", "yes", None),
        ("Do you like it here?", "yes", None),
        # the moment, and amounts that are no count
        ("Are you tired?", "yes", None),
        ("are you just getting up?", "no", None),
        ("do you play a lot of it at the beach?", "no", None),
        ("Are you at work?", "no", None),
        ("Did you sleep well?", "yes", None),
        ("Do you have any pets?", "a lot.", None),
        ("Do you have any pets?", "one day.", None),
        # favourites that are no name
        ("What's your favorite band?", "Good question!", None),
        ("What's your favorite band?", "hard to say", None),
        ("What's your favorite band?", "Can't pick one", None),
        ("What's your favorite band?", "dunno", None),
        ("What's your favorite band?", "Never had one", None),
        ("What's your favorite band?", "Queen! What's yours?", "My favorite band is Queen."),
        ("What are your favorite bands?", "Queen and Abba", "My favorite bands are Queen and Abba."),
        ("Do you like it?", "I love it", None),
        # a favourite named in a few words
        ("What is your favorite movie?", "Mine is friday.", "My favorite movie is friday."),
        ("what's your fav band?", "hmm, probably coldplay", "My favorite band is coldplay."),
        ("What is your favorite food?", "pizza, you?", "My favorite food is pizza."),
        ("What is your favorite food?", "I don't have one", None),
        ("What is your favorite food?", "idk, maybe tacos?", None),
        ("What is your favorite color?", "I really like the deep blue of the sea at night", None),
        ("So are you a student?", "Not really.", "I am not a student."),
        ("Can you swim?", "I can.", "I can swim."),
        ("Do you like your job?", "Yes", "I like my job."),
        ("Did you go to college?", "no", "I didn't go to college."),
        ("Ever been to spain?", "Yes, I've.", "I have been to spain."),
        # not a yes or a no: the answer's own words say what it is
        ("Are you a student?", "I'm a teacher.", None),
        ("Do you like dogs?", "I have a cat.", None),
        ("Do you like dogs?", "No way! I love them", None),
        # not a plain yes/no question about the speaker
        ("Do you know what I mean?", "Yes", None),
        ("Do you think so?", "No", None),
        ("Do you like tea or coffee?", "Yes", None),
        ("What do you do?", "No", None),
        ("Have you?", "Yes", None),
        ("Do you like me?", "Yes", None),
        ("Would you like to go?", "Yes", None),
        # a question about the moment, not the person
        ("Do you want to hear a joke?", "Sure", None),
        ("Are you busy?", "No", None),
        ("Do you enjoy it?", "Yes", None),
        ("Do you have a minute?", "yes", None),
    ],
)  # fmt: skip
def test_answer_statement(question, answer, expected):
    assert answer_statement(question, answer) == expected


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        # a yes or a no taken back later in the same sentence
        ("Do you have any pets?", "Yes, I used to.", []),
        ("Do you like dogs?", "Yes, but not anymore", []),
        ("Are you married?", "Yes, well, I was", []),
        ("Do you smoke?", "Yes, but I am quitting", []),
        # ... but not by the next sentence, nor by a fact of its own
        ("Do you like dogs?", "Yes! I was raised with them.", ["I like dogs."]),
        ("Do you have any dogs?", "No, I have two cats.", ["I don't have any dogs."]),
        ("Have you been to Rome?", "No, I have not.", ["I haven't been to Rome."]),
    ],
)
def test_answered_reads_the_rest_of_the_sentence(question, answer, expected):
    from consona.extraction.text import answered

    asked = [Turn(speaker="b", text=question)]
    assert answered(Turn(speaker="a", text=answer), asked) == expected
