"""The write path's triple signal beside the judge (consona.memory.slots), with fakes:
another value of a one-value slot supersedes even when the judge sees no contradiction,
the same value merges, inferred or negation-losing triples decide nothing."""

from __future__ import annotations

import pytest

from consona.memory import MemoryStore, MemoryWriter, own_facts
from consona.memory.slots import fact_triples, same_value, slot_conflict
from consona.testing import FakeEmbedder, FakeNLI
from consona.types import Fact, Triple, Turn


def writer(nli=None, **kw):
    return MemoryWriter(
        MemoryStore("sqlite://"), nli=nli or FakeNLI(), embedder=FakeEmbedder(), **kw
    )


def active(w):
    return [f.text for f in w.store.active("ana", "Mira", "user")]


def fact(text, relation=None, obj=None):
    return Fact(text=text, subject="i" if relation else None, relation=relation, object=obj)


BANK = fact("I work at a bank.", "employed_by_company", "bank")
SCHOOL = fact("I work at a school.", "employed_by_general", "school")


def test_another_workplace_supersedes_when_the_judge_sees_no_contradiction():
    nli = FakeNLI()
    assert nli.label(BANK.text, SCHOOL.text) == "neutral"  # the judge alone would add it
    w = writer(nli)
    w.apply("ana", "Mira", "user", [BANK, "I have a son.", "I love the beach."])
    (change,) = w.apply("ana", "Mira", "user", [SCHOOL]).changes
    assert change.action == "supersede" and [t for _, t in change.replaced] == [BANK.text]
    assert active(w) == ["I have a son.", "I love the beach.", "I work at a school."]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("I live with my parents.", "I moved into my own apartment."),
        ("I live alone.", "I moved in with my boyfriend."),
        ("I live with two roommates.", "I live by myself now."),
        ("I have long hair.", "I cut my hair short."),
        ("My hair is blonde.", "I dyed my hair red."),
    ],
)
def test_another_living_arrangement_or_look_supersedes(old, new):
    nli = FakeNLI()
    assert nli.label(old, new) == "neutral"
    w = writer(nli)
    w.apply("ana", "Mira", "user", [old, "I have a hamster.", "I study biology."])
    (change,) = w.apply("ana", "Mira", "user", [new]).changes
    assert change.action == "supersede" and [t for _, t in change.replaced] == [old]
    assert active(w) == ["I have a hamster.", "I study biology.", new]


def test_a_home_of_ones_own_is_no_arrangement_without_living_there():
    w = writer()
    w.apply("ana", "Mira", "user", ["I live with my wife."])
    (change,) = w.apply("ana", "Mira", "user", ["I bought my own house."]).changes
    assert change.action == "add"
    assert active(w) == ["I live with my wife.", "I bought my own house."]


def test_without_triples_the_judge_decides_alone():
    w = writer(triples=False)
    w.apply("ana", "Mira", "user", [BANK])
    assert [c.action for c in w.apply("ana", "Mira", "user", [SCHOOL]).changes] == ["add"]


def test_a_new_age_supersedes_the_old_one_read_from_the_text():
    # no triples given: the judge's rule extractor reads has_age from both texts
    w = writer()
    w.apply("ana", "Mira", "user", ["I am 41 years old.", "I play chess."])
    (change,) = w.apply("ana", "Mira", "user", ["I am 42 years old."]).changes
    assert change.action == "supersede"
    assert active(w) == ["I play chess.", "I am 42 years old."]


def test_the_same_value_merges_without_the_judge():
    old = fact("I have worked at a bank.", "employed_by_company", "bank")
    new = fact("I work at a bank.", "employed_by_company", "bank")
    assert FakeNLI().label(old.text, new.text) == "neutral"
    w = writer()
    w.apply("ana", "Mira", "user", [old])
    (change,) = w.apply("ana", "Mira", "user", [new]).changes
    assert change.action == "merge" and change.merged_into == old.text
    assert w.store.active("ana", "Mira", "user")[0].times_seen == 2


def test_an_inferred_value_does_not_make_two_facts_one():
    # both read as job_status "employed", a value neither text names
    a = fact("I work long shifts.", "job_status", "employed")
    b = fact("I work from home on Fridays.", "job_status", "employed")
    w = writer(triples=True)
    w.apply("ana", "Mira", "user", [a])
    assert [c.action for c in w.apply("ana", "Mira", "user", [b]).changes] == ["add"]


def test_a_triple_that_lost_the_negation_decides_nothing():
    student = fact("I am a student.", "school_status", "student")
    not_student = fact("I am not a student.", "school_status", "student")  # extractor slip
    graduated = fact("I graduated.", "school_status", "graduated")
    w = writer()
    w.apply("ana", "Mira", "user", [student])
    diff = w.apply("ana", "Mira", "user", [not_student, graduated])
    assert [c.action for c in diff.changes] == ["supersede", "add"]
    assert active(w) == ["I am not a student.", "I graduated."]


def test_another_value_of_a_many_valued_relation_is_not_a_conflict():
    jazz = fact("I like jazz.", "like_music", "jazz")
    rock = fact("I like rock.", "like_music", "rock")
    w = writer()
    w.apply("ana", "Mira", "user", [jazz])
    assert [c.action for c in w.apply("ana", "Mira", "user", [rock]).changes] == ["add"]
    assert (
        slot_conflict([Triple("i", "like_music", "jazz")], [Triple("i", "like_music", "rock")])
        is None
    )


def test_a_lenient_entailment_with_no_word_in_common_is_not_a_merge():
    # the judge calls an unrelated short fact "entailed": memory must not lose it
    nli = FakeNLI({("I love coffee.", "I live in Texas."): "entailment"})
    w = writer(nli)
    w.apply("ana", "Mira", "user", ["I love coffee."])
    assert [c.action for c in w.apply("ana", "Mira", "user", ["I live in Texas."]).changes] == [
        "add"
    ]


def test_fact_triples_merge_sources_and_skip_other_subjects():
    got = fact_triples(
        "I am 30 years old.",
        [("i", "has_age", "30 years old"), ("my dog", "has_age", "3")],
        reader=None,
    )
    assert got == [Triple("i", "has_age", "30")]
    assert same_value(got, [Triple("i", "has_age", "30")])


def test_own_facts_keep_only_statements_about_the_speaker():
    t = Turn(speaker="user", text="Vintage cars. I have two mustangs. A good movie is good.")
    facts = [
        Fact(text="Vintage cars."),
        Fact(text="I have two mustangs."),
        Fact(text="A good movie is good."),
    ]
    assert [f.text for f in own_facts(t, facts)] == ["I have two mustangs."]
    assert len(own_facts(t, facts, first_person=False)) == 3


def test_facts_of_one_turn_never_retire_each_other():
    # "I graduated and I am not a student anymore.": the judge calls the two parts a
    # contradiction, but one utterance is one consistent state
    nli = FakeNLI({("I graduated.", "I am not a student."): "contradiction"})
    w = writer(nli)
    w.apply("ana", "Mira", "user", ["I have a sister."])
    diff = w.apply("ana", "Mira", "user", ["I graduated.", "I am not a student."])
    assert [c.action for c in diff.changes] == ["add", "add"]
    assert active(w) == ["I have a sister.", "I graduated.", "I am not a student."]
    w.apply("ana", "Mira", "user", ["I am not a student."])  # a later turn still may
    nli.verdicts[("I graduated.", "I am a student.")] = "contradiction"
    (change,) = w.apply("ana", "Mira", "user", ["I am a student."]).changes
    assert change.action == "supersede"


def test_a_clause_as_object_is_not_a_slot_value():
    # seen on MSC: the extractor put whole clauses under favorite_music_artist, and the
    # second "value" retired the first fact
    a = fact(
        "I try to stay connected to the local music scene.",
        "favorite_music_artist",
        "try to stay connected to the local music scene",
    )
    b = fact(
        "I once saw him in concert with Yo-Yo Ma.",
        "favorite_music_artist",
        "once saw him in concert with yo-yo ma",
    )
    w = writer()
    w.apply("ana", "Mira", "user", [a])
    assert [c.action for c in w.apply("ana", "Mira", "user", [b]).changes] == ["add"]


def test_the_same_value_with_more_said_is_not_merged():
    old = fact("I have had a pet cow for years.", "have_pet", "cow")
    new = fact("My pet cow is sick.", "have_pet", "cow")
    w = writer()
    w.apply("ana", "Mira", "user", [old])
    assert [c.action for c in w.apply("ana", "Mira", "user", [new]).changes] == ["add"]
    # saying more than the old fact, all of it: a refinement (the old one retired for it)
    w.apply("ana", "Mira", "user", [fact("I have a goat.", "have_pet", "goat")])
    diff = w.apply("ana", "Mira", "user", [fact("I have a goat named Bo.", "have_pet", "goat")])
    assert [c.action for c in diff.changes] == ["refine"]
