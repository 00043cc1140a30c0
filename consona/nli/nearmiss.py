"""Near misses: pairs that look like contradictions and are not (recipe source ``near-misses``).

Read one by one, the judge's false alarms on real chat (hand-read dev pairs) were mostly
same-topic pairs that commit to nothing incompatible:

* a favourite vs liking another member of the category ("my favorite band is aerosmith"
  / "i love travis scott");
* a job vs a side job, a wish, a past job, a job offered in jest or someone else's job;
* an age vs feeling old; a country or state vs "the city", "a small town";
* being married vs kids or the wedding; one's gender vs one's siblings'; a job vs
  looking for another one.

Each kind here yields such neutrals *and* the true contradiction of the same shape, so a
model learns where the line is, not that a word is harmless. The other half of the source
is real text: the dialogue benchmark's train-split rule contradictions that
:func:`consona.nli.dialogue.credible_contradiction` rejects (annotation habits that reading
found false), relabelled neutral. Nothing here reads an evaluation set.

>>> import random
>>> rows = list(generate_near_misses(random.Random(0), rounds=1))
>>> sorted({r["label"] for r in rows})
['contradiction', 'neutral']
>>> all(r["kind"].startswith("near-") for r in rows)
True
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from consona.nli.chatgen import FAVORITES, JOBS, PLACES, chat

Row = dict[str, str]

_SIDE = ["dog walking", "baking", "tutoring", "photography", "cleaning", "lawn care",
         "catering", "web design", "jewelry"]  # fmt: skip
_NUMBERS = ["two", "three", "four"]


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def _row(premise: str, clause: str, label: str, kind: str, rng: random.Random) -> Row:
    return {"premise": premise, "hypothesis": chat(clause, rng), "label": label,
            "kind": f"near-{kind}"}  # fmt: skip


def _favorite(rng: random.Random) -> Iterator[Row]:
    cat = rng.choice(sorted(FAVORITES))
    x, y = rng.sample(FAVORITES[cat], 2)
    p = rng.choice([f"my favorite {cat} is {x} .", f"{x} is my favorite {cat} ."])
    yield _row(p, rng.choice([
        f"i love {y}", f"i really like {y}", f"i am a big {y} fan", f"{y} is great",
        f"i also like {y} a lot", f"i am into {y} right now", f"we should get {y} sometime",
    ]), "neutral", "favorite", rng)  # fmt: skip
    yield _row(p, rng.choice([
        f"my favorite {cat} is {y}", f"i hate {x}", f"{y} is my favorite {cat} , not {x}",
    ]), "contradiction", "favorite", rng)  # fmt: skip


def _job(rng: random.Random) -> Iterator[Row]:
    j1, j2 = rng.sample(JOBS, 2)
    p = rng.choice([f"i am {_a(j1)} .", f"i work as {_a(j1)} ."])
    yield _row(p, rng.choice([
        f"i also have {_a(rng.choice(_SIDE))} business on the side",
        f"i would like to become {_a(j2)}", f"i could be your {j2} when you are busy",
        f"i used to be {_a(j2)}", f"my parents are both {j2}s", f"i am studying to be {_a(j2)}",
        f"i want to be {_a(j2)} one day", "i am looking for a new job",
        "i am currently in the market for a new job",
    ]), "neutral", "job", rng)  # fmt: skip
    side = rng.choice(_SIDE)
    yield _row(
        rng.choice([f"i also have {_a(side)} business .", f"i am {_a(j1)} on the side ."]),
        rng.choice([f"i am {_a(j2)}", f"i work as {_a(j2)}"]),
        "neutral",
        "job",
        rng,
    )
    yield _row(p, rng.choice([f"i am {_a(j2)}", f"i work as {_a(j2)} full time", "i do not work"]),
               "contradiction", "job", rng)  # fmt: skip


def _age(rng: random.Random) -> Iterator[Row]:
    a = rng.randint(8, 70)
    b = rng.choice([x for x in range(8, 90) if abs(x - a) >= 4])
    p = rng.choice(
        [f"i am {a} years old .", f"i am a {a} year old {rng.choice(['girl', 'boy'])} ."]
    )
    yield _row(p, rng.choice([
        "getting old", "i feel so old", "i am too old for this", "i feel like an old man",
        "i am not young anymore", "my bones feel old today", "i am old enough to know better",
    ]), "neutral", "age", rng)  # fmt: skip
    yield _row(p, rng.choice([f"i am {b}", f"i just turned {b}"]), "contradiction", "age", rng)


def _home(rng: random.Random) -> Iterator[Row]:
    p1, p2 = rng.sample(PLACES, 2)
    p = rng.choice([f"i live in {p1} .", f"now i live in {p1} ."])
    yield _row(p, rng.choice([
        "i live in the city now", "i live in a small town", "i live on a farm",
        "me and my friend got an apartment together", "i moved to the city last year",
        "i live near the beach", "where do you live ? i live in the suburbs",
    ]), "neutral", "home", rng)  # fmt: skip
    yield _row(p, rng.choice([f"i live in {p2}", f"i have lived in {p2} all my life"]),
               "contradiction", "home", rng)  # fmt: skip


def _family(rng: random.Random) -> Iterator[Row]:
    job = rng.choice(JOBS)
    p = rng.choice(["i am married .", f"i am married to {_a(job)} .", "i have a husband ."])
    yield _row(p, rng.choice([
        f"i have {rng.choice(_NUMBERS)} kids", "we married when i was 20",
        "we have been together for ten years", "my kids keep me busy",
    ]), "neutral", "family", rng)  # fmt: skip
    yield _row(p, rng.choice(["i am single", "i have never been married", "i am not married"]),
               "contradiction", "family", rng)  # fmt: skip
    g = rng.choice(["male", "man", "woman", "female", "guy", "girl"])
    yield _row(f"i am {_a(g)} .", rng.choice([
        f"my {rng.choice(_NUMBERS)} sisters would love that", "my brother , not so much",
        "my mom is a nurse", "my dad and i love fishing",
    ]), "neutral", "family", rng)  # fmt: skip
    sib = rng.choice(["sister", "brother"])
    p = rng.choice([f"i have {rng.choice(_NUMBERS)} {sib}s .", f"i have one {sib} ."])
    yield _row(p, rng.choice([
        f"my {sib} is older than me", f"my older {sib} is {_a(job)}",
        f"no but my {sib} is though", "my cousins live near me",
    ]), "neutral", "family", rng)  # fmt: skip
    yield _row(p, rng.choice(["i am an only child", "i do not have any siblings"]),
               "contradiction", "family", rng)  # fmt: skip


KINDS: dict[str, Callable[[random.Random], Iterator[Row]]] = {
    "favorite": _favorite,
    "job": _job,
    "age": _age,
    "home": _home,
    "family": _family,
}


def generate_near_misses(rng: random.Random, *, rounds: int = 300) -> Iterator[Row]:
    """``rounds`` rounds of every kind of :data:`KINDS` (neutrals and their contrasts)."""
    for _ in range(rounds):
        for gen in KINDS.values():
            yield from gen(rng)
