"""The write path's second signal beside the judge: (subject, relation, object) triples.

A fact's triples come from the extractor (``Fact.subject/relation/object``, kept in the
store) and from the judge's triple extractor run on its text (and on the state a change
statement brings about: "I moved to Oslo." → "I live in Oslo."). Two facts of one speaker
then stand in one of these relations, by the rules of :mod:`consona.nli.schema` and
:mod:`consona.nli.clash` (the same rules the judge's structured check uses):

* **same value** (:func:`same_value`): the same relation with the same object and the
  same polarity ("I work at a bank." / "i work at the bank") — one fact said twice;
* **another value of a one-value slot** (:func:`slot_conflict`): a conflicting value of a
  single-valued relation (job, workplace, school status, home, age, marital status, …),
  a negated relation on the same thing, or a count mismatch — the newer one supersedes;
* **another living arrangement** (:func:`arrangement_conflict`): living with someone vs
  alone or in one's own place ("I live with my parents." / "I moved into my own
  apartment.") — memory's own word rule, as the DNLI schema has no relation for it;
* **another look** (:func:`look_conflict`): opposite words for the same feature ("I have
  long hair." / "my hair is short"), which the judge reads as the same topic — memory's
  own word rule too;
* neither: the judge decides alone.

Memory compares *states over time*, so it treats the two DNLI workplace relations
(``employed_by_company``, ``employed_by_general``) as one slot: "I work at a bank." then
"I work at a school now." is a change of workplace.

>>> from consona.types import Triple
>>> slot_conflict([Triple("i", "employed_by_company", "bank")],
...               [Triple("i", "employed_by_general", "school")])
'workplace bank vs school'
>>> slot_conflict([Triple("i", "like_music", "jazz")], [Triple("i", "like_music", "rock")])
>>> same_value([Triple("i", "has_profession", "nurse")], [Triple("i", "has_profession", "nurse")])
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from consona.nli.clash import clash
from consona.nli.schema import SINGLE_VALUED, object_tokens, triple_relation
from consona.nli.triples import GENERIC_OBJECTS, RuleTripleExtractor, stem
from consona.types import Triple

__all__ = [
    "FIRST_PERSON",
    "SlotReader",
    "arrangement_conflict",
    "fact_triples",
    "look_conflict",
    "negated",
    "same_value",
    "slot_conflict",
    "slot_relations",
]

# Relations memory reads as one slot (a person has one current workplace).
_SLOT_OF = {
    "employed_by_company": "employed_by_company",
    "employed_by_general": "employed_by_company",
}
# Relations whose clash rules consona.nli.clash knows in detail (compatible values such as
# "Dallas" / "Texas" or "nurse" / "midwife" are not a conflict there); for the other
# single-valued relations a different object with no word in common is one. (Age is not
# left to the judge's rule, which allows a year either way for a rounded age: in memory a
# new age is a birthday.)
_CLASH_RULED = frozenset(
    {
        "has_profession", "live_in_citystatecountry", "place_origin",
        "physical_attribute", "diet", "marital_status", "gender", "job_status",
    }
)  # fmt: skip
_NEGATIVE = frozenset({"not_have", "dislike"})
MAX_VALUE_WORDS = 4  # a slot value is a short phrase ("high school", "new york city")
_SELF = frozenset({None, "", "i", "me", "my", "myself"})
_PRONOUN_OBJECTS = frozenset({"it", "them", "that", "this", "those", "these", "one", "he", "she"})
_NEGATION = re.compile(r"\b(?:not|no|never|none|nothing|nobody|neither|nor)\b|n't\b", re.I)
FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|ours|ourselves)\b", re.I)


def _norm(t: Triple) -> Triple | None:
    """The triple as memory compares it (speaker as ``i``, workplace relations as one
    slot), or None when it is not about the speaker, names nothing, or its object is a
    clause rather than a value (more than :data:`MAX_VALUE_WORDS` content words: the
    extractor did not find the value, e.g. ``favorite_music_artist`` = "once saw him in
    concert with yo-yo ma")."""
    subject = (t.subject or "").strip().lower() or None
    if subject not in _SELF or not t.relation or not t.object:
        return None
    obj = t.object.strip().lower()
    if not obj or obj in _PRONOUN_OBJECTS or len(object_tokens(obj)) > MAX_VALUE_WORDS:
        return None
    if t.relation == "has_age":  # "25 years old" → "25", as the judge's rules write it
        m = re.search(r"\d+s?", obj)
        if m is None:
            return None
        obj = m.group(0)
    return Triple("i", _SLOT_OF.get(t.relation, t.relation), obj)


def slot_relations(relation: str) -> list[str]:
    """The stored relations that hold a value of the same slot as ``relation``.

    >>> slot_relations("employed_by_general"), slot_relations("has_age")
    (['employed_by_company', 'employed_by_general'], ['has_age'])
    """
    slot = _SLOT_OF.get(relation, relation)
    return sorted({r for r, s in _SLOT_OF.items() if s == slot} | {relation})


def _specific(obj: str) -> bool:
    words = object_tokens(obj) - _PRONOUN_OBJECTS
    return bool(words - set(GENERIC_OBJECTS))


def slot_conflict(old: Sequence[Triple], new: Sequence[Triple]) -> str | None:
    """Why a fact with triples ``new`` states another value of a one-value slot than one
    with triples ``old`` (None when no pair of triples conflicts)."""
    old, new = _normed(old), _normed(new)
    for a in old:
        for b in new:
            try:
                reason = clash(a, b)
            except ValueError:  # an object in a form the rules do not read
                reason = None
            if reason:
                return reason
            if (
                a.relation == b.relation
                and a.relation in SINGLE_VALUED
                and a.relation not in _CLASH_RULED
                and not a.relation.startswith("favorite_")  # clash rules favourites too
                and _specific(a.object)
                and _specific(b.object)
                and triple_relation(a, b) == "contradiction"
            ):
                name = "workplace" if a.relation == "employed_by_company" else a.relation
                return f"{name} {a.object} vs {b.object}"
    return None


def same_value(
    old: Sequence[Triple], new: Sequence[Triple], texts: tuple[str, str] | None = None
) -> bool:
    """Do the two facts state the same value of the same relation (a specific object,
    named in both ``texts`` when given: a value the extractor inferred, such as
    ``job_status employed`` from "I work at a bank.", says too little to call two facts
    one)?

    >>> t = [Triple("i", "job_status", "employed")]
    >>> same_value(t, t), same_value(t, t, ("I work at a bank.", "I work at a school."))
    (True, False)
    """
    old, new = _normed(old), _normed(new)
    words = [_words(x) for x in texts] if texts else None
    return any(
        a.relation == b.relation
        and _specific(a.object)
        and triple_relation(a, b) == "entailment"
        and (words is None or all(_words(a.object) <= w or _words(b.object) <= w for w in words))
        for a in old
        for b in new
    )


def _normed(triples: Sequence[Triple]) -> list[Triple]:
    return [n for n in (_norm(t) for t in triples) if n is not None]


def _words(text: str) -> set[str]:
    return {stem(w) for w in object_tokens(text)} - {stem(w) for w in _PRONOUN_OBJECTS}


_LIVE = r"(?:live|living|lives|stay|staying|moved|moving|move)"
_WITH_SOMEONE = re.compile(rf"\b{_LIVE} (?:back )?(?:in )?with (?!my own\b)\w+", re.I)
_ON_ONE_S_OWN = re.compile(
    rf"\b{_LIVE} (?:all )?(?:alone|by myself|on my own)\b|\bmoved out\b|"
    rf"\b{_LIVE} (?:in|into) (?:a place of )?my own (?:place|apartment|flat|house|home|condo)\b",
    re.I,
)


def arrangement_conflict(old: str, new: str) -> str | None:
    """Do the two first-person facts state different living arrangements (with someone vs
    alone / in one's own place)? Negated facts decide nothing here.

    >>> arrangement_conflict("I live with my parents.", "I moved into my own apartment.")
    'living arrangement: with someone vs on my own'
    >>> arrangement_conflict("I live alone.", "I moved in with my boyfriend.")
    'living arrangement: on my own vs with someone'
    >>> arrangement_conflict("I live with my parents.", "I live in Ohio."), arrangement_conflict(
    ...     "I live with my parents.", "I do not live alone.")
    (None, None)
    >>> arrangement_conflict("I live with my wife.", "I bought my own house.")
    """
    if negated(old) or negated(new):
        return None

    def kind(text: str) -> str | None:
        alone, together = _ON_ONE_S_OWN.search(text), _WITH_SOMEONE.search(text)
        if bool(alone) == bool(together):
            return None
        return "on my own" if alone else "with someone"

    a, b = kind(old), kind(new)
    if a and b and a != b:
        return f"living arrangement: {a} vs {b}"
    return None


# features a person has one of at a time, and the opposite words that describe them
_FEATURES = frozenset({"hair", "beard", "nails", "moustache", "mustache"})
_OPPOSITES = (("long", "short"), ("straight", "curly"), ("straight", "wavy"), ("thick", "thin"))


def look_conflict(old: str, new: str) -> str | None:
    """Do the two facts describe the same feature (hair, beard, nails) with opposite words?
    Negated facts decide nothing here.

    >>> look_conflict("I have long hair.", "my hair is short.")
    'hair: long vs short'
    >>> look_conflict("I have long hair.", "I love long walks."), look_conflict(
    ...     "I have long hair.", "I have a short commute.")
    (None, None)
    """
    if negated(old) or negated(new):
        return None
    a, b = set(re.findall(r"[a-z]+", old.lower())), set(re.findall(r"[a-z]+", new.lower()))
    for feature in sorted(_FEATURES & a & b):
        for x, y in _OPPOSITES:
            for u, v in ((x, y), (y, x)):
                if u in a and v in b and v not in a and u not in b:
                    return f"{feature}: {u} vs {v}"
    return None


def negated(text: str) -> bool:
    """Does the statement carry a negation ("not", "never", "n't", …)?

    >>> negated("I am not a student."), negated("I don't drink."), negated("I am a nurse.")
    (True, True, False)
    """
    return bool(_NEGATION.search(text))


def fact_triples(
    text: str, stored: Iterable[tuple[Any, Any, Any]] = (), *, reader: Any = None
) -> list[Triple]:
    """The normalised triples of one fact: the ``stored`` (subject, relation, object)
    ones (from the extractor) and those ``reader`` (``extract(text)``) finds in ``text``.
    A stored triple that lost the text's negation ("I am not a student." as
    ``school_status student``) is left out.

    >>> fact_triples("I am not a student.", [("i", "school_status", "student")])
    []
    """
    out: list[Triple] = []
    text_negated = negated(text)
    for s, r, o in stored:
        if r and o and text_negated and r not in _NEGATIVE and not negated(str(o)):
            continue
        if r and o and not _credible(text, str(r), str(o)):
            continue
        if r and o:
            t = _norm(Triple(s or "i", str(r), str(o)))
            if t is not None and t not in out:
                out.append(t)
    if reader is not None:
        for raw in reader.extract(text):
            t = _norm(raw)
            if t is not None and t not in out:
                out.append(t)
    return out


_FAVOURITE_WORD = re.compile(r"\b(?:favou?rites?|faves?|favs?|number one)\b", re.I)
# words a tagger's object can be made of that name nothing: modals, auxiliaries,
# prepositions, pronouns ("I must have been mistaken." → employed_by_general "must")
_NOT_OBJECTS = frozenset(
    ("a", "an", "the", "at", "in", "on", "to", "for", "of", "with", "from", "by", "must",
     "can", "could", "would", "should", "will", "may", "might", "shall", "do", "does", "did",
     "is", "am", "are", "was", "were", "be", "been", "have", "has", "had", "it", "that",
     "this", "they", "them", "he", "she", "him", "her", "i", "me", "my", "you", "your", "we",
     "new", "so", "just", "really", "very", "too", "also", "not")
)  # fmt: skip


def _credible(text: str, relation: str, obj: str) -> bool:
    """Whether an extractor triple may speak for the fact in the slot rules: its object
    names something (not "must" from "I must have been mistaken.", not "at" from "I work
    at at."), and a favourite is one only when the fact says so ("favorite", "fave", "number
    one"): "I like mexican pizza." is a liking, not a favourite food that another food would
    conflict with, and "She could be my stepmom." is no favourite at all.

    >>> _credible("I must have been mistaken.", "employed_by_general", "must")
    False
    >>> _credible("I like mexican pizza.", "favorite_food", "pizza")
    False
    >>> _credible("My favorite food is pizza.", "favorite_food", "pizza")
    True
    >>> _credible("I moved to the US.", "live_in_citystatecountry", "the us")
    True
    """
    if not set(object_tokens(obj)) - _NOT_OBJECTS:
        return False
    return not relation.startswith("favorite") or bool(_FAVOURITE_WORD.search(text))


class SlotReader:
    """The judge's triple extractor with a cache (``extractor``: anything with
    ``extract(text) -> list[Triple]``; default: the judge's own, else the rules).

    >>> SlotReader().extract("I am 25 years old.")
    [Triple(subject='i', relation='has_age', object='25')]
    """

    def __init__(self, extractor: Any = None, *, nli: Any = None) -> None:
        if extractor is None:
            extractor = getattr(nli, "extractor", None)
        if extractor is None or not hasattr(extractor, "extract"):
            extractor = RuleTripleExtractor()
        self.extractor = extractor
        self._cached = lru_cache(maxsize=20_000)(self._extract)

    def _extract(self, text: str) -> tuple[Triple, ...]:
        return tuple(self.extractor.extract(text))

    def extract(self, text: str) -> list[Triple]:
        return list(self._cached(text))
