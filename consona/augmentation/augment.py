"""Persona augmentation: distractor facts, paraphrase, drop, shuffle — recorded per example.

>>> from consona.testing import FakeNLI
>>> from consona.types import Example, Persona, Turn
>>> ex = Example(id="d1:1", speaker="b", persona=Persona(facts=["I have two dogs."]),
...              context=[Turn(speaker="a", text="pets?")], response="I have two dogs.",
...              used_facts=[0], source={"dialogue_id": "d1"})
>>> pool = DistractorPool([("d2", "I like jazz."), ("d3", "I am a nurse.")])
>>> out, stats = augment_examples([ex], pool=pool, nli=FakeNLI(), seed=0,
...                               config=AugmentConfig(distractors=1, drop_prob=0, empty_prob=0))
>>> len(out[0].persona.facts), len(out[0].distractor_facts)
(2, 1)
>>> stats["with_unused_before"], stats["with_unused_after"]
(0, 1)
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from consona.augmentation.config import AugmentConfig
from consona.nli.base import CONTRADICTION, ENTAILMENT, NLIModel
from consona.nli.models import predict_unique
from consona.types import Example, Fact, Persona

__all__ = ["STAT_KEYS", "DistractorPool", "augment_examples", "has_unused_fact"]

STAT_KEYS = (
    "examples",
    "with_unused_before",
    "with_unused_after",
    "empty_before",
    "empty_after",
    "distractors_added",
    "distractors_rejected_nli",
    "distractors_short",
    "facts_dropped",
    "personas_emptied",
    "shuffled",
    "paraphrased",
)


class DistractorPool:
    """Facts of other speakers to draw distractors from: ``(group, text)`` pairs, where a
    fact is never drawn for an example of the same group (the same dialogue).

    >>> pool = DistractorPool([("d1", "I like tea."), ("d2", "I ride horses.")])
    >>> pool.sample(random.Random(0), exclude_group="d1", n=5)
    ['I ride horses.']
    """

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        seen: set[tuple[str, str]] = set()
        self.entries: list[tuple[str, str]] = []
        for group, text in entries:
            key = (group, text.strip().lower())
            if key not in seen:
                seen.add(key)
                self.entries.append((group, text))

    def __len__(self) -> int:
        return len(self.entries)

    def sample(
        self, rng: random.Random, *, exclude_group: str, n: int, exclude_texts: Iterable[str] = ()
    ) -> list[str]:
        """Up to ``n`` distinct fact texts from other groups, in random order."""
        if n <= 0 or not self.entries:
            return []
        banned = {t.strip().lower() for t in exclude_texts}
        out: list[str] = []
        order = rng.sample(range(len(self.entries)), k=min(len(self.entries), max(4 * n, 16)))
        for i in order:
            group, text = self.entries[i]
            low = text.strip().lower()
            if group == exclude_group or low in banned:
                continue
            banned.add(low)
            out.append(text)
            if len(out) == n:
                break
        return out


def has_unused_fact(example: Example) -> bool:
    """True when the persona holds at least one fact the response does not use."""
    return len(example.persona.facts) > len(set(example.used_facts))


def augment_examples(
    examples: Sequence[Example],
    *,
    pool: DistractorPool,
    nli: NLIModel,
    seed: int,
    config: AugmentConfig | None = None,
    paraphraser: Any = None,
) -> tuple[list[Example], dict[str, int]]:
    """Augment ``examples`` (each with a per-example RNG seeded by ``seed`` and its id, so
    the result never depends on batching or worker). Returns the new examples and counts
    (``STAT_KEYS``). Each example's ``meta["augmentation"]`` records what was done."""
    config = config or AugmentConfig()
    stats = dict.fromkeys(STAT_KEYS, 0)
    rngs = [random.Random(f"{seed}:{ex.id}") for ex in examples]

    chosen = _choose_distractors(examples, rngs, pool=pool, nli=nli, seed=seed, config=config,
                                 stats=stats)  # fmt: skip

    # 2. which facts to paraphrase (one batched, cached call for all)
    to_paraphrase: list[list[int]] = []
    texts: list[str] = []
    for ex, picked, rng in zip(examples, chosen, rngs, strict=True):
        n = len(ex.persona.facts) + len(picked)
        idx = [
            i for i in range(n) if config.paraphrase_prob and rng.random() < config.paraphrase_prob
        ]
        to_paraphrase.append(idx if paraphraser is not None else [])
        all_texts = ex.persona.fact_texts() + picked
        texts.extend(all_texts[i] for i in to_paraphrase[-1])
    rewritten = iter(paraphraser.paraphrase(texts) if texts else [])

    out: list[Example] = []
    for ex, picked, rng, para_idx in zip(examples, chosen, rngs, to_paraphrase, strict=True):
        out.append(_augment_one(ex, picked, rng, para_idx, rewritten, config, stats))
    return out, stats


def _choose_distractors(
    examples: Sequence[Example],
    rngs: list[random.Random],
    *,
    pool: DistractorPool,
    nli: NLIModel,
    seed: int,
    config: AugmentConfig,
    stats: dict[str, int],
) -> list[list[str]]:
    """Distractors per example, NLI-checked in two batched calls.

    Candidates are drawn once per persona (examples of one speaker in one dialogue share
    it) and checked against every persona fact (no contradiction); each example then
    tries them in its own random order against its response (neither entailed nor
    contradicted). This keeps NLI pairs per example small: ``k * oversample`` + the
    persona checks shared by the speaker's examples."""
    k = config.distractors
    if not k:
        return [[] for _ in examples]
    thr = config.nli_threshold
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for ex in examples:
        key = (str(ex.source.get("dialogue_id", ex.id)), tuple(ex.persona.fact_texts()))
        if key not in groups:
            rng = random.Random(f"{seed}:{key[0]}:{ex.speaker}:{'|'.join(key[1])}")
            n = 2 * k * config.distractor_oversample
            groups[key] = pool.sample(rng, exclude_group=key[0], n=n, exclude_texts=key[1])
    persona_probs = predict_unique(
        nli,
        [(f, c) for (_, facts), cands in groups.items() for c in cands for f in facts],
        prefilter=config.lexical_prefilter,
    )
    compatible: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for key, cands in groups.items():
        ok = [c for c in cands if all(persona_probs[(f, c)][CONTRADICTION] < thr for f in key[1])]
        stats["distractors_rejected_nli"] += len(cands) - len(ok)
        compatible[key] = ok
    tries: list[list[str]] = []
    for ex, rng in zip(examples, rngs, strict=True):
        key = (str(ex.source.get("dialogue_id", ex.id)), tuple(ex.persona.fact_texts()))
        ok = compatible[key]
        tries.append(rng.sample(ok, k=min(len(ok), k * config.distractor_oversample)))
    response_probs = predict_unique(
        nli,
        [(ex.response, c) for ex, cands in zip(examples, tries, strict=True) for c in cands],
        prefilter=config.lexical_prefilter,
    )
    chosen: list[list[str]] = []
    for ex, cands in zip(examples, tries, strict=True):
        picked: list[str] = []
        for c in cands:
            row = response_probs[(ex.response, c)]
            if row[ENTAILMENT] < thr and row[CONTRADICTION] < thr:
                picked.append(c)
                if len(picked) == k:
                    break
            else:
                stats["distractors_rejected_nli"] += 1
        chosen.append(picked)
    return chosen


def _augment_one(
    ex: Example,
    picked: list[str],
    rng: random.Random,
    para_idx: list[int],
    rewritten: Any,
    config: AugmentConfig,
    stats: dict[str, int],
) -> Example:
    stats["examples"] += 1
    stats["with_unused_before"] += has_unused_fact(ex)
    stats["empty_before"] += not ex.persona.facts
    speaker = ex.speaker
    facts = list(ex.persona.facts) + [Fact(text=t, speaker=speaker) for t in picked]
    n_orig = len(ex.persona.facts)
    used = set(ex.used_facts)
    distract = set(ex.distractor_facts) | set(range(n_orig, len(facts)))
    stats["distractors_added"] += len(picked)
    stats["distractors_short"] += len(picked) < config.distractors
    record: dict[str, Any] = {"distractors": list(picked)}

    paraphrased: list[dict[str, Any]] = []
    for i in para_idx:
        new = next(rewritten)
        if new != facts[i].text:
            paraphrased.append({"original": facts[i].text, "paraphrase": new})
            facts[i] = facts[i].model_copy(update={"text": new})
    stats["paraphrased"] += len(paraphrased)
    record["paraphrased"] = paraphrased

    keep = list(range(len(facts)))
    emptied = bool(config.empty_prob) and rng.random() < config.empty_prob
    if emptied:
        keep = []
    elif config.drop_prob:
        keep = [
            i
            for i in keep
            if (i in used and not config.drop_used) or not rng.random() < config.drop_prob
        ]
    dropped = [facts[i].text for i in range(len(facts)) if i not in keep]
    stats["facts_dropped"] += len(dropped)
    stats["personas_emptied"] += emptied and bool(facts)
    record["dropped"] = dropped
    record["emptied"] = emptied

    if config.shuffle and len(keep) > 1:
        rng.shuffle(keep)
        record["order"] = list(keep)
        stats["shuffled"] += 1
    record["shuffled"] = config.shuffle and len(keep) > 1

    new_index = {old: new for new, old in enumerate(keep)}
    persona: Persona = ex.persona.model_copy(update={"facts": [facts[i] for i in keep]})
    result = ex.model_copy(
        update={
            "persona": persona,
            "used_facts": sorted(new_index[i] for i in used if i in new_index),
            "distractor_facts": sorted(new_index[i] for i in distract if i in new_index),
            "meta": {**ex.meta, "augmentation": record},
        }
    )
    stats["with_unused_after"] += has_unused_fact(result)
    stats["empty_after"] += not result.persona.facts
    return result
