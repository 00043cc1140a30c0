"""Build stages for one shard: extract personas → make examples → mark used facts (NLI) →
augment → rows. A shard is the unit of work, so any executor gives the same rows.

>>> from consona.testing import FakeNLI
>>> from consona.types import Dialogue, Fact, Turn
>>> class OneFact:  # an Extractor: every "I ..." sentence is a fact
...     name = "demo"
...     def extract_batch(self, turns, *, contexts=None):
...         return [[Fact(text=t.text)] if t.text.startswith("I ") else [] for t in turns]
>>> d = Dialogue(id="d", turns=[Turn(speaker="a", text="pets?"),
...                             Turn(speaker="b", text="I have two dogs.")])
>>> shard = ShardInput("shard-00000", [{"dialogue": d.to_dict(), "file": "x", "line": 1,
...                                     "index": 0}])
>>> parts = Components(extractor=OneFact(), nli=FakeNLI())
>>> result = process_shard(shard, parts, BuildConfig(extractor="demo", nli="fake"))
>>> [(r["id"], r["persona_facts"], r["used_facts"]) for r in result.rows]
[('d:1', ['I have two dogs.'], [0])]
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from consona.augmentation import DistractorPool, augment_examples
from consona.augmentation.augment import STAT_KEYS
from consona.extraction.verify import load_extractor
from consona.nli.base import ENTAILMENT, NLIModel
from consona.nli.models import load_nli_model, predict_unique
from consona.pipeline.config import BuildConfig
from consona.types import Dialogue, Example, Fact, Persona, Turn

__all__ = [
    "Components",
    "ShardInput",
    "ShardResult",
    "example_row",
    "extract_personas",
    "load_components",
    "make_examples",
    "mark_used_facts",
    "model_id",
    "model_ids",
    "process_shard",
    "render_messages",
    "render_system",
]

FACT_BUCKETS = ("0", "1", "2", "3", "4", "5+")


@dataclass
class Components:
    """The models a build runs with; loaded once per worker."""

    extractor: Any
    nli: NLIModel
    paraphraser: Any = None


@dataclass
class ShardInput:
    """A shard's id and its source records (``{"dialogue": dict, "file", "line", "index"}``)."""

    shard_id: str
    records: list[dict[str, Any]]


@dataclass
class ShardResult:
    shard_id: str
    rows: list[dict[str, Any]]
    stats: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)


def load_components(
    config: BuildConfig, *, extractor: Any = None, nli: Any = None, backend: Any = None
) -> Components:
    """Models by name from ``config`` unless instances are given."""
    if nli is None:
        nli = load_nli_model(config.nli)
    if extractor is None:
        extractor = load_extractor(config.extractor)  # verified in extract_dialogue
    paraphraser = None
    if config.augment.paraphrase_prob and config.paraphrase_backend:
        from consona.augmentation.paraphrase import LLMParaphraser
        from consona.config import Settings

        if backend is None:
            from consona.backends import load_backend

            backend = load_backend(config.paraphrase_backend)
        paraphraser = LLMParaphraser(
            backend, cache_dir=Settings.load().home / "paraphrase", seed=config.seed
        )
    return Components(extractor=extractor, nli=nli, paraphraser=paraphraser)


def model_id(obj: Any) -> str | None:
    """A model object's identity for the run fingerprint: its ``model_id``, ``model_name``
    or ``name``, else its class name (None for no model)."""
    if obj is None:
        return None
    for attr in ("model_id", "model_name", "name"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(obj).__name__


def model_ids(components: Components) -> dict[str, str | None]:
    """Model identities that go into the run fingerprint."""
    return {
        "extractor": model_id(components.extractor),
        "nli": model_id(components.nli),
        "paraphrase": components.paraphraser.model_id if components.paraphraser else None,
    }


def extract_personas(
    dialogue: Dialogue, extractor: Any, *, nli: NLIModel | None = None, verify: bool = True
) -> Dialogue:
    """The dialogue with each speaker's persona facts extracted from their own turns
    (personas given in the input are replaced: the build learns from extraction)."""
    from consona.extraction.aggregate import extract_dialogue

    bare = dialogue.model_copy(update={"personas": {}})
    return extract_dialogue(bare, extractor, nli=nli, verify=verify)


def _in_scope(facts: Sequence[Fact], turn: int, scope: str) -> list[Fact]:
    if scope == "dialogue":
        return list(facts)
    if scope == "past":
        return [f for f in facts if f.source_turn is None or f.source_turn <= turn]
    return [f for f in facts if f.source_turn == turn]  # "response"


def make_examples(
    dialogue: Dialogue, *, config: BuildConfig, source: dict[str, Any]
) -> list[Example]:
    """One example per turn with at least ``min_context`` earlier turns: that speaker's
    persona (``config.persona_scope``: all their facts in the dialogue, facts from turns up
    to this one, or only facts from this response — PPDS's raw setting), up to
    ``context_turns`` earlier turns, the turn's text as the response."""
    out: list[Example] = []
    for i, turn in enumerate(dialogue.turns):
        if i < config.min_context or not turn.text.strip():
            continue
        persona = dialogue.persona_of(turn.speaker)
        context = [
            Turn(speaker=t.speaker, text=t.text)
            for t in dialogue.turns[max(0, i - config.context_turns) : i]
        ]
        out.append(
            Example(
                id=f"{dialogue.id}:{i}",
                speaker=turn.speaker,
                persona=Persona(
                    name=persona.name or turn.speaker,
                    facts=_in_scope(persona.facts, i, config.persona_scope),
                ),
                context=context,
                response=turn.text,
                source={**source, "dialogue_id": dialogue.id, "turn": i},
            )
        )
    return out


def mark_used_facts(
    examples: Sequence[Example], nli: NLIModel, *, threshold: float = 0.5, prefilter: bool = False
) -> list[Example]:
    """Set ``used_facts``: facts the response entails (NLI, premise = response)."""

    pairs = [(ex.response, f.text) for ex in examples for f in ex.persona.facts]
    probs = predict_unique(nli, pairs, prefilter=prefilter)
    return [
        ex.model_copy(
            update={
                "used_facts": [
                    i
                    for i, f in enumerate(ex.persona.facts)
                    if probs[(ex.response, f.text)][ENTAILMENT] >= threshold
                ]
            }
        )
        for ex in examples
    ]


def render_system(example: Example) -> str:
    """The persona as a system message."""
    facts = example.persona.fact_texts()
    if not facts:
        return "You are chatting with someone. Reply naturally and stay in character."
    lines = "\n".join(f"- {t}" for t in facts)
    return f"You are chatting with someone. Your persona:\n{lines}\nReply naturally and stay in character."


def render_messages(example: Example) -> list[dict[str, str]]:
    """Chat messages for SFT: system persona, context (the speaker's own turns as
    ``assistant``, everyone else as ``user``; consecutive same-role turns merged), reply."""
    messages = [{"role": "system", "content": render_system(example)}]
    for turn in [*example.context, Turn(speaker=example.speaker, text=example.response)]:
        role = "assistant" if turn.speaker == example.speaker else "user"
        if messages[-1]["role"] == role:
            messages[-1]["content"] += "\n" + turn.text
        else:
            messages.append({"role": role, "content": turn.text})
    if len(messages) > 1 and messages[1]["role"] == "assistant":
        messages.insert(1, {"role": "user", "content": "(conversation start)"})
    return messages


def example_row(example: Example) -> dict[str, Any]:
    """A flat row (Parquet column → value) for one example."""
    src = example.source
    return {
        "id": example.id,
        "dialogue_id": str(src.get("dialogue_id", "")),
        "turn": int(src.get("turn", 0)),
        "speaker": example.speaker,
        "persona_facts": example.persona.fact_texts(),
        "context": [{"speaker": t.speaker, "text": t.text} for t in example.context],
        "response": example.response,
        "used_facts": list(example.used_facts),
        "distractor_facts": list(example.distractor_facts),
        "source_file": str(src.get("file", "")),
        "source_line": src.get("line"),
        "source_index": int(src.get("index", 0)),
        "augmentation": json.dumps(example.meta.get("augmentation", {}), ensure_ascii=False),
        "messages": render_messages(example),
        "facts": json.dumps([f.to_dict() for f in example.persona.facts], ensure_ascii=False),
    }


def _bucket(n: int) -> str:
    return FACT_BUCKETS[min(n, len(FACT_BUCKETS) - 1)]


def process_shard(shard: ShardInput, components: Components, config: BuildConfig) -> ShardResult:
    """Run every stage on one shard; pure given the components and config."""
    stats: dict[str, Any] = {
        "dialogues": 0, "turns": 0, "speakers": 0, "speakers_with_facts": 0, "facts": 0,
        "turns_with_facts": 0, "examples": 0, "used_fact_links": 0,
        "facts_per_speaker": dict.fromkeys(FACT_BUCKETS, 0),
        "extract_seconds": 0.0, "nli_seconds": 0.0, "augment_seconds": 0.0,
    }  # fmt: skip
    examples: list[Example] = []
    pool: list[tuple[str, str]] = []
    for rec in shard.records:
        dialogue = Dialogue.from_dict(rec["dialogue"])
        t0 = time.perf_counter()
        dialogue = extract_personas(
            dialogue, components.extractor, nli=components.nli, verify=config.verify
        )
        stats["extract_seconds"] += time.perf_counter() - t0
        stats["dialogues"] += 1
        stats["turns"] += len(dialogue.turns)
        source_turns: set[int] = set()
        for speaker in dialogue.speakers():
            facts = dialogue.persona_of(speaker).facts
            stats["speakers"] += 1
            stats["speakers_with_facts"] += bool(facts)
            stats["facts"] += len(facts)
            stats["facts_per_speaker"][_bucket(len(facts))] += 1
            source_turns.update(f.source_turn for f in facts if f.source_turn is not None)
            pool.extend((dialogue.id, f.text) for f in facts)
        stats["turns_with_facts"] += len(source_turns)
        source = {"file": rec.get("file"), "line": rec.get("line"), "index": rec.get("index")}
        examples.extend(make_examples(dialogue, config=config, source=source))
    t0 = time.perf_counter()
    examples = mark_used_facts(
        examples,
        components.nli,
        threshold=config.augment.nli_threshold,
        prefilter=config.augment.lexical_prefilter,
    )
    stats["nli_seconds"] += time.perf_counter() - t0
    stats["used_fact_links"] = sum(len(ex.used_facts) for ex in examples)
    t0 = time.perf_counter()
    examples, aug = augment_examples(
        examples,
        pool=DistractorPool(pool),
        nli=components.nli,
        seed=config.seed,
        config=config.augment,
        paraphraser=components.paraphraser,
    )
    stats["augment_seconds"] += time.perf_counter() - t0
    stats["examples"] = len(examples)
    stats["augmentation"] = {k: aug.get(k, 0) for k in STAT_KEYS}
    return ShardResult(shard.shard_id, [example_row(ex) for ex in examples], stats)
