"""The ``llm`` extractor: any ChatBackend, a few-shot prompt, JSON-schema constrained output.

The model answers ``{"facts": [{"text": "I am a nurse.", "relation": "has_profession",
"object": "nurse"}]}``. Output that is not valid JSON is repaired where possible (code
fences, trailing prose, a bare list, plain strings); what cannot be read yields no facts.
Facts that share no content word with the utterance (inventions) and facts from
questions are dropped.

>>> from consona.testing import FakeBackend
>>> ex = LLMExtractor(FakeBackend(['{"facts": [{"text": "I am a nurse."}]}']))
>>> [f.text for f in ex.extract(Turn(speaker="a", text="i've been a nurse for ten years lol"))]
['I am a nurse.']
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from consona.errors import BackendError
from consona.extraction.base import extract_batch_by_loop
from consona.extraction.text import is_small_talk
from consona.text import shares_content_word, tokens
from consona.types import Fact, Turn

__all__ = ["FACTS_SCHEMA", "FEW_SHOT", "LLMExtractor", "create_llm", "parse_facts"]

log = logging.getLogger(__name__)

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "relation": {"type": ["string", "null"]},
                    "object": {"type": ["string", "null"]},
                },
                "required": ["text"],
            },
        }
    },
    "required": ["facts"],
}

SYSTEM = (
    "Extract persona facts about the SPEAKER of one chat utterance: lasting facts such as "
    "job, family, pets, hobbies, likes, home, age, plans, possessions. Write each as a short "
    "first-person sentence. Nothing from questions, greetings, small talk, hypotheticals or "
    "remarks about the listener; never invent. Optional: relation (snake_case, e.g. "
    "has_profession, like_food, have_pet) and object. Reply only with JSON "
    '{"facts": [{"text": ..., "relation": ..., "object": ...}]}; {"facts": []} if none.'
)

FEW_SHOT: list[tuple[str, dict[str, Any]]] = [
    (
        "i've been a nurse for ten years lol, what do you do?",
        {"facts": [{"text": "I am a nurse.", "relation": "has_profession", "object": "nurse"}]},
    ),
    ("lol ok. Do you have any pets?", {"facts": []}),
    (
        "Yes! My son is in junior high and I just got back from the gym.",
        {"facts": [
            {"text": "I have a son in junior high.", "relation": "have_children", "object": "son"},
            {"text": "I go to the gym.", "relation": "like_activity", "object": "gym"},
        ]},
    ),
    ("If I won the lottery I would buy a boat.", {"facts": []}),
    (
        "That sounds fun. I love mexican food, can not get enough!",
        {"facts": [{"text": "I like mexican food.", "relation": "like_food",
                    "object": "mexican food"}]},
    ),
]  # fmt: skip


def parse_facts(text: str) -> list[dict[str, Any]]:
    """Fact dicts from a model reply, tolerating fences, prose around the JSON, a bare list
    and plain strings. Unreadable output gives []."""
    t = re.sub(r"```(?:json)?", "", text or "").strip()
    obj: Any = None
    for candidate in (t, *_json_spans(t)):
        try:
            obj = json.loads(candidate)
            break
        except (json.JSONDecodeError, ValueError):
            continue
    if isinstance(obj, dict):
        obj = obj.get("facts", [])
    if not isinstance(obj, list):
        return []
    out = []
    for item in obj:
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            continue
        if not item["text"].strip():
            continue
        out.append(
            {
                "text": item["text"].strip(),
                "relation": item.get("relation") if isinstance(item.get("relation"), str) else None,
                "object": item.get("object") if isinstance(item.get("object"), str) else None,
            }
        )
    return out


def _json_spans(t: str) -> list[str]:
    spans = []
    for open_, close in (("{", "}"), ("[", "]")):
        i, j = t.find(open_), t.rfind(close)
        if 0 <= i < j:
            spans.append(t[i : j + 1])
    return spans


class LLMExtractor:
    """Persona facts from a chat model.

    >>> from consona.testing import FakeBackend
    >>> ex = LLMExtractor(FakeBackend(["not json at all"]))
    >>> ex.extract(Turn(speaker="a", text="i have a cat"))
    []
    """

    name = "llm"

    def __init__(
        self,
        backend: Any,
        *,
        few_shot: Sequence[tuple[str, dict[str, Any]]] = FEW_SHOT,
        max_tokens: int = 200,
        temperature: float = 0.0,
        seed: int | None = 0,
        use_schema: bool = True,
    ) -> None:
        self.backend = backend
        self.few_shot = list(few_shot)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.use_schema = use_schema
        self.failures = 0

    def messages(self, turn: Turn, context: Sequence[Turn] = ()) -> list[dict[str, str]]:
        msgs = [{"role": "system", "content": SYSTEM}]
        for utt, ans in self.few_shot:
            msgs.append({"role": "user", "content": f"Utterance: {utt}"})
            msgs.append({"role": "assistant", "content": json.dumps(ans)})
        ctx = "".join(f"(earlier) {c.text[:300]}\n" for c in context[-2:])
        msgs.append({"role": "user", "content": f"{ctx}Utterance: {turn.text[:2000]}"})
        return msgs

    def extract(self, turn: Turn, *, context: Sequence[Turn] = ()) -> list[Fact]:
        if is_small_talk(turn.text) or (
            turn.text.strip().endswith("?") and len(tokens(turn.text)) < 12
        ):
            return []
        try:
            gen = self.backend.generate(
                self.messages(turn, context),
                n=1,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                seed=self.seed,
                json_schema=FACTS_SCHEMA if self.use_schema else None,
            )
            reply = gen.texts[0] if gen.texts else ""
        except BackendError as exc:
            self.failures += 1
            log.debug("llm extractor: backend failed on %r: %s", turn.text[:80], exc)
            return []
        facts = []
        for item in parse_facts(reply):
            text = item["text"]
            if text.endswith("?") or not shares_content_word(text, turn.text):
                continue
            text = text[0].upper() + text[1:]
            if text[-1] not in ".!":
                text += "."
            facts.append(
                Fact(
                    text=text,
                    subject="i" if item["relation"] else None,
                    relation=item["relation"] or None,
                    object=item["object"] or None,
                    confidence=0.8,
                )
            )
        return facts

    def extract_batch(
        self, turns: Sequence[Turn], *, contexts: Sequence[Sequence[Turn]] | None = None
    ) -> list[list[Fact]]:
        return extract_batch_by_loop(self, turns, contexts)


def create_llm(*, backend: Any = None, nli: Any = None, settings: Any = None) -> LLMExtractor:
    """Registry factory: ``backend`` is a ChatBackend, a backend name or None (default)."""
    if backend is None or isinstance(backend, str):
        from consona.backends.base import load_backend

        backend = load_backend(backend, settings=settings)
    return LLMExtractor(backend)
