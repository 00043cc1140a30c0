"""The write path: facts of a turn → NLI-gated update of the speaker's active facts.

For each new fact, the judge compares it with the ``k`` most similar active facts of the
same role (embedding search; facts with the same triple relation — or another relation of
the same slot — are always compared). Beside the judge, the facts' triples
(:mod:`consona.memory.slots`) give a second signal:

* an active fact entails it, or states the same value of the same relation (an object
  both texts name) without the judge objecting → **merge** (that fact's ``times_seen``
  + 1, ``last_seen``) — unless the new fact says more: when the old fact's content words
  are a strict subset of its own it **refines** the old fact, which is retired in its
  favour (``"refined"``, kept as history, undoable); when it adds more than
  ``max_novel`` other content words, or shares none with it, it is a new fact (the
  judge's entailment is lenient: it calls "I volunteer." ⊨ "I have volunteered for 7
  years." — a merge would lose the 7 years);
* it contradicts active facts *about the same subject* (same triple relation, a shared
  content word, or embedding similarity ≥ ``same_subject``), or states another value of
  a one-value slot (job, workplace, school status, home, age, marital status, … — even
  when the judge is unsure) → **supersede** them (they are kept as history and
  :meth:`MemoryStore.restore` undoes it);
* otherwise → **add**.

Facts of one call (one turn) never retire each other: "I graduated and I am not a student
anymore." is one consistent state, whatever the judge makes of its two parts.

Statements about the other speaker ("you …"), questions and hypotheticals are never stored
as the speaker's own facts. ``dry_run=True`` returns the same diff without writing.

>>> from consona.memory.store import MemoryStore
>>> from consona.testing import FakeEmbedder, FakeNLI
>>> w = MemoryWriter(MemoryStore("sqlite://"), nli=FakeNLI(), embedder=FakeEmbedder())
>>> print(w.apply("ana", "Mira", "user", ["I have a dog."]).render())
+ user #1: I have a dog.
>>> print(w.apply("ana", "Mira", "user", ["I do not have a dog.", "I like jazz."]).render())
~ user #2: I do not have a dog.  (supersedes #1: I have a dog.)
+ user #3: I like jazz.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from consona.extraction.text import (
    about_other,
    answered,
    is_hypothetical,
    is_question,
    split_clauses,
)
from consona.memory.index import EmbeddingIndex, to_bytes
from consona.memory.schema import check_role, check_text
from consona.memory.slots import (
    FIRST_PERSON,
    SlotReader,
    arrangement_conflict,
    fact_triples,
    look_conflict,
    negated,
    same_value,
    slot_conflict,
    slot_relations,
)
from consona.memory.store import MemoryStore
from consona.nli.base import CONTRADICTION, ENTAILMENT, NLIModel
from consona.text import STOP_WORDS, content_words, split_sentences, tokens
from consona.types import Fact, Triple, Turn

__all__ = ["Change", "MemoryDiff", "MemoryWriter", "own_facts"]


@dataclass
class Change:
    """One decision of the write path: ``action`` is ``add``, ``merge``, ``refine`` or
    ``supersede``; ``fact_id`` the new fact (add, refine, supersede) or the merged one
    (merge; ``None`` in a dry run for new facts); ``replaced``: (id, text) of the facts it
    retires (superseded or refined).

    >>> Change("add", "user", "I am a nurse.", fact_id=3).render()
    '+ user #3: I am a nurse.'
    """

    action: str
    role: str
    text: str
    fact_id: int | None = None
    merged_into: str | None = None
    replaced: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "role": self.role,
            "text": self.text,
            "fact_id": self.fact_id,
            "merged_into": self.merged_into,
            "replaced": [{"id": i, "text": t} for i, t in self.replaced],
        }

    def render(self) -> str:
        ref = f" #{self.fact_id}" if self.fact_id is not None else ""
        if self.action == "merge":
            return f"= {self.role}{ref}: {self.merged_into}  (seen again: {self.text})"
        if self.action == "refine":
            olds = "; ".join(f"#{i}: {t}" for i, t in self.replaced)
            return f"^ {self.role}{ref}: {self.text}  (refines {olds})"
        if self.action == "supersede":
            olds = "; ".join(f"#{i}: {t}" for i, t in self.replaced)
            return f"~ {self.role}{ref}: {self.text}  (supersedes {olds})"
        return f"+ {self.role}{ref}: {self.text}"


@dataclass
class MemoryDiff:
    """What a write did (or, ``dry_run``, would do).

    >>> MemoryDiff().render()
    '(no new facts)'
    """

    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0
    extract_seconds: float = 0.0

    def render(self) -> str:
        return "\n".join(c.render() for c in self.changes) or "(no new facts)"

    def count(self, action: str) -> int:
        return sum(c.action == action for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "changes": [c.to_dict() for c in self.changes],
            "seconds": round(self.seconds, 4),
            "extract_seconds": round(self.extract_seconds, 4),
        }


def own_facts(
    turn: Turn, facts: Sequence[Fact], *, first_person: bool = True, context: Sequence[Turn] = ()
) -> list[Fact]:
    """The facts that are the speaker's own: each fact is traced to the clause of the
    utterance it most likely came from (shared content words, then ROUGE-L), and facts from
    questions, hypotheticals or clauses about the other speaker ("you …") are dropped,
    never re-attributed. With ``first_person`` (the default) a fact must also say
    something about the speaker — name them (I, me, my, we, our …): fragments such as
    "Vintage cars." or "Three more years." and remarks such as "A good movie is good."
    are not persona facts.

    >>> t = Turn(speaker="a", text="You are a nurse. I am a pilot. Do you fly? Vintage cars.")
    >>> facts = [Fact(text="I am a nurse."), Fact(text="I am a pilot."), Fact(text="Vintage cars.")]
    >>> [f.text for f in own_facts(t, facts)]
    ['I am a pilot.']

    A yes or a no to a yes/no question put to the speaker — the other speaker's last
    question in ``context`` or the speaker's own question just before — is a fact too
    (:func:`answered`):

    >>> q = Turn(speaker="b", text="Nice. Have you ever been to Disneyland?")
    >>> [f.text for f in own_facts(Turn(speaker="a", text="No, we can't afford it."), [],
    ...                            context=[q])]
    ['I have never been to Disneyland.']
    """
    from consona.text import rouge_l

    clauses = split_clauses(turn.text) or []
    kept: list[Fact] = []
    sources: list[Any] = []  # the clause each kept fact came from
    for f in facts:
        if f.speaker not in (None, turn.speaker):
            continue
        text = _without_the_other(f.text)
        if text is None:
            continue
        if text != f.text:
            f = f.model_copy(update={"text": text})
        if first_person and not FIRST_PERSON.search(f.text):
            continue
        if not _says_something(f.text):
            continue
        words = content_words(f.text, stop=STOP_WORDS)
        best, score, source = None, -1.0, None
        for c in clauses:
            s = len(words & content_words(c.text, stop=STOP_WORDS)) + rouge_l(c.text, f.text)
            if s > score:
                best, score, source = c.text, s, c
        if best is None or is_question(best) or is_hypothetical(best) or about_other(best):
            continue
        kept.append(f.model_copy(update={"speaker": turn.speaker}))
        sources.append(source)
    kept = _changes_as_said(turn, clauses, kept, sources)
    seen = {f.text.lower() for f in kept}
    for text in answered(turn, context):
        if text.lower() not in seen and _says_something(text):
            seen.add(text.lower())
            kept.append(Fact(text=text, speaker=turn.speaker))
    return kept


_UNREAL = re.compile(
    r"\b(?:wish|hope|hoping|if|would|could|might|should|want|wanna|plan|planning|going to|"
    r"gonna|maybe|someday|one day)\b",
    re.I,
)
MAX_CHANGES = 12  # sentences per turn kept as said, like the extractor's clause cap


def _changes_as_said(
    turn: Turn, clauses: Sequence[Any], kept: list[Fact], sources: list[Any]
) -> list[Fact]:
    """A sentence that states a change of the speaker's life (:func:`is_change`: "My
    girlfriend and I split up.", "I sold my motorcycle.") is kept as said, in place of the
    facts taken from its clauses: the extractor can cut a change into pieces that say the
    opposite ("I have a girlfriend.", "I split up."). Wishes and hypotheticals ("I wish I
    sold my car.") are no change, and a sentence over the fact limit is left to the
    extractor."""
    from consona.memory.schema import MAX_FACT_CHARS

    out = list(kept)
    seen = {f.text.lower() for f in out}
    added, pos = 0, 0
    for sentence in split_sentences(turn.text):
        begin = turn.text.find(sentence, pos)
        begin = pos if begin < 0 else begin
        end = begin + len(sentence)
        pos = end
        text = sentence.strip()
        if len(text) > MAX_FACT_CHARS or not is_change(text) or not FIRST_PERSON.search(text):
            continue
        if is_question(text) or is_hypothetical(text) or about_other(text) or _UNREAL.search(text):
            continue
        text = text[:1].upper() + text[1:]
        if text[-1:] not in ".!?":
            text += "."
        inside = {id(c) for c in clauses if c.start >= begin and c.end <= end}
        drop = {id(f) for f, src in zip(kept, sources, strict=True) if id(src) in inside}
        if drop:
            out = [f for f in out if id(f) not in drop]
            seen = {f.text.lower() for f in out}
        if text.lower() not in seen:
            seen.add(text.lower())
            out.append(Fact(text=text, speaker=turn.speaker))
            added += 1
            if added >= MAX_CHANGES:
                break
    return out


# words that name nothing on their own: a fact made only of them ("I can do both.",
# "I haven't.", "I love it.") needs the turn it answered and is no persona fact; the
# pronouns and auxiliaries among them are STOP_WORDS already
_EMPTY_WORDS = frozenset(
    ("agree", "both", "done", "either", "get", "guess", "him", "know", "lot", "much",
     "neither", "now", "one", "same", "sure", "think", "understand")
)  # fmt: skip


def _says_something(text: str) -> bool:
    """Whether ``text`` names anything beyond pronouns and auxiliaries.

    >>> _says_something("I can do both."), _says_something("I like 20 dogs.")
    (False, True)
    """
    return bool(content_words(text, stop=STOP_WORDS) - _EMPTY_WORDS) or bool(re.search(r"\d", text))


_YOU = re.compile(r"\b(?:you|your|yours|yourself|yourselves|u|ur)\b", re.I)
_CLAUSE_BREAK = re.compile(r"\s*[,;]\s*|\s+(?:and|but|so)\s+", re.I)
_I_START = re.compile(r"\b(?:i|my|we|our)\b", re.I)


def _without_the_other(text: str) -> str | None:
    """``text`` as a fact of the speaker's own, or None when it speaks about the other
    speaker ("I hope your cow gets better.", "I am sure it will work out well for you.",
    "You have a lovely dog."). A remark to the other speaker before or after a first-person
    statement is cut off ("Man your lucky I am a nurse." → "I am a nurse.").

    >>> _without_the_other("Man your lucky I am a baby delivery nurse and the pay sucks.")
    'I am a baby delivery nurse and the pay sucks.'
    >>> _without_the_other("I could be your dog walker when you are busy.") is None
    True
    >>> _without_the_other("I love hiking, you should come with me sometime.")
    'I love hiking.'
    >>> _without_the_other("I have two dogs.")
    'I have two dogs.'
    """
    you = _YOU.search(text)
    if you is None:
        return text
    if _I_START.search(text[: you.start()]):
        # a remark after the statement: keep the statement up to its clause break
        # ("I love hiking, you should come with me." → "I love hiking.")
        cuts = list(_CLAUSE_BREAK.finditer(text, 0, you.start()))
        head = text[: cuts[-1].start()].strip() if cuts else ""
        return head + "." if len(head.split()) >= 3 and _I_START.search(head) else None
    me = _I_START.search(text, you.end())
    if me is None:
        return None
    rest = text[me.start() :].strip()
    if _YOU.search(rest) or len(rest.split()) < 4:
        return None
    return rest[0].upper() + rest[1:]


# what a thing given up is: up to the next preposition, conjunction, time word or punctuation
_THING = (
    r"((?:\w+ ){0,2}?\w+)(?=\s+(?:to|for|at|in|on|off|away|last|this|after|because|when|"
    r"since|and|but|so|yesterday|recently|ago|a|an|one|two|three|few|\d+)\b|\s*[.,!?;]|\s*$)"
)
# a one- or two-word thing with no article in it: "gave my dog away", not "gave my dog a bath"
_BARE_THING = r"((?!(?:a|an|the|some)\b)\w+(?: (?!(?:a|an|the|some)\b)\w+)?)"
_PARTNER = r"(girlfriend|boyfriend|partner|fianc[eé]e?)"
_SOON = r"(?:just |recently |finally )?"
# a life change that ends a state: the state that is over ("I sold my motorcycle." → "I do
# not have my motorcycle anymore."); the judge reads the change itself as about the thing
# ("I sold my motorcycle." ⊨ "I ride a motorcycle.": entailment 0.99), the ended state as
# its negation
_ENDINGS = [
    (
        re.compile(
            rf"\bi {_SOON}(?:sold|gave away|got rid of|rehomed|traded in|gave up) (my|our) "
            rf"{_THING}",
            re.I,
        ),
        r"I do not have \1 \2 anymore",
    ),
    (
        re.compile(rf"\bi {_SOON}gave (my|our) {_BARE_THING} (?:away\b|to\b[^.,!?;]*)", re.I),
        r"I do not have \1 \2 anymore",
    ),
    (
        re.compile(
            rf"\b(?:my {_PARTNER} and i|i and my {_PARTNER}) {_SOON}(?:split up|broke up|"
            rf"separated|called it quits)\b",
            re.I,
        ),
        r"I do not have a \1\2 anymore",
    ),
    (
        re.compile(rf"\bi {_SOON}(?:split up|broke up|separated) with my {_PARTNER}", re.I),
        r"I do not have a \1 anymore",
    ),
    (
        # "finished law school", "graduated from college"; not "left for college", not
        # "finished the school year"
        re.compile(
            rf"\bi {_SOON}(?:finished|graduated from|completed|dropped out of|left) "
            r"((?:(?!for\b|to\b|at\b|with\b|early\b|after\b|before\b)\w+ ){0,2}?)"
            r"(school|college|university|grad school)\b"
            r"(?! (?:year|work|day|bus|trip|run|project|assignment|break|supplies)\b)",
            re.I,
        ),
        r"I am not in \1\2 anymore",
    ),
    (
        re.compile(rf"\bi {_SOON}(?:finished|completed) my (?:degree|studies)\b", re.I),
        "I am not a student anymore",
    ),
    (
        re.compile(
            rf"\bi {_SOON}(?:got|found|rented) (?:a place of my own|my own "
            r"(?:place|apartment|flat|pad))\b",
            re.I,
        ),
        "I live in my own place",
    ),
    (
        re.compile(
            rf"\bi(?:'ve| have)? {_SOON}been promoted to (?:be |become )?(?:an? |the )?|"
            rf"\bi {_SOON}(?:got|was) promoted to (?:be |become )?(?:an? |the )?",
            re.I,
        ),
        "I work as ",
    ),
    (
        re.compile(rf"\b{_SOON}(?:had|celebrated) my (\d+)(?:st|nd|rd|th) birthday\b", re.I),
        r"am \1 years old",
    ),
]

_CHANGES = [
    *_ENDINGS,
    (re.compile(rf"\b{_SOON}(?:moved|relocated) (?:back )?to\b", re.I), "live in"),
    (re.compile(rf"\b{_SOON}moved (?:back )?into\b", re.I), "live in"),
    (re.compile(rf"\b{_SOON}(?:went|got|came) back to work\b", re.I), "work"),
    # "quit smoking" is the state "not smoking" (the judge reads "I quit smoking." as
    # about smoking, not as its end)
    (re.compile(rf"\b{_SOON}(?:quit|stopped|gave up) (\w+ing)\b", re.I), r"am not \1 anymore"),
    (re.compile(rf"\b{_SOON}got (married|divorced|engaged)\b", re.I), r"am \1"),
    # a new look is the state it brings about: "I dyed my hair red." → "my hair is red"
    (
        re.compile(rf"\bi {_SOON}(?:dyed|colou?red|bleached) my hair (\w+)", re.I),
        r"my hair is \1",
    ),
    (
        re.compile(rf"\bi {_SOON}(?:cut|chopped|shaved|got) my hair (?:cut )?(short|off)\b", re.I),
        "my hair is short",
    ),
    (re.compile(rf"\b{_SOON}turned (\d+)(?: years old)?\b", re.I), r"am \1 years old"),
]
# a change is the speaker's when it names them ("I sold …", "my girlfriend and I …") or
# follows "I" / "we" ("we just moved to …"); "My sister got married." is not
_SPEAKER_BEFORE = re.compile(r"\b(?:i|we)\s+(?:(?:have|had|'ve|'d|also|then|and)\s+)*$", re.I)
_SPEAKER_IN = re.compile(r"^(?:i|my \w+ and i)\b", re.I)
_CLEANUPS = [
    (re.compile(r"(?<!\s),?\s*\b(?:now|these days|nowadays)\b", re.I), ""),
    # when it happened is not part of the state
    (
        re.compile(
            r"(?<!\s),?\s*\b(?:(?:last|this|past) (?:week|month|year|summer|winter|spring|fall|"
            r"autumn|weekend)|yesterday|recently|lately|(?:a|an|one|two|three|few|\d+) "
            r"(?:days?|weeks?|months?|years?) ago|in (?:january|february|march|april|may|june|"
            r"july|august|september|october|november|december|\d{4}))\b",
            re.I,
        ),
        "",
    ),
]
# why or when a change happened is not part of the state it brings about ("I stopped
# running after my knee surgery." → "I am not running anymore."); only for changes: "I feel
# sick after eating dairy." stays as it is
_REASON = re.compile(r"(?<![\s,]),?\s+(?:after|because|since|due to|thanks to)\b[^.!?]*", re.I)
_NOW = re.compile(r"\b(?:now|anymore|any more|these days|nowadays)\b", re.I)
# the parts of a joined change ("I quit bartending and now I drive for Uber.")
_JOINED = re.compile(
    r"(?<![\s,]),?\s+(?:and|so|but)\s+(?:now\s+)?(?=i\b)|(?<![\s,]),\s+(?:now\s+)?(?=i\b)",
    re.I,
)


def _speakers(text: str, m: re.Match[str]) -> bool:
    return bool(
        _SPEAKER_IN.match(m.group(0))
        or _SPEAKER_BEFORE.search(text[max(0, m.start() - 40) : m.start()])
    )


def _changed(text: str) -> str:
    """``text`` with each change of the speaker's replaced by the state it brings about."""

    def apply(pattern: re.Pattern[str], repl: str, current: str) -> str:
        return pattern.sub(
            lambda m: m.expand(repl) if _speakers(current, m) else m.group(0), current
        )

    out = text
    for pattern, repl in _CHANGES:
        out = apply(pattern, repl, out)
    return out


def is_change(text: str) -> bool:
    """Whether the text states a change of the speaker's state (a move, a new job, an
    ending: "I sold my motorcycle.", "I finished law school.").

    >>> is_change("I sold my motorcycle."), is_change("I ride a motorcycle.")
    (True, False)
    >>> is_change("My sister got married last week."), is_change("We just moved to Oslo.")
    (False, True)
    """
    return any(_speakers(text, m) for p, _ in _CHANGES for m in p.finditer(text))


def state_forms(text: str) -> list[str]:
    """:func:`state_form`, and, for a change (or a statement with "now") joined to
    another statement, the state of each part (the judge reads one contradiction in a joined sentence weakly).

    >>> state_forms("I quit bartending and now I drive for Uber.")
    ['I am not bartending anymore and I drive for Uber.', 'I am not bartending anymore.', 'I drive for Uber.']
    >>> state_forms("My daughter just had a baby, so I am a grandma now.")[1:]
    ['My daughter just had a baby.', 'I am a grandma.']
    >>> state_forms("I am a nurse.")
    ['I am a nurse.']
    """
    change = is_change(text)
    whole = state_form(text, change=change)
    if not change and not _NOW.search(text):
        return [whole]
    parts = [p.strip(" ,") for p in _JOINED.split(text)]
    out = [whole]
    if len(parts) > 1 and all(len(p.split()) >= 3 for p in parts):
        for part in parts:
            form = state_form(part.rstrip(".!?") + ".")
            if form not in out:
                out.append(form)
    return out


def state_form(text: str, *, change: bool | None = None) -> str:
    """A change statement as the state it brings about, for the judge ("I moved to Oslo."
    → "I live in Oslo."): the judge has no notion of time, so "moved to X" is not by
    itself a contradiction of "I live in Y", but "I live in X" is.

    >>> state_form("I moved to Oslo."), state_form("I just turned 30."), state_form("I am a nurse.")
    ('I live in Oslo.', 'I am 30 years old.', 'I am a nurse.')
    >>> state_form("I got married last month."), state_form("I quit two years ago, now I cook.")
    ('I am married.', 'I quit I cook.')
    >>> state_form("I quit smoking last year."), state_form("I went back to work as a teacher.")
    ('I am not smoking anymore.', 'I work as a teacher.')
    >>> state_form("I dyed my hair blonde."), state_form("I cut my hair short.")
    ('My hair is blonde.', 'My hair is short.')
    >>> state_form("I sold my motorcycle."), state_form("I finished law school in May.")
    ('I do not have my motorcycle anymore.', 'I am not in law school anymore.')

    """
    if change is None:  # a caller that asked already passes the answer
        change = is_change(text)
    out = _changed(text) if change else text
    for pattern, repl in _CLEANUPS:
        out = pattern.sub(repl, out)
    if change:
        out = _REASON.sub("", out)
    out = re.sub(r"\s+([.!?])", r"\1", re.sub(r"\s{2,}", " ", out)).strip()
    if not out:
        return text
    return out[:1].upper() + out[1:] if text[:1].isupper() else out


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# a statement of liking or disliking ("love", "enjoy", "favorite", "hate", "a fan of")
_ATTITUDE = re.compile(
    r"\b(?:lov(?:e|es|ed|ing)|lik(?:e|es|ed|ing)|enjoy\w*|adore\w*|prefer\w*|favou?rite|"
    r"hat(?:e|es|ed|ing)|dislik\w+|can't\s+stand|fan\s+of|into)\b",
    re.IGNORECASE,
)


_WISH = re.compile(
    r"\b(?:want(?:s|ed)? to|wanna|(?:would|'d) (?:like|love) to|hope to|hoping to|"
    r"plan(?:s|ned|ning)? to|wish|dream (?:is|of)|someday)\b",
    re.I,
)


def _stems(text: str) -> set[str]:
    """Content words, crudely stemmed ("volunteering" → "volunteer"), and numbers.

    >>> sorted(_stems("I have been volunteering for 7 years."))
    ['7', 'volunteer', 'year']
    """
    numbers = {t for t in tokens(text) if t.isdigit()}
    return {_stem(w) for w in content_words(text, stop=STOP_WORDS)} | numbers


def _same_subject(
    a: tuple[str, str | None], b: tuple[str, str | None], sim: float, cut: float
) -> bool:
    (ta, ra), (tb, rb) = a, b
    if ra and rb and ra == rb:
        return True
    if (content_words(ta, stop=STOP_WORDS) & content_words(tb, stop=STOP_WORDS)) - _LIGHT_VERBS:
        return True
    return sim >= cut


# verbs that two facts share without being about the same thing: "I have heard they're
# making a Stephen King film." and "I have never heard of the Libby app."
_LIGHT_VERBS = frozenset(
    ("heard", "hear", "know", "knew", "think", "thought", "get", "got", "go", "went", "make",
     "making", "made", "need", "feel", "felt", "try", "tried", "see", "saw", "seen", "say",
     "said", "take", "took", "look", "hope", "want", "wanted", "mean", "guess")
)  # fmt: skip


class MemoryWriter:
    """The write path over a :class:`MemoryStore` (see the module docstring).

    >>> from consona.testing import FakeEmbedder, FakeNLI
    >>> w = MemoryWriter(MemoryStore("sqlite://"), nli=FakeNLI(), embedder=FakeEmbedder())
    >>> [c.action for c in w.apply("ana", "Mira", "bot", ["I bake.", "I bake."]).changes]
    ['add', 'merge']

    ``nli``: the judge (``consona.nli.load_nli_model()``; ``FakeNLI`` in tests);
    ``embedder``: ``encode(list[str])``; ``k``: active facts the judge compares a new fact
    with; ``same_subject``: embedding similarity above which a contradicted fact counts as
    being about the same subject; ``threshold``: contradiction probability (default: the
    judge's calibrated one); ``entail``: entailment probability for a merge;
    ``max_novel``: content words a new fact may add to the entailing one and still merge
    (the judge's entailment is lenient, so more means a new fact); ``triples``: use the
    facts' triples beside the judge (:mod:`consona.memory.slots`: the same value of a
    relation merges, another value of a one-value slot supersedes even when the judge is
    unsure); ``triple_extractor``: what reads triples from a fact's text (default: the
    judge's own extractor, else :class:`~consona.nli.triples.RuleTripleExtractor`);
    ``anchored_merge``: merge only into a fact sharing a content word with the new one
    (the judge calls "I love coffee." ⊨ "I live in Texas."; a merge would lose Texas).
    """

    def __init__(
        self,
        store: MemoryStore,
        *,
        nli: NLIModel,
        embedder: Any,
        k: int = 8,
        same_subject: float = 0.4,
        threshold: float | None = None,
        entail: float = 0.5,
        max_novel: int = 2,
        triples: bool = True,
        triple_extractor: Any = None,
        anchored_merge: bool = True,
        index: dict[tuple[str, str, str], EmbeddingIndex] | None = None,
    ) -> None:
        from consona.nli.consistency import resolve_threshold

        self.store = store
        self.nli = nli
        self.embedder = embedder
        self.k = k
        self.same_subject = same_subject
        self.threshold = resolve_threshold(nli, threshold)
        self.entail = entail
        self.max_novel = max_novel
        self.slots = SlotReader(triple_extractor, nli=nli) if triples else None
        self.anchored_merge = anchored_merge
        self.indexes = index if index is not None else {}

    def index(self, user: str, character: str, role: str) -> EmbeddingIndex:
        key = (user, character, role)
        if key not in self.indexes:
            self.indexes[key] = EmbeddingIndex(self.embedder)
        return self.indexes[key]

    def apply(
        self,
        user: str,
        character: str,
        role: str,
        facts: Sequence[Fact | str],
        *,
        session: str | None = None,
        turn: int | None = None,
        dry_run: bool = False,
    ) -> MemoryDiff:
        """Update ``role``'s memory with ``facts`` (already the speaker's own)."""
        import time

        start = time.perf_counter()
        check_role(role)
        items = [f if isinstance(f, Fact) else Fact(text=f) for f in facts]
        for f in items:
            check_text(f.text)
        diff = MemoryDiff(dry_run=dry_run)
        if not items:
            return diff
        idx = self.index(user, character, role)
        new_vecs = idx.embed([f.text for f in items])
        with self.store.transaction(user, character) as tx:
            ids = tx.active_ids(role)
            idx.ensure(ids, load=tx.embeddings, texts=tx.texts)
            relations: dict[int, str | None] = {}
            stored: dict[int, tuple[Any, Any, Any]] = {}
            texts: dict[int, str] = {}
            pending: list[tuple[Fact, np.ndarray]] = []  # dry run: facts "added" so far
            added: set[int] = set()  # facts this call stored: one turn does not retire its own
            for fact, vec in zip(items, new_vecs, strict=True):
                near = idx.search(vec, ids, k=self.k)
                cand_ids = [i for i, _ in near]
                sims = dict(near)
                need = [i for i in cand_ids if i not in texts]
                if need:
                    for row in self.store.facts_by_id(need, conn=tx.conn):
                        texts[row.id], relations[row.id] = row.text, row.relation
                        stored[row.id] = (row.subject, row.relation, row.object)
                for relation in slot_relations(fact.relation) if fact.relation else []:
                    for row in self.store.facts_with_relation(
                        user, character, role, relation, conn=tx.conn
                    ):
                        if row.id not in sims and row.id in ids:
                            texts[row.id], relations[row.id] = row.text, row.relation
                            stored[row.id] = (row.subject, row.relation, row.object)
                            cand_ids.append(row.id)
                            known = idx.vectors.get(row.id)
                            sims[row.id] = float(known @ vec) if known is not None else 0.0
                for j, (pfact, pvec) in enumerate(pending):
                    key = -(j + 1)  # not stored: negative ids
                    cand_ids.append(key)
                    sims[key] = float(pvec @ vec)
                    texts[key], relations[key] = pfact.text, pfact.relation
                    stored[key] = (pfact.subject, pfact.relation, pfact.object)
                protected = {i for i in cand_ids if i < 0 or i in added}
                change = self._decide(
                    role, fact, cand_ids, texts, relations, sims, stored, protected=protected
                )
                if change.action == "merge":
                    target = change.fact_id
                    if target is not None and target > 0 and not dry_run:
                        tx.touch(target)
                    if target is not None and target < 0:
                        change.fact_id = None
                elif dry_run:
                    pending.append((fact, vec))
                    change.replaced = [(i, t) for i, t in change.replaced if i > 0]
                    ids = [i for i in ids if i not in {r for r, _ in change.replaced}]
                else:
                    refine = change.action == "refine"
                    seen = sum(tx.get(i).times_seen for i, _ in change.replaced) if refine else 0
                    new = tx.add(
                        role,
                        fact.text,
                        triple=fact.triple if fact.relation or fact.object else None,
                        session=session,
                        turn=turn if turn is not None else fact.source_turn,
                        supersedes=[i for i, _ in change.replaced],
                        embedding=to_bytes(vec),
                        reason="refined" if refine else "superseded",
                        times_seen=seen + 1,
                    )
                    change.fact_id = new.id
                    idx.put({new.id: vec})
                    retired = {i for i, _ in change.replaced}
                    ids = [i for i in ids if i not in retired] + [new.id]
                    added.add(new.id)
                diff.changes.append(change)
        diff.seconds = time.perf_counter() - start
        return diff

    def _decide(
        self,
        role: str,
        fact: Fact,
        cand_ids: list[int],
        texts: dict[int, str],
        relations: dict[int, str | None],
        sims: dict[int, float],
        stored: dict[int, tuple[Any, Any, Any]] | None = None,
        *,
        protected: set[int] | None = None,
    ) -> Change:
        if not cand_ids:
            return Change("add", role, fact.text)
        stored = stored or {}
        forms = state_forms(fact.text)
        state = forms[0]
        changed = [f for f in forms if f != fact.text]  # the states a change brings about
        conflicts: dict[int, str] = {}  # another value of a one-value slot
        same: list[int] = []  # the same value of the same relation
        if self.slots is not None:
            own = [(fact.subject, fact.relation, fact.object)] if fact.relation else []
            new_t = self._triples(fact.text, own)
            for form in changed:
                new_t += [t for t in self._triples(form, []) if t not in new_t]
            for i in cand_ids:
                if bool(_WISH.search(fact.text)) != bool(_WISH.search(texts[i])):
                    continue  # a wish states no value of a slot: it conflicts with none
                old_t = self._triples(texts[i], [stored[i]] if i in stored else [])
                reason = (
                    slot_conflict(old_t, new_t)
                    or arrangement_conflict(texts[i], state)
                    or look_conflict(texts[i], state)
                )
                if reason:
                    conflicts[i] = reason
                elif same_value(old_t, new_t, (texts[i], fact.text)) and (
                    negated(texts[i]) == negated(fact.text)
                ):
                    same.append(i)
        probs = np.asarray(
            self.nli.predict([(texts[i], fact.text) for i in cand_ids]), dtype=np.float64
        )
        for form in changed:  # a change statement: judge the states it brings about too
            alt = np.asarray(
                self.nli.predict([(texts[i], form) for i in cand_ids]), dtype=np.float64
            )
            use_alt = alt[:, CONTRADICTION] > probs[:, CONTRADICTION]
            probs[use_alt] = alt[use_alt]
        ent = probs[:, ENTAILMENT].copy()
        for j, i in enumerate(cand_ids):
            if i in conflicts:  # another value: never "seen again", whatever the judge says
                ent[j] = -1.0
        best_ent = int(np.argmax(ent))
        pe, pc = ent[best_ent], probs[best_ent, CONTRADICTION]
        # (candidate, content words it may add): the judge's entailment vouches for a
        # little more (max_novel); the same value of the same relation for that value
        # only, and only when the judge does not object
        entailing = (
            [(cand_ids[best_ent], self.max_novel)]
            if pe >= self.entail and pe > pc and pc < self.threshold
            else []
        )
        entailing += [
            (i, 0)
            for i in sorted(same, key=lambda i: -sims.get(i, 0.0))
            if probs[cand_ids.index(i), CONTRADICTION] < self.threshold and i not in dict(entailing)
        ]
        for i, novel in entailing:
            if _ATTITUDE.search(fact.text) and not _ATTITUDE.search(texts[i]):
                # a liking is a fact of its own: "I got done watching a horror movie." does
                # not say "I love horror." (the judge's entailment is topical)
                continue
            if bool(_WISH.search(fact.text)) != bool(_WISH.search(texts[i])):
                # a wish and a state are two facts: "I want to own my own bookstore." is
                # not "I work in a bookstore." seen again
                continue
            old_words, new_words = _stems(texts[i]), _stems(fact.text)
            if old_words < new_words:  # says more than the fact that entails it
                return Change("refine", role, fact.text, replaced=[(i, texts[i])])
            anchored = bool(old_words & new_words) or not self.anchored_merge
            if anchored and len(new_words - old_words) <= novel:
                return Change("merge", role, fact.text, fact_id=i, merged_into=texts[i])
            # otherwise the judge's "entailment" is topical: the new fact says something
            # the old one does not ("I volunteer" ⊭ "I have volunteered for 7 years")
        protected = protected or set()  # facts of the same turn: one turn is consistent
        replaced = [
            (i, texts[i])
            for i, row in zip(cand_ids, probs, strict=True)
            if i not in protected
            and (
                i in conflicts
                or (
                    row[CONTRADICTION] >= self.threshold
                    and _same_subject(
                        (state, fact.relation),
                        (texts[i], relations.get(i)),
                        sims.get(i, 0.0),
                        self.same_subject,
                    )
                )
            )
        ]
        if replaced:
            return Change("supersede", role, fact.text, replaced=replaced)
        return Change("add", role, fact.text)

    def _triples(self, text: str, stored: list[tuple[Any, Any, Any]]) -> list[Triple]:
        return fact_triples(text, [t for t in stored if t], reader=self.slots)
