"""The relations a persona triple may carry: those of the ConvAI2 Dialogue-NLI annotations.

``DNLI_RELATIONS`` is every relation used in ``convai2-dnli-triples`` (persona lines and
utterances of ConvAI2 valid, both_original) except the two markers that carry no fact
(``other`` and the ``<blank>`` object). The spelling is the annotators', typos included
(``have_chidren``), so predicted triples compare equal to gold ones. The judge's rule sets
in :mod:`consona.nli.schema` use these names (plus a few spellings that only other
sources use: :data:`SCHEMA_ONLY`); a test keeps the two in step.

>>> "have_pet" in DNLI_RELATIONS, "other" in DNLI_RELATIONS, len(DNLI_RELATIONS)
(True, False, 52)
>>> check_relation("like_food")
'like_food'
"""

from __future__ import annotations

from pathlib import Path

from consona.errors import FormatError

__all__ = ["DNLI_RELATIONS", "NO_FACT", "SCHEMA_ONLY", "check_relation", "is_dnli_relation"]

# Alphabetical, so an index into the tuple is stable across versions that only add names.
DNLI_RELATIONS: tuple[str, ...] = (
    "attend_school", "dislike", "employed_by_company", "employed_by_general", "favorite",
    "favorite_color", "favorite_food", "favorite_hobby", "favorite_movie", "favorite_music",
    "favorite_music_artist", "favorite_place", "favorite_season", "gender", "has_ability",
    "has_age", "has_degree", "has_hobby", "has_profession", "have", "have_chidren",
    "have_family", "have_pet", "have_sibling", "have_vehicle", "job_status", "like_activity",
    "like_animal", "like_drink", "like_food", "like_general", "like_goto", "like_movie",
    "like_music", "like_read", "like_sports", "like_watching", "live_in_citystatecountry",
    "live_in_general", "marital_status", "member_of", "misc_attribute", "not_have", "own",
    "physical_attribute", "place_origin", "previous_profession", "school_status", "teach",
    "want", "want_do", "want_job",
)  # fmt: skip

# Relation / object values in the DNLI file that mark "no fact here".
NO_FACT = frozenset({"other", "<blank>", ""})

# Names in consona.nli.schema's rule sets that the DNLI file never uses (other sources'
# spellings, relations of the full DNLI release); harmless, listed so the test can tell a
# typo from a deliberate extra.
SCHEMA_ONLY = frozenset(
    {
        "have_children", "favorite_animal", "favorite_sport", "favorite_book",
        "favorite_drink", "name",
    }
)  # fmt: skip

_SET = frozenset(DNLI_RELATIONS)


def is_dnli_relation(name: str) -> bool:
    """True for a relation of :data:`DNLI_RELATIONS`."""
    return name in _SET


def check_relation(name: str, *, path: str | Path = "", line: int | None = None) -> str:
    """``name`` if it is a DNLI relation, else a FormatError naming the file and line.

    >>> check_relation("has_job", path="train.txt", line=3)
    Traceback (most recent call last):
    ...
    consona.errors.FormatError: train.txt, line 3: unknown relation 'has_job' ...
    """
    if name in _SET:
        return name
    close = sorted(r for r in DNLI_RELATIONS if r.split("_")[0] == name.split("_")[0])[:6]
    hint = "use one of the DNLI relations (consona.extraction.relations.DNLI_RELATIONS)"
    if close:
        hint += f", e.g. {', '.join(close)}"
    raise FormatError(f"unknown relation {name!r}", path=path, line=line, hint=hint)
