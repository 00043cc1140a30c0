"""The default judge: per-clause NLI + the relation-aware triple check."""

from __future__ import annotations

import time

import numpy as np
import pytest

from consona.errors import UnknownNameError
from consona.nli.base import CONTRADICTION
from consona.nli.clash import check_triples, clash
from consona.nli.consistency import check_consistency
from consona.nli.judge import PersonaJudge, segments, uncommitted_favourite
from consona.nli.models import load_nli_model
from consona.nli.schema import Triple
from consona.nli.triples import RuleTripleExtractor
from consona.testing import FakeNLI, ScriptedNLI
from consona.text import split_clauses

EX = RuleTripleExtractor()


@pytest.mark.parametrize(
    ("premise", "utterance"),
    [
        (
            "i have a german shepherd dog .",
            "nice . i do not have any pets . do you have any kids ?",
        ),
        ("i hate school .", "i like going to school . that is where i meet all of my friends ."),
        ("i am a vegan .", "i am a carnivore , are you ?"),
        ("i have one older sister .", "my parents died and i do not have any siblings either ."),
        ("my favorite music is country .", "i like rock , country music makes me cringe ."),
        ("I have a golden retriever named Biscuit.", "I don't have a dog."),
        ("i am 40 years old .", "nice , i am 18 now"),
        ("i live in alabama .", "interesting . i live in ohio , never been anywhere else ."),
        ("i am a woman .", "are you a male or female ? i am a 20 year old male"),
        ("i have five sons .", "no ! i have one child already and that is enough for me ."),
        ("my favorite season is winter .", "summer is my favorite season ."),
        ("i have brown curly hair .", "i make up for that by having rainbow hair ."),
        ("i am retired and living the great life .", "i am a life coach by the way"),
        ("i am a doctor .", "me too i am an engineer , what do you do ?"),
        # a pronoun after the thing it stands for, in the clause just before
        ("my favorite color is orange .", "as long as my date does not wear orange , i hate it ."),
        (
            "my favorite color is orange .",
            "no , but i did wear orange once , but i hate that color .",
        ),
        ("i only listen to country music .", "i prefer metal . i do not like country at all ."),
        ("l also love comic books .", "i do not like comic books , they are boring ."),
        # a life that moved on (memory updates): workplace, school stage, a new job, marriage
        ("i work at a hospital .", "i work at a library now ."),
        ("i am a high school student .", "i am in college now ."),
        ("i am a junior in college .", "i graduated from college last spring ."),
        ("i am in middle school .", "i started high school this year ."),
        ("i am an accountant .", "i became a pilot ."),
        ("i am single .", "i married my girlfriend in june ."),
    ],
)
def test_the_triple_check_catches_real_conversational_contradictions(premise, utterance):
    found = check_triples(EX, premise, utterance)
    assert found.fired, (EX.extract(premise), EX.extract(utterance))


@pytest.mark.parametrize(
    ("premise", "utterance"),
    [
        ("i have a dog .", "i do not have a cat ."),  # a co-hyponym's absence
        ("i am 40 years old .", "my son is 12 years old ."),  # someone else
        ("i am a doctor .", "my mom is an engineer ."),
        ("i am a doctor .", "are you an engineer ?"),  # a question claims nothing
        ("i am a doctor .", "i want to be an engineer someday ."),  # a wish
        ("i live in ohio .", "i want to visit canada ."),
        ("i live in ohio .", "i live in cleveland ."),  # a city inside the state
        ("i love music .", "i hate country music ."),  # a subgenre, not the whole
        ("i have two dogs .", "i love my dogs ."),
        ("i am a teacher .", "i am an elementary school teacher ."),
        ("my favorite color is navy blue .", "blue is so calming ."),
        ("i am a stunt double .", "i am a trainer , but i stunt double for extra money ."),
        ("i am currently single . no kids . but i am 45", "i am 45 now ."),
        # read as false alarms on real chat
        ("i have a weakness for fish and chips .", "i do not like to eat aquarium fish ."),
        ("my favorite color is grey .", "i hate the factory makes my hair grey ."),
        ("i work in it .", "how do you like performing ? i am currently looking for a new job ."),
        ("i work at a bank .", "i work at the bank downtown ."),  # the same workplace
        ("i work at a hospital .", "i also work at a bar on weekends ."),  # a second job
        ("i graduated from high school .", "i am in college ."),  # the next stage
        ("i teach high school .", "i am in college ."),  # staff, not a student
    ],
)
def test_the_triple_check_leaves_compatible_pairs_alone(premise, utterance):
    found = check_triples(EX, premise, utterance)
    assert not found.fired, found.reason


def test_clash_rules_follow_the_schema():
    assert clash(Triple("i", "has_age", "30"), Triple("i", "has_age", "52"))
    assert not clash(Triple("i", "has_age", "30"), Triple("i", "has_age", "31"))
    assert clash(Triple("i", "have_pet", "2 dog"), Triple("i", "have_pet", "3 dog"))
    assert clash(Triple("i", "have_pet", "german shepherd"), Triple("i", "not_have", "pet"))
    assert not clash(Triple("i", "have_pet", "dog"), Triple("i", "not_have", "cat"))
    assert clash(Triple("i", "diet", "vegan"), Triple("i", "like_general", "bacon"))


def test_the_judge_lifts_contradiction_when_the_triples_clash_and_explains_it():
    nli = ScriptedNLI()
    judge = PersonaJudge(nli)
    probs = judge.predict([("i am a vegan .", "i am a carnivore , are you ?")])
    assert probs[0, CONTRADICTION] >= judge.contradiction_threshold
    why = judge.explain("i am a vegan .", "i am a carnivore , are you ?")
    assert why["decided_by"] == "triples" and why["label"] == "contradiction"
    assert why["triples"]["hypothesis"] == ["i", "diet", "eats meat"]
    off = PersonaJudge(ScriptedNLI(), triples=False)
    assert off.predict([("i am a vegan .", "i am a carnivore , are you ?")])[0, 2] < 0.5


def test_the_statements_are_judged_without_the_questions():
    utterance = "nice . i do not have any pets . do you have any kids ?"
    nli = ScriptedNLI({("i love animals .", "i do not have any pets")})
    judge = PersonaJudge(nli, triples=False)
    assert judge.predict([("i love animals .", utterance)])[0, CONTRADICTION] == pytest.approx(0.9)
    assert not any("kids" in h for _, h in nli.seen)  # the question claims nothing
    raw = PersonaJudge(
        ScriptedNLI({("i love animals .", "i do not have any pets")}),
        nli_on="utterance",
        triples=False,
    )
    assert raw.predict([("i love animals .", utterance)])[0, CONTRADICTION] < 0.5


def test_clause_mode_reads_each_clause_so_one_clause_is_not_diluted():
    utterance = "i love my job , but i do not have any pets ."
    nli = ScriptedNLI({("i love animals .", "i do not have any pets .")})
    judge = PersonaJudge(nli, triples=False, nli_on="clauses")
    assert judge.predict([("i love animals .", utterance)])[0, CONTRADICTION] == pytest.approx(0.9)
    why = judge.explain("i love animals .", utterance)
    assert why["decided_by"] == "nli" and why["nli"]["evidence"] == "i do not have any pets ."
    default = PersonaJudge(
        ScriptedNLI({("i love animals .", "i do not have any pets .")}), triples=False
    )
    assert default.predict([("i love animals .", utterance)])[0, CONTRADICTION] < 0.5
    with pytest.raises(UnknownNameError, match="statements"):
        PersonaJudge(nli, nli_on="sentences")


def test_check_consistency_uses_the_judge_through_the_seam():
    r = check_consistency(
        ["I have a golden retriever named Biscuit.", "I bake bread."],
        "I don't have a dog.",
        nli=PersonaJudge(ScriptedNLI()),
    )
    assert r.contradicted == ["I have a golden retriever named Biscuit."]


@pytest.mark.parametrize(
    "utterance",
    [
        "",
        "   ",
        "😀😀😀",
        "je n'ai pas de chien, mais j'ai un chat.",
        "我没有狗。",
        "?!?!",
        "a" * 5000,
    ],
)
def test_bad_input_gives_a_verdict(utterance):
    judge = PersonaJudge(FakeNLI())
    probs = judge.predict([("i have a dog .", utterance)])
    assert probs.shape == (1, 3) and np.isfinite(probs).all()
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_a_thousand_sentence_utterance_is_judged_in_bounded_time():
    utterance = " ".join(f"i went to the store number {i} today ." for i in range(1000))
    t = time.perf_counter()
    parts = split_clauses(utterance)
    assert len(parts) <= 64
    nli = ScriptedNLI()
    judge = PersonaJudge(nli)
    judge.predict([("i have a dog .", utterance)])
    assert len(nli.seen) <= 33  # the whole utterance + at most 32 segments
    assert time.perf_counter() - t < 5
    long_word = "a" * 200_000 + " , but " + "b" * 200_000
    t = time.perf_counter()
    split_clauses(long_word)
    assert time.perf_counter() - t < 1


def test_an_utterance_of_questions_only_is_neutral_without_asking_the_nli():
    nli = ScriptedNLI({("my favorite color is orange .", "why do you hate orange ?")})
    judge = PersonaJudge(nli)
    row = judge.predict([("my favorite color is orange .", "why do you hate orange ?")])[0]
    assert row.argmax() == 1 and nli.seen == []


def test_segments_keep_the_whole_utterance_first():
    assert segments("i like rock , country music makes me cringe .")[0].startswith("i like rock")
    assert segments("just one clause here") == ["just one clause here"]


def test_the_default_name_is_the_judge_and_the_raw_model_stays_reachable():
    from consona.nli.base import NLI_MODELS

    assert "consona" in NLI_MODELS and "consona-nli" in NLI_MODELS and "llm" in NLI_MODELS
    fake = load_nli_model("fake")
    assert fake.predict([("I have dogs.", "I have dogs.")]).shape == (1, 3)


def test_calibrate_picks_the_threshold_that_separates_contradictions():
    from consona.nli.judge import calibrate

    class Graded:
        name = "graded"
        contradiction_threshold = 0.5

        def predict(self, pairs, *, batch_size=64):
            # contradiction probability 0.3 for the real ones, 0.1 for the rest
            return np.array([[0.1, 0.6, 0.3] if "not" in h else [0.2, 0.7, 0.1] for _, h in pairs])

    rows = [
        {"premise": "i swim .", "hypothesis": "i do not swim", "label": "contradiction"},
        {"premise": "i run .", "hypothesis": "i do not run", "label": "contradiction"},
        {"premise": "i swim .", "hypothesis": "i like tea", "label": "neutral"},
        {"premise": "i run .", "hypothesis": "i run daily", "label": "entailment"},
    ]
    thr, f1 = calibrate(PersonaJudge(Graded(), triples=False), rows)
    assert 0.1 < thr <= 0.3 and f1 == 1.0


class _AlwaysContradicts:
    """A cross-encoder with the same-topic shortcut: every pair reads as a contradiction."""

    name = "shortcut"
    contradiction_threshold = 0.5

    def predict(self, pairs, *, batch_size=64):
        return np.tile(np.array([0.02, 0.03, 0.95], dtype=np.float32), (len(pairs), 1))


@pytest.mark.parametrize(
    ("premise", "utterance"),
    [
        ("my favorite band is aerosmith .", "do you listen to music ? i love travis scott"),
        (
            "horror movies are my favorites .",
            "i am good i am watching mean girls i love this movie",
        ),
        ("my favourite food is pizza .", "pretty good . got some tacos coming . whoo !"),
        ("my favorite color is navy blue .", "hey , i like the color yellow a lot !"),
    ],
)
def test_liking_something_else_does_not_contradict_a_favourite(premise, utterance):
    judge = PersonaJudge(_AlwaysContradicts())
    row = judge.predict([(premise, utterance)])[0]
    assert row[CONTRADICTION] < judge.contradiction_threshold and row.argmax() == 1
    assert np.isclose(row.sum(), 1.0)
    why = judge.explain(premise, utterance)
    assert why["decided_by"] == "favourite-cap" and why["nli"]["capped"]
    assert why["label"] == "neutral"
    off = PersonaJudge(_AlwaysContradicts(), caps=False)
    assert off.predict([(premise, utterance)])[0, CONTRADICTION] >= off.contradiction_threshold


@pytest.mark.parametrize(
    ("premise", "utterance"),
    [
        # another favourite, a dislike, a negation, an exclusive or comparative word
        ("my favorite band is aerosmith .", "same , saving up to see my fave band the who"),
        ("my favorite food is pizza .", "pizza is gross , tacos all the way"),
        ("my favorite food is pizza .", "i do not eat bread at all"),
        ("my favorite music is country .", "i only listen to jazz"),
        ("my favorite music is death metal .", "mostly country music , while i work on cars ."),
        ("horror movies are my favorites .", "i love comedy the best !"),
        ("my favorite color is blue .", "i like red more than any other color"),
        ("my favorite food is pizza .", "i haven't eaten bread since i was a kid"),
        ("my favorite food is pizza .", "i wouldnt touch bread"),
        ("my favorite food is pizza .", "tacos are my #1"),
        ("my least favorite food is pizza .", "i love pizza"),
        # a premise that claims more than the favourite
        ("my favorite thing is my motorcycle . i do not have a car .", "i drive a german car"),
        ("pink is my favorite color , but i am a female .", "male here ."),
        # no favourite in the premise
        ("i love aerosmith .", "i love travis scott"),
    ],
)
def test_the_favourite_cap_leaves_what_can_contradict_it(premise, utterance):
    judge = PersonaJudge(_AlwaysContradicts(), triples=False)
    assert judge.predict([(premise, utterance)])[0, CONTRADICTION] >= judge.contradiction_threshold


def test_the_triples_still_speak_over_the_favourite_cap():
    # "i am a vegan" names no favourite, but the triples clash with a favourite food
    pair = ("my favorite food is steak .", "i am a vegan")
    assert uncommitted_favourite(pair[0], segments(pair[1]))
    judge = PersonaJudge(_AlwaysContradicts())
    assert judge.predict([pair])[0, CONTRADICTION] >= judge.contradiction_threshold
    assert judge.explain(*pair)["decided_by"] == "nli+triples"
