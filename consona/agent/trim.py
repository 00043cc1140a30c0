"""Trimmed candidates: a candidate without the sentences that put it out of character.

Small chat models wrap an in-character reply in assistant talk or, under pushback, in an
apology: "Oh, that's right! I apologize for that misunderstanding. I am married." The
reply's own words hold the fact; its first two sentences give in. Sampling more
candidates often brings the same wrapping back. The agent therefore adds, beside each
candidate the character terms flag, the candidate without its flagged sentences
(:func:`trim`) as one more candidate, judged like the others: "I am married." then wins
the re-rank on its own merits.

A sentence is cut when, on its own, it

* gives in to the pushback of the user's turn (an apology or an agreement for a pushed
  persona fact: :func:`~consona.evaluation.character.concession`);
* speaks as an AI, an assistant or a model (:func:`~consona.evaluation.voice.ooc_evidence`);
* sounds like an assistant (the learned register check, when the agent has one).

Nothing is trimmed to nothing: at least one sentence of two or more words must remain,
and a remainder that opens with a conjunction ("But I do have two dogs.") loses it.

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
from collections.abc import Sequence
from typing import Any

from consona.evaluation.character import concession, pushed_facts
from consona.evaluation.voice import ooc_evidence
from consona.text import split_sentences

__all__ = ["MIN_WORDS", "flagged_sentences", "trim"]

MIN_WORDS = 2
"""Words the kept part must have (a bare "Yes." or "Haha." is no reply)."""

_OPENING = re.compile(r"^(?:but|and|so|anyway|anyways|well|also|though|however)\b[\s,]*", re.I)
_WORD = re.compile(r"[A-Za-z0-9']+")


def flagged_sentences(
    sentences: Sequence[str],
    *,
    user: str,
    facts: Sequence[str] = (),
    earlier_replies: Sequence[str] = (),
    register: Any = None,
) -> list[int]:
    """Indexes of ``sentences`` that give in to a pushback on a fact, speak as an AI or
    assistant, or (with a ``register`` scorer) sound like one."""
    pushed = pushed_facts(user, list(facts), list(earlier_replies)) if facts else []
    assistant: set[str] = set()
    if register is not None:
        try:
            assistant = set(register.evidence(" ".join(sentences)))
        except Exception:  # an embedder failing mid-chat costs the check, not the reply
            assistant = set()
    out = []
    for i, s in enumerate(sentences):
        if ooc_evidence(s) or s in assistant or any(concession(user, s, f) for f in pushed):
            out.append(i)
    return out


def trim(
    text: str,
    *,
    user: str,
    facts: Sequence[str] = (),
    earlier_replies: Sequence[str] = (),
    register: Any = None,
) -> str | None:
    """``text`` without its flagged sentences (:func:`flagged_sentences`); None when
    nothing is flagged or too little would remain."""
    sentences = split_sentences(text)
    cut = set(
        flagged_sentences(
            sentences, user=user, facts=facts, earlier_replies=earlier_replies, register=register
        )
    )
    if not cut:
        return None
    kept = [s for i, s in enumerate(sentences) if i not in cut]
    if not kept:
        return None
    first = _OPENING.sub("", kept[0], count=1)
    if first and first != kept[0]:
        kept[0] = first[0].upper() + first[1:]
    out = " ".join(kept).strip()
    if len(_WORD.findall(out)) < MIN_WORDS:
        return None
    return out
