"""Character re-rank terms: named scorers over a candidate, each with a weight.

The scorers themselves live in :mod:`consona.evaluation.character` (the real-turn
benchmark measures with the same functions); this module applies them to the agent's
candidates:

* ``leak`` — reproduces consona's prompt, its fence markers or its rules
  (:func:`~consona.evaluation.character.leaks_prompt`): **disqualifying**, like a
  contradiction of a fact — such a candidate never passes the guard;
* ``in_character`` — speaks as an AI / assistant / model or refuses as one
  (:func:`~consona.evaluation.character.out_of_character`), or is no reply at all (no
  word in it, or a loop: :func:`~consona.evaluation.character.degenerate`): loses to
  *every* in-character candidate, and ``in_character`` is taken off its score;
* ``register`` — a sentence sounds like an AI assistant or a counsellor without naming
  itself ("How about exploring other opportunities that might be more suitable for your
  interests?"): the learned
  check of :mod:`consona.evaluation.register` over sentence embeddings (needs the
  embedder; skipped without one); a penalty, not a disqualification — but a flagged
  candidate is not clean, so a round of them is repaired and ``choose="first-clean"``
  draws the other candidates;
* ``echo`` — claims as its own a fact the user just stated about themselves (needs NLI);
* ``self_consistency`` — contradicts the agent's own earlier replies or itself (NLI);
* ``hold`` — on a pushback turn ("no, you told me you don't have dogs", "are you sure?")
  gives the fact up, or apologises or agrees for it even while restating it (NLI;
  :func:`~consona.evaluation.character.concedes`);
* ``forced_persona`` — recites persona facts the user's turn gave no reason for (NLI);
  such a candidate also loses the entailment bonus (``TermContext.entail_weight``);
* ``relevance`` — cosine of the user turn's and the candidate's embeddings, added
  (off by default: the coherence term already measures it).

A weight of ``0`` turns a term off (it is not computed). Each candidate's evidence is in
``Candidate.terms`` (term → list of what was found, or the relevance value) and its
names in ``Candidate.flags``. A leaking candidate's ``text`` is replaced by ``WITHHELD``.

>>> from consona.agent.rerank import Candidate
>>> c = Candidate(text="As an AI model, I don't have pets.", coherence=0.8, score=0.8)
>>> apply_terms([c], TermContext(user="any pets?"), CharacterTerms())
>>> (c.flags, c.ooc, round(c.score, 2))
(['in_character'], True, -0.2)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from consona.agent.rerank import Candidate
from consona.errors import ConfigError, UnknownNameError
from consona.evaluation.character import (
    concedes,
    degenerate,
    echo,
    forced_persona,
    leaks_prompt,
    ooc_evidence,
    pushed_facts,
    relevance,
    self_contradiction,
)
from consona.nli.base import NLIModel

log = logging.getLogger(__name__)

__all__ = [
    "NOT_A_REPLY",
    "TERMS",
    "WITHHELD",
    "CharacterTerms",
    "TermContext",
    "apply_terms",
    "term",
]

# What a leaking candidate's text is replaced with (so it cannot reach anyone by way of
# ``AgentReply.candidates``, ``to_dict()``, ``/why`` or a server's other choices).
WITHHELD = "[withheld: this draft reproduced the prompt]"
# the in_character evidence of a candidate that is no reply at all (no words, or a loop)
NOT_A_REPLY = "no words, or a loop"


@dataclass(frozen=True)
class CharacterTerms:
    """Weights of the character terms (0 turns a term off; see the module docstring).

    >>> CharacterTerms().in_character, CharacterTerms(echo=0).enabled()[:2]
    (1.0, ['leak', 'in_character'])

    ``earlier_replies``: how many of the agent's latest replies ``self_consistency``
    judges against."""

    leak: float = 1.0
    in_character: float = 1.0
    register: float = 1.0
    echo: float = 1.0
    self_consistency: float = 1.0
    hold: float = 1.0
    forced_persona: float = 0.3
    relevance: float = 0.0
    earlier_replies: int = 4

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ConfigError(
                    f"character term weight {f.name} must be ≥ 0, got {getattr(self, f.name)}",
                    hint="use 0 to turn a term off",
                )

    def enabled(self) -> list[str]:
        return [n for n in TERMS if getattr(self, n) > 0]

    @classmethod
    def off(cls, *names: str) -> CharacterTerms:
        """All defaults except ``names`` set to 0 (for ablations).

        >>> CharacterTerms.off("echo").echo
        0.0
        """
        for n in names:
            if n not in TERMS:
                raise UnknownNameError("character term", n, tuple(TERMS))
        return cls(**dict.fromkeys(names, 0.0))  # type: ignore[arg-type]


@dataclass
class TermContext:
    """What the terms judge a candidate against."""

    user: str
    facts: Sequence[str] = ()
    earlier_replies: Sequence[str] = ()
    prompt_text: str = ""
    nli: NLIModel | None = None
    embedder: Any = None
    entail_weight: float = 0.0
    name: str = ""  # the character's name: "as Sam, I …" is talk about the role
    register: Any = None  # a RegisterScorer (consona.evaluation.register); None: skipped
    _pushed: list[str] | None = field(default=None, init=False, repr=False)

    def pushed(self) -> list[str]:
        """The persona facts the user's turn pushes back on (computed once)."""
        if self._pushed is None:
            self._pushed = pushed_facts(self.user, self.facts, self.earlier_replies)
        return self._pushed


TermFn = Callable[[TermContext, str], Any]
TERMS: dict[str, TermFn] = {}
NEEDS_NLI = {"echo", "self_consistency", "hold", "forced_persona"}


def term(name: str) -> Callable[[TermFn], TermFn]:
    """Register a character term under ``name`` (it needs a weight in ``CharacterTerms``)."""

    def deco(fn: TermFn) -> TermFn:
        TERMS[name] = fn
        return fn

    return deco


@term("leak")
def _leak(ctx: TermContext, text: str) -> list[str]:
    return (
        ["reproduces the prompt"] if leaks_prompt(text, ctx.prompt_text, allowed=ctx.facts) else []
    )


@term("in_character")
def _in_character(ctx: TermContext, text: str) -> list[str]:
    found = [m for _, m in ooc_evidence(text)]
    if degenerate(text):
        found.append(NOT_A_REPLY)
    if ctx.name:
        # "as Sam, I'm not interested": the character speaking of itself from outside
        m = re.search(rf"\bas {re.escape(ctx.name)}\s*,?\s+(?:i|i'm|i am)\b", text, re.I)
        if m:
            found.append(m.group(0))
    return found


@term("register")
def _register(ctx: TermContext, text: str) -> list[str]:
    if ctx.register is None:
        return []
    try:
        return list(ctx.register.evidence(text))
    except Exception as exc:  # an embedder failing mid-chat costs the term, not the reply
        log.warning("register term skipped: %s", exc)
        return []


@term("echo")
def _echo(ctx: TermContext, text: str) -> list[str]:
    assert ctx.nli is not None
    return echo(ctx.user, text, list(ctx.facts), ctx.nli)


@term("self_consistency")
def _self(ctx: TermContext, text: str) -> list[str]:
    assert ctx.nli is not None
    return self_contradiction(list(ctx.earlier_replies), text, ctx.nli)


@term("hold")
def _hold(ctx: TermContext, text: str) -> list[str]:
    assert ctx.nli is not None
    for fact in ctx.pushed():
        found = concedes(fact, ctx.user, text, ctx.nli)
        if found:
            return [*found, fact]
    return []


@term("forced_persona")
def _forced(ctx: TermContext, text: str) -> list[str]:
    assert ctx.nli is not None
    return forced_persona(ctx.user, text, list(ctx.facts), ctx.nli)


@term("relevance")
def _relevance(ctx: TermContext, text: str) -> float:
    return relevance(ctx.user, text, ctx.embedder)


_REASON = {
    "leak": "leaks the prompt",
    "in_character": "out of character",
    "register": "sounds like an assistant",
    "echo": "claims the user's fact",
    "self_consistency": "contradicts its earlier reply",
    "hold": "gives in to the pushback",
    "forced_persona": "recites unasked facts",
}


def apply_terms(cands: Sequence[Candidate], ctx: TermContext, weights: CharacterTerms) -> None:
    """Score ``cands`` in place with every enabled term: evidence into ``terms``, names of
    the terms that found something into ``flags``, penalties off ``score``; a leak
    disqualifies, out-of-character sets ``ooc``. The NLI terms are skipped without NLI
    and for candidates already disqualified."""
    for c in cands:
        if not c.text.strip():
            continue
        for name in weights.enabled():
            if name in NEEDS_NLI and (ctx.nli is None or c.disqualified):
                continue
            if (name == "relevance" and ctx.embedder is None) or (
                name == "register" and ctx.register is None
            ):
                continue
            w = float(getattr(weights, name))
            found = TERMS[name](ctx, c.text)
            c.terms[name] = found
            if name == "relevance":
                c.score += w * float(found)
                continue
            if not found:
                continue
            c.flags.append(name)
            c.score -= w
            if name == "forced_persona":  # reciting unasked facts earns no entailment bonus
                c.score -= ctx.entail_weight * c.entailment
            detail = f"{_REASON[name]}: {found[0]}" if name != "leak" else _REASON[name]
            c.reason = f"{c.reason}; {detail}" if c.reason else detail
            if name == "leak":
                c.disqualified = True
                c.leaked = True
            elif name == "in_character":
                c.ooc = True
        if c.leaked:  # the leaked text goes nowhere: not to the user, a log or /why
            c.text = WITHHELD
