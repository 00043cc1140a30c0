"""Generated persona phenomena in the shape of real chat turns (recipe source ``chat-phenomena``).

The judge's old shortcut was "same topic → entailment". These pairs break it: each
premise is a persona fact, each hypothesis a chat-like utterance (lower case, tokenised
" . ", a greeting or a question around the clause, as in PersonaChat), and for every
topic there are contradicting, entailing and *same-topic neutral* hypotheses:

* attribute clashes that need light world knowledge: ages, jobs, homes, gender, hair
  and eye colours, diet vs food, only child vs siblings, marital status, favourites;
* like ↔ dislike / hate / cringe / can't stand / not a fan;
* have ↔ have none / no / never / any, counts, and a hypernym's absence (dog → pets);
* same-topic neutrals: questions, wishes, other people, other members of the category.

The fillers come from the word lists of :mod:`consona.nli.lexicon` and from TRAIN-split
persona sentences passed in by the recipe; nothing here reads an evaluation set.

>>> import random
>>> rows = list(generate_chat_pairs(["i love hiking ."], random.Random(0), per_kind=1))
>>> sorted({r["label"] for r in rows}) == ["contradiction", "entailment", "neutral"]
True
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator

from consona.nli.lexicon import (
    COUNTRIES,
    JOB_GROUPS,
    MEAT,
    US_STATES,
)
from consona.text import normalize

Row = dict[str, str]

_PRE = ["", "", "", "hi ! ", "nice . ", "lol ", "oh wow . ", "haha , ", "cool . ", "yes . ",
        "that is awesome . ", "well , ", "no . ", "me too . ", "hello , how are you ? "]  # fmt: skip
_POST = ["", "", "", " .", " . what about you ?", " , how about you ?", " . do you have any hobbies ?",
         " . what do you do for fun ?", " !", " lol", " . where are you from ?",
         " . do you have any pets ?", " . what do you do for a living ?"]  # fmt: skip
_NUMBERS = ["one", "two", "three", "four", "five", "six"]
_LIKE_RE = re.compile(r"^i (?:really )?(?:love|like|enjoy|adore) (?:to )?(.+?)\s*[.!]?$")
_HATE_RE = re.compile(
    r"^i (?:hate|dislike|do not like|can not stand|cannot stand) (?:to )?(.+?)\s*[.!]?$"
)
_PETS = ["dog", "cat", "fish", "bird", "hamster", "rabbit", "snake", "turtle", "parrot", "horse"]
_BREEDS = ["german shepherd", "golden retriever", "labrador", "poodle", "pug", "beagle",
           "husky", "chihuahua", "pit bull", "dachshund", "corgi", "border collie"]  # fmt: skip
FAVORITES = {
    "color": ["red", "blue", "green", "purple", "yellow", "orange", "pink", "black", "white"],
    "season": ["winter", "summer", "spring", "fall"],
    "food": ["pizza", "sushi", "tacos", "pasta", "papaya", "salad", "burgers", "curry", "ramen"],
    "music": ["country", "rock", "jazz", "rap", "pop", "classical", "metal", "blues", "reggae"],
    "sport": ["soccer", "football", "basketball", "tennis", "hockey", "baseball", "golf"],
    "band": ["the beatles", "metallica", "the who", "coldplay", "queen", "nirvana", "abba"],
    "animal": ["cats", "dogs", "horses", "elephants", "dolphins", "wolves", "owls"],
    "movie": ["star wars", "titanic", "the godfather", "jaws", "frozen", "rocky"],
}  # fmt: skip
_HAIR = ["blonde", "brown", "black", "red", "gray", "purple", "pink", "blue"]
_EYES = ["blue", "green", "brown", "hazel"]
PLACES = sorted(US_STATES - {"new york state"}) + sorted(set(COUNTRIES.values()))
JOBS = [g[0] for g in JOB_GROUPS if g[0] not in ("nurse's aide",)]


def chat(clause: str, rng: random.Random) -> str:
    """Wrap a clause as a PersonaChat-style turn (lower case, " . " tokenised)."""
    text = rng.choice(_PRE) + clause + rng.choice(_POST)
    text = text.replace(",", " ,").replace("  ", " ").lower().strip()
    return re.sub(r"\s+", " ", re.sub(r"([.!?])", r" \1 ", text)).strip()


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _pair(premise: str, clause: str, label: str, kind: str, rng: random.Random) -> Row:
    return {"premise": premise, "hypothesis": chat(clause, rng), "label": label, "kind": kind}


def _ages(rng: random.Random) -> Iterator[Row]:
    a = rng.randint(5, 90)
    b = rng.choice([x for x in range(5, 95) if abs(x - a) >= 3])
    p = rng.choice([f"i am {a} years old .", f"i am {a} .", f"i just turned {a} ."])
    yield _pair(
        p,
        rng.choice(
            [
                f"i am {b}",
                f"i just turned {b}",
                f"i am {b} years old",
                f"i am {b} now",
                f"i am a {b} year old",
            ]
        ),
        "contradiction",
        "age",
        rng,
    )
    yield _pair(
        p,
        rng.choice([f"i am {a} years old", f"i am {a} now", f"i turned {a} this year"]),
        "entailment",
        "age",
        rng,
    )
    yield _pair(
        p,
        rng.choice(
            [
                f"my son is {b}",
                f"my mom is {b} years old",
                f"i have been married {b} years",
                f"i have {rng.choice(_NUMBERS)} kids",
                f"i have worked there {b} years",
            ]
        ),
        "neutral",
        "age",
        rng,
    )


def _jobs(rng: random.Random) -> Iterator[Row]:
    j1, j2 = rng.sample(JOBS, 2)
    p = rng.choice([f"i am {_a(j1)} .", f"i work as {_a(j1)} .", f"i am {_a(j1)} by trade ."])
    yield _pair(
        p,
        rng.choice(
            [
                f"i am {_a(j2)}",
                f"i work as {_a(j2)}",
                f"i am {_a(j2)} , what do you do ?",
                f"i have been {_a(j2)} for ten years",
            ]
        ),
        "contradiction",
        "job",
        rng,
    )
    yield _pair(
        p,
        rng.choice([f"i work as {_a(j1)}", f"i am {_a(j1)}", f"being {_a(j1)} is hard work"]),
        "entailment",
        "job",
        rng,
    )
    yield _pair(
        p,
        rng.choice(
            [
                f"my mom is {_a(j2)}",
                f"i want to be {_a(j2)} someday",
                f"my brother works as {_a(j2)}",
                f"are you {_a(j2)} ?",
                f"my dad was {_a(j1)} too",
                f"{j1}s work so hard",
            ]
        ),
        "neutral",
        "job",
        rng,
    )
    status = rng.choice(["retired", "unemployed"])
    yield _pair(
        p,
        rng.choice([f"i am {status}", "i retired last year", "i lost my job", "i do not work"]),
        "contradiction",
        "job",
        rng,
    )
    yield _pair(
        f"i am {status} .",
        rng.choice([f"i work as {_a(j2)}", "i just got a new job", "i work nights at a bar"]),
        "contradiction",
        "job",
        rng,
    )


def _homes(rng: random.Random) -> Iterator[Row]:
    p1, p2 = rng.sample(PLACES, 2)
    p = rng.choice([f"i live in {p1} .", f"i currently live in {p1} ."])
    yield _pair(
        p,
        rng.choice(
            [
                f"i live in {p2}",
                f"i have lived in {p2} all my life",
                f"here in {p2} , we get lots of snow . i live in {p2}",
            ]
        ),
        "contradiction",
        "place",
        rng,
    )
    yield _pair(
        p,
        rng.choice([f"i live in {p1}", f"i am in {p1}", f"life in {p1} is good , i live there"]),
        "entailment",
        "place",
        rng,
    )
    yield _pair(
        p,
        rng.choice(
            [
                f"i want to visit {p2}",
                f"my sister lives in {p2}",
                f"have you been to {p2} ?",
                f"i went to {p2} last summer",
                f"i have never been to {p2}",
            ]
        ),
        "neutral",
        "place",
        rng,
    )


def _gender(rng: random.Random) -> Iterator[Row]:
    f = rng.choice(["woman", "girl", "mom", "mother", "female", "wife", "grandmother"])
    m = rng.choice(["man", "guy", "dad", "father", "male", "husband", "grandfather"])
    x, y = (f, m) if rng.random() < 0.5 else (m, f)
    p = rng.choice([f"i am {_a(x)} .", f"i am a {rng.randint(18, 70)} year old {x} ."])
    yield _pair(
        p,
        rng.choice(
            [f"i am {_a(y)}", f"i am a {rng.randint(18, 70)} year old {y}", f"i am a single {y}"]
        ),
        "contradiction",
        "gender",
        rng,
    )
    yield _pair(
        p,
        rng.choice(
            [
                f"my best friend is {_a(y)}",
                f"are you {_a(y)} ?",
                f"i love my {rng.choice(['husband', 'wife'])}",
            ]
        ),
        "neutral",
        "gender",
        rng,
    )


def _looks(rng: random.Random) -> Iterator[Row]:
    h1, h2 = rng.sample(_HAIR, 2)
    p = rng.choice([f"i have {h1} hair .", f"my hair is {h1} .", f"i have long {h1} hair ."])
    yield _pair(
        p,
        rng.choice(
            [f"i have {h2} hair", f"my {h2} hair is my best feature", f"i have short {h2} hair"]
        ),
        "contradiction",
        "looks",
        rng,
    )
    yield _pair(
        p,
        rng.choice(
            [f"my sister has {h2} hair", f"i like {h2} hair", f"i want to dye my hair {h2}"]
        ),
        "neutral",
        "looks",
        rng,
    )
    e1, e2 = rng.sample(_EYES, 2)
    yield _pair(
        f"i have {e1} eyes .",
        rng.choice([f"i have {e2} eyes", f"my eyes are {e2}"]),
        "contradiction",
        "looks",
        rng,
    )
    yield _pair(
        f"i have {e1} eyes .",
        rng.choice([f"my son has {e2} eyes", f"i love {e2} eyes"]),
        "neutral",
        "looks",
        rng,
    )


def _diet(rng: random.Random) -> Iterator[Row]:
    meat = rng.choice(sorted(MEAT - {"carnivore", "fish"}))
    d = rng.choice(["vegan", "vegetarian"])
    p = rng.choice([f"i am {_a(d)} .", f"i am {d} .", "i do not eat meat ."])
    yield _pair(
        p,
        rng.choice(
            [
                f"i love {meat}",
                f"i had {meat} for dinner",
                "i am a carnivore",
                f"{meat} is my favorite food",
                "i eat meat every day",
            ]
        ),
        "contradiction",
        "diet",
        rng,
    )
    yield _pair(
        p,
        rng.choice(
            [
                "i love salads",
                "i eat lots of vegetables",
                f"my husband eats {meat}",
                f"do you like {meat} ?",
                "i am a great cook",
            ]
        ),
        "neutral",
        "diet",
        rng,
    )
    yield _pair(
        "i am an only child .",
        rng.choice(
            [
                "my brother is older than me",
                "i have two sisters",
                "my sister is my best friend",
                "i have three siblings",
            ]
        ),
        "contradiction",
        "family",
        rng,
    )
    yield _pair(
        "i am an only child .",
        rng.choice(
            ["my cousin is like a brother to me", "do you have siblings ?", "my parents are great"]
        ),
        "neutral",
        "family",
        rng,
    )
    yield _pair(
        rng.choice(["i am single .", "i am not married ."]),
        rng.choice(["my wife is a teacher", "i am married", "my husband and i love to travel"]),
        "contradiction",
        "family",
        rng,
    )
    yield _pair(
        rng.choice(["i am married .", "i have a wife ."]),
        rng.choice(["i am single", "i have never been married"]),
        "contradiction",
        "family",
        rng,
    )


def _favorites(rng: random.Random) -> Iterator[Row]:
    cat = rng.choice(sorted(FAVORITES))
    x, y = rng.sample(FAVORITES[cat], 2)
    p = rng.choice([f"my favorite {cat} is {x} .", f"{x} is my favorite {cat} ."])
    yield _pair(
        p,
        rng.choice(
            [
                f"my favorite {cat} is {y}",
                f"{y} is my favorite {cat}",
                f"what is your favorite {cat} ? mine is {y}",
            ]
        ),
        "contradiction",
        "favorite",
        rng,
    )
    yield _pair(
        p,
        rng.choice(
            [
                f"i hate {x}",
                f"{x} makes me cringe",
                f"i can not stand {x}",
                f"i am not a fan of {x}",
            ]
        ),
        "contradiction",
        "favorite",
        rng,
    )
    yield _pair(
        p,
        rng.choice([f"i love {x}", f"{x} is the best", f"my favorite {cat} is {x}"]),
        "entailment",
        "favorite",
        rng,
    )
    yield _pair(
        p,
        rng.choice(
            [
                f"i also like {y}",
                f"my brother loves {y}",
                f"what is your favorite {cat} ?",
                f"do you like {x} ?",
                f"my sister hates {x}",
            ]
        ),
        "neutral",
        "favorite",
        rng,
    )


def _likes(sentence: str, rng: random.Random) -> Iterator[Row]:
    s = sentence.strip().lower()
    m = _LIKE_RE.match(s)
    if m:
        x = m.group(1)
        yield _pair(
            sentence,
            rng.choice(
                [
                    f"i hate {x}",
                    f"i do not like {x}",
                    f"i can not stand {x}",
                    f"{x} makes me cringe",
                    f"i am not a fan of {x}",
                    f"i have never liked {x}",
                    f"i really dislike {x}",
                ]
            ),
            "contradiction",
            "like",
            rng,
        )
        yield _pair(
            sentence,
            rng.choice(
                [f"i love {x}", f"i really enjoy {x}", f"{x} is my thing", f"i am really into {x}"]
            ),
            "entailment",
            "like",
            rng,
        )
        yield _pair(
            sentence,
            rng.choice(
                [
                    f"do you like {x} ?",
                    f"my sister hates {x}",
                    f"my friend loves {x}",
                    f"what do you think about {x} ?",
                    f"i hear {x} is popular",
                    f"have you ever tried {x} ?",
                ]
            ),
            "neutral",
            "like",
            rng,
        )
        return
    m = _HATE_RE.match(s)
    if m:
        x = m.group(1)
        yield _pair(
            sentence,
            rng.choice(
                [f"i love {x}", f"i really like {x}", f"{x} is my favorite", f"i enjoy {x} so much"]
            ),
            "contradiction",
            "like",
            rng,
        )
        yield _pair(
            sentence,
            rng.choice([f"do you like {x} ?", f"my brother loves {x}"]),
            "neutral",
            "like",
            rng,
        )


def _haves(rng: random.Random) -> Iterator[Row]:
    pet = rng.choice(_PETS + _BREEDS)
    n = rng.choice(_NUMBERS)
    plural = "" if n == "one" else ("es" if pet.endswith("sh") else "s")
    cls = "dog" if pet in _BREEDS else pet
    p = rng.choice(
        [
            f"i have {n} {pet}{plural} .",
            f"i have {_a(pet)} ." if n == "one" else f"i own {n} {pet}{plural} .",
        ]
    )
    yield _pair(
        p,
        rng.choice(
            [
                "i do not have any pets",
                "i have no pets",
                "i have never had a pet",
                f"i do not have {_a(cls)}",
                f"i have never owned {_a(cls)}",
                "i am not an animal person , no pets for me",
            ]
        ),
        "contradiction",
        "have",
        rng,
    )
    m = rng.choice([x for x in _NUMBERS if x != n])
    yield _pair(
        f"i have {n} {cls}{'' if n == 'one' else 's'} .",
        rng.choice([f"i have {m} {cls}s", f"i own {m} {cls}s"]),
        "contradiction",
        "have",
        rng,
    )
    other = rng.choice([x for x in _PETS if x != cls])
    yield _pair(
        p,
        rng.choice(
            [
                f"i do not have {_a(other)}",
                f"i want {_a(other)}",
                "do you have any pets ?",
                f"my neighbor has {_a(cls)}",
                f"{cls}s are great pets",
            ]
        ),
        "neutral",
        "have",
        rng,
    )
    yield _pair(
        p,
        rng.choice([f"i have {_a(cls)}", "i have pets", f"my {pet} is so cute"]),
        "entailment",
        "have",
        rng,
    )
    kid = rng.choice(["son", "daughter", "sister", "brother"])
    cls2 = "kids" if kid in ("son", "daughter") else "siblings"
    yield _pair(
        f"i have {_a(kid)} .",
        rng.choice([f"i do not have any {cls2}", f"i have no {cls2}", f"no {cls2} for me"]),
        "contradiction",
        "have",
        rng,
    )
    yield _pair(
        f"i have {_a(kid)} .",
        rng.choice([f"i want more {cls2}", f"do you have {cls2} ?", f"my friend has no {cls2}"]),
        "neutral",
        "have",
        rng,
    )


def _questions(sentence: str, rng: random.Random) -> Iterator[Row]:
    """A question about the fact's topic commits the speaker to nothing → neutral, however
    much it overlaps ("why do you hate orange ?" vs "my favorite color is orange")."""
    s = sentence.strip().lower().rstrip(" .!")
    m = _LIKE_RE.match(s + ".") or _HATE_RE.match(s + ".")
    topic = m.group(1) if m else " ".join(s.split()[-2:])
    yield _pair(sentence, rng.choice([
        f"why do you hate {topic} ?", f"do you like {topic} ?", f"are you into {topic} ?",
        f"what do you think of {topic} ?", f"have you ever tried {topic} ?",
        f"is it true you do not like {topic} ?", f"what about {topic} ?",
        f"do you not like {topic} ?", f"how long have you liked {topic} ?",
    ]), "neutral", "question", rng)  # fmt: skip


def generate_chat_pairs(
    persona_sentences: Iterable[str], rng: random.Random, *, per_kind: int = 2
) -> Iterator[Row]:
    """Generated rows: ``per_kind`` rounds of every world-knowledge kind, and the like /
    dislike kinds for each persona sentence of that shape."""

    def fresh(rows: Iterable[Row]) -> Iterator[Row]:
        for r in rows:
            if normalize(r["premise"]) != normalize(r["hypothesis"]):
                yield r

    for _ in range(per_kind):
        for gen in (_ages, _jobs, _homes, _gender, _looks, _diet, _favorites, _haves):
            yield from fresh(gen(rng))
    for s in persona_sentences:
        yield from fresh(_likes(s, rng))
        if rng.random() < 0.5:
            yield from fresh(_questions(s, rng))
