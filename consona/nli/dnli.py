"""Dialogue-NLI-style pairs from human (subject, relation, object) triples.

The rules of Welleck et al. (2019), applied to ConvAI2's annotated persona sentences and
utterances (``convai2-dnli-triples``):

* same triple → **entailment**;
* same subject and relation with a *conflicting* object, for single-valued relations
  (age, name, job, marital status, favourite X, …) or a different count of the same
  thing ("2 dog" vs "3 dog") → **contradiction**;
* a flipped relation (like/favourite X vs dislike X, have X vs not_have X) with the same
  object → **contradiction**;
* different relations (or a multi-valued relation with unrelated objects) → **neutral**.

Premises are always persona sentences (consona judges an utterance against a persona
fact); hypotheses are persona sentences or utterances.

>>> t1, t2 = Triple("i", "has_age", "30"), Triple("i", "has_age", "52")
>>> pair_label([t1], [t2])
'contradiction'
>>> pair_label([t1], [Triple("i", "like_food", "pizza")])
'neutral'
"""

from __future__ import annotations

import ast
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

SINGLE_VALUED = {
    "has_age",
    "marital_status",
    "gender",
    "has_profession",
    "job_status",
    "school_status",
    "live_in_citystatecountry",
    "place_origin",
    "employed_by_company",
    "favorite_color",
    "favorite_food",
    "favorite_music_artist",
    "favorite_music",
    "favorite_movie",
    "favorite_season",
    "favorite_place",
    "favorite_hobby",
    "favorite_animal",
    "favorite_sport",
    "favorite_book",
    "favorite_drink",
    "name",
}
COUNTED = {"have_pet", "have_chidren", "have_children", "have_sibling", "have_vehicle", "have"}
POSITIVE = re.compile(r"^(like_|favorite)")
HAVE = {
    "have",
    "own",
    "have_pet",
    "have_chidren",
    "have_children",
    "have_vehicle",
    "have_sibling",
    "have_family",
}
IGNORED = {"other", "<blank>", ""}
_STOP = {"a", "an", "the", "my", "of", "to", "and", "in", "on", "for", "i", "is", "be"}


class Triple(NamedTuple):
    subject: str
    relation: str
    object: str


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().lower())


def _tokens(obj: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", obj.lower()) if w not in _STOP}


def _count_split(obj: str) -> tuple[str, str] | None:
    m = re.match(r"^(\d+)\s+(.+)$", obj)
    return (m.group(1), m.group(2)) if m else None


def triple_relation(a: Triple, b: Triple) -> str | None:
    """Label implied by one pair of triples, or None when the rules cannot tell."""
    if a.subject != b.subject:
        return "neutral" if a.relation != b.relation else None
    if a == b:
        return "entailment"
    ra, rb = a.relation, b.relation
    same_obj = a.object == b.object or (
        bool(_tokens(a.object)) and _tokens(a.object) == _tokens(b.object)
    )
    if {ra, rb} & {"dislike"} and ra != rb:
        other = rb if ra == "dislike" else ra
        if POSITIVE.match(other):
            return "contradiction" if same_obj else "neutral"
    if {ra, rb} & {"not_have"} and ra != rb:
        other = rb if ra == "not_have" else ra
        if other in HAVE:
            ca, cb = _count_split(a.object), _count_split(b.object)
            noun_a = ca[1] if ca else a.object
            noun_b = cb[1] if cb else b.object
            return "contradiction" if _tokens(noun_a) & _tokens(noun_b) else "neutral"
    if ra != rb:
        return "neutral"
    if same_obj:
        return "entailment"
    if ra in COUNTED:
        ca, cb = _count_split(a.object), _count_split(b.object)
        if ca and cb and ca[1] == cb[1] and ca[0] != cb[0]:
            return "contradiction"
        return None if (_tokens(a.object) & _tokens(b.object)) else "neutral"
    if ra in SINGLE_VALUED:
        # overlapping objects ("horror" vs "horror movies") are too close to call
        return "contradiction" if not (_tokens(a.object) & _tokens(b.object)) else None
    return "neutral" if not (_tokens(a.object) & _tokens(b.object)) else None


def pair_label(premise: list[Triple], hypothesis: list[Triple]) -> str | None:
    """Combine the triple-pair labels of two sentences; None when ambiguous."""
    labels = {triple_relation(a, b) for a in premise for b in hypothesis}
    if not labels:
        return None
    if None in labels and labels - {None, "neutral"}:
        return None
    if "contradiction" in labels:
        return None if "entailment" in labels else "contradiction"
    if "entailment" in labels:
        return "entailment"
    if None in labels:
        return None
    return "neutral"


@dataclass
class Annotated:
    text: str
    triples: list[Triple]
    persona: bool


def _parse_triples(cells: Iterable[str]) -> list[Triple]:
    out = []
    for cell in cells:
        cell = cell.strip()
        if not cell.startswith("["):
            continue
        try:
            value = ast.literal_eval(cell)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, list | tuple) and len(value) == 3:
            t = Triple(*(_norm(str(v)) for v in value))
            if t.relation not in IGNORED and t.object not in IGNORED:
                out.append(t)
    return out


def read_triples_file(path: Path) -> Iterator[Annotated]:
    """Lines ``... persona: TEXT\\t[s, r, o]`` and ``N\\tUTTERANCE\\t[s, r, o]...``."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            cells = line.rstrip("\n").split("\t")
            head = cells[0]
            if "persona:" in head:
                text = head.split("persona:", 1)[1].strip()
                yield Annotated(text, _parse_triples(cells[1:]), True)
            elif len(cells) >= 2 and head.strip().isdigit():
                yield Annotated(cells[1].strip(), _parse_triples(cells[2:]), False)


def dnli_pairs(
    items: Iterable[Annotated],
    *,
    split_of: Callable[[str], str],
    per_item: int = 2,
    per_label: dict[str, int] | None = None,
    seed: int = 13,
) -> Iterator[dict[str, str]]:
    """Sample up to ``per_item`` partners of each label (``per_label`` overrides per label)
    for every annotated sentence.

    The premise is always a persona sentence of the same split as the hypothesis when
    that is a persona sentence too (utterances go with their premise's split).
    """
    rng = random.Random(seed)
    personas: dict[str, Annotated] = {}
    hyps: dict[str, Annotated] = {}
    for it in items:
        if not it.triples:
            continue
        key = _norm(it.text)
        if it.persona:
            personas.setdefault(key, it)
        hyps.setdefault(key, it)
    by_triple: dict[Triple, list[str]] = defaultdict(list)
    by_subj_rel: dict[tuple[str, str], list[str]] = defaultdict(list)
    by_subject: dict[str, list[str]] = defaultdict(list)
    for key, it in sorted(personas.items()):
        for t in it.triples:
            by_triple[t].append(key)
            by_subj_rel[(t.subject, t.relation)].append(key)
            by_subject[t.subject].append(key)
    persona_keys = sorted(personas)
    for hkey in sorted(hyps):
        h = hyps[hkey]
        hsplit = split_of(hkey) if h.persona else None
        candidates: dict[str, set[str]] = {"entailment": set(), "contradiction": set()}
        for t in h.triples:
            candidates["entailment"].update(by_triple.get(t, ()))
            rels = [t.relation]
            if t.relation == "dislike":
                rels += [r for (s, r) in by_subj_rel if s == t.subject and POSITIVE.match(r)]
            elif POSITIVE.match(t.relation):
                rels.append("dislike")
            elif t.relation in HAVE:
                rels.append("not_have")
            elif t.relation == "not_have":
                rels += sorted(HAVE)
            for r in rels:
                candidates["contradiction"].update(by_subj_rel.get((t.subject, r), ()))
        chosen: dict[str, list[str]] = {}
        for label in ("entailment", "contradiction"):
            pool = sorted(candidates[label] - {hkey})
            rng.shuffle(pool)
            chosen[label] = pool
        limits = {lab: (per_label or {}).get(lab, per_item) for lab in chosen}
        limits["neutral"] = (per_label or {}).get("neutral", per_item)
        neutral_pool = [
            persona_keys[rng.randrange(len(persona_keys))] for _ in range(8 * limits["neutral"])
        ]
        chosen["neutral"] = [k for k in neutral_pool if k != hkey]
        for label, pool in chosen.items():
            taken = 0
            for pkey in pool:
                if taken >= limits[label]:
                    break
                if hsplit is not None and split_of(pkey) != hsplit:
                    continue
                got = pair_label(personas[pkey].triples, h.triples)
                if got != label:
                    continue
                taken += 1
                yield {
                    "premise": personas[pkey].text,
                    "hypothesis": h.text,
                    "label": label,
                    "split_key": pkey,
                }
