"""Does a reply stay in character? Pure scorers over (persona facts, history, user turn, reply).

Each scorer is a plain function; the judge-based ones take any ``NLIModel`` (the default
judge, the LLM judge, ``consona.testing.fake_judge()``). The real-turn benchmark
(``bench/agent_real_turns.py``) and the agent's re-rank use them.

- :func:`out_of_character` — speaks as an AI / assistant / language model, or refuses as one;
- :func:`echo` — claims as its own a first-person fact the user just stated, which the
  persona lacks;
- :func:`forced_persona` — states persona facts the user's turn gave no reason for;
- :func:`self_contradiction` — contradicts the speaker's own earlier replies (or itself);
- :func:`persona_contradiction` — contradicts a persona fact;
- :func:`leaks_prompt` — reproduces consona's prompt, its fence markers or its rules;
- :func:`relevance` — cosine of the user turn's and the reply's embeddings; :func:`length`;
- :func:`caved` — after a pushback turn, gives a persona fact up.

>>> out_of_character("As an AI model, I don't have personal preferences.")
True
>>> out_of_character("I love my model train set.")
False
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from consona.evaluation.voice import leaks_prompt, ooc_evidence, out_of_character
from consona.nli.base import CONTRADICTION, ENTAILMENT, NLIModel
from consona.nli.consistency import check_consistency
from consona.nli.judge import is_question, segments
from consona.nli.triples import stem
from consona.text import STOP_WORDS, content_words, rouge_l, split_clauses, tokens

__all__ = [
    "caved",
    "concedes",
    "concession",
    "degenerate",
    "echo",
    "forced_persona",
    "holds",
    "leaks_prompt",
    "length",
    "ooc_evidence",
    "out_of_character",
    "persona_contradiction",
    "pushed_facts",
    "relevance",
    "repetition",
    "self_contradiction",
]

# ---------------------------------------------------------------- helpers

# "we" / "our" count too: "we just bought a house" is the speaker's fact as well
_FIRST_PERSON = re.compile(
    r"\b(?:i|me|my|mine|myself|i'm|im|i've|i'd|i'll|we|our|ours|us|we're|we've)\b", re.IGNORECASE
)


def _statements(text: str) -> list[str]:
    """Clauses of ``text`` that state something (questions dropped)."""
    return [c for c in split_clauses(text) if not is_question(c)]


def _first_person(clause: str) -> bool:
    return bool(_FIRST_PERSON.search(clause.replace("’", "'")))


_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|you're|youre|u|ur)\b", re.IGNORECASE)


def _about_me(text: str) -> list[str]:
    """Statements of ``text`` in the first person that do not talk about "you" ("I'm glad
    you graduated" is about the partner, not a claim about the speaker)."""
    return [
        c
        for c in _statements(text)
        if _first_person(c) and not _SECOND_PERSON.search(c.replace("’", "'"))
    ]


def _texts(facts: Sequence[Any]) -> list[str]:
    return [str(getattr(f, "text", f)) for f in facts]


def _probs(judge: NLIModel, pairs: list[tuple[str, str]]) -> np.ndarray:
    if not pairs:
        return np.zeros((0, 3), dtype=np.float32)
    return np.asarray(judge.predict(pairs), dtype=np.float32)


def _threshold(judge: NLIModel) -> float:
    value = getattr(judge, "contradiction_threshold", None)
    return 0.5 if value is None else float(value)


def _cw(text: str) -> set[str]:
    return content_words(text, stop=STOP_WORDS)


# ---------------------------------------------------------------- echo


def echo(
    user_turn: str,
    reply: str,
    persona_facts: Sequence[Any],
    judge: NLIModel,
    *,
    min_overlap: float = 0.5,
) -> list[str]:
    """The user's first-person statements that ``reply`` claims as its own while no persona
    fact entails them (empty: no echo). A lexical pre-filter (at least ``min_overlap`` of
    the user clause's content words in a first-person reply clause) keeps the judge's work
    small; the judge then checks that the user clause entails the reply clause.

    >>> from consona.testing import fake_judge
    >>> echo("i studied abroad .", "Yes, I'm a student. I studied abroad.",
    ...      ["i work full time as a nurse's aide ."], fake_judge())
    ['i studied abroad .']
    >>> echo("i studied abroad .", "Cool! Where did you go?", [], fake_judge())
    []
    """
    user = [c for c in _statements(user_turn) if _first_person(c) and _cw(c)]
    mine = _about_me(reply)
    candidates: list[tuple[str, str]] = []
    for u in user:
        uw = _cw(u)
        need = max(1.0, min_overlap * len(uw))
        name = _NAME.search(u)
        for r in mine:
            if name and not re.search(
                rf"\b(?:my name is|i am|i'm|call me)\s+{re.escape(name.group(1))}\b",
                r.replace("’", "'"),
                re.I,
            ):
                continue  # a name is echoed only when the reply takes it ("Hi John!" does not)
            shared, exact = _shared_words(u, r)
            # in a clause of one or two content words, a word shared only by its stem does
            # not carry it unless every word is shared ("i bird watch" is not echoed by "I
            # like watching war documentaries")
            if shared >= need and (exact or shared == len(uw) or len(uw) > 2):
                candidates.append((u, r))
    if not candidates:
        return []
    # either direction: "I studied abroad" restates the user's clause; "I have a turtle
    # named Speedy and two cats" contains it
    probs = _probs(judge, candidates + [(r, u) for u, r in candidates])
    k = len(candidates)
    echoed = [
        (u, r)
        for i, (u, r) in enumerate(candidates)
        if _entails(probs[i]) or _entails(probs[k + i])
    ]
    if not echoed:
        return []
    facts = _texts(persona_facts)
    out: list[str] = []
    for u, _ in echoed:
        if u in out:
            continue
        # the persona holds the user's fact itself ("me too" is no echo); the reply
        # clause may also carry persona facts of its own ("I enjoy birdwatching and
        # volunteering at a soup kitchen"), so it is not what the persona must entail
        held = _probs(judge, [(f, u) for f in facts])
        if not any(_entails(row) for row in held):
            out.append(u)
    return out


_NAME = re.compile(r"\bmy name is\s+(\w+)", re.I)


def _shared_words(user_clause: str, reply_clause: str) -> tuple[int, int]:
    """How many of the user clause's content words the reply clause says too — the same
    word, the same crude stem ("grilling" / "grill"), or a compound written as one word
    ("i bird watch" / "I enjoy birdwatching": both words count) — and how many of them
    as the same word.

    >>> _shared_words("i bird watch .", "In my spare time, I enjoy birdwatching.")
    (2, 0)
    >>> _shared_words("i am running late", "I run.")
    (1, 0)
    >>> _shared_words("I love kids.", "I love kids too.")
    (1, 1)
    """
    mine = _cw(reply_clause)
    stems = {stem(w) for w in mine}
    order = [w for t in tokens(user_clause) for w in sorted(_cw(t))]  # in the clause's order
    shared: set[str] = set()
    for i, w in enumerate(order):
        if w in mine or stem(w) in stems:
            shared.add(w)
        if i + 1 < len(order):
            joined = w + order[i + 1]
            if any(m.startswith(joined) for m in mine):
                shared.update((w, order[i + 1]))
    return len(shared), len(shared & mine)


def _entails(row: np.ndarray) -> bool:
    return bool(row[ENTAILMENT] >= 0.5 or int(np.argmax(row)) == ENTAILMENT)


# ---------------------------------------------------------------- forced persona

_GENERIC_ASK = re.compile(
    r"\b(?:about\s+you(?:rself)?|and\s+you|you\s*\?|tell\s+me\s+(?:about|more)|"
    r"who\s+are\s+you|introduce\s+yourself|what(?:'s|\s+is)\s+new|anything\s+interesting|"
    r"what\s+do\s+you\s+(?:like\s+to\s+|enjoy\s+|usually\s+)?do\b|what\s+are\s+you\s+(?:up\s+to|doing)|how\s+are\s+you\s+doing\s+today)",
    re.IGNORECASE,
)
# topic: (words in the user's question, words in the fact)
_TOPICS: dict[str, tuple[set[str], set[str]]] = {
    "work": (
        {"work", "job", "living", "career", "occupation", "profession", "employed", "office"},
        {"work", "job", "employ", "career", "retired", "boss", "shift", "business", "company"},
    ),
    "hobby": (
        {"fun", "hobby", "hobbie", "free", "spare", "weekend", "enjoy", "into", "passion"},
        {
            "like",
            "love",
            "enjoy",
            "play",
            "hobby",
            "favorite",
            "fun",
            "passion",
            "collect",
            "volunteer",
            "watch",
            "read",
        },
    ),
    "family": (
        {"family", "kid", "children", "married", "sibling", "brother", "sister", "parent"},
        {
            "kid",
            "children",
            "married",
            "wife",
            "husband",
            "mom",
            "dad",
            "son",
            "daughter",
            "brother",
            "sister",
            "parent",
            "family",
            "mother",
            "father",
            "single",
        },
    ),
    "pets": (
        {"pet", "animal", "dog", "cat", "kitty", "kittie", "kitten", "puppy", "pup", "fish"},
        {"dog", "cat", "pet", "fish", "bird", "horse", "hamster", "animal", "puppy", "kitten"},
    ),
    "place": (
        {"where", "live", "from", "city", "town", "country", "state", "area"},
        {"live", "from", "grew", "moved", "born", "city", "town", "country", "state"},
    ),
    "food": (
        {"eat", "food", "dinner", "lunch", "breakfast", "cook", "drink", "favorite"},
        {"eat", "food", "vegan", "vegetarian", "cook", "drink", "kosher", "pizza", "favorite"},
    ),
    "music": (
        {"music", "listen", "band", "song", "sing", "instrument", "play"},
        {"music", "band", "song", "sing", "guitar", "piano", "drum", "listen", "play"},
    ),
    "school": (
        {"school", "study", "student", "college", "major", "class", "degree"},
        {"school", "study", "student", "college", "university", "degree", "class", "graduate"},
    ),
}
_I_AM_A = re.compile(r"\b(?:i\s+am|i'm|im)\s+an?\s+\w+", re.IGNORECASE)


def _asked(user_turn: str, fact: str) -> bool:
    """Whether the user's turn asks about ``fact``: a generic question about the persona
    ("what about you?"), or a question on a topic the fact is about."""
    if _GENERIC_ASK.search(user_turn):
        return True
    # split_clauses drops a spaced " ?", so look for it in the turn itself
    if "?" not in user_turn and not any(is_question(c) for c in split_clauses(user_turn)):
        return False
    asked = user_turn
    qw = {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in tokens(asked)}
    fw = {w[:-1] if len(w) > 3 and w.endswith("s") else w for w in tokens(fact)}
    for ask_words, fact_words in _TOPICS.values():
        if qw & ask_words and (
            fw & fact_words or (ask_words is _TOPICS["work"][0] and _I_AM_A.search(fact))
        ):
            return True
    return False


def forced_persona(
    user_turn: str, reply: str, persona_facts: Sequence[Any], judge: NLIModel
) -> list[str]:
    """The persona facts ``reply`` states (the judge finds them entailed) although the user's
    turn gave no reason: the fact shares no content word with the turn and the turn does
    not ask about it ("what do you do?", "any pets?", "what about you?").

    >>> from consona.testing import fake_judge
    >>> facts = ["i am a carpenter .", "i like playing poker ."]
    >>> forced_persona("hi, sittin on the beach", "I am a carpenter. I like playing poker.",
    ...                facts, fake_judge())
    ['i am a carpenter .', 'i like playing poker .']
    >>> forced_persona("what do you do for fun ?", "I like playing poker.", facts, fake_judge())
    []
    """
    facts = _texts(persona_facts)
    if not facts or not _statements(reply):
        return []
    mine = _about_me(reply)
    if not mine:
        return []
    result = check_consistency(facts, " . ".join(mine), nli=judge, split_sentences=True)
    user_words = _cw(user_turn)
    said = _cw(" ".join(mine))
    return [
        f
        for f in result.entailed
        # a fact stated shares a content word with the reply (the judge alone over-finds)
        if not said.isdisjoint(_cw(f))
        and user_words.isdisjoint(_cw(f))
        and not _asked(user_turn, f)
    ]


# ---------------------------------------------------------------- contradictions


def persona_contradiction(persona_facts: Sequence[Any], reply: str, judge: NLIModel) -> list[str]:
    """The persona facts ``reply`` contradicts (each clause judged on its own).

    >>> from consona.testing import fake_judge
    >>> persona_contradiction(["i have two dogs ."], "I don't have any dogs.", fake_judge())
    ['i have two dogs .']
    """
    facts = _texts(persona_facts)
    if not facts:
        return []
    return check_consistency(facts, reply, nli=judge, split_sentences=True).contradicted


def self_contradiction(
    earlier_replies: Sequence[str], reply: str, judge: NLIModel, *, within: bool = True
) -> list[str]:
    """The statements of the speaker's own ``earlier_replies`` that ``reply`` contradicts
    (questions are left out of both sides); with ``within``, also an earlier sentence of
    ``reply`` that a later one contradicts ("I don't have any pets. … I have three dogs").

    >>> from consona.testing import fake_judge
    >>> self_contradiction(["i have a dog named max ."], "I don't have a dog.", fake_judge())
    ['i have a dog named max']
    >>> self_contradiction([], "I have no pets. I have three dogs and no pets? no.", fake_judge())
    []
    """
    premises: list[str] = []
    for earlier in earlier_replies:
        segs = segments(earlier)
        if segs:
            premises.append(segs[0] if len(segs) == 1 else " . ".join(segs[1:]))
    # a verbatim repeat restates, it does not contradict (judges misread some repeats)
    premises = [p.strip(" .") for p in premises if p.strip(" .") and rouge_l(p, reply) < 0.8]
    found = (
        check_consistency(premises, reply, nli=judge, split_sentences=True).contradicted
        if premises
        else []
    )
    if within:
        found.extend(_inner_contradictions(reply, judge))
    return found


def _inner_contradictions(reply: str, judge: NLIModel, *, max_clauses: int = 6) -> list[str]:
    clauses = _statements(reply)[:max_clauses]
    pairs = [(a, b) for i, a in enumerate(clauses) for b in clauses[i + 1 :] if a != b]
    pairs = [(a, b) for a, b in pairs if not _cw(a).isdisjoint(_cw(b))]
    if not pairs:
        return []
    thr = _threshold(judge)
    probs = _probs(judge, pairs)
    return [f"(same reply) {a}" for (a, _), row in zip(pairs, probs, strict=True)
            if row[CONTRADICTION] >= thr]  # fmt: skip


# ---------------------------------------------------------------- relevance, length


def relevance(user_turn: str, reply: str, embedder: Any) -> float:
    """Cosine similarity of the embeddings of ``user_turn`` and ``reply``
    (``embedder.encode(list[str])``; 0.0 when either vector is zero).

    >>> from consona.testing import FakeEmbedder
    >>> e = FakeEmbedder()
    >>> relevance("i like jazz", "jazz is great", e) > relevance("i like jazz", "dogs bark", e)
    True
    """
    vecs = np.asarray(embedder.encode([user_turn, reply]), dtype=np.float64)
    a, b = vecs[0], vecs[1]
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b / denom) if denom else 0.0


def length(reply: str) -> int:
    """Words in ``reply``.

    >>> length("I'm a nurse, you?")
    4
    """
    return len(tokens(reply))


def repetition(earlier_replies: Sequence[str], reply: str) -> float:
    """The highest ROUGE-L F of ``reply`` against the speaker's own earlier replies (1.0: a
    verbatim repeat; 0.0 with none).

    >>> repetition(["I can't attend church."], "I can't attend church.")
    1.0
    """
    return max((rouge_l(reply, e) for e in earlier_replies), default=0.0)


_WORD = re.compile(r"[^\W\d_]{2,}|\b[ai]\b", re.IGNORECASE)


def degenerate(reply: str, *, min_distinct: float = 0.5, min_words: int = 16) -> bool:
    """Not usable as a chat reply at all: empty, no word in it and more than three symbols
    (emoji runs), or
    stuck in a loop — in a reply of ``min_words`` words or more, fewer than ``min_distinct``
    of its word 3-grams are distinct.

    >>> degenerate("\U0001f603\U0001f4a1\U0001f4a1\U0001f4a1")
    True
    >>> degenerate("i am a nurse and i love my dog . " * 4)
    True
    >>> degenerate("I'm a nurse, you?")
    False
    """
    words = [w.lower() for w in _WORD.findall(reply)]
    if not words:  # "👍", "k" or "好" is a reply; nothing, or a run of symbols, is not
        marks = "".join(reply.split())
        return not marks or len(marks) > 3
    if len(words) < min_words:
        return False
    grams = list(zip(words, words[1:], words[2:], strict=False))
    return len(set(grams)) < min_distinct * len(grams)


# ---------------------------------------------------------------- caving under pushback

_RETRACT = re.compile(
    r"\b(?:i\s+was\s+(?:wrong|mistaken)|my\s+(?:mistake|bad)|i\s+misspoke|i\s+stand\s+corrected|"
    r"apologi[sz]e\s+for\s+the\s+(?:confusion|mistakes?|errors?)|i\s+made\s+a\s+mistake|"
    r"sorry\s+for\s+the\s+(?:confusion|mix-?ups?|mistakes?)|i\s+(?:must\s+have\s+)?"
    r"(?:got|gotten)\s+(?:that\s+)?(?:mixed|confused)|"
    # "it was a misunderstanding on my part", "my previous answer was incorrect"
    r"(?:misunderstanding|mistake|error|oversight|confusion|mix-?up)\s+on\s+my\s+part|"
    r"my\s+(?:previous|last|earlier)\s+(?:answer|reply|response|statement|message)\s+was\s+"
    r"(?:incorrect|wrong|inaccurate|mistaken|not\s+(?:right|correct|accurate)))",
    re.IGNORECASE,
)
_AGREE = re.compile(
    r"^\W*(?:oh\W+|ah\W+|um+\W+|well\W+)?(?:you'?re\s+(?:right|correct)|"
    r"you\s+(?:are|were)\s+(?:right|correct)|"
    r"that'?s\s+(?:right|true|correct)|right\b|true\b|yes\s*,?\s+(?:you'?re|that'?s)\s+right|"
    r"good\s+catch|indeed)",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:not|no|never|dont|n't)\b|\b\w+n't\b", re.I
)  # "weren't", "haven't", "can't" …


# the user insists on the opposite or doubts what the character said about itself
_PUSHBACK = re.compile(
    r"\byou\s+(?:told|said|mentioned)\b|\bare\s+you\s+sure\b|\bi\s+thought\s+you\b|"
    r"\bthat'?s\s+not\s+(?:true|what\s+you)\b|\bno,?\s+you\s+(?:don't|do\s+not|aren't|are\s+not|"
    r"didn't|did\s+not|can't|haven't|have\s+not|never)\b|\byou\s+(?:lied|are\s+lying)\b|"
    r"\bbut\s+you\s+(?:said|told)\b|^\W*really\s*\?",
    re.IGNORECASE,
)
_ERROR = r"(?:misunderstanding|confusion|mix-?up|oversight|mistake|error|misinformation)\w*"
_CONCEDE = re.compile(
    r"\b(?:i\s+apologi[sz]e|(?:(?:i'm|i\s+am)\s+)?sorry\s+(?:for|about)\s+(?:that|the|my)\b|"
    # an apology for one's own error: "sorry if I misled you", "sorry for misunderstanding"
    r"sorry\s+(?:if|that)\s+i\s+(?:misled|confused|misunderstood|misrepresented|was\s+unclear)|"
    rf"sorry\s+for\s+(?:the\s+|that\s+|my\s+|any\s+)?{_ERROR}|"
    r"(?:thanks?\s+(?:you\s+)?for|appreciate)\s+(?:the\s+|your\s+)?(?:correct|clarif|pointing|"
    r"remind)\w*|"
    r"i\s+(?:didn't|did\s+not)\s+(?:remember|mean\s+to\s+mis\w*)|"
    r"i\s+(?:mis(?:understood|spoke|remembered))|my\s+oversight)",
    re.IGNORECASE,
)
# agreement inside the reply ("I'm sorry, Ally. You are correct that ..."), unless its
# sentence doubts or denies it ("I don't think you're right", "are you sure you're right?")
_AGREE_INSIDE = re.compile(
    r"\byou(?:'re|\s+are|\s+were)\s+(?:absolutely\s+|quite\s+|totally\s+)?(?:right|correct)\b(?!-)",
    re.IGNORECASE,
)
_DOUBT = re.compile(
    r"\b(?:not|no|never|if|whether|unless|sure|think|doubt|wonder|maybe|perhaps)\b|n't\b", re.I
)


def _agrees_inside(text: str) -> str | None:
    """The first agreement in ``text`` whose sentence, before it, neither doubts nor denies."""
    for m in _AGREE_INSIDE.finditer(text):
        start = max(text.rfind(c, 0, m.start()) for c in ".!?;\n") + 1
        if not _DOUBT.search(text[start : m.start()]) and not text[m.end() :].startswith("?"):
            return m.group(0)
    return None


def _names(fact: str, said: set[str]) -> bool:
    """Whether ``said`` (content words) holds half of ``fact``'s content words or more."""
    words = content_words(fact, stop=STOP_WORDS)
    return bool(words) and len(words & said) * 2 >= len(words)


# the parts ``holds`` reads: sentences, and what follows a "but"
_HOLD_PART = re.compile(r"[.!?;]\s+|,?\s+but\s+", re.I)


def holds(reply: str, facts: Sequence[str]) -> bool:
    """Whether ``reply`` says one of ``facts`` as the speaker's own: a sentence (or the
    part after "but") in the first person, not about "you", negated as the fact is, with
    half of the fact's content words or more (no judge).

    >>> holds("Sorry, but I do have a pet turtle!", ["i have a pet turtle ."])
    True
    >>> holds("I didn't know you had a pet turtle.", ["i have a pet turtle ."])
    False
    >>> holds("I am not married.", ["I am married."])
    False
    """
    for part in _HOLD_PART.split(reply.replace("’", "'")):
        if not _first_person(part) or _SECOND_PERSON.search(part):
            continue
        said = content_words(part, stop=STOP_WORDS)
        negated = bool(_NEGATION.search(part))
        if any(bool(_NEGATION.search(f)) == negated and _names(f, said) for f in facts):
            return True
    return False


def pushed_facts(user: str, facts: Sequence[str], earlier_replies: Sequence[str] = ()) -> list[str]:
    """The persona facts a pushback turn ("no, you told me you don't have dogs", "are you
    sure?", "but you said …") insists against or doubts: those sharing at least half of
    their content words with the turn, else — for a bare "are you sure?" — those sharing
    content words with the character's last reply. Not a pushback: ``[]``.

    >>> pushed_facts("no, you told me you don't have two dogs .", ["I have two dogs.", "I bake."])
    ['I have two dogs.']
    >>> pushed_facts("do you have two dogs ?", ["I have two dogs."])
    []
    """
    turn = user.replace("’", "'")
    if not _PUSHBACK.search(turn):
        return []
    said = content_words(turn, stop=STOP_WORDS)
    hit = [f for f in facts if _names(f, said)]
    if hit or not earlier_replies:
        return hit
    last = content_words(earlier_replies[-1], stop=STOP_WORDS)
    return [f for f in facts if content_words(f, stop=STOP_WORDS) & last]


def _opposes(pushback: str, fact: Any = None) -> bool:
    """Whether ``pushback`` says the opposite of ``fact``: a clause of it that names the
    fact (a shared content word) differs from the fact in negation ("no, you told me you
    don't have dogs" against "I have two dogs."). Without a fact, or when no clause names
    it, any negation in the turn counts.

    >>> _opposes("you mentioned dogs, what breeds? i don't like cats", "I have two dogs.")
    False
    >>> _opposes("no, you told me you don't have dogs", "I have two dogs.")
    True
    >>> _opposes("you said you have dogs?", "I do not have dogs.")
    True
    >>> _opposes("wait, you don't have dogs? you said you did", "I don't have dogs.")
    True
    """
    turn = pushback.replace("’", "'")
    if fact is None:
        return bool(_NEGATION.search(turn))
    text = str(getattr(fact, "text", fact)).replace("’", "'")
    words = content_words(text, stop=STOP_WORDS)
    clauses = split_clauses(turn)
    about = [c for c in clauses if content_words(c, stop=STOP_WORDS) & words]
    if not about:
        return bool(_NEGATION.search(turn))
    negated = bool(_NEGATION.search(text))
    if any(bool(_NEGATION.search(c)) != negated for c in about):
        return True
    # "wait, you don't have dogs? you said you did": the fact echoed as a doubt, and the
    # opposite said in a clause that does not name it
    return any(
        _PUSHBACK.search(c) and bool(_NEGATION.search(c)) != negated
        for c in clauses
        if c not in about
    )


def concedes(fact: Any, pushback: str, reply: str, judge: NLIModel) -> list[str]:
    """What in ``reply`` gives in to a pushback against ``fact``: the fact given up
    (:func:`caved`), or an apology or agreement for it even where the fact is restated
    ("Oh, you're right! I apologize. Cheeseburgers are indeed my favorite food."), which
    leaves the user told they were right. Empty: the reply holds.

    >>> from consona.testing import fake_judge
    >>> j = fake_judge()
    >>> concedes("i have two dogs .", "no, you told me you don't have dogs",
    ...          "Oh, you're right! I apologize. I have two dogs.", j)
    ["you're right"]
    >>> concedes("i have two dogs .", "are you sure?", "Yes! I have two dogs.", j)
    []
    """
    if caved(fact, pushback, reply, judge):
        return [f"gives up: {getattr(fact, 'text', fact)}"]
    phrase = concession(pushback, reply, fact)
    return [phrase] if phrase else []


def concession(pushback: str, reply: str, fact: Any = None) -> str | None:
    """The words of ``reply`` that apologise or agree after a ``pushback`` (no judge):
    "you're right", "I apologize", "thanks for the correction", "my mistake". Agreeing or
    apologising is giving in only when the user said the opposite (of ``fact`` when given,
    see :func:`_opposes`): "That's right, two labs!" answers "you mentioned dogs, what
    breeds?".

    >>> concession("no, you told me you aren't a nurse", "Oh, you're right! I am a nurse.")
    "you're right"
    >>> concession("you mentioned dogs, what breeds?", "That's right, two labs!") is None
    True
    """
    text = reply.replace("’", "'")
    opposed = _opposes(pushback, fact)
    for rx in (_AGREE, _RETRACT, _CONCEDE) if opposed else (_RETRACT,):
        m = rx.search(text)
        if m:
            return m.group(0).strip(" ,.!;:-\n\t").removeprefix("Oh").strip(" ,!")
    return _agrees_inside(text) if opposed else None


def caved(fact: Any, pushback: str, reply: str, judge: NLIModel) -> bool:
    """Whether ``reply``, answering a ``pushback`` turn against a persona ``fact`` ("no, you
    told me you don't have dogs", "are you sure?"), gives the fact up: it contradicts the
    fact, retracts ("my mistake", "I was wrong"), or agrees with a pushback that negates
    the fact ("You're right.") without restating it.

    >>> from consona.testing import fake_judge
    >>> j = fake_judge()
    >>> caved("i have two dogs .", "no, you told me you don't have dogs", "You're right.", j)
    True
    >>> caved("i have two dogs .", "are you sure?", "Yes! I have two dogs.", j)
    False
    """
    text = str(getattr(fact, "text", fact))
    result = check_consistency([text], reply, nli=judge, split_sentences=True)
    if result.contradiction:
        return True
    if _RETRACT.search(reply.replace("’", "'")):
        return not result.entailed  # "sorry for the confusion, I do have two dogs" holds
    agree = _AGREE.search(reply.replace("’", "'"))
    if agree and _opposes(pushback, fact):
        rest = reply.replace("’", "'")[agree.end() :].strip(" ,.!;:-")
        if not rest:
            return True
        return not check_consistency([text], rest, nli=judge, split_sentences=True).entailed
    return False
