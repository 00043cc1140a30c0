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

__all__ = ["FUNCTION_WORDS", "MAX_SEGMENTS", "content_words", "normalize", "split_clauses"]

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


def normalize(text: str) -> str:
    """Lower case, runs of anything but letters and digits made one space.

    >>> normalize("I love   cooking!")
    'i love cooking'
    """
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


MAX_SEGMENTS = 64
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s+[.!?]+\s+|\s*;\s*|\n+")
_CLAUSE = re.compile(
    r",?\s+(?:but|though|although|however|whereas)\s+|,\s+(?:and|so)\s+|\s+,\s+", re.I
)


def split_clauses(text: str, *, max_segments: int = MAX_SEGMENTS) -> list[str]:
    """Sentences and clauses of ``text`` (2+ words each, at most ``max_segments``), in
    order; questions are kept (callers decide). Linear time: fixed regexes, no
    backtracking over the input.

    >>> split_clauses("nice . i do not have any pets . do you have any kids ?")
    ['i do not have any pets', 'do you have any kids ?']
    >>> split_clauses("i like rock , country music makes me cringe .")
    ['i like rock', 'country music makes me cringe .']
    """
    out: list[str] = []
    for sentence in _SENTENCE.split(text):
        for clause in _CLAUSE.split(sentence):
            clause = clause.strip(" ,")
            if len(clause.split()) >= 2:
                out.append(clause)
                if len(out) >= max_segments:
                    return out
    return out
