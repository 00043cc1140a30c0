"""Extraction rules: clause splitting with spans, first-person rewriting, and cues for
questions / hypotheticals / the other speaker (the person rules). The shared text helpers
(tokens, content words, ROUGE-L) live in ``consona.text``.

These rules are features of the shipped fast extractor (``fast.hand_features``): changing
them changes its outputs.

>>> [c.text for c in split_clauses("i've been a nurse for ten years lol. what about you?")]
["i've been a nurse for ten years lol.", 'what about you?']
>>> rewrite_clause("yeah i've been a nurse for ten years lol")
'I have been a nurse for ten years.'
>>> is_question("what about you?"), is_hypothetical("if i had a dog i would walk it")
(True, True)
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from consona.text import STOP_WORDS, content_words, tokens
from consona.types import Turn

__all__ = [
    "FIRST_PERSON",
    "SECOND_PERSON",
    "Clause",
    "about_other",
    "answer_statement",
    "answered",
    "is_hypothetical",
    "is_question",
    "is_small_talk",
    "possession_statement",
    "rewrite_clause",
    "split_clauses",
]


@dataclass(frozen=True)
class Clause:
    """A span of an utterance: ``text`` is ``utterance[start:end]``."""

    text: str
    start: int
    end: int


# Sentence ends, semicolons, and commas / conjunctions that start a new first-person clause.
_SPLIT = re.compile(
    # every alternative that opens with whitespace starts only where a run of it starts
    # ((?<!\s)), so a long run of spaces is scanned once, not once per space
    r"(?<=[.!?;])\s+|[.!?]{2,}\s*|(?<!\s)\s*[;:]\s+|(?<!\s)\s+-+\s+|(?<!\s)\s*\n+\s*"
    r"|,\s*(?=(?:and\s+|but\s+|so\s+)?(?:i|i'm|im|i've|ive|i'd|i'll|my|we|we're|me)\b)"
    r"|(?<!\s)\s+(?=(?:but|and|so|because|since)\s+(?:i|i'm|im|i've|ive|my|we)\b)"
    # "I love horror but true crime is my favorite": a contrast that says more about the
    # speaker is a clause of its own (not "nothing but", "can't help but")
    r"|(?<!nothing)(?<!anything)(?<!\bhelp)(?<!\ball)(?<!\s),?\s+(?=but\s+(?!not\b|also\b)"
    r"(?:[^.!?;,\s]+\s+){1,6}?(?:my|our|i|i'm|im)\b)"
    # a tag question after a statement: "I've a cat, do you?", "I love it, what about you?"
    r"|,\s*(?=(?:and\s+)?(?:what|how)\s+about\s+(?:you|u|yourself)\b)"
    r"|,\s*(?=(?:do|did|does|have|are|were|can|would|will)\s+(?:you|u)\b[^.!?]{0,80}\?)",
    re.IGNORECASE,
)
# a question run on after a statement: "I walk to work everyday what do you do?"
_WH_RUN_ON = re.compile(
    r"(?<!\s)\s+(?=(?:what|how|where|when|why|who|which)\s+(?:do|did|does|are|is|was|were|have|about)"
    r"\s+(?:you|u|your)\b[^.!?]{0,80}\?)",
    re.IGNORECASE,
)
# ... unless what comes before only introduces it ("so what do you do?", "I asked her what
# do you want?")
_BEFORE_A_QUESTION = frozenset(
    ("so", "and", "but", "or", "well", "ok", "okay", "oh", "asked", "ask", "asks", "tell",
     "me", "wonder", "wondering", "know", "guess", "then", "anyway", "hey", "her", "him",
     "them", "us")
)  # fmt: skip


def _run_on(c: Clause) -> list[Clause]:
    m = _WH_RUN_ON.search(c.text)
    if m is None:
        return [c]
    before = tokens(c.text[: m.start()])
    if len(before) < 3 or before[-1] in _BEFORE_A_QUESTION:
        return [c]
    return [
        Clause(c.text[: m.start()], c.start, c.start + m.start()),
        Clause(c.text[m.end() :], c.start + m.end(), c.end),
    ]


def split_clauses(text: str, *, max_clauses: int = 12) -> list[Clause]:
    """Split an utterance into sentence/clause spans (at most ``max_clauses``, longest text
    first kept in order)."""
    out: list[Clause] = []
    pos = 0
    for m in _SPLIT.finditer(text):
        if m.start() > pos:
            out.append(Clause(text[pos : m.start()], pos, m.start()))
        pos = max(pos, m.end())
    if pos < len(text):
        out.append(Clause(text[pos:], pos, len(text)))
    out = [part for c in out for part in _run_on(c)]
    clauses = [c for c in (_trim(c) for c in out) if c is not None and tokens(c.text)]
    return clauses[:max_clauses]


def _trim(c: Clause) -> Clause | None:
    s, e = c.start, c.end
    raw = c.text
    lead = len(raw) - len(raw.lstrip(" ,"))
    trail = len(raw) - len(raw.rstrip(" ,"))
    s, e = s + lead, e - trail
    if e <= s:
        return None
    return Clause(raw[lead : len(raw) - trail], s, e)


_QWORDS = {
    "what", "who", "where", "when", "why", "how", "which", "do", "does", "did", "are", "is",
    "was", "were", "have", "has", "can", "could", "would", "will", "should", "shall", "may",
    "whats", "what's", "hows", "how's", "wanna", "any", "anything",
}  # fmt: skip


_WH = {"what", "who", "where", "when", "why", "how", "which", "whats", "what's", "hows", "how's"}


def is_question(text: str) -> bool:
    """A question: ends with '?' or starts with a question word without a first-person claim."""
    t = text.strip()
    if t.endswith("?"):
        return True
    toks = tokens(t)
    if len(toks) < 2 or toks[0] not in _QWORDS:
        return False
    if toks[1] in {"you", "your", "u"}:
        return True
    return toks[0] in _WH and toks[1] in _QWORDS | {
        "about", "kind", "kinds", "type", "types", "sort", "sorts", "else"
    }  # fmt: skip


_HYPO = re.compile(
    r"\b(if|unless|suppose|supposing|imagine|wish|hope to|would like|if only|"
    r"maybe someday|one day i|i would|i'd|i could|i might)\b",
    re.IGNORECASE,
)
_HYPO_STRONG = re.compile(r"\b(if|unless|suppose|supposing|imagine)\b", re.IGNORECASE)


def is_hypothetical(text: str, *, strict: bool = True) -> bool:
    """A conditional or imagined statement ("if I had a dog..."). ``strict`` looks only at
    conditionals; otherwise wishes and would/could also count."""
    return bool((_HYPO_STRONG if strict else _HYPO).search(text))


FIRST_PERSON = frozenset({"i", "i'm", "im", "i've", "ive", "i'd", "i'll", "my", "me", "mine",
                          "we", "we're", "our", "us", "myself"})  # fmt: skip
SECOND_PERSON = frozenset({"you", "your", "you're", "youre", "you've", "yours", "u", "ur",
                           "yourself"})  # fmt: skip


def about_other(text: str) -> bool:
    """The clause speaks about the other speaker (second person, no first person)."""
    toks = set(tokens(text))
    return bool(toks & SECOND_PERSON) and not (toks & FIRST_PERSON)


_SMALL = {
    "lol", "ok", "okay", "k", "haha", "hahaha", "hehe", "yes", "yeah", "yea", "yep", "no",
    "nope", "nah", "oh", "wow", "cool", "nice", "great", "awesome", "thanks", "thank", "hi",
    "hello", "hey", "bye", "sure", "right", "really", "lmao", "omg", "hmm", "um", "uh",
    "me", "too", "same", "good", "fine", "well", "so", "that", "sounds", "fun", "is", "it",
    "ah", "aw", "awww", "and", "you", "a", "very", "true", "agreed", "indeed", "exactly",
}  # fmt: skip


def is_small_talk(text: str) -> bool:
    """Only fillers / greetings / acknowledgements (or nothing readable)."""
    toks = tokens(text)
    return not toks or all(t in _SMALL for t in toks)


_LEAD_FILLER = re.compile(
    r"^(?:(?:yes|yeah|yea|yep|yup|no|nope|nah|oh|ohh|ah|wow|well|haha+|hah|lol|ok|okay|sure|"
    r"hi|hello|hey|cool|nice|great|awesome|really|so|and|but|also|actually|honestly|um+|uh+|"
    r"hmm+|i mean|that's (?:cool|great|nice|awesome|good|fun|interesting|funny|true|sad)|"
    r"that is (?:cool|great|nice|awesome|good|fun|interesting|funny|true|sad)|"
    r"thanks|thank you|sounds (?:fun|good|great|nice)|me too|same here|true(?=\s*[,.!]|$)|right|"
    r"of course|definitely|absolutely|totally|i see(?=\s*[,.!]|$)|indeed|omg|lmao|lmfao|hehe|well then|"
    r"anyway|anyways|personally|for me|as for me|basically|though|my (?:god|gosh|goodness))\b[\s,!.]*)+",
    re.IGNORECASE,
)
_INNER_FILLER = re.compile(
    r"\s*\b(?:lol|lmao|lmfao|haha+|hehe+|rofl|omg|xd)\b[!.]*|\s*[:;]-?[)(dpDP]|\s*<3",
    re.IGNORECASE,
)
_TRAIL_FILLER = re.compile(
    r"(?:[\s,]+(?:too|though|as well|actually|haha+|lol|anyway|anyways|really|"
    r"i guess|i think|you know)\b)+[\s!.?]*$",
    re.IGNORECASE,
)
_NON_TEXT = re.compile(r"[^\w\s',.&$%/-]", re.UNICODE)
_FIXES = [
    (re.compile(r"\bi\b"), "I"),
    (re.compile(r"\bim\b", re.IGNORECASE), "I'm"),
    (re.compile(r"\bive\b", re.IGNORECASE), "I've"),
    (re.compile(r"\bid\b(?=\s+(?:like|love|rather|be|have|say|go)\b)", re.IGNORECASE), "I'd"),
    (re.compile(r"\bdont\b", re.IGNORECASE), "don't"),
    (re.compile(r"\bcant\b", re.IGNORECASE), "can't"),
    (re.compile(r"\bdoesnt\b", re.IGNORECASE), "doesn't"),
    (re.compile(r"\bdidnt\b", re.IGNORECASE), "didn't"),
    (re.compile(r"\bwanna\b", re.IGNORECASE), "want to"),
    (re.compile(r"\bgonna\b", re.IGNORECASE), "going to"),
    (re.compile(r"\bu\b", re.IGNORECASE), "you"),
    # persona statements say "I am" and drop hedges (measured on MSC persona summaries)
    (re.compile(r"\bI'm\b"), "I am"),
    (
        re.compile(
            r"\s*\b(?:just|really|actually|also|pretty|so|very|totally|definitely|"
            r"currently|still)\b(?=\s)",
            re.IGNORECASE,
        ),
        "",
    ),
    # MSC persona summaries spell contractions out ("I have", "I would", "I will")
    (re.compile(r"\bI've\b"), "I have"),
    (re.compile(r"\bI'd\b(?!\s+(?:been|had|gone|done|seen|never)\b)"), "I would"),
    (re.compile(r"\bI'll\b"), "I will"),
    # emphatic "do": "I do love jazz" -> "I love jazz"
    (
        re.compile(
            r"\b(I|we)\s+(?:do|did)\s+(?=(?:like|love|enjoy|have|want|play|work|live|need|"
            r"think|know|hate|prefer)\b)",
            re.IGNORECASE,
        ),
        r"\1 ",
    ),
    (
        re.compile(
            r"\s*\b(?:absolutely|honestly|usually|already|sometimes|often|even|probably|"
            r"kind of|sort of|extremely|super|quite|literally|seriously|basically|especially|"
            r"finally|recently|mostly|generally|normally|always|only)\b(?=\s)",
            re.IGNORECASE,
        ),
        "",
    ),
    (
        re.compile(
            r"\s+(?:last night|this morning|yesterday|last week|this weekend|next week|"
            r"tomorrow|the other day|every day|all the time|one day)\b",
            re.IGNORECASE,
        ),
        "",
    ),
    (
        re.compile(
            r"\s+(?:very much|so much|much|a lot|at all|right now|these days|lately|nowadays|"
            r"for sure|for now|yet|now|today|tonight|anymore)(?=[.!?,]?$)",
            re.IGNORECASE,
        ),
        "",
    ),
    # persona statements keep the main clause: drop subordinate / contrastive tails
    (
        re.compile(
            r",?\s+(?:because|which|since|so that|although|though|unless|while|until|but)\b.*$",
            re.IGNORECASE,
        ),
        "",
    ),
    (re.compile(r"\s+([,.!?])"), r"\1"),
    (re.compile(r"\s{2,}"), " "),
]
# Verb-first fragments get their subject back ("came back from a run" -> "I came back ...").
_FRAG_VERBS = {
    "came", "went", "got", "love", "like", "have", "work", "live", "play", "moved", "made",
    "had", "did", "am", "enjoy", "took", "bought", "grew", "born", "raised",
}  # fmt: skip
# "I'm good" / "I am doing well": how the speaker is, not who
_HOW_I_AM = re.compile(
    r"^(?:I am )?(?:doing )?(?:good|great|fine|ok|okay|well|alright|wonderful|excellent|"
    r"awesome|not bad|so-so|kidding|joking|sorry|glad|sure|not sure|happy to hear that)"
    r"(?: thanks| thank you| today| too)?$",
    re.IGNORECASE,
)
_THANKS = re.compile(r"^\W*(?:thanks|thank you|thx)\b", re.IGNORECASE)
_LEAD_CONJ = re.compile(r"^(?:because|since|cause|so)\s+(?=\w)", re.IGNORECASE)
# a subject-less stance: "not (really) into cars", "not a fan of ...", "big fan of ..."
_NOT_INTO = re.compile(
    r"^(?:not\s+(?:into|a\s+(?:big\s+|huge\s+)?fan\s+of|big\s+on|fond\s+of|"
    r"much\s+of\s+a\s+(?:fan|reader|cook|drinker|talker|dancer|sports\s+fan|morning\s+person))"
    r"|(?:a\s+)?(?:big|huge)\s+fan\s+of)\b",
    re.IGNORECASE,
)
# "Going abroad is something I want": the -ing word is the subject, not a fragment
_GERUND_SUBJECT = re.compile(r"^\w+ing\b[^,]*?\s(?:is|was|are|were|makes|keeps|has)\b")
_FRAG_FORM = re.compile(r"^[a-z]+(?:ed|ing)$")
_NOT_VERB = {"thing", "nothing", "something", "anything", "everything", "morning", "evening",
             "wedding", "ceiling", "king", "ring", "spring", "string", "red", "bed", "need",
             "seed", "feed", "speed", "weed", "shed", "sled", "bled"}  # fmt: skip


def rewrite_clause(text: str) -> str:
    """Turn a clause into a tidy first-person statement: fillers, emoji and hedges removed,
    ``i``/``im`` normalised, capitalised, ending with a period. Returns '' when nothing
    is left."""
    t = text.replace("’", "'").strip()
    if _THANKS.match(t):
        return ""
    t = _NON_TEXT.sub(" ", t)
    t = _INNER_FILLER.sub("", t)
    t = _LEAD_FILLER.sub("", t.strip(" ,.!"))
    t = _LEAD_CONJ.sub("", t)
    t = _TRAIL_FILLER.sub("", t)
    t = t.strip(" ,.!?-'")
    for pat, rep in _FIXES:
        t = pat.sub(rep, t)
    t = _TRAIL_FILLER.sub("", t).strip(" ,.!?-")
    if not tokens(t) or _HOW_I_AM.match(t):
        return ""
    if _NOT_INTO.match(t):  # "Not really into cars." -> "I am not into cars."
        t = ("I am a " if t[0] in "bBhH" else "I am ") + t[0].lower() + t[1:]
    first = t.split()[0].lower()
    fragment = first not in _NOT_VERB and (first in _FRAG_VERBS or _FRAG_FORM.match(first))
    if fragment and not (first.endswith("ing") and _GERUND_SUBJECT.search(t)):
        t = ("I am " if first.endswith("ing") else "I ") + t[0].lower() + t[1:]
    return t[0].upper() + t[1:] + "."


# a statement may not end on these: "Hard to.", "I was raised on.", "My dog sing than."
_DANGLING_END = frozenset(
    [
        "to",
        "on",
        "of",
        "than",
        "with",
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "for",
        "in",
        "at",
        "from",
        "by",
        "about",
        "my",
        "your",
        "his",
        "her",
        "their",
        "our",
        "is",
        "are",
        "am",
        "was",
        "were",
        "be",
    ]
)
_LEADING_LINK = frozenset(
    ["of", "to", "on", "at", "with", "for", "from", "by", "than", "and", "or"]
)
_AUX_FIRST = frozenset(["is", "are", "am", "was", "were", "isn't", "aren't", "wasn't"])


def is_fragment(statement: str) -> bool:
    """Whether ``statement`` is a broken piece rather than a claim: it ends on a word that
    needs more ("Hard to.", "I was raised on."), starts on a word that links to something
    missing ("Of math homework.") or has a verb but no subject ("Is not a guy."). A bare
    noun phrase ("My brother.") is kept: it still names what the utterance
    was about.

    >>> [is_fragment(s) for s in ("Hard to.", "I was raised on.", "Is not a guy.",
    ...                           "My brother.", "I have a brother.", "Clowns scare me.",
    ...                           "I am 19.", "My brother is a pilot.", "Of math homework.")]
    [True, True, True, False, False, False, False, False, True]
    """
    words = [w.lower() for w in re.findall(r"[A-Za-z0-9']+", statement)]
    return (
        len(words) < 2
        or words[-1] in _DANGLING_END
        or words[0] in _AUX_FIRST
        or words[0] in _LEADING_LINK
    )


_POSSESSED = re.compile(
    r"\bmy\s+((?:(?:two|three|four|five|2|3|4|5|little|older|younger|big|new|old)\s+)*)"
    r"(son|daughter|sons|daughters|kids|children|child|wife|husband|boyfriend|girlfriend|"
    r"brother|sister|brothers|sisters|dog|dogs|cat|cats|puppy|pet|pets|horse|horses|car|"
    r"truck|twins|grandkids|grandchildren|fiance|fiancee|baby|parrot|bird|birds|fish|"
    r"hamster|rabbit|kitten|kittens|nephew|niece|job|house|farm|garden|boat)\b",
    re.IGNORECASE,
)


def possession_statement(statement: str) -> str | None:
    """An "I have ..." statement for the family member / pet / thing said as "my ..."
    (MSC summaries state possession first: "my son is in junior high" -> "I have a son.").
    None when there is none or the statement already says "I have".

    >>> possession_statement("I am relaxing with my two dogs.")
    'I have two dogs.'
    >>> possession_statement("My older sister got me a job.")
    'I have an older sister.'
    """
    if re.search(r"\bI have\b", statement):
        return None
    m = _POSSESSED.search(statement)
    if not m:
        return None
    mods, noun = m.group(1).strip().lower(), m.group(2).lower()
    phrase = f"{mods} {noun}" if mods else noun
    if re.match(r"(?:two|three|four|five|\d)\b", mods) or (noun.endswith("s") and noun != "boss"):
        art = ""
    else:
        art = "an " if phrase[0] in "aeiou" else "a "
    if noun in {"children", "kids", "grandkids", "grandchildren", "twins"} and not mods:
        art = ""
    return f"I have {art}{phrase}."


# -- answers to yes/no questions ------------------------------------------------------------

_YN_QUESTION = re.compile(
    r"^(?:(?:so|and|but|well|then|ok|okay|oh|hey)[\s,]+)*"
    r"(?:(do|did|have|are|were|can)\s+(?:you|u)\s+(ever\s+)?|(ever\s+))(.+?)[\s?!.]*$",
    re.IGNORECASE,
)
# "Do you know what I mean?", "Do you think so?", "Do you want to hear a joke?", "Are you
# busy?": a question about the talk or the moment, not about the person
_NOT_ASKED = re.compile(
    r"^(?:know|think|mean|mind|agree|understand|see|remember|guess|believe|feel like|"
    r"want me|need me|like me|wanna|hear|get it|ok|okay|alright|sure|there|still there|"
    r"ready|busy|free|awake|around|serious|kidding|joking|done|tired|hungry|thirsty|sleepy|"
    r"sick|bored|cold|hot|warm|home|up|still\s+up|just|at\s+(?:work|home|school)|feeling|going|"
    r"leaving|coming|eating|drinking|sleeping|doing|watching|listening|enjoying|having|"
    r"sleep\s+well|eaten|on\s+(?:your|the)\s+way|"
    r"want\s+to\s+(?:hear|know|see|talk|chat|try|come|go\s+out|meet|play\s+a\s+game)|"
    r"have\s+(?:a\s+)?(?:minute|moment|second|time)|need\s+(?:help|anything|a\s+hand))\b",
    re.IGNORECASE,
)
_YES = re.compile(
    r"^(?:yes|yeah|yea|yep|yup|sure do|sure|definitely|absolutely|of course|certainly|"
    r"(?:i|we)\s+(?:do|did|have|am|are|can)(?=\s*(?:too|indeed|actually)?\s*[.!,]*$))\b",
    re.IGNORECASE,
)
_NO = re.compile(
    r"^(?:no|nope|nah|never|not really|not at all|not yet|"
    r"(?:definitely|absolutely|certainly|of\s+course|sure)\s+(?:not|don't|didn't|haven't)|"
    r"(?:i|we)\s+(?:don't|dont|do not|didn't|didnt|did not|haven't|havent|have not|"
    r"am not|can't|cant|cannot|aren't)(?=\s*(?:really|yet)?\s*[.!,]*$)|"
    r"(?:i'm|im)\s+not(?=\s*(?:really|yet)?\s*[.!,]*$))\b",
    re.IGNORECASE,
)
# a "no" that answers nothing ("no idea", "never mind", "not sure", "never tried one")
_NOT_A_NO = re.compile(
    r"^(?:no\s+(?:way|problem|worries|doubt|idea|clue|one|kidding)|never\s+(?:mind|tried|had|"
    r"heard|seen|thought)|not\s+(?:really\s+|at\s+all\s+|so\s+)?sure)\b",
    re.IGNORECASE,
)
# a yes taken back in the same sentence ("Yes, I used to.", "Yes, but not anymore", "Yes,
# well, I was") and a no taken back ("No, of course I do!")
_YES_TAKEN_BACK = re.compile(
    r"\b(?:used\s+to|anymore|any\s+more|no\s+longer|but|not|was|were|until)\b|n't\b",
    re.IGNORECASE,
)
_NO_TAKEN_BACK = re.compile(
    r"\bof\s+course\b|\b(?:i|we)\s+(?:do|did|am|have|can)\s*[.!,]*$", re.IGNORECASE
)
# the words of a question that name no content on their own
_NAMES_NOTHING = frozenset(
    ("like", "love", "enjoy", "here", "there", "been", "have", "go", "do", "get", "ever")
)
_SWAP = {"your": "my", "yours": "mine", "yourself": "myself"}
_NEGATED = {"do": "don't", "did": "didn't", "have": "haven't", "are": "am not",
            "were": "was not", "can": "can't"}  # fmt: skip
_AFFIRMED = {"do": "", "did": "did ", "have": "have ", "are": "am ", "were": "was ",
             "can": "can "}  # fmt: skip


def answer_statement(question: str, answer: str, *, rest: str = "") -> str | None:
    """The first-person statement that ``answer`` makes about its speaker by answering
    ``question``, a question put to the speaker ("Have you ever been to Disneyland?" + "No,
    we bought a house." → "I have never been to Disneyland."), or None.

    The answer is a yes or a no to a yes/no question, a pronoun answer ("Do you like math?"
    + "I hate it."), a counted answer to "do you have …" ("Two cats."), or a favourite
    named in a few words ("What's your favorite band?" + "probably coldplay"). ``rest``:
    the rest of the answer's sentence, where a yes or a no can be taken back ("Yes, I used
    to.", "No, of course I do!"). None when the question is about the talk or the moment,
    or the answer is none of these.

    >>> answer_statement("Do you like the holidays?", "I don't.")
    "I don't like the holidays."
    >>> answer_statement("have you ever been to disneyland?", "No, we recently bought a house")
    'I have never been to disneyland.'
    >>> answer_statement("Do you have any pets?", "Yes! Two cats.")
    'I have two cats.'
    >>> answer_statement("Do you like math?", "I hate it.")
    'I hate math.'
    >>> answer_statement("Do you have any pets?", "Yes", rest="I used to.") is None
    True
    >>> answer_statement("Are you a student?", "I'm a teacher.") is None  # not a yes or a no
    True
    >>> answer_statement("Do you know what I mean?", "Yes") is None  # about the talk
    True
    """
    question, answer = question.replace("’", "'").strip(), answer.replace("’", "'").strip()
    fav = _favorite_answer(question, answer)
    if fav is not None:
        return fav
    m = _YN_QUESTION.match(question)
    if not m:
        return None
    # "Ever been to Spain?" is "Have you ever been to Spain?", "Ever play chess?" "Do you
    # ever play chess?"
    aux, ever = (m.group(1) or "").lower(), m.group(2) or m.group(3)
    # "are you in school too?", "do you have birds then?": the tail belongs to the talk
    body = re.sub(
        r"(?:\s+(?:too|then|either|also|as\s+well|at\s+all|again|yet|though|right\s+now))+$",
        "",
        m.group(4).strip(" ,?!."),
        flags=re.IGNORECASE,
    ).strip(" ,")
    words = tokens(body)
    if not aux:
        aux = "have" if words and (words[0] in _PARTICIPLES or words[0].endswith("ed")) else "do"
    if (
        not words
        or len(words) > 12
        or _NOT_ASKED.match(body)
        # "you all", "Do you not like cats?", "Are you and your wife …?"
        or words[0] in {"all", "both", "guys", "not", "and", "or", "ever"}
        or set(words) & (FIRST_PERSON | {"or", "you", "u", "ur", "you're", "youre", "n't"})
        or set(words) & {"it", "them"}  # "Do you play a lot of it?": named in an earlier turn
        or is_small_talk(body)
        # "Do you like it?", "Have you been?": what it is lives in an earlier turn
        or not (content_words(body, stop=STOP_WORDS) - _NAMES_NOTHING)
    ):
        return None
    a = answer
    body = " ".join(_SWAP.get(w.lower(), w) for w in body.split())
    # "Do you like math?" + "I hate it." → "I hate math."; "Do you have pets?" + "Two
    # cats." → "I have two cats."
    feeling = _FEELING_IT.match(a)
    liked = _LIKE_BODY.match(body)
    if feeling and aux == "do" and liked:
        return f"I {feeling.group(1).lower()} {liked.group(1)}."
    counted = _COUNTED.match(a)
    if aux == "do" and re.match(r"^have\b", body, re.IGNORECASE) and counted:
        what = counted.group(1)
        return f"I have {what[0].lower()}{what[1:]}."
    tail = f"{a} {rest}"
    no = _NO.match(a)
    if no and not _NOT_A_NO.match(a):
        if _NO_TAKEN_BACK.search(tail[no.end() :]):
            return None
        yes = False
    elif (agreed := _YES.match(a)) and not re.match(r"^sure\s+(?:thing|enough)\b", a, re.I):
        if _YES_TAKEN_BACK.search(tail[agreed.end() :]):
            return None
        yes = True
    else:
        return None
    if yes:
        body = re.sub(r"\bany\s+", "", body, flags=re.IGNORECASE)
        verb = _AFFIRMED[aux]
    elif ever and aux in ("have", "did"):
        verb = "have never " if aux == "have" else "never did "
    else:
        verb = _NEGATED[aux] + " "
    return f"I {verb}{body}."


_PARTICIPLES = frozenset(
    ("been", "had", "seen", "done", "gone", "heard", "tried", "made", "taken", "eaten",
     "ridden", "driven", "flown", "swum", "met", "read", "won", "lost", "worn", "grown")
)  # fmt: skip


# "I hate it." / "I love them!" answering "Do you like <something>?"
_FEELING_IT = re.compile(
    r"^(?:(?:yes|yeah|no|oh|ah|well)[\s,!]+)?i\s+(?:really\s+|absolutely\s+|just\s+)?"
    r"(love|like|hate|enjoy|adore|dislike|detest)\s+(?:it|them|that)\s*[.!]*$",
    re.IGNORECASE,
)
_LIKE_BODY = re.compile(r"^(?:like|love|enjoy)\s+(.+)$", re.IGNORECASE)
# "Two cats." / "a dog and a hamster" answering "Do you have any pets?"
_NUMBER = r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d+)"
_COUNTED = re.compile(
    rf"^(?:(?:yes|yeah|yep|yup)[\s,!]+(?:i\s+(?:do|have)[\s,!]+)?)?({_NUMBER}\s+"
    r"(?!(?:lot|lots|few|little|bit|day|while|couple|ton|tons|bunch|time|second|minute)\b)"
    r"[a-z]+"
    rf"(?:\s+[a-z]+)?(?:\s+and\s+{_NUMBER}\s+[a-z]+(?:\s+[a-z]+)?)?)\s*[.!]*$",
    re.IGNORECASE,
)
_FAVORITE_Q = re.compile(
    r"^(?:(?:so|and|oh|ok|okay|well)[\s,]+)*(?:what|which)(?:'s|\s+is|\s+(are)|\s+was)?\s+"
    r"(?:your|ur)\s+(?:all[\s-]time\s+)?(?:favorite|favourite|fav|fave)\s+([a-z]+(?:\s+[a-z]+)?)"
    r"[\s?!.]*$",
    re.IGNORECASE,
)
_FAVORITE_LEAD = re.compile(
    r"^(?:(?:oh|hmm+|well|probably|definitely|honestly|i'd\s+say|i\s+would\s+say|i\s+think|"
    r"mine\s+(?:is|are|would\s+be|has\s+to\s+be)|my\s+(?:favou?rite|fav)\s+(?:is|are)|"
    r"it(?:'s|\s+is|\s+would\s+be|\s+has\s+to\s+be)|that\s+would\s+be|has\s+to\s+be)[\s,]+)+",
    re.IGNORECASE,
)


def _favorite_answer(question: str, answer: str) -> str | None:
    """ "What's your favorite band?" + "Mine is the Rolling Stones!" → "My favorite band is
    the Rolling Stones."; None when the question is no favourite question or the answer is
    not a short name.

    >>> _favorite_answer("What is your favorite movie?", "Mine is friday.")
    'My favorite movie is friday.'
    >>> _favorite_answer("what's your favorite color?", "I don't know, maybe blue? you?") is None
    True
    """
    m = _FAVORITE_Q.match(question)
    if not m:
        return None
    are, thing = m.group(1), m.group(2).lower()
    answer = re.split(r"(?<=[.!?])\s", answer, maxsplit=1)[0]  # "Queen! What's yours?"
    name = re.sub(
        r"[,\s]+(?:and\s+|what\s+about\s+|how\s+about\s+)?(?:you|u|yours)\s*\?+\s*$",
        "",
        answer,
        flags=re.IGNORECASE,
    )
    name = _TRAIL_FILLER.sub("", _INNER_FILLER.sub("", _FAVORITE_LEAD.sub("", name)))
    name = re.sub(r"\s+(?:for\s+sure|probably|of\s+course)\s*[.!]*$", "", name, flags=re.I)
    name = name.strip(" .!,")
    words = tokens(name)
    if (
        not words
        or len(words) > 5
        or "?" in name
        or set(words) & (FIRST_PERSON | SECOND_PERSON)
        or is_small_talk(name)
        or words[0] in {"not", "no", "nothing", "none", "don't", "dont", "idk", "maybe", "never"}
        or set(words) & _NOT_A_NAME
        or "'" in name.replace("'s ", " ").rstrip("'s")  # "can't pick", "that's easy"
    ):
        return None
    return f"My favorite {thing} {'are' if are else 'is'} {name}."


# words that make a favourite's answer something other than a name ("Good question!",
# "hard to say", "too many to count", "dunno", "whatever", "it depends")
_NOT_A_NAME = frozenset(
    ("is", "are", "was", "question", "hard", "too", "many", "pick", "choose", "dunno",
     "whatever", "know", "sure", "depends", "everything", "anything", "all", "tough", "say",
     "can't", "cannot", "that's", "easy", "good", "great", "same", "lol", "haha")
)  # fmt: skip


_OWN_ANSWER = re.compile(r"^\W*(?:i|i'm|im|i've|mine|me|my|we)\b", re.IGNORECASE)


def answered(turn: Turn, context: Sequence[Turn] = ()) -> list[str]:
    """Statements that ``turn`` makes by answering a question put to its speaker
    (:func:`answer_statement`): the other speaker's turn just before (``context[-1]``)
    ending on one, answered by the turn's first clause, or a question of the speaker's
    own answered in the next clause ("Do you like the holidays? I don't." → "I don't like
    the holidays.").

    >>> answered(Turn(speaker="a", text="Do you like the holidays? I don't."))
    ["I don't like the holidays."]
    >>> answered(Turn(speaker="a", text="No, we bought a house."),
    ...          [Turn(speaker="b", text="Ever been to Disneyland?")])
    ['I have never been to Disneyland.']
    """
    spans = split_clauses(turn.text)

    def rest(c: Clause) -> str:  # the rest of the answer's sentence
        if c.text.rstrip().endswith((".", "!", "?")):
            return ""
        return re.split(r"[.!?]", turn.text[c.end :], maxsplit=1)[0]

    out: list[str] = []
    if spans and context and context[-1].speaker not in (None, turn.speaker):
        before = [c.text for c in split_clauses(context[-1].text)]
        if before and is_question(before[-1]):
            out.append(answer_statement(before[-1], spans[0].text, rest=rest(spans[0])) or "")
    for q, a in itertools.pairwise(spans):
        # the speaker answering their own question says so in the first person ("I
        # don't.", "mine is papaya"); a bare "yeah" after it answers something else
        if is_question(q.text) and not is_question(a.text) and _OWN_ANSWER.match(a.text):
            out.append(answer_statement(q.text, a.text, rest=rest(a)) or "")
    return [s for s in out if s]
