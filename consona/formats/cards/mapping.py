"""Character Card V1/V2/V3 dicts ⇄ :class:`consona.types.Persona`, losslessly.

>>> card = {"spec": "chara_card_v2", "spec_version": "2.0",
...         "data": {"name": "Mira", "description": "A lighthouse keeper.", "mood": "calm"}}
>>> p = persona_from_card(card)
>>> p.name, p.description, p.extra_fields()["mood"]
('Mira', 'A lighthouse keeper.', 'calm')
>>> card_from_persona(p) == card
True

Mapping rules:

- every card ``data`` field goes to the ``Persona`` field of the same name; unknown ``data``
  fields become ``Persona`` extra fields; ``extensions`` is kept as it was (deep copy).
- consona's persona facts live in ``data.extensions.consona.facts`` (a list of ``Fact``
  dicts). On import they move to ``Persona.facts`` (and out of ``extensions``); on export
  they are put back. A card without them gives a persona without facts.
- everything else the card holds goes to the reserved extra field ``_card`` (:data:`RESERVED`),
  so that a card read and written again is the same dict:

  ``spec`` / ``spec_version``  what the card said (``spec`` is ``"chara_card_v1"`` for flat V1
                               cards); ``spec_version`` is reused when writing the same spec.
  ``top``                      unknown top-level fields (outside ``data``), verbatim.
  ``mirror``                   top-level fields that repeated a ``data`` field (SillyTavern
                               writes V1 fields next to ``data``); written from the persona.
  ``raw``                      ``data`` fields whose value does not fit the ``Persona`` type
                               (``null``, a number where the spec says text, ...), verbatim.
  ``absent``                   fields the spec requires but the card lacked (not filled in
                               when the card is written in the same spec).

  ``_card`` holds no local path: the PNG/CHARX a persona was read from is remembered beside
  the persona in memory (an export reuses its image and assets), so converting a card
  PNG → JSON → PNG → JSON gives the same JSON twice and a shared file carries no directory.

Exports fill the fields the target spec requires with empty values ("" / [] / {}).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Literal

from consona.errors import DataValidationError, FormatError
from consona.types import CARD_V2_FIELDS, CARD_V3_FIELDS, Fact, Persona

__all__ = [
    "RESERVED",
    "SPEC_V1",
    "SPEC_V2",
    "SPEC_V3",
    "CardSpec",
    "card_from_persona",
    "card_spec_of",
    "is_card",
    "persona_from_card",
]

RESERVED = "_card"
SPEC_V1 = "chara_card_v1"
SPEC_V2 = "chara_card_v2"
SPEC_V3 = "chara_card_v3"
CardSpec = Literal["v2", "v3"]

V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
_EMPTY: dict[str, Any] = {
    "name": "",
    "description": "",
    "personality": "",
    "scenario": "",
    "first_mes": "",
    "mes_example": "",
    "creator_notes": "",
    "system_prompt": "",
    "post_history_instructions": "",
    "alternate_greetings": [],
    "tags": [],
    "creator": "",
    "character_version": "",
    "extensions": {},
    "group_only_greetings": [],
}
_REQUIRED = {
    SPEC_V1: V1_FIELDS,
    SPEC_V2: tuple(f for f in CARD_V2_FIELDS if f != "character_book"),
    SPEC_V3: (*(f for f in CARD_V2_FIELDS if f != "character_book"), "group_only_greetings"),
}
_SPECS = {"v2": (SPEC_V2, "2.0"), "v3": (SPEC_V3, "3.0")}
_CARD_FIELDS = frozenset(CARD_V3_FIELDS)


def is_card(obj: Any) -> bool:
    """True for a V2/V3 card dict or a flat V1 card (name + first_mes/description, no facts)."""
    if not isinstance(obj, dict):
        return False
    if "spec" in obj:
        return obj.get("spec") in (SPEC_V2, SPEC_V3)
    return (
        isinstance(obj.get("name"), str)
        and ("first_mes" in obj or "description" in obj)
        and "facts" not in obj
        and "data" not in obj
    )


def card_spec_of(persona: Persona) -> CardSpec:
    """The spec a persona is written in by default: V3 if it was read from a V3 card (or
    CHARX), else V2 (the most widely read)."""
    rec = persona.extra_fields().get(RESERVED)
    return "v3" if isinstance(rec, dict) and rec.get("spec") == SPEC_V3 else "v2"


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _fits(field: str, value: Any) -> bool:
    """Whether ``value`` can be stored in ``Persona.<field>`` and dumped back unchanged
    (``null`` never can: an unset field is written as the spec's empty value)."""
    if value is None:
        return False
    try:
        p = Persona(**{field: value})
    except DataValidationError:
        return False
    dumped = p.model_dump(mode="json", include={field})[field]
    return _canon(dumped) == _canon(value)


def _facts_from_extensions(ext: dict[str, Any], where: dict[str, Any]) -> list[Fact]:
    """Pop ``consona.facts`` out of ``ext`` (in place) and return them as Facts."""
    own = ext.get("consona")
    if not isinstance(own, dict) or "facts" not in own:
        return []
    items = own["facts"]
    if not isinstance(items, list):
        raise FormatError(
            f"data.extensions.consona.facts must be a list, got {type(items).__name__}",
            hint="store facts as a list of {'text': ...} objects",
            **where,
        )
    if not items:
        return []  # left where it is, so the card round-trips unchanged
    facts = []
    for i, item in enumerate(items):
        try:
            if isinstance(item, str):
                facts.append(Fact(text=item))
            else:
                facts.append(Fact.from_dict(item))
        except DataValidationError as exc:
            raise FormatError(
                f"data.extensions.consona.facts[{i}]: {exc.message}",
                hint="each fact needs a non-empty 'text'",
                **where,
            ) from None
    del own["facts"]
    if not own:
        del ext["consona"]
    return facts


def persona_from_card(
    card: dict[str, Any],
    *,
    path: str | Path | None = None,
    chunk: str | None = None,
) -> Persona:
    """A ``Persona`` from a parsed V1, V2 or V3 card dict (the input is not modified).

    ``path`` and ``chunk`` name where the card came from in the ``FormatError`` raised for
    a card that cannot be read; they are not recorded in the persona.
    """
    where: dict[str, Any] = {"path": path, "chunk": chunk}
    if not isinstance(card, dict):
        raise FormatError(
            f"a character card must be a JSON object, got {type(card).__name__}", **where
        )
    card = copy.deepcopy(card)
    rec: dict[str, Any] = {}
    top: dict[str, Any] = {}
    if "spec" in card or "data" in card:
        spec = card.get("spec")
        if spec not in (SPEC_V2, SPEC_V3):
            raise FormatError(
                f"unsupported card spec {spec!r}",
                hint=f"consona reads '{SPEC_V2}', '{SPEC_V3}' and flat V1 cards",
                **where,
            )
        data = card.get("data")
        if not isinstance(data, dict):
            raise FormatError(
                f"'data' of a {spec} card must be an object, got {type(data).__name__}",
                hint="re-export the card from the app that made it",
                **where,
            )
        rec["spec"] = spec
        if "spec_version" in card:
            rec["spec_version"] = card["spec_version"]
        mirror = []
        for key, value in card.items():
            if key in ("spec", "spec_version", "data"):
                continue
            if key in _CARD_FIELDS and key in data and _canon(data[key]) == _canon(value):
                mirror.append(key)
            else:
                top[key] = value
        if mirror:
            rec["mirror"] = mirror
    else:
        spec = SPEC_V1
        rec["spec"] = SPEC_V1
        data = {k: card.pop(k) for k in V1_FIELDS if k in card}
        top = card
    if top:
        rec["top"] = top

    fields: dict[str, Any] = {}
    extras: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for key, value in data.items():
        if key in _CARD_FIELDS:
            if _fits(key, value):
                fields[key] = value
            else:
                raw[key] = value
        elif key in ("facts", RESERVED) or key in Persona.model_fields or value is None:
            raw[key] = value  # clashes with consona's fields; null extras vanish in to_dict()
        else:
            extras[key] = value
    if isinstance(fields.get("extensions"), dict):
        fields["facts"] = _facts_from_extensions(fields["extensions"], where)
    absent = [f for f in _REQUIRED[spec] if f not in data]
    if raw:
        rec["raw"] = raw
    if absent:
        rec["absent"] = absent
    try:
        return Persona(**fields, **extras, **{RESERVED: rec})
    except DataValidationError as exc:  # pragma: no cover - fields were checked one by one
        raise FormatError(exc.message, **where) from None


def card_from_persona(persona: Persona, *, spec: CardSpec = "v2") -> dict[str, Any]:
    """A V2 (``spec="v2"``) or V3 card dict from a persona.

    Facts go to ``data.extensions.consona.facts``; what ``_card`` recorded on import
    (unknown top-level fields, verbatim values, the spec version) is written back.
    """
    if spec not in _SPECS:
        raise FormatError(f"unknown card spec {spec!r}", hint="use spec='v2' or spec='v3'")
    spec_name, default_version = _SPECS[spec]
    extras = persona.extra_fields()
    rec = extras.pop(RESERVED, None)
    if not isinstance(rec, dict):
        rec = {}
    raw: dict[str, Any] = rec.get("raw") or {}
    # fields the source card lacked stay out only when writing the same spec again
    absent = set(rec.get("absent") or ()) if rec.get("spec") == spec_name else set()
    required = set(_REQUIRED[spec_name])

    data: dict[str, Any] = {}
    for field in CARD_V3_FIELDS:
        value = getattr(persona, field)
        if field == "name" and value == "" and ("name" in absent or "name" in raw):
            value = None
        if value is not None:
            data[field] = copy.deepcopy(persona.model_dump(mode="json", include={field})[field])
        elif field in raw:
            data[field] = copy.deepcopy(raw[field])
        elif field in required and field not in absent:
            data[field] = copy.deepcopy(_EMPTY[field])
    for key, value in raw.items():
        if key not in _CARD_FIELDS:
            data[key] = copy.deepcopy(value)
    for key, value in extras.items():
        data.setdefault(key, copy.deepcopy(value))

    if persona.facts:
        ext = data.get("extensions")
        ext = ext if isinstance(ext, dict) else {}
        own = ext.get("consona", {})
        if not isinstance(own, dict):
            raise FormatError(
                "extensions.consona is not an object, so the persona's facts cannot be stored",
                hint="remove or rename the 'consona' entry of the persona's extensions",
            )
        ext["consona"] = {**own, "facts": [f.to_dict() for f in persona.facts]}
        data["extensions"] = ext

    out: dict[str, Any] = {"spec": spec_name}
    if rec.get("spec") != spec_name:
        out["spec_version"] = default_version
    elif "spec_version" in rec:
        out["spec_version"] = copy.deepcopy(rec["spec_version"])
    out["data"] = data
    for key, value in (rec.get("top") or {}).items():
        out.setdefault(key, copy.deepcopy(value))
    for key in rec.get("mirror") or ():
        if key in data:
            out.setdefault(key, copy.deepcopy(data[key]))
    return out
