"""Character Card V1/V2/V3 persona formats: JSON, PNG (``chara`` / ``ccv3`` chunks), CHARX.

>>> card = {"spec": "chara_card_v3", "spec_version": "3.0",
...         "data": {"name": "Ada", "nickname": "A", "extensions": {"app": {"x": [1]}}}}
>>> persona = persona_from_card(card)
>>> persona.nickname, persona.extensions
('A', {'app': {'x': [1]}})
>>> card_from_persona(persona, spec="v3") == card
True

Registered persona formats (``PERSONA_FORMATS``):

==============  ======  ==================================================================
name            ext     reads / writes
==============  ======  ==================================================================
card-json       .json   V1, V2, V3 JSON / the persona's own spec (V3 if read as V3, else V2)
card-json-v2            same reader / V2 JSON
card-json-v3            same reader / V3 JSON
card-png        .png    ``ccv3`` (wins) or ``chara`` chunk / the persona's own spec;
                        a V3 PNG holds both chunks (``chara`` = the V2 view)
card-png-v2             same reader / PNG with a ``chara`` chunk only
card-png-v3             same reader / PNG with ``chara`` and ``ccv3`` chunks
charx           .charx  ``card.json`` of the zip / V3 CHARX carrying the source's assets
==============  ======  ==================================================================

Only ``card-json``, ``card-png`` and ``charx`` sniff (so auto-detection is unambiguous);
the ``-v2`` / ``-v3`` names are chosen explicitly (``--to card-png-v3``). A card JSON is
recognised by ``"spec": "chara_card_v2"|"chara_card_v3"``, or, for V1, by ``name`` plus
``first_mes``/``description`` without ``facts`` (a consona persona JSON always has facts).

Mapping and round-trip rules (facts in ``data.extensions.consona.facts``, the reserved
extra field ``_card``) are in :mod:`consona.formats.cards.mapping`. Remote asset URLs are
never fetched; nothing here opens a network connection.
"""

from __future__ import annotations

from functools import partial

from consona.formats.base import PERSONA_FORMATS
from consona.formats.cards.charx import read_charx, write_charx
from consona.formats.cards.formats import (
    CardJSON,
    CardPNG,
    CharX,
    read_card_json,
    sniff_card_json,
    write_card_json,
)
from consona.formats.cards.mapping import (
    RESERVED,
    card_from_persona,
    card_spec_of,
    is_card,
    persona_from_card,
)
from consona.formats.cards.png import placeholder_png, read_card_png, write_card_png

__all__ = [
    "RESERVED",
    "CardJSON",
    "CardPNG",
    "CharX",
    "card_from_persona",
    "card_spec_of",
    "is_card",
    "persona_from_card",
    "placeholder_png",
    "read_card_json",
    "read_card_png",
    "read_charx",
    "sniff_card_json",
    "write_card_json",
    "write_card_png",
    "write_charx",
]

PERSONA_FORMATS.register("card-json", CardJSON)
PERSONA_FORMATS.register("card-json-v2", partial(CardJSON, spec="v2"))
PERSONA_FORMATS.register("card-json-v3", partial(CardJSON, spec="v3"))
PERSONA_FORMATS.register("card-png", CardPNG)
PERSONA_FORMATS.register("card-png-v2", partial(CardPNG, spec="v2"))
PERSONA_FORMATS.register("card-png-v3", partial(CardPNG, spec="v3"))
PERSONA_FORMATS.register("charx", CharX)
