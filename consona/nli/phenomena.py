"""Rule-generated persona phenomena of the NLI recipe: negations of persona sentences in
many surface forms, hypernyms, antonymous habits, look-alike neutrals, and the chat-shaped
pairs of :mod:`consona.nli.chatgen`. Generators use TRAIN-split persona sentences only.

>>> import random
>>> "not" in (negate("i have a dog.") or "")
True
>>> chatify("I am a nurse.", random.Random(0)) == chatify("I am a nurse.", random.Random(0))
True
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from consona.nli.dnli import read_triples_file
from consona.nli.sources import Row, msc_content_words, norm_text, read_msc, split_of

_NEGATIONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^i am not "), "i am "),
    (re.compile(r"^i am "), "i am not "),
    (re.compile(r"^i'm "), "i am not "),
    (re.compile(r"^i (do not|don't|never) (\w+)"), r"i \2"),
    (re.compile(r"^i have never "), "i have "),
    (re.compile(r"^i have (a|an|two|three|four|\d+) "), "i do not have any "),
    (re.compile(r"^i (like|love|enjoy|adore) "), r"i do not \1 "),
    (re.compile(r"^i can "), "i cannot "),
    (re.compile(r"^i (own|play|read|eat|drink|watch|drive|ride|cook|write|paint|sing|swim|"
                r"speak|work|live|go|listen|collect|volunteer|teach|study) "), r"i do not \1 "),
]  # fmt: skip


def negate(sentence: str) -> str | None:
    """A rule-based contradiction of a first-person persona sentence, or None.

    >>> negate("I have two dogs.")
    'i do not have any dogs.'
    >>> negate("i am a nurse.")
    'i am not a nurse.'
    """
    s = sentence.strip().lower()
    for pattern, repl in _NEGATIONS:
        if pattern.search(s):
            return pattern.sub(repl, s, count=1)
    return None


def read_persona_negations(root: Path, rng: random.Random) -> Iterator[Row]:
    """Template negations of ConvAI2 persona sentences → contradiction (both directions)."""
    seen: set[str] = set()
    for item in read_triples_file(
        root / "convai2-dnli-triples/valid_both_original_dialogueNLI.txt"
    ):
        key = norm_text(item.text)
        if not item.persona or key in seen:
            continue
        seen.add(key)
        neg = negate(item.text)
        if neg:
            yield {"premise": item.text, "hypothesis": neg, "label": "contradiction"}
            yield {"premise": neg, "hypothesis": item.text, "label": "contradiction"}


def read_msc_negations(root: Path, rng: random.Random) -> Iterator[Row]:
    """Template negations of MSC persona summaries (first-person facts) → contradiction."""
    seen: set[str] = set()
    for row in read_msc(root, random.Random(0)):
        fact = row["premise"]
        key = norm_text(fact)
        if row["label"] != "entailment" or key in seen:
            continue
        seen.add(key)
        neg = negate(fact)
        if neg:
            yield {"premise": fact, "hypothesis": neg, "label": "contradiction"}
            # the negated fact also contradicts the utterance that revealed the fact
            yield {"premise": neg, "hypothesis": row["hypothesis"], "label": "contradiction",
                   "split_key": fact}  # fmt: skip


# ------------------------------------------------- generated persona phenomena (train only)
# Rule-based pairs built from TRAIN-split PersonaChat/ConvAI2 persona sentences (CC BY 4.0):
# varied negations, hypernym generalisation (dog → pet), antonym swaps (love/hate,
# early/late, married/single), and neutral pairs whose hypothesis is negated or about
# someone else, so negation / overlap alone is not read as contradiction / entailment.
# Every row carries ``split_key`` = its train persona sentence, so dev/test stay untouched.

HYPERNYMS: dict[str, tuple[str, ...]] = {
    # category -> members (singular and plural surface forms)
    "pet": ("dog", "dogs", "puppy", "puppies", "cat", "cats", "kitten", "kittens", "fish",
            "goldfish", "bird", "birds", "parrot", "parrots", "hamster", "hamsters", "rabbit",
            "rabbits", "bunny", "horse", "horses", "turtle", "turtles", "snake", "snakes",
            "lizard", "lizards", "beagle", "beagles", "poodle", "poodles", "labrador",
            "retriever", "retrievers", "pitbull", "pitbulls", "husky", "chihuahua",
            "terrier", "terriers", "ferret", "ferrets", "guinea", "pug", "pugs"),
    "kid": ("son", "sons", "daughter", "daughters", "kid", "kids", "child", "children",
            "baby", "babies", "twins", "boys", "girls"),
    "sibling": ("brother", "brothers", "sister", "sisters", "siblings"),
    "instrument": ("guitar", "guitars", "piano", "violin", "drums", "cello", "flute",
                   "saxophone", "sax", "trumpet", "ukulele", "harp", "bass", "clarinet",
                   "banjo", "keyboard"),
    "vehicle": ("car", "cars", "truck", "trucks", "jeep", "van", "motorcycle", "mustang",
                "corvette", "camaro", "pickup", "convertible", "suv"),
}  # fmt: skip
_CATEGORY_OF = {w: cat for cat, words in HYPERNYMS.items() for w in words}
# hypothesis forms per category: (none of them = contradiction, generalisation = entailment)
_CAT_NEG = {
    "pet": ("i don't have any pets", "i have no pets", "i've never had a pet",
            "i don't own any animals", "no pets for me", "i've never owned an animal"),
    "kid": ("i don't have any kids", "i have no children", "i've never had kids",
            "i don't have children", "no kids for me"),
    "sibling": ("i don't have any siblings", "i'm an only child", "i have no brothers or sisters"),
    "instrument": ("i don't play any instruments", "i've never played an instrument",
                   "i can't play any instrument", "i'm not musical at all, never played anything"),
    "vehicle": ("i don't have a car", "i don't own any vehicle", "i've never owned a car",
                "i don't drive, no car"),
}  # fmt: skip
_CAT_POS = {
    "pet": ("i have a pet", "i've got a pet", "i own an animal", "i'm a pet owner",
            "i have pets at home"),
    "kid": ("i have kids", "i'm a parent", "i have children", "i've got kids"),
    "sibling": ("i have a sibling", "i'm not an only child", "i have siblings"),
    "instrument": ("i play an instrument", "i play music", "i'm musical, i play"),
    "vehicle": ("i have a vehicle", "i own a vehicle", "i've got wheels"),
}  # fmt: skip
_FILLERS_PRE = ("", "", "", "honestly ", "well ", "haha ", "actually ", "tbh ", "oh ",
                "lol ", "yeah ", "um ", "so ")  # fmt: skip
_FILLERS_POST = ("", "", "", " lol", " haha", " tbh", " to be honest", " actually", " :)")
_CONTRACT = [
    (r"\bi am\b", "i'm"), (r"\bdo not\b", "don't"), (r"\bdoes not\b", "doesn't"),
    (r"\bcannot\b", "can't"), (r"\bcan not\b", "can't"), (r"\bi have never\b", "i've never"),
    (r"\bhave not\b", "haven't"), (r"\bis not\b", "isn't"), (r"\bwas not\b", "wasn't"),
    (r"\bwill not\b", "won't"), (r"\bit is\b", "it's"),
]  # fmt: skip


def chatify(text: str, rng: random.Random) -> str:
    """Chat surface: lowercase, contractions (mostly), optional filler, optional period."""
    s = re.sub(r"\s+", " ", text.strip().lower()).rstrip(" .!")
    s = re.sub(r" ([,.!?'])", r"\1", s)
    if rng.random() < 0.7:
        for pat, rep in _CONTRACT:
            s = re.sub(pat, rep, s)
    s = rng.choice(_FILLERS_PRE) + s + rng.choice(_FILLERS_POST)
    return s + ("." if rng.random() < 0.3 else "")


def _train_persona_sentences(root: Path) -> list[str]:
    """Sorted, deduplicated TRAIN-split persona sentences of PersonaChat / ConvAI2."""
    sents: set[str] = set()
    path = root / "convai2-dnli-triples/valid_both_original_dialogueNLI.txt"
    if path.is_file():
        sents |= {it.text.strip() for it in read_triples_file(path) if it.persona}
    for name in ("train_entailed_pairs.json", "valid_entailed_pairs.json"):
        p = root / "personachat" / name
        if p.is_file():
            sents |= {s.strip() for s, _ in json.loads(p.read_text()) if s and s.strip()}
    out: dict[str, str] = {}
    for s in sorted(sents):  # sorted: the surface form kept per key must not vary by run
        key = norm_text(s)
        if key and split_of(s) == "train" and len(key.split()) <= 20:
            out.setdefault(key, s)
    return [out[k] for k in sorted(out)]


def _categories(sentence: str) -> set[str]:
    return {_CATEGORY_OF[w] for w in norm_text(sentence).split() if w in _CATEGORY_OF}


_HAVE = re.compile(r"^i (have|own|got|have got) (a|an|one|two|three|four|five|six|\d+|some|"
                   r"many|lots of|several) (.+?)[.!]?$")  # fmt: skip
_AM = re.compile(r"^i am (a|an) (.+?)[.!]?$")
_LIKE = re.compile(r"^i (really )?(like|love|enjoy|adore) (.+?)[.!]?$")
_HATE = re.compile(r"^i (hate|dislike|do not like|don't like|can't stand|cannot stand) (.+?)[.!]?$")
_PLAY = re.compile(r"^i (play|can play) (the )?(.+?)[.!]?$")
_CAN = re.compile(r"^i can (.+?)[.!]?$")
_ALWAYS = re.compile(r"^i always (.+?)[.!]?$")
_NEVER = re.compile(r"^i never (.+?)[.!]?$")


def varied_negations(sentence: str, rng: random.Random) -> list[str]:
    """Several surface forms contradicting a first-person persona sentence (chat style)."""
    s = sentence.strip().lower()
    cats = _categories(s)
    out: list[str] = []
    if m := _HAVE.match(s):
        det, rest = m.group(2), m.group(3)
        if det in {"a", "an", "one"}:
            out += [f"i do not have {det} {rest}", f"i have never had {det} {rest}",
                    f"i have no {rest}"]  # fmt: skip
        else:
            out += [f"i do not have any {rest}", f"i have no {rest}"]
        out += [rng.choice(_CAT_NEG[c]) for c in sorted(cats)]
    elif m := _AM.match(s):
        rest = m.group(2)
        out += [f"i am not {m.group(1)} {rest}", f"i have never been {m.group(1)} {rest}"]
    elif m := _LIKE.match(s):
        verb, rest = m.group(2), m.group(3)
        out += [f"i do not {verb} {rest}", f"i hate {rest}", f"i can't stand {rest}",
                f"i have never liked {rest}"]  # fmt: skip
    elif m := _HATE.match(s):
        rest = m.group(2)
        out += [f"i love {rest}", f"i really like {rest}", f"i enjoy {rest} a lot"]
    elif (m := _PLAY.match(s)) and "instrument" in cats:
        out += [f"i do not play the {m.group(3)}", rng.choice(_CAT_NEG["instrument"])]
    elif m := _CAN.match(s):
        out += [f"i cannot {m.group(1)}", f"i'm not able to {m.group(1)}"]
    elif m := _ALWAYS.match(s):
        out += [f"i never {m.group(1)}"]
    elif m := _NEVER.match(s):
        out += [f"i always {m.group(1)}"]
    else:
        neg = negate(s)
        if neg:
            out.append(neg.rstrip("."))
    return out


_HABITS: list[tuple[re.Pattern[str], tuple[str, ...], tuple[str, ...]]] = [
    # (premise pattern, contradicting utterances, entailed utterances)
    (re.compile(r"morning person|early riser|early bird|(wake|get|am) up (early|at (3|4|5|6|"
                r"three|four|five|six)\b)|up before (dawn|sunrise)|always early"),
     ("i sleep in until noon most days", "i'm not a morning person at all",
      "i never get up before ten", "mornings are the worst, i stay in bed as long as i can",
      "i'm a night owl, i sleep late"),
     ("i get up early", "i'm up at the crack of dawn", "i like waking up early")),
    (re.compile(r"night owl|stay up late|sleep (in|late)|not a morning person|hate mornings"),
     ("i go to bed at 8 every night", "i'm a morning person", "i'm always up at dawn",
      "i'm an early bird, asleep by nine"),
     ("i stay up really late", "i'm up late most nights")),
    (re.compile(r"\bi am married\b|\bmy (wife|husband)\b(?!.*\b(ex|passed|died|divorc))|"
                r"\bi have a (wife|husband)\b"),
     ("i'm single", "i've never been married", "i'm not married", "i don't have a husband or wife"),
     ("i'm married", "i have a spouse")),
    (re.compile(r"\bi am single\b|never (been )?married|\bnot married\b"),
     ("i'm married", "my wife and i just celebrated our anniversary",
      "my husband and i live together"),
     ("i'm not married", "i don't have a spouse")),
    (re.compile(r"\b(vegetarian|vegan)\b|do not eat meat|don't eat meat"),
     ("i eat meat every day", "i love a good steak", "burgers are my favorite food"),
     ("i don't eat meat", "no meat for me")),
    (re.compile(r"\bonly child\b"),
     ("i have two brothers", "my sister and i are close", "i have a brother"),
     ("i don't have any siblings",)),
    (re.compile(r"\bi (do not|don't) have (any )?(kids|children)\b|\bno (kids|children)\b"),
     ("i have two kids", "my son is ten", "i'm a mom of three"),
     ("i'm not a parent", "i don't have children")),
    (re.compile(r"\b(introvert|introverted|shy)\b"),
     ("i'm super outgoing, i love big parties", "i'm an extrovert", "i'm not shy at all"),
     ("i'm pretty shy", "i keep to myself")),
    (re.compile(r"\b(extrovert|outgoing|social butterfly)\b"),
     ("i'm very shy", "i'm an introvert", "i hate meeting new people"),
     ("i love meeting people",)),
    (re.compile(r"\bi am (very |really )?tall\b"), ("i'm really short", "i'm pretty short"),
     ("i'm tall",)),
    (re.compile(r"\bi am (very |really )?short\b"), ("i'm really tall", "i'm very tall"),
     ("i'm not tall",)),
]  # fmt: skip
_ANTONYM_WORDS = [("love", "hate"), ("like", "dislike"), ("always", "never"), ("early", "late"),
                  ("married", "single"), ("hate", "love"), ("dislike", "like"),
                  ("never", "always"), ("late", "early"), ("single", "married")]  # fmt: skip


def _antonym_swap(sentence: str) -> str | None:
    words = norm_text(sentence).split()
    for a, b in _ANTONYM_WORDS:
        if a in words and words[0] == "i":
            i = words.index(a)
            return " ".join([*words[:i], b, *words[i + 1 :]])
    return None


def _gen_rows(fn: Callable[[str, random.Random], Iterable[tuple[str, str]]],
              sents: list[str], rng: random.Random) -> Iterator[Row]:  # fmt: skip
    for s in sents:
        for hyp, label in fn(s, rng):
            if hyp and norm_text(hyp) != norm_text(s):
                yield {"premise": s, "hypothesis": chatify(hyp, rng), "label": label,
                       "split_key": s}  # fmt: skip


def read_negation_forms(root: Path, rng: random.Random) -> Iterator[Row]:
    """Varied negations of train persona sentences (incl. "i don't have any pets" for a dog
    owner) → contradiction; the negation as premise vs the sentence → contradiction too."""

    def gen(s: str, r: random.Random) -> Iterator[tuple[str, str]]:
        negs = varied_negations(s, r)
        for neg in r.sample(negs, min(2, len(negs))):
            yield neg, "contradiction"

    sents = _train_persona_sentences(root)
    for row in _gen_rows(gen, sents, rng):
        yield row
        if rng.random() < 0.25:  # reverse direction: negated fact vs the plain sentence
            yield {"premise": row["hypothesis"], "hypothesis": chatify(row["premise"], rng),
                   "label": "contradiction", "split_key": row["premise"]}  # fmt: skip


def read_hypernym_pairs(root: Path, rng: random.Random) -> Iterator[Row]:
    """Hypernym generalisation (have a dog → have a pet; son → kids; guitar → instrument)
    → entailment; a hyponym's absence is not the category's ("i have a dog" vs "i don't
    have a cat") → neutral; another category's absence → neutral."""

    def gen(s: str, r: random.Random) -> Iterator[tuple[str, str]]:
        low = s.lower()
        cats = _categories(s)
        owns = bool(_HAVE.match(low) or re.match(r"^i (play|can play|drive|own) ", low)
                    or re.match(r"^my (dog|cat|son|daughter|kids|brother|sister|car)\b", low))  # fmt: skip
        if not cats or not owns or re.search(r"\b(not|no|never|want|wish|would)\b", low):
            return
        for c in sorted(cats):
            yield r.choice(_CAT_POS[c]), "entailment"
            words = set(norm_text(s).split())
            others = [w for w in HYPERNYMS[c] if w not in words and not w.endswith("s")]
            if others and c in {"pet", "instrument", "vehicle"}:
                w = r.choice(others)
                art = "an" if w[0] in "aeiou" else "a"
                verb = "play the" if c == "instrument" else f"have {art}"
                yield f"i don't {verb} {w}", "neutral"
        other_cats = sorted(set(_CAT_NEG) - cats)
        yield r.choice(_CAT_NEG[r.choice(other_cats)]), "neutral"

    yield from _gen_rows(gen, _train_persona_sentences(root), rng)


def read_antonym_pairs(root: Path, rng: random.Random) -> Iterator[Row]:
    """Antonymous habits and preferences (early riser vs sleeps in; love vs hate; married vs
    single; vegetarian vs eats meat; shy vs outgoing) → contradiction, with same-polarity
    paraphrases → entailment."""

    def gen(s: str, r: random.Random) -> Iterator[tuple[str, str]]:
        low = s.lower()
        hit = False
        for pat, contra, ent in _HABITS:
            if pat.search(low):
                hit = True
                yield r.choice(contra), "contradiction"
                yield r.choice(ent), "entailment"
                break
        if not hit and (sw := _antonym_swap(s)):
            yield sw, "contradiction"
        if m := _LIKE.match(low):
            yield (f"i {r.choice(('really like', 'am a big fan of', 'enjoy', 'am into'))} "
                   f"{m.group(3)}"), "entailment"  # fmt: skip

    yield from _gen_rows(gen, _train_persona_sentences(root), rng)


_OTHERS = ("my friend", "my sister", "my brother", "my neighbor", "my mom", "my dad",
           "my coworker", "my roommate", "my cousin")  # fmt: skip
_THIRD = {"am": "is", "have": "has", "do": "does", "go": "goes", "watch": "watches",
          "can": "can", "was": "was", "will": "will", "would": "would", "could": "could"}  # fmt: skip


def _third_person(sentence: str, who: str) -> str | None:
    words = norm_text(sentence).split()
    if len(words) < 3 or words[0] != "i" or "t" in words or "not" in words:
        return None
    verb = words[1]
    if verb in _THIRD:
        verb = _THIRD[verb]
    elif verb.endswith(("s", "sh", "ch", "x")):
        verb = verb + "es"
    elif verb.endswith("y") and verb[-2:-1] not in tuple("aeiou"):
        verb = verb[:-1] + "ies"
    else:
        verb = verb + "s"
    rest = ["their" if w == "my" else "them" if w == "me" else w for w in words[2:]]
    if "i" in rest or "am" in rest:
        return None
    return " ".join([who, verb, *rest])


def read_negation_neutral(root: Path, rng: random.Random) -> Iterator[Row]:
    """Neutral pairs that look like contradictions or entailments: a negated sentence on a
    different topic (no shared content word, no shared category), and the same sentence
    said of someone else ("my sister loves dogs" vs "i love dogs")."""
    sents = _train_persona_sentences(root)
    negs = [(t, n) for t in sents for n in varied_negations(t, random.Random(t))[:1]]

    def gen(s: str, r: random.Random) -> Iterator[tuple[str, str]]:
        cw, cats = msc_content_words(s), _categories(s)
        for _ in range(8):
            t, neg = negs[r.randrange(len(negs))]
            if not (msc_content_words(t) & cw) and not (_categories(t) & cats):
                yield neg, "neutral"
                break
        if r.random() < 0.6 and (tp := _third_person(s, r.choice(_OTHERS))):
            yield tp, "neutral"

    yield from _gen_rows(gen, sents, rng)


def read_chat_phenomena(root: Path, rng: random.Random) -> Iterator[Row]:
    """Generated chat-shaped persona phenomena (:mod:`consona.nli.chatgen`), all to train."""
    from consona.nli.chatgen import generate_chat_pairs

    sents = _train_persona_sentences(root)
    for r in generate_chat_pairs(sents, rng, per_kind=400):
        yield {**r, "split": "train"}
