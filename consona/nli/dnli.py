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

import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from consona.formats.dnli import read_dnli_dialogues
from consona.nli.schema import (
    COUNTED,
    HAVE,
    POSITIVE,
    SINGLE_VALUED,
    Triple,
    pair_label,
    triple_relation,
)

__all__ = [
    "COUNTED",
    "HAVE",
    "SINGLE_VALUED",
    "Annotated",
    "Triple",
    "dnli_pairs",
    "pair_label",
    "read_triples_file",
    "triple_relation",
]


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().lower())


@dataclass
class Annotated:
    text: str
    triples: list[Triple]
    persona: bool


def read_triples_file(path: Path) -> Iterator[Annotated]:
    """Every persona sentence and utterance of a DNLI-triples file, in file order."""
    for dialogue in read_dnli_dialogues(path):
        for _, text, triples in dialogue.persona_lines:
            yield Annotated(text, triples, True)
        for text, triples in dialogue.turns:
            yield Annotated(text, triples, False)


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
