"""The ``llm`` extractor: any ChatBackend, a few-shot prompt, JSON-schema constrained output.

The model answers ``{"facts": [{"text": "I am a nurse.", "subject": "i", "relation":
"has_profession", "object": "nurse"}]}``, or ``{"facts": []}`` (PPDS's "none") when the
utterance reveals nothing about the speaker. Each fact is a statement plus its triple in the
Dialogue-NLI schema: with a backend that takes ``json_schema`` the relation is constrained to
:data:`~consona.extraction.relations.DNLI_RELATIONS`; without one, a relation outside them is
mapped where the spelling differs (``have_children`` → ``have_chidren``) and dropped otherwise
(the statement stays). Output that is not valid JSON is repaired where possible (code
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
from consona.extraction.relations import DNLI_RELATIONS, is_dnli_relation
from consona.extraction.text import is_small_talk
from consona.text import shares_content_word, tokens
from consona.types import Fact, Turn

__all__ = [
    "FACTS_SCHEMA", "FEW_SHOT", "LLMExtractor", "create_llm", "normalize_relation", "parse_facts",
]  # fmt: skip

log = logging.getLogger(__name__)

MAX_FACTS = 3  # the most facts one utterance gives (keeps constrained answers short)

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "maxItems": MAX_FACTS,
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "subject": {"type": "string"},
                    "relation": {"type": "string", "enum": list(DNLI_RELATIONS)},
                    "object": {"type": "string"},
                },
                # only text is required: a statement with no triple in the schema stays
                # (MSC statements); the few-shot answers always give all four
                "required": ["text"],
            },
        }
    },
    "required": ["facts"],
}

SYSTEM = (
    "Extract persona facts about the SPEAKER of one chat utterance: lasting facts such as "
    "job, family, pets, hobbies, likes, home, age, plans, possessions. Nothing from "
    "questions, greetings, small talk, hypotheticals or remarks about the listener; never "
    "invent. For each fact give: text (a short first-person sentence), subject ('i', or "
    "the speaker's relative such as 'my father'), relation (one of: "
    + ", ".join(DNLI_RELATIONS)
    + ") and object (a few words, lower case, numbers as digits, e.g. '2 dog', 'nurse', "
    "'30'). Most important fact first. Reply only with JSON "
    '{"facts": [{"text": ..., "subject": ..., "relation": ..., "object": ...}]}; '
    '{"facts": []} if none.'
)


def _fact(text: str, relation: str, obj: str, subject: str = "i") -> dict[str, str]:
    return {"text": text, "subject": subject, "relation": relation, "object": obj}


FEW_SHOT: list[tuple[str, dict[str, Any]]] = [
    (
        "i've been a nurse for ten years lol, what do you do?",
        {"facts": [_fact("I am a nurse.", "has_profession", "nurse")]},
    ),
    ("lol ok. Do you have any pets?", {"facts": []}),
    (
        "Yes! My son is in junior high and I have two cats.",
        {"facts": [
            _fact("I have a son in junior high.", "have_chidren", "son"),
            _fact("I have two cats.", "have_pet", "2 cat"),
        ]},
    ),
    ("If I won the lottery I would buy a boat.", {"facts": []}),
    (
        "That sounds fun. I love mexican food, can not get enough!",
        {"facts": [_fact("I like mexican food.", "like_food", "mexican food")]},
    ),
    ("you must be a great cook then.", {"facts": []}),
    (
        "not bad , just tired today . i work two jobs at the hospital .",
        {"facts": [_fact("I work at a hospital.", "employed_by_general", "hospital")]},
    ),
    (
        "my dad was a cop and i hate the cold weather here in ohio",
        {"facts": [
            _fact("My father was a police officer.", "has_profession", "police officer",
                  "my father"),
            _fact("I dislike cold weather.", "dislike", "cold weather"),
            _fact("I live in Ohio.", "live_in_citystatecountry", "ohio"),
        ]},
    ),
]  # fmt: skip

# Spellings of other schemas → the DNLI one (used when no schema constrained the output).
RELATION_ALIASES = {
    "have_children": "have_chidren",
    "has_children": "have_chidren",
    "has_pet": "have_pet",
    "has_job": "has_profession",
    "profession": "has_profession",
    "job": "has_profession",
    "age": "has_age",
    "like": "like_general",
    "likes": "like_general",
    "hobby": "has_hobby",
    "live_in": "live_in_general",
    "lives_in": "live_in_general",
}


def normalize_relation(name: str | None) -> str | None:
    """A DNLI relation from a model's relation name (case, spaces, known aliases); None
    when it is not one.

    >>> normalize_relation("Have Children"), normalize_relation("has_pet"), normalize_relation("x")
    ('have_chidren', 'have_pet', None)
    """
    if not name:
        return None
    key = "_".join(name.strip().lower().replace("-", " ").split())
    key = RELATION_ALIASES.get(key, key)
    return key if is_dnli_relation(key) else None


def _norm_subject(subject: str | None) -> str:
    s = " ".join((subject or "").lower().split()).strip(" .")
    return "i" if s in {"", "i", "me", "myself", "speaker", "the speaker", "user"} else s


def parse_facts(text: str) -> list[dict[str, Any]]:
    """Fact dicts (``text``, ``relation``, ``object``, and ``subject`` when the reply has
    one) from a model reply, tolerating fences, prose around the JSON, a bare list and plain
    strings. Unreadable output gives []."""
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
        fact = {
            "text": item["text"].strip(),
            "relation": item.get("relation") if isinstance(item.get("relation"), str) else None,
            "object": item.get("object") if isinstance(item.get("object"), str) else None,
        }
        if isinstance(item.get("subject"), str):
            fact["subject"] = item["subject"]
        out.append(fact)
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
            relation = normalize_relation(item["relation"])
            obj = " ".join((item["object"] or "").lower().split()).strip(" .!,") or None
            facts.append(
                Fact(
                    text=text,
                    subject=_norm_subject(item.get("subject")) if relation else None,
                    relation=relation,
                    object=obj if relation else None,
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
