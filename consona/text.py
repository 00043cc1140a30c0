"""Small text helpers shared across consona.

``FUNCTION_WORDS``: pronouns, auxiliaries and fillers that carry no persona content. Modules
that compare content words start from this set and add their own words.

>>> "the" in FUNCTION_WORDS and "dog" not in FUNCTION_WORDS
True
>>> sorted(content_words("I was watching two dogs"))
['dog', 'two', 'watching']
"""

from __future__ import annotations

import re

__all__ = ["FUNCTION_WORDS", "content_words"]

_WORD = re.compile(r"[a-z0-9]+")

FUNCTION_WORDS: frozenset[str] = frozenset(
    {
        "a",
        "am",
        "an",
        "and",
        "are",
        "at",
        "be",
        "did",
        "do",
        "does",
        "for",
        "had",
        "has",
        "have",
        "i",
        "in",
        "is",
        "it",
        "just",
        "me",
        "my",
        "of",
        "on",
        "or",
        "really",
        "so",
        "that",
        "the",
        "this",
        "to",
        "too",
        "very",
        "was",
        "were",
        "with",
        "you",
        "your",
    }
)


def content_words(text: str, *, stop: frozenset[str] | set[str] = FUNCTION_WORDS) -> set[str]:
    """Lower-cased words of ``text`` that are not in ``stop`` (and longer than one letter),
    crudely stemmed (a plural "s" dropped)."""
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in stop or len(w) < 2:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") else w)
    return out
