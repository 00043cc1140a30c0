"""Per-dialogue aggregation: extract every turn, verify, merge duplicates per speaker and
flag contradictions between a speaker's own facts.

Duplicates: near-identical wording (ROUGE-L ≥ ``dup_rouge``) or, with NLI, entailment both
ways. The first occurrence is kept (its ``source_turn``), with the highest confidence.
Contradictions (NLI, P(contradiction) ≥ 0.5, between facts that share a content word) are
listed in ``persona.extensions["consona"]["contradictions"]`` as
``{"facts": [i, j], "texts": [...], "turns": [...], "confidence": p}``.

>>> from consona.testing import FakeExtractor, FakeNLI
>>> from consona.types import Turn
>>> d = Dialogue(id="d", turns=[Turn(speaker="a", text="i have two dogs"),
...                             Turn(speaker="b", text="cool. do you walk them?"),
...                             Turn(speaker="a", text="i have two dogs lol")])
>>> out = extract_dialogue(d, FakeExtractor(), nli=FakeNLI())
>>> [(f.text, f.source_turn) for f in out.personas["a"].facts]
[('I have two dogs.', 0)]
>>> out.personas["b"].facts
[]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from consona.extraction.base import Extractor
from consona.extraction.verify import VerifiedExtractor, Verifier, other_speaker
from consona.nli.base import CONTRADICTION, ENTAILMENT, NLIModel
from consona.nli.models import load_nli_model
from consona.text import rouge_l, shares_content_word
from consona.types import Dialogue, Fact, Persona

__all__ = ["extract_dialogue", "merge_facts"]


def extract_dialogue(
    dialogue: Dialogue,
    extractor: Extractor,
    *,
    nli: NLIModel | None = None,
    verify: bool = True,
    context_turns: int = 2,
    dup_rouge: float = 0.85,
) -> Dialogue:
    """``dialogue`` with per-speaker persona facts filled in (existing facts kept first).

    With ``verify`` (default) facts are checked by ``Verifier`` with ``nli`` (or the
    extractor's own NLI, or the default consona NLI model)."""
    turns = dialogue.turns
    contexts = [turns[max(0, i - context_turns) : i] for i in range(len(turns))]
    raw = extractor.extract_batch(turns, contexts=contexts) if turns else []
    inner_nli = (
        getattr(extractor, "nli", None) if isinstance(extractor, VerifiedExtractor) else None
    )
    if verify and nli is None and inner_nli is None:
        nli = load_nli_model()
    nli = nli or inner_nli
    others = [other_speaker(turns, i) for i in range(len(turns))]
    if verify and not isinstance(extractor, VerifiedExtractor):
        raw = Verifier(nli).verify_many(turns, raw, others=others)
    per_speaker: dict[str, list[Fact]] = {}
    for i, (turn, facts) in enumerate(zip(turns, raw, strict=True)):
        for f in facts:
            speaker = f.speaker or turn.speaker
            f2 = f.model_copy(update={"speaker": speaker, "source_turn": i})
            per_speaker.setdefault(speaker, []).append(f2)
    personas: dict[str, Persona] = {}
    for speaker in dialogue.speakers():
        old = dialogue.persona_of(speaker)
        facts = merge_facts(
            [*old.facts, *per_speaker.get(speaker, [])], nli=nli, dup_rouge=dup_rouge
        )
        persona = old.model_copy(deep=True)
        persona.facts = facts
        if not persona.name:
            persona.name = speaker
        flags = _contradictions(facts, nli) if nli is not None else []
        ext = dict(persona.extensions or {})
        block = dict(ext.get("consona") or {})
        block["contradictions"] = flags
        ext["consona"] = block
        persona.extensions = ext
        personas[speaker] = persona
    return dialogue.model_copy(update={"personas": personas})


def merge_facts(
    facts: Sequence[Fact], *, nli: NLIModel | None = None, dup_rouge: float = 0.85
) -> list[Fact]:
    """Facts without duplicates, in first-seen order (keeping the highest confidence)."""
    kept: list[Fact] = []
    for f in facts:
        dup = next((k for k, g in enumerate(kept) if rouge_l(f.text, g.text) >= dup_rouge), None)
        if dup is not None:
            kept[dup] = _keep_best(kept[dup], f)
            continue
        kept.append(f)
    if nli is None or len(kept) < 2:
        return kept
    pairs, idx = [], []
    for i in range(len(kept)):
        for j in range(i + 1, len(kept)):
            if (
                shares_content_word(kept[i].text, kept[j].text)
                and kept[i].speaker == kept[j].speaker
            ):
                pairs += [(kept[i].text, kept[j].text), (kept[j].text, kept[i].text)]
                idx.append((i, j))
    if not pairs:
        return kept
    probs = nli.predict(pairs)
    drop: set[int] = set()
    for k, (i, j) in enumerate(idx):
        if i in drop or j in drop:
            continue
        a, b = probs[2 * k], probs[2 * k + 1]
        if a[ENTAILMENT] >= 0.5 and b[ENTAILMENT] >= 0.5:
            kept[i] = _keep_best(kept[i], kept[j])
            drop.add(j)
    return [f for k, f in enumerate(kept) if k not in drop]


def _keep_best(first: Fact, other: Fact) -> Fact:
    if (other.confidence or 0.0) > (first.confidence or 0.0):
        return first.model_copy(update={"confidence": other.confidence})
    return first


def _contradictions(facts: Sequence[Fact], nli: NLIModel) -> list[dict[str, Any]]:
    idx = [
        (i, j)
        for i in range(len(facts))
        for j in range(i + 1, len(facts))
        if shares_content_word(facts[i].text, facts[j].text)
    ]
    if not idx:
        return []
    probs = nli.predict([(facts[i].text, facts[j].text) for i, j in idx])
    out = []
    for (i, j), p in zip(idx, probs, strict=True):
        if p[CONTRADICTION] >= 0.5:
            out.append(
                {
                    "facts": [i, j],
                    "texts": [facts[i].text, facts[j].text],
                    "turns": [facts[i].source_turn, facts[j].source_turn],
                    "confidence": round(float(p[CONTRADICTION]), 4),
                }
            )
    return out
