"""Small text helpers shared across consona.

``FUNCTION_WORDS``: pronouns, auxiliaries and fillers that carry no persona content. Modules
that compare content words start from this set and add their own words.

>>> "the" in FUNCTION_WORDS and "dog" not in FUNCTION_WORDS
True
"""

from __future__ import annotations

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
