"""Trimmed candidates: a candidate without the parts that put it out of character.

Small chat models wrap an in-character reply in assistant talk or, under pushback, in an
apology: "Oh, that's right! I apologize for that misunderstanding. I am married." The
reply's own words hold the fact; its first two sentences give in. Sampling more
candidates often brings the same wrapping back. The agent therefore adds, beside each
candidate the character terms flag, the candidate without its flagged parts
(:func:`trim`) as one more candidate, judged like the others: "I am married." then wins
the re-rank on its own merits.

What is cut:

* a sentence that speaks as an AI, an assistant or a model
  (:func:`~consona.evaluation.voice.ooc_evidence`), or that the learned register check
  flags (when the agent has one);
* in a sentence that gives in to the pushback of the user's turn (an apology or an
  agreement for a pushed persona fact: :func:`~consona.evaluation.character.concession`),
  everything up to the end of the last clause that gives in: "I apologize for the
  confusion, I am married." keeps "I am married.".

On a pushback turn a trim must still restate a pushed fact: a sentence in the first
person, not about the user, negated as the fact is, with half of the fact's content words
or more. "I apologize. Anyway, how are you?", "Oh, I see." or "You work there and have
been at the same company for 15 years." would dodge the pushback or hand the fact to the
user, so they are no trim. Nothing is trimmed to nothing: the rest must keep a sentence of
two or more words. When the rest opens with "but" or "and" (or "so," "anyway," …) left over
from a cut, that word goes.

>>> trim("Oh, that's right! I apologize for that misunderstanding. I am married.",
...      user="no, you told me you aren't married .", facts=["I am married."])
'I am married.'
>>> trim("I love hiking. How can I assist you today?", user="what do you do for fun?")
'I love hiking.'
>>> trim("How can I assist you today?", user="hi") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

from consona.evaluation.character import concession, holds, pushed_facts
from consona.evaluation.voice import ooc_evidence
from consona.text import split_sentences

__all__ = ["MIN_WORDS", "trim"]

MIN_WORDS = 2
"""Words a kept sentence needs (a bare "Yes." or "Haha." is no reply)."""

# a word left opening the rest after a cut: "… How can I help? But I do love jazz."
_OPENING = re.compile(
    r"^(?:(?:but|and)\s*,?\s+|(?:so|well|anyway|anyways|also|however)\s*,\s*)(?=[A-Za-z])", re.I
)
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+|\s+[-–—]+\s+")
_WORD = re.compile(r"[A-Za-z0-9']+")


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _after_concession(sentence: str, user: str, pushed: Sequence[str]) -> str | None:
    """What ``sentence`` says after its last clause that gives in to the pushback; None
    when no clause of it gives in. Empty when nothing follows."""
    if not any(concession(user, sentence, fact) for fact in pushed):
        return None  # ("I am married, right now …": "right" opens a clause, not a concession)
    parts = _CLAUSE_END.split(sentence)
    last = -1
    for i, part in enumerate(parts):
        if any(concession(user, part, fact) for fact in pushed):
            last = i
    if last < 0:
        return ""  # gives in only as a whole: nothing of it stays
    rest = " ".join(parts[last + 1 :]).strip()
    return rest[0].upper() + rest[1:] if rest else ""


def trim(
    text: str,
    *,
    user: str,
    facts: Sequence[str] = (),
    earlier_replies: Sequence[str] = (),
    register: Any = None,
    assistant: Collection[str] | None = None,
) -> str | None:
    """``text`` without its out-of-character sentences and its concessions to a pushback
    (see the module docstring); None when nothing is cut or too little would remain.

    ``assistant``: the sentences the register check flagged (the agent passes its
    ``register`` term's evidence); without it, ``register`` (a
    :class:`~consona.evaluation.register.RegisterScorer`) is asked, when given."""
    sentences = split_sentences(text, lines=True)  # as the register check splits
    if assistant is None:
        assistant = set()
        if register is not None:
            try:
                assistant = set(register.evidence(text))
            except Exception:  # an embedder failing mid-chat costs the check, not the reply
                assistant = set()
    pushed = pushed_facts(user, list(facts), list(earlier_replies)) if facts else []
    kept: list[str] = []
    cut = False
    for s in sentences:
        if ooc_evidence(s) or s in assistant:
            cut = True
            continue
        rest = _after_concession(s, user, pushed) if pushed else None
        if rest is None:
            kept.append(s)
            continue
        cut = True
        if _words(rest) >= MIN_WORDS:
            kept.append(rest)
    if not cut:
        return None
    if kept and kept[0] not in sentences[:1]:  # the opening was cut: a "But …" left goes
        first = _OPENING.sub("", kept[0], count=1)
        kept[0] = first[0].upper() + first[1:] if first else first
    if not any(_words(s) >= MIN_WORDS for s in kept):
        return None
    if pushed and not holds(" ".join(kept), pushed):
        return None  # the rest dodges the pushback instead of holding the fact
    return " ".join(kept).strip() or None
