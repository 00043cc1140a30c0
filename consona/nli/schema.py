"""The one relation schema of persona triples, and the rules that read two triples.

Triples follow Dialogue NLI (Welleck et al., 2019): ``(subject, relation, object)`` with
relations such as ``have_pet``, ``like_music``, ``has_profession``. The rules:

* same triple → **entailment**;
* same subject and relation with a *conflicting* object, for single-valued relations
  (age, name, job, marital status, favourite X, …) or a different count of the same
  thing ("2 dog" vs "3 dog") → **contradiction**;
* a flipped relation (like/favourite X vs dislike X, have X vs not_have X) with the same
  object → **contradiction**;
* different relations (or a multi-valued relation with unrelated objects) → **neutral**.

Every part of consona that judges triples (the NLI training recipe, the dialogue
benchmark, the structured check of the judge, the DNLI ranking evaluation) uses these
sets and :func:`triple_relation`.

>>> t1, t2 = Triple("i", "has_age", "30"), Triple("i", "has_age", "52")
>>> pair_label([t1], [t2])
'contradiction'
>>> pair_label([t1], [Triple("i", "like_food", "pizza")])
'neutral'
>>> relation_group("favorite_music"), relation_group("not_have"), relation_group("has_age")
('like', 'have', 'attribute')
"""

from __future__ import annotations

import re

from consona.types import Triple

__all__ = [
    "COUNTED", "GROUPS", "HAVE", "IGNORED", "LIKES", "SCHOOL_STAGES", "SINGLE_VALUED", "Triple",
    "count_split", "negations", "object_tokens", "pair_label", "pair_label_group", "relation_group", "triple_relation",
]  # fmt: skip


# Relations that hold one value per person: another object contradicts.
SINGLE_VALUED = frozenset(
    {
        "has_age", "marital_status", "gender", "has_profession", "job_status",
        "school_status", "live_in_citystatecountry", "place_origin", "employed_by_company",
        "favorite_color", "favorite_food", "favorite_music_artist",
        "favorite_music", "favorite_movie", "favorite_season", "favorite_place",
        "favorite_hobby", "favorite_animal", "favorite_sport", "favorite_book",
        "favorite_drink", "name",
    }
)  # fmt: skip
# school stages in order (school_status objects "in <stage>" / "finished <stage>" of the rule
# triples): attending one contradicts attending another, or having finished it or a later one
SCHOOL_STAGES = {"middle school": 1, "junior high": 1, "high school": 2, "college": 3,
                 "university": 3, "grad school": 4, "graduate school": 4}  # fmt: skip
# Relations whose objects are counted things ("2 dog" vs "3 dog" contradict).
COUNTED = frozenset(
    {"have_pet", "have_chidren", "have_children", "have_sibling", "have_vehicle", "have"}
)
# Relations of possession: ``not_have`` with the same thing contradicts them.
HAVE = frozenset(
    {
        "have", "own", "have_pet", "have_chidren", "have_children", "have_vehicle",
        "have_sibling", "have_family",
    }
)  # fmt: skip
POSITIVE = re.compile(r"^(like_|favorite)")
NEGATIVE_LIKE = "dislike"
NEGATIVE_HAVE = "not_have"
IGNORED = frozenset({"other", "<blank>", ""})
GROUPS = ("have", "like", "attribute")
# Function words left out when two objects are compared ("a dog" == "dog").
OBJECT_STOP = frozenset(
    {"a", "an", "the", "my", "of", "to", "and", "in", "on", "for", "i", "is", "be"}
)


def relation_group(relation: str) -> str:
    """The DNLI consistency-evaluation group of a relation: have, like or attribute."""
    if relation in HAVE or relation == NEGATIVE_HAVE:
        return "have"
    if POSITIVE.match(relation) or relation in (NEGATIVE_LIKE, "has_hobby"):
        return "like"
    return "attribute"


LIKES = frozenset(
    {
        "like_general", "like_activity", "like_food", "like_music", "like_goto", "like_drink",
        "like_animal", "like_sports", "like_watching", "like_movie", "like_read",
        "favorite", "favorite_color", "favorite_food", "favorite_music_artist",
        "favorite_music", "favorite_movie", "favorite_season", "favorite_place",
        "favorite_hobby", "favorite_animal", "favorite_sport", "favorite_book",
        "favorite_drink",
    }
)  # fmt: skip


def negations(relation: str) -> frozenset[str]:
    """The relations that, with the same object, negate ``relation``.

    >>> sorted(negations("have_pet")), "like_music" in negations("dislike")
    (['not_have'], True)
    """
    if relation == NEGATIVE_LIKE:
        return LIKES
    if POSITIVE.match(relation):
        return frozenset({NEGATIVE_LIKE})
    if relation == NEGATIVE_HAVE:
        return HAVE
    if relation in HAVE:
        return frozenset({NEGATIVE_HAVE})
    return frozenset()


def object_tokens(obj: str) -> set[str]:
    """Content tokens of an object, for comparing two objects."""
    return {w for w in re.findall(r"[a-z0-9]+", obj.lower()) if w not in OBJECT_STOP}


def count_split(obj: str) -> tuple[str, str] | None:
    """``"2 dog"`` → ``("2", "dog")``; None without a leading count."""
    m = re.match(r"^(\d+)\s+(.+)$", obj)
    return (m.group(1), m.group(2)) if m else None


def triple_relation(a: Triple, b: Triple) -> str | None:
    """Label implied by one pair of triples, or None when the rules cannot tell."""
    if a.subject != b.subject:
        return "neutral" if a.relation != b.relation else None
    if a == b:
        return "entailment"
    ra, rb = a.relation, b.relation
    ta, tb = object_tokens(a.object), object_tokens(b.object)
    same_obj = a.object == b.object or (bool(ta) and ta == tb)
    if NEGATIVE_LIKE in (ra, rb) and ra != rb:
        other = rb if ra == NEGATIVE_LIKE else ra
        if POSITIVE.match(other):
            return "contradiction" if same_obj else "neutral"
    if NEGATIVE_HAVE in (ra, rb) and ra != rb:
        other = rb if ra == NEGATIVE_HAVE else ra
        if other in HAVE:
            ca, cb = count_split(a.object), count_split(b.object)
            noun_a = ca[1] if ca else a.object
            noun_b = cb[1] if cb else b.object
            return "contradiction" if object_tokens(noun_a) & object_tokens(noun_b) else "neutral"
    if ra != rb:
        return "neutral"
    if same_obj:
        return "entailment"
    if ra in COUNTED:
        ca, cb = count_split(a.object), count_split(b.object)
        if ca and cb and ca[1] == cb[1] and ca[0] != cb[0]:
            return "contradiction"
        return None if ta & tb else "neutral"
    if ra in SINGLE_VALUED:
        # overlapping objects ("horror" vs "horror movies") are too close to call
        return "contradiction" if not ta & tb else None
    return "neutral" if not ta & tb else None


def pair_label(premise: list[Triple], hypothesis: list[Triple]) -> str | None:
    """Combine the triple-pair labels of two sentences; None when ambiguous."""
    return pair_label_group(premise, hypothesis)[0]


def pair_label_group(
    premise: list[Triple], hypothesis: list[Triple]
) -> tuple[str | None, str | None]:
    """:func:`pair_label` and the group of the triples that decided it (for neutral
    pairs: the group of the hypothesis's first triple)."""
    found: dict[str | None, list[tuple[Triple, Triple]]] = {}
    for a in premise:
        for b in hypothesis:
            found.setdefault(triple_relation(a, b), []).append((a, b))
    labels = set(found)
    if not labels:
        return None, None
    label: str | None
    if None in labels and labels - {None, "neutral"}:
        label = None
    elif "contradiction" in labels:
        label = None if "entailment" in labels else "contradiction"
    elif "entailment" in labels:
        label = "entailment"
    elif None in labels:
        label = None
    else:
        label = "neutral"
    if label is None:
        return None, None
    deciding = found[label][0]
    pick = deciding[1] if label == "neutral" else deciding[0]
    group = relation_group(pick.relation)
    if label != "neutral":
        # a flip (like vs dislike) is grouped by its positive side
        group = relation_group(deciding[0].relation)
    return label, group
