"""Small text helpers shared across consona.

``FUNCTION_WORDS``: pronouns, auxiliaries and fillers that carry no persona content. Modules
that compare content words start from this set and add their own words.

>>> "the" in FUNCTION_WORDS and "dog" not in FUNCTION_WORDS
True
>>> sorted(content_words("I was watching two dogs"))
['dog', 'two', 'watch']
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


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Crudely stemmed lower-case words of ``text`` that are not function words."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in FUNCTION_WORDS}
