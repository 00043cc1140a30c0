"""The shared vocabulary of consona: facts, personas, turns, dialogues and examples.

>>> p = Persona(name="Ada", facts=[Fact(text="I have two dogs.")])
>>> d = Dialogue(id="d1", turns=[Turn(speaker="Ada", text="hi! my dogs say hi too")],
...              personas={"Ada": p})
>>> d.persona_of("Ada").fact_texts()
['I have two dogs.']

Every model validates on construction; a bad value raises ``DataValidationError`` with
the field and the reason. ``Persona`` carries every Character Card V2/V3 field, and any
field it does not know (and every ``extensions`` entry) is kept as it was.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from consona.errors import DataValidationError

__all__ = [
    "CARD_V2_FIELDS",
    "CARD_V3_FIELDS",
    "Dialogue",
    "Example",
    "Fact",
    "Persona",
    "Triple",
    "Turn",
    "validate",
]


class Triple(NamedTuple):
    """A persona fact as (subject, relation, object) in the Dialogue-NLI relation schema
    (see :mod:`consona.nli.schema`).

    >>> Triple("i", "have_pet", "2 dog").relation
    'have_pet'
    """

    subject: str
    relation: str
    object: str


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise DataValidationError(_explain(type(self).__name__, exc)) from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict without empty optional fields."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)

    @classmethod
    def from_dict(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise DataValidationError(
                f"{cls.__name__}: expected a JSON object, got {type(data).__name__}"
            )
        return cls(**data)


def _explain(what: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ())) or "(value)"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return f"invalid {what}: " + "; ".join(parts)


def validate(model: type[_Model], data: Any) -> Any:
    """Build ``model`` from a dict, raising ``DataValidationError`` with a clear message."""
    return model.from_dict(data)


class Fact(_Model):
    """One persona fact: a first-person statement, optionally with its triple.

    >>> Fact(text="I am a nurse.", relation="has_profession", object="nurse").triple
    (None, 'has_profession', 'nurse')
    """

    text: str
    subject: str | None = None
    relation: str | None = None
    object: str | None = None
    speaker: str | None = None
    source_turn: int | None = Field(default=None, ge=0)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("a fact's text must not be empty")
        return v

    @property
    def triple(self) -> tuple[str | None, str | None, str | None] | None:
        if self.relation is None and self.object is None and self.subject is None:
            return None
        return (self.subject, self.relation, self.object)


# Character Card V2 `data` fields, in spec order, and the fields V3 adds.
CARD_V2_FIELDS = (
    "name",
    "description",
    "personality",
    "scenario",
    "first_mes",
    "mes_example",
    "creator_notes",
    "system_prompt",
    "post_history_instructions",
    "alternate_greetings",
    "character_book",
    "tags",
    "creator",
    "character_version",
    "extensions",
)
CARD_V3_FIELDS = (
    *CARD_V2_FIELDS,
    "assets",
    "nickname",
    "creator_notes_multilingual",
    "source",
    "group_only_greetings",
    "creation_date",
    "modification_date",
)


class Persona(BaseModel):
    """A speaker's persona: a name, facts, and every Character Card V2/V3 field.

    Unknown card fields are kept as extra attributes and written back unchanged.

    >>> p = Persona(name="Kai", facts=["I surf every morning."], tags=["beach"])
    >>> p.facts[0].text
    'I surf every morning.'
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    name: str = ""
    facts: list[Fact] = Field(default_factory=list)
    # Character Card V2
    description: str | None = None
    personality: str | None = None
    scenario: str | None = None
    first_mes: str | None = None
    mes_example: str | None = None
    creator_notes: str | None = None
    system_prompt: str | None = None
    post_history_instructions: str | None = None
    alternate_greetings: list[str] | None = None
    character_book: dict[str, Any] | None = None
    tags: list[str] | None = None
    creator: str | None = None
    character_version: str | None = None
    extensions: dict[str, Any] | None = None
    # Character Card V3
    assets: list[dict[str, Any]] | None = None
    nickname: str | None = None
    creator_notes_multilingual: dict[str, str] | None = None
    source: list[str] | None = None
    group_only_greetings: list[str] | None = None
    creation_date: int | None = None
    modification_date: int | None = None

    def __init__(self, **data: Any) -> None:
        facts = data.get("facts")
        if isinstance(facts, list):
            data["facts"] = [Fact(text=f) if isinstance(f, str) else f for f in facts]
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise DataValidationError(_explain("Persona", exc)) from None

    def fact_texts(self) -> list[str]:
        return [f.text for f in self.facts]

    def extra_fields(self) -> dict[str, Any]:
        """Fields this model does not know, kept as they were read."""
        return dict(self.__pydantic_extra__ or {})

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_dict(cls, data: Any) -> Persona:
        if not isinstance(data, dict):
            raise DataValidationError(f"Persona: expected a JSON object, got {type(data).__name__}")
        return cls(**data)


class Turn(_Model):
    """One utterance in a dialogue.

    >>> Turn(speaker="user", text="hello").text
    'hello'
    """

    speaker: str
    text: str
    id: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("speaker")
    @classmethod
    def _speaker_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("a turn's speaker must not be empty")
        return v


class Dialogue(_Model):
    """A conversation: turns in order and a persona per speaker.

    >>> Dialogue(id="x", turns=[Turn(speaker="a", text="hi")]).speakers()
    ['a']
    """

    id: str
    turns: list[Turn] = Field(default_factory=list)
    personas: dict[str, Persona] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)

    def speakers(self) -> list[str]:
        """Speakers in order of first appearance (turns first, then persona-only ones)."""
        seen: dict[str, None] = {}
        for t in self.turns:
            seen.setdefault(t.speaker, None)
        for s in self.personas:
            seen.setdefault(s, None)
        return list(seen)

    def persona_of(self, speaker: str) -> Persona:
        return self.personas.get(speaker) or Persona(name=speaker)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "turns": [t.to_dict() for t in self.turns],
            **(
                {"personas": {k: p.to_dict() for k, p in self.personas.items()}}
                if self.personas
                else {}
            ),
            **({"meta": self.meta} if self.meta else {}),
        }


class Example(_Model):
    """A training / evaluation example: a speaker's persona, the context, the response.

    ``used_facts`` and ``distractor_facts`` are indices into ``persona.facts``.

    >>> ex = Example(id="e1", speaker="bot", persona=Persona(facts=["I like tea."]),
    ...              context=[Turn(speaker="user", text="tea or coffee?")],
    ...              response="tea, always.", used_facts=[0])
    >>> ex.persona.facts[ex.used_facts[0]].text
    'I like tea.'
    """

    id: str
    speaker: str
    persona: Persona = Field(default_factory=Persona)
    context: list[Turn] = Field(default_factory=list)
    response: str
    used_facts: list[int] = Field(default_factory=list)
    distractor_facts: list[int] = Field(default_factory=list)
    source: dict[str, Any] = Field(default_factory=dict)
    meta: dict[str, Any] = Field(default_factory=dict)
