"""The persona-NLI training data recipe (``consona nli build-data``): deterministic.

Every source has a licence entry. Only sources whose licence allows redistribution for
any use (CC BY, CC BY-SA, MIT, Apache, PersonaChat/ConvAI2) are used by default;
``allow_unlicensed=True`` adds NC / unstated sets for users training their own model.
Sources missing from the data directory are skipped and reported; big files that are not
staged here (Dialogue NLI's pair files, full SNLI/MNLI train) are used when present.

Splits: persona sentences are hashed (crc32) into train 80% / dev 10% / test 10%; a pair
goes to its persona premise's split, and persona–persona pairs need both in the same
split, so dev/test share no persona sentence with train. General NLI sets go to train
(5% hashed to dev for calibration); the test split is persona-only. Pairs are
deduplicated on normalised (premise, hypothesis); a pair seen in dev/test never stays
in train.

>>> rows = build_dataset("no/such/dir")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import sys
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consona.nli.dnli import dnli_pairs, read_triples_file

Row = dict[str, str]
LABEL_SET = ("entailment", "neutral", "contradiction")
_LABEL_ALIASES = {
    "entailment": "entailment", "e": "entailment", "0": "entailment", "positive": "entailment",
    "neutral": "neutral", "n": "neutral", "1": "neutral",
    "contradiction": "contradiction", "c": "contradiction", "2": "contradiction",
    "negative": "contradiction", "self-contradiction": "contradiction",
}  # fmt: skip


def norm_label(value: Any) -> str | None:
    return _LABEL_ALIASES.get(str(value).strip().lower())


def norm_text(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def split_of(sentence: str, *, dev: int = 10, test: int = 10) -> str:
    """Deterministic split of a persona sentence by crc32 of its normalised text."""
    bucket = zlib.crc32(norm_text(sentence).encode()) % 100
    return "test" if bucket < test else "dev" if bucket < test + dev else "train"


@dataclass(frozen=True)
class Source:
    name: str
    licence: str
    allowed: bool  # may train a model that consona redistributes
    persona: bool  # persona source (split by persona sentence) vs general NLI (train/dev)
    reader: Callable[[Path, random.Random], Iterable[Row]]
    paths: tuple[str, ...]  # relative paths that must exist (any one)
    note: str = ""


# ------------------------------------------------------------------ readers


def _tsv(path: Path, *, delimiter: str = "\t") -> Iterator[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE)


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        head = fh.read(1)
        fh.seek(0)
        if head == "[":  # Dialogue NLI ships JSON lists with a .jsonl name
            yield from json.load(fh)
            return
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _rows(pairs: Iterable[tuple[Any, Any, Any]]) -> Iterator[Row]:
    for p, h, lab in pairs:
        label = norm_label(lab)
        if label and isinstance(p, str) and isinstance(h, str) and p.strip() and h.strip():
            yield {"premise": p.strip(), "hypothesis": h.strip(), "label": label}


def read_dnli_triples(root: Path, rng: random.Random) -> Iterator[Row]:
    items = read_triples_file(root / "convai2-dnli-triples/valid_both_original_dialogueNLI.txt")
    yield from dnli_pairs(
        items,
        split_of=split_of,
        per_label={"entailment": 2, "neutral": 2, "contradiction": 5},
        seed=rng.randrange(1 << 30),
    )


def read_dnli_release(root: Path, rng: random.Random) -> Iterator[Row]:
    for name in ("train", "dev", "test", "verified_test", "extra_test"):
        for cand in (root / "dialogue_nli" / f"dialogue_nli_{name}.jsonl",
                     root / "dialogue_nli" / f"dialogue_nli_{name}.json"):  # fmt: skip
            if cand.is_file():
                for r in _jsonl(cand):
                    yield from _rows([(r.get("sentence1"), r.get("sentence2"), r.get("label"))])


def read_personachat_entailed(root: Path, rng: random.Random) -> Iterator[Row]:
    """[persona, utterance] pairs → entailment; the utterance against another dialogue's
    random persona sentence → neutral (one per pair)."""
    for name in ("train_entailed_pairs.json", "valid_entailed_pairs.json"):
        path = root / "personachat" / name
        if not path.is_file():
            continue
        pairs = [(p, u) for p, u in json.loads(path.read_text()) if p and u]
        personas = sorted({p for p, _ in pairs})
        linked = defaultdict(set)
        for p, u in pairs:
            linked[u].add(p)
        for p, u in pairs:
            yield {"premise": p, "hypothesis": u, "label": "entailment"}
            other = personas[rng.randrange(len(personas))]
            if other not in linked[u] and not (set(norm_text(other).split()) & _content_words(u)):
                yield {"premise": other, "hypothesis": u, "label": "neutral"}


def _content_words(text: str) -> set[str]:
    stop = {"i", "a", "an", "the", "my", "me", "to", "and", "of", "in", "is", "am", "do", "it",
            "you", "have", "like", "are", "for", "on", "with", "that", "so", "but", "not"}  # fmt: skip
    return {w for w in norm_text(text).split() if w not in stop and len(w) > 2}


def read_msc(root: Path, rng: random.Random) -> Iterator[Row]:
    """MSC persona summaries: persona_text (premise) ⟶ the utterance that revealed it is
    entailment; an utterance that reveals nothing against another episode's persona_text
    → neutral."""
    facts: list[str] = []
    plain: list[str] = []
    for path in sorted((root / "msc" / "msc_personasummary").glob("session_*/*.txt")):
        for ep in _jsonl(path):
            for turn in ep.get("dialog", []):
                text = (turn.get("text") or "").strip()
                fact = (turn.get("persona_text") or "").strip()
                if not text:
                    continue
                if fact:
                    for sent in re.split(r"(?<=[.!?])\s+", fact):
                        if sent.strip():
                            facts.append(sent.strip())
                            yield {
                                "premise": sent.strip(),
                                "hypothesis": text,
                                "label": "entailment",
                            }
                else:
                    plain.append(text)
    if facts:
        for text in plain:
            fact = facts[rng.randrange(len(facts))]
            if not (_content_words(fact) & _content_words(text)):
                yield {"premise": fact, "hypothesis": text, "label": "neutral"}


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
        cw, cats = _content_words(s), _categories(s)
        for _ in range(8):
            t, neg = negs[r.randrange(len(negs))]
            if not (_content_words(t) & cw) and not (_categories(t) & cats):
                yield neg, "neutral"
                break
        if r.random() < 0.6 and (tp := _third_person(s, r.choice(_OTHERS))):
            yield tp, "neutral"

    yield from _gen_rows(gen, sents, rng)


def read_dialogue_train(root: Path, rng: random.Random) -> Iterator[Row]:
    """The train split of the dialogue contradiction benchmark (real utterances, split by
    dialogue; see :mod:`consona.nli.dialogue`), all to train."""
    from consona.nli.dialogue import build_dialogue_pairs

    for r in build_dialogue_pairs(root)["train"]:
        yield {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": r["label"],
               "split": "train"}  # fmt: skip


def read_chat_phenomena(root: Path, rng: random.Random) -> Iterator[Row]:
    """Generated chat-shaped persona phenomena (:mod:`consona.nli.chatgen`), all to train."""
    from consona.nli.chatgen import generate_chat_pairs

    sents = _train_persona_sentences(root)
    for r in generate_chat_pairs(sents, rng, per_kind=400):
        yield {**r, "split": "train"}


def read_personaext(root: Path, rng: random.Random) -> Iterator[Row]:
    """PersonaExt (licence not stated): utterance triples → DNLI-style pairs among themselves."""
    from consona.nli.dnli import Annotated, Triple

    items = []
    for rec in _jsonl(root / "personaext" / "personaext_dev.jsonl"):
        for t in rec.get("triplets", []):
            toks = t.get("tokens") or []
            head = " ".join(toks[i] for i in t.get("head", []) if i < len(toks))
            tail = " ".join(toks[i] for i in t.get("tail", []) if i < len(toks))
            if toks and t.get("label"):
                triple = Triple(head.lower(), str(t["label"]).lower(), tail.lower())
                items.append(Annotated(" ".join(toks), [triple], True))
    yield from dnli_pairs(items, split_of=split_of, per_item=1, seed=rng.randrange(1 << 30))


def _tsv_reader(rel: str, p: str, h: str, lab: str, *, delimiter: str = "\t") -> Any:
    def read(root: Path, rng: random.Random) -> Iterator[Row]:
        for path in sorted(root.glob(rel)):
            yield from _rows(
                (r.get(p), r.get(h), r.get(lab)) for r in _tsv(path, delimiter=delimiter)
            )

    return read


def _jsonl_reader(rel: str, p: str, h: str, lab: str) -> Any:
    def read(root: Path, rng: random.Random) -> Iterator[Row]:
        for path in sorted(root.glob(rel)):
            yield from _rows((r.get(p), r.get(h), r.get(lab)) for r in _jsonl(path))

    return read


def read_gu_clasp(root: Path, rng: random.Random) -> Iterator[Row]:
    for path in sorted((root / "nli/gu-clasp-dnli2024").glob("train_3_data.csv")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                cells = line.rstrip("\n").split("\t")
                if len(cells) >= 3:
                    ctx = re.sub(r"<[A-Z]>\s*", "", cells[0]).strip()
                    yield from _rows([(ctx, cells[1], cells[2])])


def read_nan_nli(root: Path, rng: random.Random) -> Iterator[Row]:
    path = root / "nli/cannot-negation/nan_nli.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        yield from _rows((r.get("premise"), r.get("hypothesis"), r.get("label"))
                         for r in csv.DictReader(fh))  # fmt: skip


def read_anli(root: Path, rng: random.Random) -> Iterator[Row]:
    for path in sorted((root / "nli/anli-devtest").glob("R*/dev.jsonl")):
        yield from _rows(
            (r.get("context"), r.get("hypothesis"), r.get("label")) for r in _jsonl(path)
        )


def read_decode(root: Path, rng: random.Random) -> Iterator[Row]:
    path = root / "nli/decode-pairs-prosecco/contradiction_df.tsv"
    for r in _tsv(path):
        yield from _rows([(r.get("seg1"), r.get("seg2"), r.get("label"))])


PHEN_LICENCE = (
    "CC BY 4.0 (derived: rule-generated from PersonaChat/ConvAI2 train persona sentences)"
)
PHEN_PATHS = ("personachat/train_entailed_pairs.json",
              "convai2-dnli-triples/valid_both_original_dialogueNLI.txt")  # fmt: skip
SOURCES: list[Source] = [
    Source("dnli-triples", "CC BY 4.0 (ConvAI2) + DNLI annotations", True, True,
           read_dnli_triples, ("convai2-dnli-triples/valid_both_original_dialogueNLI.txt",)),
    Source("persona-negation", "CC BY 4.0 (ConvAI2 persona sentences, rule-negated)", True, True,
           read_persona_negations, ("convai2-dnli-triples/valid_both_original_dialogueNLI.txt",)),
    Source("dialogue-nli", "CC BY 4.0 (Dialogue NLI release, when present)", True, True,
           read_dnli_release, ("dialogue_nli",)),
    Source("personachat-entailed", "CC BY 4.0 (PersonaChat)", True, True,
           read_personachat_entailed, ("personachat/train_entailed_pairs.json",),
           note="entailments predicted by a RoBERTa DNLI model, not gold"),
    Source("msc-persona", "ParlAI release (MSC, built on PersonaChat)", True, True,
           read_msc, ("msc/msc_personasummary",)),
    Source("msc-negation", "ParlAI release (MSC persona summaries, rule-negated)", True, True,
           read_msc_negations, ("msc/msc_personasummary",)),
    Source("persona-negation-forms", PHEN_LICENCE, True, True, read_negation_forms, PHEN_PATHS),
    Source("persona-hypernym", PHEN_LICENCE, True, True, read_hypernym_pairs, PHEN_PATHS),
    Source("persona-antonym", PHEN_LICENCE, True, True, read_antonym_pairs, PHEN_PATHS),
    Source("persona-negation-neutral", PHEN_LICENCE, True, True, read_negation_neutral,
           PHEN_PATHS),
    Source("dialogue-train", "CC BY 4.0 (ConvAI2) + DNLI annotations", True, True,
           read_dialogue_train, ("convai2-dnli-triples/valid_both_original_dialogueNLI.txt",)),
    Source("chat-phenomena", PHEN_LICENCE, True, True, read_chat_phenomena, PHEN_PATHS),
    Source("snli-1pct", "CC BY-SA 4.0", True, False,
           _jsonl_reader("nli/snli-train-1pct/*.jsonl", "sentence1", "sentence2", "gold_label"),
           ("nli/snli-train-1pct",)),
    Source("snli-full", "CC BY-SA 4.0 (when present)", True, False,
           _jsonl_reader("nli/snli_1.0/snli_1.0_train.jsonl", "sentence1", "sentence2",
                         "gold_label"), ("nli/snli_1.0",)),
    Source("mnli-full", "OANC / CC BY-SA 3.0 (MultiNLI, when present)", True, False,
           _jsonl_reader("nli/multinli_1.0/multinli_1.0_train.jsonl", "sentence1", "sentence2",
                         "gold_label"), ("nli/multinli_1.0",)),
    Source("snli-dev", "CC BY-SA 4.0 (SNLI dev; SNLI test stays for evaluation)", True, False,
           _tsv_reader("nli/snli-becel/validation.tsv", "premise", "hypothesis", "label"),
           ("nli/snli-becel/validation.tsv",)),
    Source("snli-cad", "Apache-2.0", True, False,
           _tsv_reader("nli/snli-cad-kaushik/all_combined/train.tsv", "sentence1", "sentence2",
                       "gold_label"), ("nli/snli-cad-kaushik",)),
    Source("conjnli", "MIT", True, False,
           _tsv_reader("nli/conjnli/adversarial_train_15k.tsv", "Premise", "Hypothesis", "Label"),
           ("nli/conjnli",)),
    Source("breaking-nli", "CC BY-SA 4.0", True, False,
           _jsonl_reader("nli/breaking-nli/dataset.jsonl", "sentence1", "sentence2",
                         "gold_label"), ("nli/breaking-nli",)),
    Source("negation-nli", "MIT", True, False,
           _tsv_reader("nli/negation-nli-hossain/*.txt", "Text", "Hypothesis", "gold_label"),
           ("nli/negation-nli-hossain",)),
    Source("gu-clasp-dnli", "MIT", True, False, read_gu_clasp, ("nli/gu-clasp-dnli2024",)),
    Source("cannot-glue-diag", "CC BY-SA 4.0", True, False,
           _tsv_reader("nli/cannot-negation/glue_diagnostic_full.tsv", "Premise", "Hypothesis",
                       "Label"), ("nli/cannot-negation/glue_diagnostic_full.tsv",)),
    Source("cannot-nan-nli", "CC BY-SA 4.0", True, False, read_nan_nli,
           ("nli/cannot-negation/nan_nli.csv",)),
    # not redistributable: only with allow_unlicensed
    Source("personaext", "none stated", False, True, read_personaext, ("personaext",)),
    Source("decode-prosecco", "unstated", False, False, read_decode,
           ("nli/decode-pairs-prosecco",)),
    Source("taxinli-mnli", "C-UDA", False, False,
           _tsv_reader("nli/taxinli-mnli/taxinli10k.tsv", "prem", "hyp", "label"),
           ("nli/taxinli-mnli",)),
    Source("anli-dev", "CC BY-NC 4.0 (evaluation set)", False, False, read_anli,
           ("nli/anli-devtest",), note="never used even with allow_unlicensed: eval set"),
]  # fmt: skip
EVAL_ONLY = {"anli-dev"}
# predicted (not gold) entailments stay out of dev/test; big persona sources are sampled
PERSONA_CAPS: dict[str, dict[str, int]] = {
    "personachat-entailed": {"train": 24_000, "dev": 0, "test": 0},
    "msc-persona": {"train": 14_000, "dev": 600, "test": 800},
    "msc-negation": {"train": 6_000, "dev": 300, "test": 400},
    # generated phenomena: train persona sentences only, each capped so none drowns the rest
    "persona-negation-forms": {"train": 5_000, "dev": 0, "test": 0},
    "persona-hypernym": {"train": 2_500, "dev": 0, "test": 0},
    "persona-antonym": {"train": 4_000, "dev": 0, "test": 0},
    "persona-negation-neutral": {"train": 5_000, "dev": 0, "test": 0},
    "dialogue-train": {"train": 30_000, "dev": 0, "test": 0},
    "chat-phenomena": {"train": 12_000, "dev": 0, "test": 0},
}
# rule-generated sources: a row whose premise or hypothesis equals a dev/test persona-side
# sentence (e.g. the generated "i'm married" vs a test fact "i'm married.") is dropped
GENERATED = {"persona-negation-forms", "persona-hypernym", "persona-antonym",
             "persona-negation-neutral", "chat-phenomena"}  # fmt: skip


@dataclass
class BuildReport:
    counts: dict[str, dict[str, dict[str, int]]]  # source -> split -> label -> n
    used: list[str]
    skipped: dict[str, str]  # source -> why
    licences: dict[str, str]

    def totals(self) -> dict[str, dict[str, int]]:
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for per_split in self.counts.values():
            for split, labels in per_split.items():
                out[split].update(labels)
        return {s: dict(c) for s, c in out.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "used": self.used,
            "skipped": self.skipped,
            "licences": self.licences,
            "counts": self.counts,
            "totals": self.totals(),
        }


def build_dataset(
    data_dir: str | Path,
    *,
    allow_unlicensed: bool = False,
    seed: int = 13,
    general_cap: int | None = 12_000,
    general_dev_percent: int = 5,
    only: Iterable[str] | None = None,
    caps: dict[str, dict[str, int]] | None = None,
    heldout: bool = True,
) -> tuple[dict[str, list[Row]], BuildReport]:
    """Run the recipe; return {split: rows} (shuffled deterministically) and a report.

    ``general_cap``: at most this many pairs per general-NLI source (a deterministic
    sample), so persona data is not drowned out. ``only``: restrict to these sources.
    ``caps``: {source: {split: max pairs}} (default ``PERSONA_CAPS``). ``heldout``: drop
    from train every row that uses a text of the dialogue benchmark's dev/test dialogues
    or of the hand-read dev pairs (:func:`consona.nli.dialogue.heldout_texts`), so the
    judge can be measured on them.
    """
    from consona.nli.dialogue import heldout_texts

    barred = heldout_texts(data_dir) if heldout else set()
    caps = PERSONA_CAPS if caps is None else caps
    root = Path(data_dir)
    wanted = set(only) if only is not None else None
    splits: dict[str, list[Row]] = {"train": [], "dev": [], "test": []}
    seen: dict[tuple[str, str], str] = {}
    report = BuildReport(counts={}, used=[], skipped={}, licences={})
    # persona sources first so their dev/test pairs claim duplicates before train does
    ordered = sorted(SOURCES, key=lambda s: not s.persona)
    held_persona: set[str] = set()  # dev/test persona-source texts (before GENERATED run)
    for src in ordered:
        if src.name in GENERATED:
            held_persona |= {
                norm_text(r[side])
                for split in ("dev", "test")
                for r in splits[split]
                for side in ("premise", "hypothesis")
            }
        if wanted is not None and src.name not in wanted:
            continue
        if src.name in EVAL_ONLY:
            report.skipped[src.name] = "evaluation-only set"
            continue
        if not src.allowed and not allow_unlicensed:
            report.skipped[src.name] = f"licence {src.licence!r} (use --allow-unlicensed)"
            continue
        if not any((root / p).exists() for p in src.paths):
            report.skipped[src.name] = "not in the data directory"
            continue
        rng = random.Random(f"{seed}:{src.name}")
        rows = list(src.reader(root, rng))
        if not src.persona and general_cap is not None and len(rows) > general_cap:
            rows = rng.sample(rows, general_cap)
        by_split: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            if row.get("split"):
                split = row["split"]
            elif src.persona:
                split = split_of(row.get("split_key") or row["premise"])
            else:
                bucket = zlib.crc32(norm_text(row["premise"]).encode()) % 100
                split = "dev" if bucket < general_dev_percent else "train"
            by_split[split].append(row)
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for split in ("dev", "test", "train"):  # dev/test claim duplicates first
            part = by_split.get(split, [])
            cap = caps.get(src.name, {}).get(split)
            if cap is not None and len(part) > cap:
                part = rng.sample(part, cap)
            for row in part:
                key = (norm_text(row["premise"]), norm_text(row["hypothesis"]))
                if not key[0] or not key[1] or key in seen:
                    continue
                if src.name in GENERATED and (key[0] in held_persona or key[1] in held_persona):
                    continue
                if split == "train" and (key[0] in barred or key[1] in barred):
                    continue
                seen[key] = split
                splits[split].append(
                    {
                        "premise": row["premise"],
                        "hypothesis": row["hypothesis"],
                        "label": row["label"],
                        "source": src.name,
                    }
                )
                counts[split][row["label"]] += 1
        report.used.append(src.name)
        report.licences[src.name] = src.licence
        report.counts[src.name] = {s: dict(c) for s, c in sorted(counts.items())}
    for name, rows in splits.items():
        random.Random(f"{seed}:shuffle:{name}").shuffle(rows)
    return splits, report


def write_dataset(
    splits: dict[str, list[Row]], report: BuildReport, out_dir: str | Path
) -> list[Path]:
    """Write train/dev/test JSONL + build_report.json atomically."""
    from consona.io import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in splits.items():
        path = out / f"{name}.jsonl"
        with atomic_write(path) as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        written.append(path)
    path = out / "build_report.json"
    with atomic_write(path) as fh:
        fh.write(json.dumps(report.to_dict(), indent=2) + "\n")
    written.append(path)
    return written
