"""Small text helpers shared across consona: the one home of word tokens, function / stop
words, content words, sentence and clause splitting, and ROUGE-L.

``FUNCTION_WORDS``: pronouns, auxiliaries and fillers that carry no persona content.
``STOP_WORDS``: those plus the other pronouns, question words, modals, negations and chat
fillers — the words that two conversational texts share without sharing a topic. Lexical
overlap checks (re-ranking, NLI prefilters, grounding) use ``content_words(text,
stop=STOP_WORDS)``. A shipped model whose features were trained on another list keeps that
list as data of its own module (e.g. ``consona.extraction.editor.EDITOR_STOP_WORDS``).

>>> "the" in FUNCTION_WORDS and "dog" not in FUNCTION_WORDS
True
>>> sorted(content_words("I was watching two dogs"))
['dog', 'two', 'watching']
>>> sorted(content_words("Don't you think they'd like it?", stop=STOP_WORDS))
['think']
>>> tokens("I’ve got 2 dogs!")
["i've", 'got', '2', 'dogs']
>>> round(rouge_l("I have two dogs.", "I have 2 dogs."), 3)
0.75
>>> split_sentences("I like tea. I have a cat!  Do you?")
['I like tea.', 'I have a cat!', 'Do you?']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = [
    "FUNCTION_WORDS",
    "MAX_SEGMENTS",
    "STOP_WORDS",
    "content_words",
    "lcs_length",
    "normalize",
    "rouge_l",
    "shares_content_word",
    "split_clauses",
    "split_sentences",
    "tokens",
]

_WORD = re.compile(r"[a-z0-9]+")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, apostrophes kept inside words ("I've" → "i've")."""
    return _TOKEN.findall(text.lower().replace("’", "'"))


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


STOP_WORDS: frozenset[str] = FUNCTION_WORDS | {
    # pronouns
    "he", "her", "his", "its", "mine", "our", "she", "their", "them", "they", "us", "we",
    # question words
    "how", "what", "when", "where", "which", "who", "why",
    # modals and auxiliaries
    "been", "being", "can", "could", "may", "might", "must", "shall", "should", "will", "would",
    # determiners, prepositions, conjunctions, adverbs
    "about", "all", "also", "any", "as", "but", "by", "down", "from", "here", "into", "out",
    "over", "some", "than", "then", "there", "these", "those", "up",
    # negation, chat fillers, the verbs of liking
    "never", "no", "not", "lol", "oh", "ok", "okay", "well", "yeah", "yes", "like", "love",
    # contractions as [a-z0-9]+ splits them ("don't" → "don"; not "won", a verb too), and as
    # typed without apostrophe
    "aren", "couldn", "didn", "doesn", "don", "hasn", "haven", "isn", "ll", "re", "ve", "wasn",
    "weren", "wouldn", "dont", "im",
}  # fmt: skip


def content_words(text: str, *, stop: frozenset[str] | set[str] = FUNCTION_WORDS) -> set[str]:
    """Lower-cased words of ``text`` that are not in ``stop`` (and longer than one letter),
    crudely stemmed (a plural "s" dropped)."""
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in stop or len(w) < 2:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") else w)
    return out


def shares_content_word(a: str, b: str, *, stop: frozenset[str] | set[str] = STOP_WORDS) -> bool:
    """Whether ``a`` and ``b`` have a content word in common (``content_words`` with
    ``stop``, default ``STOP_WORDS``): a cheap test of "about the same thing".

    >>> shares_content_word("I have two dogs.", "My dog is old")
    True
    >>> shares_content_word("I like it", "Do you like me?")
    False
    """
    return not content_words(a, stop=stop).isdisjoint(content_words(b, stop=stop))


def normalize(text: str) -> str:
    """Lower case, runs of anything but letters and digits made one space.

    >>> normalize("I love   cooking!")
    'i love cooking'
    """
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences.

    >>> lcs_length("w x y z".split(), "w y z q".split())
    3
    """
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(
    candidate: str,
    reference: str,
    *,
    beta: float = 1.0,
    tokenize: Callable[[str], Sequence[str]] = tokens,
) -> float:
    """ROUGE-L F-measure: LCS over ``tokenize``'d words (default ``tokens``), ``beta``
    weighting recall; 0.0 when either side is empty or nothing is shared."""
    c, r = tokenize(candidate), tokenize(reference)
    lcs = lcs_length(c, r) if c and r else 0
    if lcs == 0:
        return 0.0
    p, rec = lcs / len(c), lcs / len(r)
    return (1 + beta**2) * p * rec / (rec + beta**2 * p)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SENTENCE_OR_LINE = re.compile(r"(?<=[.!?])\s+|\n+")


def split_sentences(text: str, *, lines: bool = False) -> list[str]:
    """Sentences of ``text``: split after ``.``/``!``/``?`` followed by white space (and at
    line breaks with ``lines``), stripped, empty ones dropped.

    >>> split_sentences("Mira bakes\\nShe has a cat.", lines=True)
    ['Mira bakes', 'She has a cat.']
    """
    pattern = _SENTENCE_OR_LINE if lines else _SENTENCE_END
    return [p.strip() for p in pattern.split(text.strip()) if p.strip()]


MAX_SEGMENTS = 64
# alternatives that open with whitespace start only where a run of it starts ((?<!\s)):
# a long run of spaces is scanned once, not once per space
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<!\s)\s+[.!?]+\s+|(?<!\s)\s*;\s*|\n+")
_CLAUSE = re.compile(
    r"(?<!\s),?\s+(?:but|though|although|however|whereas)\s+|,\s+(?:and|so)\s+|(?<!\s)\s+,\s+",
    re.I,
)


_LEADING_CONJUNCTION = re.compile(r"^(?:but|and|so|though|although|however|whereas)\s+", re.I)


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
            clause = _LEADING_CONJUNCTION.sub("", clause.strip(" ,"))
            if len(clause.split()) >= 2:
                out.append(clause)
                if len(out) >= max_segments:
                    return out
    return out
