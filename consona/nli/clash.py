"""When two persona triples cannot both hold: the clash rules of the structured check.

A conflicting value of a single-valued relation (ages more than a year apart, two jobs of
different kinds, two homes neither of which contains the other, …), a negated relation on
the same thing or a thing it is a kind of (like ↔ dislike, have ↔ not_have: "german
shepherd" ↔ "no pets"), or a count mismatch ("five sons" ↔ "one child").

>>> from consona.types import Triple
>>> clash(Triple("i", "has_age", "30"), Triple("i", "has_age", "52"))
'age 30 vs 52'
>>> clash(Triple("i", "have_pet", "dog"), Triple("i", "not_have", "cat")) is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from consona.nli.lexicon import (
    DAIRY_EGG,
    HAIR_COMPATIBLE,
    JOB_GROUP,
    MEAT,
    hypernyms,
    place,
    region_of,
    singular,
)
from consona.nli.schema import HAVE, SCHOOL_STAGES, SINGLE_VALUED, Triple
from consona.nli.triples import GENERIC_OBJECTS, content_stems, stem

__all__ = ["Clash", "check_triples", "clash"]


@dataclass(frozen=True)
class Clash:
    """Why two sets of triples cannot both hold (``fired``), with the two triples."""

    fired: bool
    reason: str = ""
    premise: Triple | None = None
    hypothesis: Triple | None = None

    def __bool__(self) -> bool:
        return self.fired


_NO_CLASH = Clash(False)


def _split_count(obj: str) -> tuple[int | None, str]:
    m = re.match(r"^(\d+) (.+)$", obj)
    return (int(m.group(1)), m.group(2)) if m else (None, obj)


def _specific(obj: str) -> set[str]:
    words = content_stems(obj)
    spec = {w for w in words if w not in {stem(g) for g in GENERIC_OBJECTS}}
    return spec


def _objects_meet(a: str, b: str) -> bool:
    """Do two like/dislike objects talk about the same thing?"""
    sa, sb = _specific(a), _specific(b)
    if sa and sb:
        return bool(sa & sb)
    if not sa and not sb:
        return bool(content_stems(a) & content_stems(b))
    return False


def _is_kind_of(thing: str, cls: str) -> bool:
    """``thing`` is ``cls`` or a kind of it ("german shepherd" is a "pet")."""
    return singular(cls) in hypernyms(thing) or content_stems(singular(cls)) <= content_stems(thing)


def clash(a: Triple, b: Triple) -> str | None:
    """The reason two first-person triples cannot both hold, or None."""
    ra, rb = a.relation, b.relation
    if {ra, rb} == {"dislike"} or (ra == rb == "like_general"):
        return None
    # like vs dislike (either side), have vs dislike
    for x, y in ((a, b), (b, a)):
        if (
            (y.relation == "dislike" and x.relation in ("like_general", "like_activity"))
            or (y.relation == "dislike" and x.relation.startswith("favorite_"))
        ) and _objects_meet(x.object, y.object):
            return f"{x.relation} vs dislike: {y.object}"
        if y.relation == "dislike" and x.relation in HAVE and x.relation != "have":
            _, noun = _split_count(x.object)
            if any(_objects_meet(h, y.object) for h in hypernyms(noun)[:2]):
                return f"{x.relation} vs dislike: {y.object}"
        if y.relation == "not_have" and x.relation in HAVE:
            _, noun = _split_count(x.object)
            if _is_kind_of(noun, y.object):
                return f"{x.relation} vs not_have: {y.object}"
    if ra in HAVE and rb in HAVE and ra != "have":
        ca, na = _split_count(a.object)
        cb, nb = _split_count(b.object)
        if ca is not None and cb is not None and ca != cb:
            if singular(na) == singular(nb):
                return f"count {ca} vs {cb}: {singular(na)}"
            # five sons vs one child: the general class holds at least as many
            if _is_kind_of(na, nb) and cb < ca:
                return f"count {ca} {na} vs {cb} {nb}"
            if _is_kind_of(nb, na) and ca < cb:
                return f"count {ca} {na} vs {cb} {nb}"
        return None
    if ra != rb:
        return _cross(a, b) or _cross(b, a)
    if ra not in SINGLE_VALUED and ra not in ("physical_attribute", "diet", "employed_by_general"):
        return None
    if a.object == b.object:
        return None
    if ra == "school_status":
        return _school_clash(a.object, b.object)
    if ra == "employed_by_general":
        overlap = content_stems(a.object) & content_stems(b.object)
        return None if overlap else f"workplace {a.object} vs {b.object}"
    if ra == "has_age":
        lo_a, hi_a = _age_range(a.object)
        lo_b, hi_b = _age_range(b.object)
        return f"age {a.object} vs {b.object}" if lo_a > hi_b + 1 or lo_b > hi_a + 1 else None
    if ra == "has_profession":
        ga, gb = JOB_GROUP.get(a.object), JOB_GROUP.get(b.object)
        if (
            ga is not None
            and gb is not None
            and ga != gb
            and not (content_stems(a.object) & content_stems(b.object))
        ):
            return f"job {a.object} vs {b.object}"
        return None
    if ra == "live_in_citystatecountry":
        return _places_clash(a.object, b.object)
    if ra == "place_origin":
        return _places_clash(a.object, b.object, origin=True)
    if ra == "physical_attribute":
        pa, _, va = a.object.partition(" ")
        pb, _, vb = b.object.partition(" ")
        if pa != pb:
            return None
        sa, sb = set(va.split()), set(vb.split())
        if sa & sb or any(
            (x, y) in HAIR_COMPATIBLE or (y, x) in HAIR_COMPATIBLE for x in sa for y in sb
        ):
            return None
        return f"{pa} {va} vs {vb}"
    if ra == "diet":
        return (
            None
            if {a.object, b.object} <= {"vegan", "vegetarian"}
            else f"diet {a.object} vs {b.object}"
        )
    if ra == "marital_status":
        pair = {a.object, b.object}
        clashing = "married" in pair or pair in ({"single", "widowed"}, {"single", "engaged"})
        return f"marital {a.object} vs {b.object}" if clashing else None
    if ra == "gender":
        return f"gender {a.object} vs {b.object}"
    if ra == "job_status":
        pair = {a.object, b.object}
        return f"job status {a.object} vs {b.object}" if "employed" in pair else None
    if ra.startswith("favorite_"):
        return (
            f"{ra} {a.object} vs {b.object}"
            if not _objects_meet(a.object, b.object)
            and content_stems(a.object)
            and content_stems(b.object)
            else None
        )
    return None


def _school_clash(a: str, b: str) -> str | None:
    """Attending two school stages, or one and having finished it or a later one (objects
    of the rule extractor: "in college", "finished high school"); other objects: None."""

    def stage(obj: str) -> tuple[str, int] | None:
        kind, _, level = obj.partition(" ")
        n = SCHOOL_STAGES.get(level)
        return (kind, n) if kind in ("in", "finished") and n is not None else None

    sa, sb = stage(a), stage(b)
    if sa is None or sb is None:
        return None
    (ka, na), (kb, nb) = sa, sb
    if ka == kb == "in" and na != nb:
        return f"school {a} vs {b}"
    if ka != kb:
        attending, finished = (na, nb) if ka == "in" else (nb, na)
        if attending <= finished:
            return f"school {a} vs {b}"
    return None


def _age_range(obj: str) -> tuple[int, int]:
    """``"40"`` → (40, 40); a decade ``"60s"`` → (60, 69)."""
    if obj.endswith("s"):
        lo = int(obj[:-1])
        return lo, lo + 9
    return int(obj), int(obj)


def _cross(a: Triple, b: Triple) -> str | None:
    """Clashes between different relations."""
    ra, rb = a.relation, b.relation
    if (
        ra == "job_status"
        and a.object in ("retired", "unemployed", "stay at home")
        and rb == "has_profession"
    ):
        return f"{a.object} vs job {b.object}"
    if ra == "diet" and a.object in ("vegan", "vegetarian"):
        words = content_stems(b.object) | set(re.findall(r"[a-z]+", b.object))
        if rb in ("like_general", "favorite_food", "like_food") and words & MEAT:
            return f"{a.object} vs {b.object}"
        if (
            a.object == "vegan"
            and rb in ("like_general", "favorite_food", "like_food")
            and words & DAIRY_EGG
        ):
            return f"vegan vs {b.object}"
    if ra == "has_age" and rb == "has_age":
        return None
    return None


def _places_clash(a: str, b: str, *, origin: bool = False) -> str | None:
    pa, pb = place(a), place(b)
    if not pa or not pb:
        return None
    (la, na, ca), (lb, nb, cb) = pa, pb
    if ca != cb:
        return f"{'from' if origin else 'lives in'} {a} vs {b}"
    if la == lb and na != nb and la in ("state", "country"):
        return f"{'from' if origin else 'lives in'} {a} vs {b}"
    if {la, lb} == {"city", "state"}:
        city, state = (na, nb) if la == "city" else (nb, na)
        region = region_of(city)
        if region is not None and region != state:
            return f"{'from' if origin else 'lives in'} {a} vs {b}"
    return None


def check_triples(extractor: Any, premise: str, hypothesis: str) -> Clash:
    """Does any triple of ``hypothesis`` clash with one of ``premise``?"""
    pt = extractor.extract(premise)
    if not pt:
        return _NO_CLASH
    ht = extractor.extract(hypothesis)
    for a in pt:
        for b in ht:
            reason = clash(a, b)
            if reason:
                return Clash(True, reason, a, b)
    return _NO_CLASH
