"""Evaluation of long-term persona memory on Multi-Session Chat (``consona eval memory``).

For each MSC episode (``msc_dialogue/session_3``: sessions 1–2 as ``previous_dialogs``, the
persona summaries written after them as gold), Speaker 1 is the user and Speaker 2 the
character. The earlier sessions are fed turn by turn through the write path, then:

* **recall**: share of gold summary facts of each speaker that an active memory fact of
  that role entails (the judge; premise = memory fact, hypothesis = gold sentence);
* **duplicates**: stored copies per gold fact that has one — active facts of the role that
  entail the gold sentence *and* that the gold sentence entails (the same content, both
  ways), so the same fact stored twice counts twice;
* **linked**: active facts entailing a recalled gold fact, per recalled gold fact (the
  judge's entailment is lenient: "I read a lot." and "I have read 20 books this year." both
  entail "My favorite hobby is reading.", so this counts related facts, not copies);
* **redundant**: active facts of a role that mutually entail another active fact of that
  role (copies inside the store, with no gold sentence involved), per active fact;
* **injected updates** (:data:`UPDATES`, :data:`FRESH_UPDATES`, :data:`HELDOUT_UPDATES`,
  :data:`HELDOUT2_UPDATES`, :data:`HELDOUT3_UPDATES`, :data:`HELDOUT4_UPDATES`,
  :data:`HELDOUT5_UPDATES`: 10 + 24 + 10 + 12 + 12 + 12 + 16, of 17 kinds): after a fact
  and unrelated ones, its update is
  written (through the extractor, as a user turn, and as plain text) — the new fact must
  be active, the old superseded, nothing else retired;
* **latency**: the write path per turn beyond extraction, and ``add`` with 10,000 stored
  facts against 100;
* **probes** (optional, needs the chat model): the first user turn of session 3 answered
  with memory vs no memory vs the earlier sessions' text truncated to 10× the memory
  budget, each reply judged against the character's gold facts.

>>> from consona.testing import FakeEmbedder, FakeExtractor, FakeNLI
>>> ep = Episode(id="e", sessions=[[("user", "i have a dog named rex."),
...              ("bot", "i am a baker.")]],
...              gold={"user": ["I have a dog.", "My dog is named Rex."], "bot": []})
>>> r = evaluate_episode(ep, nli=FakeNLI(), embedder=FakeEmbedder(), extractor=FakeExtractor())
>>> r["recall"]["user"], r["linked"]["user"], r["duplicates"]["user"]
(1.0, 1.0, 1.0)
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import FormatError
from consona.text import STOP_WORDS, content_words, split_sentences
from consona.types import Turn

__all__ = [
    "FRESH_UPDATES",
    "HELDOUT2_UPDATES",
    "HELDOUT3_UPDATES",
    "HELDOUT4_UPDATES",
    "HELDOUT5_UPDATES",
    "HELDOUT_UPDATES",
    "N_UPDATES",
    "UPDATES",
    "UPDATE_SETS",
    "Episode",
    "add_scaling",
    "evaluate_episode",
    "injected_updates",
    "probe_answers",
    "read_msc_episodes",
    "run_memory_eval",
    "wilson_interval",
]

# (old fact, unrelated facts said in between, update): the update must supersede the old fact.
UPDATES: list[tuple[str, list[str], str]] = [
    ("I live in Lisbon.", ["I have two dogs.", "I love jazz."], "I moved to Oslo."),
    ("I am a nurse.", ["I live near the sea.", "I love pizza."], "I am a teacher now."),
    ("I have two cats.", ["I work at a bank.", "I play the guitar."], "I do not have any cats anymore."),
    ("I am single.", ["I drive a red car.", "I like hiking."], "I got married last month."),
    ("I am 25 years old.", ["I have a brother.", "I like tea."], "I just turned 30."),
    ("I am a vegetarian.", ["I have a garden.", "I read a lot."], "I eat meat now."),
    ("I work at a bank.", ["I have a son.", "I love the beach."], "I work at a school now."),
    ("I love coffee.", ["I live in Texas.", "I have a cat."], "I hate coffee now."),
    ("I drive a Honda.", ["I like rock music.", "I am a nurse."], "I drive a Tesla now."),
    ("I am a student.", ["I have a sister.", "I like soccer."], "I graduated and I am not a student anymore."),
]  # fmt: skip

# More updates, written for this bench (not taken from any data set): (slot, old fact,
# unrelated facts said in between, update). Several wordings per slot, single-valued
# relations and negations/counts of multi-valued ones.
FRESH_UPDATES: list[tuple[str, str, list[str], str]] = [
    ("home", "I live in Chicago.", ["I have a little sister.", "I collect stamps."], "I live in Denver now."),
    ("home", "I live with my parents.", ["I study biology.", "I have a hamster."], "I moved into my own apartment."),
    ("home", "I live in a small apartment.", ["I am a dentist.", "I love sushi."], "I live in a big house now."),
    ("age", "I am 41 years old.", ["I play chess on weekends.", "I have a beagle."], "I turned 42 yesterday."),
    ("marital", "I am married.", ["I work as a plumber.", "I love mystery novels."], "I am divorced now."),
    ("marital", "I am engaged.", ["I drive a minivan.", "I like gardening."], "I am single again."),
    ("relationship", "I have a boyfriend.", ["I work in a bakery.", "I like board games."], "I broke up with my boyfriend."),
    ("job", "I work as a mechanic.", ["I grow tomatoes.", "I have three brothers."], "I am a firefighter now."),
    ("job", "I am a waitress.", ["I have a tattoo.", "I love horror movies."], "I am a nurse now."),
    ("workplace", "I work at a hospital.", ["I like hiking in the hills.", "I have a brown dog."], "I work at a library now."),
    ("job status", "I am unemployed.", ["I live with my aunt.", "I like cartoons."], "I just got a job as a cashier."),
    ("job status", "I am retired.", ["I have a vegetable garden.", "I like crossword puzzles."], "I went back to work as a teacher."),
    ("school", "I am a high school student.", ["I play the violin.", "I love pancakes."], "I am in college now."),
    ("school", "I am a junior in college.", ["I have a pet snake.", "I like sci-fi movies."], "I graduated from college last spring."),
    ("children", "I have one daughter.", ["I drive a pickup truck.", "I like country music."], "I have two daughters now."),
    ("pets", "I have a cat.", ["I am a librarian.", "I like rainy days."], "I do not have a cat anymore."),
    ("hair", "My hair is blonde.", ["I have a fish tank.", "I enjoy yoga."], "My hair is red now."),
    ("favorite", "My favorite color is green.", ["I have a twin brother.", "I bake bread."], "My favorite color is purple now."),
    ("favorite", "My favorite food is pizza.", ["I work night shifts.", "I have a sister in Ohio."], "My favorite food is sushi now."),
    ("like", "I love running.", ["I am a dentist.", "I have two kids."], "I can not stand running anymore."),
    ("diet", "I am vegan.", ["I play the piano.", "I live near a lake."], "I eat fish and chicken now."),
    ("habit", "I smoke cigarettes.", ["I have a sister.", "I like old movies."], "I quit smoking last year."),
    ("vehicle", "I drive a Ford.", ["I have a parrot.", "I like jazz."], "I do not own a car anymore."),
    ("hobby", "I play the drums in a band.", ["I work at a grocery store.", "I have a cat."], "I do not play the drums anymore."),
]  # fmt: skip

# Written after the write path's last change and not used to tune it: a held-out check.
HELDOUT_UPDATES: list[tuple[str, str, list[str], str]] = [
    ("home", "I live in Boston.", ["I have a golden retriever.", "I enjoy painting."], "I relocated to Seattle last fall."),
    ("job", "I am an accountant.", ["I have a younger brother.", "I love camping."], "I became a pilot."),
    ("age", "I am 19 years old.", ["I play basketball.", "I like spicy food."], "I am 20 now."),
    ("marital", "I am single.", ["I have a rabbit.", "I like reading poetry."], "I married my girlfriend in June."),
    ("children", "I have no kids.", ["I work as a carpenter.", "I love the ocean."], "I have a baby boy now."),
    ("pets", "I have two dogs.", ["I teach math.", "I like tea."], "I have three dogs now."),
    ("school", "I am in middle school.", ["I have a cat named Tom.", "I like drawing."], "I started high school this year."),
    ("diet", "I eat meat.", ["I drive a truck.", "I have a sister."], "I became a vegetarian."),
    ("hair", "I have long hair.", ["I am a nurse.", "I love soccer."], "I cut my hair short."),
    ("habit", "I drink coffee every morning.", ["I have a garden.", "I work from home."], "I gave up drinking coffee."),
]  # fmt: skip

# Written in session 8, after the living-arrangement rule and before any run on them: a
# second held-out check (none of these sentences was used to write a rule).
HELDOUT2_UPDATES: list[tuple[str, str, list[str], str]] = [
    ("job", "I work as a cashier.", ["I have a twin sister.", "I like jazz."], "I got promoted to store manager."),
    ("home", "I live in Miami.", ["I have a parrot.", "I love baseball."], "We just moved to Atlanta."),
    ("pets", "I have a hamster.", ["I work at a pharmacy.", "I like puzzles."], "My hamster died last week."),
    ("marital", "I am married.", ["I love baking.", "I have a truck."], "My wife and I got divorced."),
    ("age", "I am 33 years old.", ["I have a cousin in Peru.", "I like chess."], "I just had my 34th birthday."),
    ("school", "I am studying law.", ["I play tennis.", "I have a goldfish."], "I finished law school in May."),
    ("diet", "I am a vegetarian.", ["I play the flute.", "I live near a park."], "I started eating meat again."),
    ("like", "I hate cooking.", ["I have a sister.", "I work in sales."], "I love cooking now."),
    ("children", "I have two kids.", ["I drive a van.", "I like gardening."], "We had our third child in March."),
    ("job status", "I work full time.", ["I have a dog named Max.", "I like sushi."], "I retired last year."),
    ("hair", "I have brown hair.", ["I love hiking.", "I have a brother."], "I dyed my hair blonde."),
    ("home", "I live with my grandma.", ["I like video games.", "I have a cat."], "I got my own place in town."),
]  # fmt: skip

# Written in session 11, before any run on them and before that session's rules for a
# school finished or a home of one's own: a third held-out check.
HELDOUT3_UPDATES: list[tuple[str, str, list[str], str]] = [
    ("school", "I am in nursing school.", ["I have a pug.", "I love salsa dancing."], "I graduated from nursing school last month."),
    ("home", "I live with my roommate.", ["I work at a car wash.", "I like anime."], "I live alone now."),
    ("job", "I am a bartender.", ["I have two sisters.", "I love the mountains."], "I quit bartending and now I drive for Uber."),
    ("pets", "I have a parakeet.", ["I teach yoga.", "I like thunderstorms."], "I gave my parakeet to my neighbor."),
    ("relationship", "I have a girlfriend.", ["I play hockey.", "I love tacos."], "My girlfriend and I split up."),
    ("age", "I am 57 years old.", ["I grow roses.", "I have a son in the navy."], "I turned 58 last week."),
    ("home", "I live in Texas.", ["I knit scarves.", "I have a rescue cat."], "I moved back to Vermont."),
    ("habit", "I run every morning.", ["I work as a chemist.", "I like crime shows."], "I stopped running after my knee surgery."),
    ("vehicle", "I ride a motorcycle.", ["I have a niece.", "I love pottery."], "I sold my motorcycle."),
    ("job status", "I am a stay at home mom.", ["I like musicals.", "I have a parrot."], "I went back to work as a nurse."),
    ("children", "I have no grandchildren.", ["I play bridge.", "I live by the sea."], "My daughter just had a baby, so I am a grandma now."),
    ("like", "I love country music.", ["I have a twin.", "I sell insurance."], "Country music gets on my nerves these days."),
]  # fmt: skip

# Written in session 11 after that session's rules for endings and joined changes (which
# were written from the misses of HELDOUT2_UPDATES and HELDOUT3_UPDATES), before any run
# on them: a fourth held-out check.
HELDOUT4_UPDATES: list[tuple[str, str, list[str], str]] = [
    ("pets", "I have a goldfish.", ["I sing in a choir.", "I like rainy mornings."], "My goldfish passed away in the spring."),
    ("job", "I am a mail carrier.", ["I have a stepson.", "I love bowling."], "I left the post office and opened a bakery."),
    ("home", "I live on a farm.", ["I collect coins.", "I have a cousin in Rome."], "We sold the farm and bought a condo in the city."),
    ("school", "I am a freshman in high school.", ["I play the cello.", "I like ramen."], "I am a senior now."),
    ("marital", "I am a widow.", ["I volunteer at the zoo.", "I like jigsaw puzzles."], "I remarried two years ago."),
    ("habit", "I drink a lot of soda.", ["I have a ferret.", "I work in IT."], "I cut out soda completely."),
    ("vehicle", "I do not have a car.", ["I love opera.", "I have a brother in Maine."], "I finally bought my first car."),
    ("like", "I hate sushi.", ["I play darts.", "I am a barber."], "Sushi has become my favorite food."),
    ("job status", "I am a full time student.", ["I like kayaking.", "I have a corgi."], "I dropped out and work full time at a warehouse now."),
    ("age", "I am 70.", ["I have a vegetable patch.", "I like westerns."], "I celebrated my 71st birthday with my grandkids."),
    ("children", "I am pregnant with my first baby.", ["I teach piano.", "I like hiking."], "My son was born in July."),
    ("diet", "I am a pescatarian.", ["I have a canoe.", "I love board games."], "I gave up fish and went fully vegan."),
]  # fmt: skip


# Written in session 13, before any run on them and before the change judge: a fifth
# held-out check.
HELDOUT5_UPDATES: list[tuple[str, str, list[str], str]] = [
    ("home", "I live in a dorm on campus.", ["I play rugby.", "I like horror films."], "These days I rent a flat with two friends off campus."),
    ("job", "I drive a school bus.", ["I have a pet turtle.", "I enjoy fishing."], "I handed in my notice and now I teach driving lessons."),
    ("pets", "I have an old cat named Whiskers.", ["I work at a bakery.", "I love jazz."], "We had to put Whiskers down in March."),
    ("marital", "I am engaged to Mark.", ["I collect stamps.", "I live in Leeds."], "Mark and I called off the wedding."),
    ("school", "I am in my last year of college.", ["I have a twin brother.", "I like chess."], "I got my diploma in May."),
    ("habit", "I bite my nails.", ["I sing in the shower.", "I have a sister."], "I finally kicked the nail biting habit."),
    ("vehicle", "I ride my bike to work.", ["I like sushi.", "I have three kids."], "My bike got stolen so I take the train now."),
    ("like", "I am crazy about video games.", ["I work as a nurse.", "I live near the beach."], "I lost interest in gaming a while ago."),
    ("age", "I am 45.", ["I love gardening.", "I have a dog."], "I hit 46 on Sunday."),
    ("children", "We are expecting twins.", ["I am a lawyer.", "I like hiking."], "Our twin girls arrived last week."),
    ("diet", "I eat a lot of junk food.", ["I play guitar.", "I have a parrot."], "I switched to a clean diet with no fast food."),
    ("job status", "I work two jobs.", ["I like mystery novels.", "I live in Ohio."], "I let go of my night job and only work days now."),
    ("relationship", "I am dating a firefighter.", ["I have a pug.", "I love baking."], "The firefighter and I are not together anymore."),
    ("hobby", "I am on a bowling team.", ["I drive a van.", "I like tea."], "I left the bowling team last season."),
    ("home", "I live with my parents.", ["I play the drums.", "I love pizza."], "I bought a house of my own last month."),
    ("job", "I am a waiter at a diner.", ["I have a cousin in Texas.", "I like movies."], "The diner closed, so I am looking for work."),
]  # fmt: skip


# the slot-tagged sets by name (the set name is the row's "set" in the results)
UPDATE_SETS: dict[str, list[tuple[str, str, list[str], str]]] = {
    "fresh": FRESH_UPDATES,
    "heldout": HELDOUT_UPDATES,
    "heldout2": HELDOUT2_UPDATES,
    "heldout3": HELDOUT3_UPDATES,
    "heldout4": HELDOUT4_UPDATES,
    "heldout5": HELDOUT5_UPDATES,
}
N_UPDATES = len(UPDATES) + sum(map(len, UPDATE_SETS.values()))


@dataclass
class Episode:
    """One MSC episode: earlier sessions as (role, text) turns, gold facts per role, and
    the next session's turns (for probes)."""

    id: str
    sessions: list[list[tuple[str, str]]]
    gold: dict[str, list[str]]
    next_turns: list[tuple[str, str]] = field(default_factory=list)


def _role(i: int, speaker: str | None) -> str:
    if speaker:
        return "user" if speaker.strip().lower().endswith("1") else "bot"
    return "user" if i % 2 == 0 else "bot"


def _gold(personas: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"user": [], "bot": []}
    if not isinstance(personas, list) or len(personas) != 2:
        return out
    for role, entries in zip(("user", "bot"), personas, strict=True):
        for e in entries or []:
            out[role].extend(s.strip() for s in split_sentences(str(e)) if len(s.strip()) > 3)
    return out


def read_msc_episodes(data_dir: str | Path, *, limit: int | None = None) -> Iterator[Episode]:
    """Episodes of ``<data_dir>/msc/msc_dialogue/session_3/valid.txt`` (``data_dir`` may
    also be the msc folder or the file itself)."""
    path = Path(data_dir)
    for cand in (
        path,
        path / "msc_dialogue/session_3/valid.txt",
        path / "msc/msc_dialogue/session_3/valid.txt",
    ):
        if cand.is_file():
            path = cand
            break
    else:
        raise FormatError(
            "no MSC msc_dialogue/session_3/valid.txt here",
            path=data_dir,
            hint="pass the shared data folder (the one with msc/), e.g. ../shared/data",
        )
    n = 0
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if limit is not None and n >= limit:
                return
            try:
                d = json.loads(line)
            except json.JSONDecodeError as exc:
                raise FormatError(f"not JSON ({exc.msg})", path=path, line=line_no) from None
            sessions = []
            for prev in d.get("previous_dialogs") or []:
                sessions.append(
                    [
                        (_role(i, t.get("id")), t["text"])
                        for i, t in enumerate(prev.get("dialog", []))
                    ]
                )
            if not sessions:
                continue
            nxt = [(_role(i, t.get("id")), t["text"]) for i, t in enumerate(d.get("dialog", []))]
            meta = d.get("metadata") or {}
            yield Episode(
                id=str(meta.get("initial_data_id", line_no)),
                sessions=sessions,
                gold=_gold(d.get("personas")),
                next_turns=nxt,
            )
            n += 1


def _writer(nli: Any, embedder: Any, **options: Any) -> Any:
    from consona.memory import MemoryStore, MemoryWriter

    return MemoryWriter(MemoryStore("sqlite://"), nli=nli, embedder=embedder, **options)


def feed(
    writer: Any,
    episode: Episode,
    extractor: Any,
    *,
    user: str = "user",
    character: str = "bot",
    first_person: bool = True,
) -> dict[str, Any]:
    """Write the episode's earlier sessions into memory; per-turn seconds beyond extraction
    (``first_person``: as :func:`~consona.memory.own_facts`)."""
    from consona.memory import own_facts

    write_s, write_cpu_s, extract_s, n_facts = [], [], [], []
    for s_i, session in enumerate(episode.sessions):
        turns = [Turn(speaker=role, text=text) for role, text in session]
        t0 = time.perf_counter()
        contexts = [turns[max(0, i - 1) : i] for i in range(len(turns))]
        facts = extractor.extract_batch(turns, contexts=contexts)
        extract_s.append((time.perf_counter() - t0) / max(1, len(turns)))
        for t_i, (turn, fs) in enumerate(zip(turns, facts, strict=True)):
            own = own_facts(turn, fs, first_person=first_person, context=contexts[t_i])
            t1, c1 = time.perf_counter(), time.process_time()
            if own:
                writer.apply(
                    user, character, turn.speaker, own, session=f"{episode.id}/{s_i + 1}", turn=t_i
                )
            write_s.append(time.perf_counter() - t1)
            write_cpu_s.append(time.process_time() - c1)
            n_facts.append(len(own))
    return {
        "write_s": write_s,
        "write_cpu_s": write_cpu_s,
        "facts_per_turn": n_facts,
        "extract_s_per_turn": extract_s,
    }


def _entails(
    nli: Any, premises: list[str], golds: list[str], *, embedder: Any = None, k: int = 8
) -> list[list[str]]:
    """Per gold sentence, the premises that entail it (judge label; the top-``k`` premises
    by embedding similarity are judged)."""
    from consona.nli.consistency import check_many

    if not premises or not golds:
        return [[] for _ in golds]
    results = check_many(
        premises,
        golds,
        nli=nli,
        prefilter=None if len(premises) <= k else k,
        embedder=embedder,
    )
    return [r.entailed for r in results]


def _copies(nli: Any, golds: list[str], linked: list[list[str]]) -> list[list[str]]:
    """Per gold sentence, its linked facts (those that entail it) that it entails back: the
    same content stored, not a related fact."""
    from consona.nli.consistency import check_many

    out: list[list[str]] = []
    for gold, facts in zip(golds, linked, strict=True):
        if not facts:
            out.append([])
            continue
        back = check_many([gold], facts, nli=nli, prefilter=None)
        out.append([f for f, r in zip(facts, back, strict=True) if r.entailed])
    return out


def _redundant(nli: Any, facts: list[str], *, embedder: Any = None, k: int = 8) -> list[str]:
    """The facts that entail another fact of ``facts`` and are entailed by it (two copies of
    one fact, the same text twice included; the top-``k`` facts by embedding similarity are
    judged)."""
    if len(facts) < 2:
        return []
    distinct = sorted(set(facts))
    by = _entails(nli, distinct, distinct, embedder=embedder, k=k + 1)
    entails = {(p, h) for h, ps in zip(distinct, by, strict=True) for p in ps if p != h}
    copied = {a for a, b in entails if (b, a) in entails}
    return [f for f in facts if f in copied or facts.count(f) > 1]


def _anchored(gold: str, premises: list[str]) -> list[str]:
    """The premises that share a content word with ``gold`` (a lexical anchor: the judge's
    entailment is lenient, e.g. "I read." ⊨ "I've read 20 books this year.")."""
    words = content_words(gold, stop=STOP_WORDS)
    return [p for p in premises if words & content_words(p, stop=STOP_WORDS)]


def evaluate_episode(
    episode: Episode,
    *,
    nli: Any,
    embedder: Any,
    extractor: Any,
    keep: bool = False,
    first_person: bool = True,
    **writer_options: Any,
) -> dict[str, Any]:
    """Feed one episode and score recall and duplicates per role (``keep``: the writer,
    with its store, is returned under ``"writer"``; ``first_person``: as
    :func:`~consona.memory.own_facts`)."""
    writer = _writer(nli, embedder, **writer_options)
    fed = feed(writer, episode, extractor, first_person=first_person)
    out: dict[str, Any] = {
        "id": episode.id,
        "recall": {},
        "recall_anchored": {},
        "duplicates": {},
        "linked": {},
        "linked_anchored": {},
        "redundant": {},
        "gold": {},
        "active": {},
        "recalled_by": {},
        "copies": {},
        "redundant_facts": {},
    }
    for role in ("user", "bot"):
        active = [f.text for f in writer.store.active("user", "bot", role)]
        golds = episode.gold.get(role, [])
        by = _entails(nli, active, golds, embedder=embedder)
        hit = [len(b) for b in by if b]
        anchored = [_anchored(g, b) for g, b in zip(golds, by, strict=True)]
        copies = _copies(nli, golds, by)
        out["gold"][role] = len(golds)
        out["active"][role] = len(active)
        out["recall"][role] = len(hit) / len(golds) if golds else float("nan")
        out["recall_anchored"][role] = (
            sum(bool(a) for a in anchored) / len(golds) if golds else float("nan")
        )
        copied = [len(c) for c in copies if c]
        out["duplicates"][role] = float(np.mean(copied)) if copied else float("nan")
        out["linked"][role] = float(np.mean(hit)) if hit else float("nan")
        anchored_hit = [len(a) for a in anchored if a]
        out["linked_anchored"][role] = (
            float(np.mean(anchored_hit)) if anchored_hit else float("nan")
        )
        redundant = _redundant(nli, active, embedder=embedder)
        out["redundant"][role] = len(redundant) / len(active) if active else float("nan")
        out["recalled_by"][role] = dict(zip(golds, by, strict=True))
        out["copies"][role] = {g: c for g, c in zip(golds, copies, strict=True) if c}
        out["redundant_facts"][role] = redundant
    out["write_s"] = fed["write_s"]
    out["write_cpu_s"] = fed["write_cpu_s"]
    out["facts_per_turn"] = fed["facts_per_turn"]
    out["extract_s_per_turn"] = fed["extract_s_per_turn"]
    out["facts"] = {
        role: [f.text for f in writer.store.active("user", "bot", role)] for role in ("user", "bot")
    }
    if keep:
        out["writer"] = writer
    return out


def _apply_ids(
    writer: Any, texts: list[str], extractor: Any, *, new_only: bool = False
) -> list[int]:
    """Write ``texts`` as the user's (through ``extractor`` and :func:`own_facts` when
    given, as a user turn would be); the ids of the facts they became (``new_only``: the
    facts they added, not those they were merged into)."""
    from consona.memory import own_facts

    ids: list[int] = []
    for text in texts:
        if extractor is not None:
            turn = Turn(speaker="user", text=text)
            facts: list[Any] = own_facts(turn, extractor.extract(turn, context=[]))
        else:
            facts = [text]
        if facts:
            diff = writer.apply("u", "c", "user", facts)
            ids.extend(
                c.fact_id
                for c in diff.changes
                if c.fact_id is not None and (c.action != "merge" or not new_only)
            )
    return ids


def injected_updates(
    *, nli: Any, embedder: Any, extractor: Any = None, **writer_options: Any
) -> dict[str, Any]:
    """Each of :data:`UPDATES`, :data:`FRESH_UPDATES`, :data:`HELDOUT_UPDATES` and
    :data:`HELDOUT2_UPDATES`, :data:`HELDOUT3_UPDATES` and :data:`HELDOUT4_UPDATES` in a
    fresh memory: the old fact,
    unrelated ones, then the update. Superseded: every fact the old sentence became is
    retired in favour of a fact the update added, and those facts are active; no
    unrelated fact may be retired. With ``extractor`` every sentence goes through it (as a
    user turn would: its facts and triples); without, each sentence is one fact."""
    cases = [("original", o, others, n) for o, others, n in UPDATES]
    for name, sets in UPDATE_SETS.items():
        cases += [(f"{name}:{k}", o, others, n) for k, o, others, n in sets]
    rows: list[dict[str, Any]] = []
    for slot, old, others, new in cases:
        w = _writer(nli, embedder, **writer_options)
        old_ids = _apply_ids(w, [old], extractor)
        other_ids = _apply_ids(w, others, extractor)
        new_ids = _apply_ids(w, [new], extractor, new_only=True)
        facts = {f.id: f for f in w.store.facts("u", "c", "user", include_retired=True)}
        olds = [facts[i] for i in dict.fromkeys(old_ids)]
        news = [facts[i] for i in dict.fromkeys(new_ids)]
        retired_unrelated = [facts[i].text for i in other_ids if not facts[i].active]
        rows.append(
            {
                "set": slot.split(":")[0],
                "slot": slot.split(":")[-1],
                "old": old,
                "new": new,
                "old_facts": [f.text for f in olds],
                "new_facts": [f.text for f in news],
                # a fact of the update refined by another of its facts ("I have a
                # girlfriend." → "I married my girlfriend in June.") leaves it active
                "new_active": any(f.active for f in news)
                and all(f.active or f.superseded_by in new_ids for f in news),
                "old_superseded": bool(olds)
                and all(not f.active and f.superseded_by in new_ids for f in olds),
                "unrelated_retired": retired_unrelated,
            }
        )
    out: dict[str, Any] = {"n": len(rows), "extractor": extractor is not None}
    for name in ("", "original_", *(f"{k}_" for k in UPDATE_SETS)):
        part = [r for r in rows if not name or r["set"] == name[:-1]]
        if part:
            out[f"{name}superseded_rate"] = sum(
                r["old_superseded"] and r["new_active"] for r in part
            ) / len(part)
    out["unrelated_retired"] = sum(len(r["unrelated_retired"]) for r in rows)
    out["missed"] = [r["new"] for r in rows if not (r["old_superseded"] and r["new_active"])]
    out["rows"] = rows
    return out


def add_scaling(
    *,
    nli: Any,
    embedder: Any,
    sizes: Sequence[int] = (100, 10_000),
    adds: int = 20,
    seed: int = 0,
    store_target: Callable[[int], str] | None = None,
) -> dict[str, Any]:
    """Median seconds of one ``add`` (through the NLI gate) when ``n`` facts are stored.
    The stored facts are distinct synthetic sentences with random unit embeddings (the
    search and the SQL do the same work as with real ones); the added facts are real."""
    from consona.memory import MemoryStore, MemoryWriter
    from consona.memory.index import to_bytes

    rng = np.random.default_rng(seed)
    probe = [f"I have visited city number {i} twice." for i in range(adds)]
    dim = int(np.asarray(embedder.encode(["x"])).shape[1])
    out: dict[str, Any] = {}
    for n in sizes:
        store = MemoryStore(store_target(n) if store_target else "sqlite://")
        vecs = rng.normal(size=(n, dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        with store.transaction("u", "c") as tx:
            for i in range(n):
                tx.add(
                    "user",
                    f"Filler fact number {i} about topic {i % 97}.",
                    embedding=to_bytes(vecs[i]),
                )
        w = MemoryWriter(store, nli=nli, embedder=embedder)
        w.apply("u", "c", "user", ["I like warm tea."])  # warm the caches (first read of n vectors)
        times, cpu = [], []
        for text in probe:
            t0, c0 = time.perf_counter(), time.process_time()
            w.apply("u", "c", "user", [text])
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        out[str(n)] = {
            "median_s": statistics.median(times),
            "p90_s": float(np.percentile(times, 90)),
            "median_cpu_s": statistics.median(cpu),
        }
    if len(sizes) >= 2:
        lo, hi = out[str(sizes[0])], out[str(sizes[-1])]
        out["ratio"] = hi["median_s"] / lo["median_s"] if lo["median_s"] else float("nan")
        out["ratio_cpu"] = (
            hi["median_cpu_s"] / lo["median_cpu_s"] if lo["median_cpu_s"] else float("nan")
        )
    return out


def _mean(xs: Sequence[float]) -> float:
    xs = [x for x in xs if x == x]
    return float(np.mean(xs)) if xs else float("nan")


def run_memory_eval(
    data_dir: str | Path,
    *,
    nli: Any,
    embedder: Any,
    extractor: Any,
    episodes: int = 20,
    scaling: bool = True,
    on_episode: Callable[[int, dict[str, Any]], None] | None = None,
    writer_options: dict[str, Any] | None = None,
    first_person: bool = True,
) -> dict[str, Any]:
    """Recall, duplicates, injected updates, latency (see the module docstring);
    ``writer_options`` tune :class:`~consona.memory.MemoryWriter` (e.g. ``max_novel``),
    ``first_person`` :func:`~consona.memory.own_facts`. The injected updates run twice:
    through ``extractor`` (``updates``: as a user's turn is written, with the extractor's
    triples) and as plain text facts (``updates_text``: the judge and its rule triples)."""
    writer_options = writer_options or {}
    rows = []
    for i, ep in enumerate(read_msc_episodes(data_dir, limit=episodes)):
        r = evaluate_episode(
            ep,
            nli=nli,
            embedder=embedder,
            extractor=extractor,
            first_person=first_person,
            **writer_options,
        )
        rows.append(r)
        if on_episode is not None:
            on_episode(i, r)
    writes = [s for r in rows for s in r["write_s"]]
    cpu = [s for r in rows for s in r["write_cpu_s"]]
    with_facts = [
        s for r in rows for s, n in zip(r["write_s"], r["facts_per_turn"], strict=True) if n
    ]
    result: dict[str, Any] = {
        "episodes": len(rows),
        "recall": {role: _mean([r["recall"][role] for r in rows]) for role in ("user", "bot")},
        "recall_pooled": _pooled(rows),
        "recall_anchored": {
            role: _mean([r["recall_anchored"][role] for r in rows]) for role in ("user", "bot")
        },
        "duplicates": {
            role: _mean([r["duplicates"][role] for r in rows]) for role in ("user", "bot")
        },
        "linked": {role: _mean([r["linked"][role] for r in rows]) for role in ("user", "bot")},
        "linked_anchored": {
            role: _mean([r["linked_anchored"][role] for r in rows]) for role in ("user", "bot")
        },
        "redundant": {
            role: _mean([r["redundant"][role] for r in rows]) for role in ("user", "bot")
        },
        "gold_facts": {role: sum(r["gold"][role] for r in rows) for role in ("user", "bot")},
        "active_facts": {role: sum(r["active"][role] for r in rows) for role in ("user", "bot")},
        "write_path_ms": {
            "median": 1000 * statistics.median(writes) if writes else float("nan"),
            "p90": 1000 * float(np.percentile(writes, 90)) if writes else float("nan"),
            "mean": 1000 * float(np.mean(writes)) if writes else float("nan"),
            "turns": len(writes),
            "cpu_median": 1000 * statistics.median(cpu) if cpu else float("nan"),
            "cpu_p90": 1000 * float(np.percentile(cpu, 90)) if cpu else float("nan"),
            "median_turns_with_facts": 1000 * statistics.median(with_facts)
            if with_facts
            else float("nan"),
            "turns_with_facts": len(with_facts),
        },
        "extract_ms_per_turn": 1000 * _mean([x for r in rows for x in r["extract_s_per_turn"]]),
        "writer_options": writer_options,
        "first_person": first_person,
        "updates": injected_updates(
            nli=nli, embedder=embedder, extractor=extractor, **writer_options
        ),
        "updates_text": injected_updates(nli=nli, embedder=embedder, **writer_options),
        "rows": [
            {k: v for k, v in r.items() if k not in ("write_s", "write_cpu_s", "facts_per_turn")}
            for r in rows
        ],
    }
    if scaling:
        result["add_scaling"] = add_scaling(nli=nli, embedder=embedder)
    return result


def _pooled(rows: list[dict[str, Any]]) -> dict[str, float]:
    out = {}
    for role in ("user", "bot"):
        gold = sum(r["gold"][role] for r in rows)
        hit = sum(round(r["recall"][role] * r["gold"][role]) for r in rows if r["gold"][role])
        out[role] = hit / gold if gold else float("nan")
    return out


class _FixedMemory:
    """A memory that recalls a fixed set and writes nothing (probes must not learn)."""

    def __init__(self, recalled: Any) -> None:
        self.recalled = recalled

    def recall(self, query: str) -> Any:
        return self.recalled

    def observe(self, *a: Any, **k: Any) -> Any:
        from consona.memory import MemoryDiff

        return MemoryDiff(dry_run=True)


def probe_answers(
    data_dir: str | Path,
    *,
    backend: Any,
    nli: Any,
    embedder: Any,
    extractor: Any,
    episodes: int = 6,
    budget_tokens: int = 80,
    context_factor: int = 10,
    max_tokens: int = 48,
    seed: int = 7,
    candidates: int = 1,
    on_episode: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """The first user turn of session 3 answered by the character (Speaker 2, no persona
    card) three ways — with memory (recalled facts, ``budget_tokens``), without memory, and
    with the earlier sessions as history truncated to ``context_factor`` × the memory's
    tokens — each reply judged against the character's gold facts (contradiction rate,
    share of replies entailing one, extra prompt tokens over the bare prompt).

    ``candidates`` > 1: the agent as it chats — that many candidates re-ranked by the
    guard (``nli``) and its character terms, in all three conditions; with memory the
    guard also checks the recalled facts of both speakers. The same ``nli`` then scores
    the replies, so its rates are no independent grade of the guarded agent: read them,
    or pass another judge's scores."""
    from consona.agent import PersonaAgent
    from consona.memory import recall
    from consona.nli.consistency import check_consistency
    from consona.types import Persona

    persona = Persona(name="Sam")
    rows: list[dict[str, Any]] = []

    def agent(memory: Any = None, max_context: int | None = None) -> Any:
        return PersonaAgent(
            persona,
            backend=backend,
            nli=nli if candidates > 1 else None,
            candidates=candidates,
            max_tokens=max_tokens,
            temperature=0.7,
            seed=seed,
            coherence="lexical",
            memory=memory,
            max_context=max_context,
        )

    for ep in read_msc_episodes(data_dir, limit=episodes):
        first = next((t for r, t in ep.next_turns if r == "user"), None)
        gold = ep.gold.get("bot", [])
        if not first or not gold:
            continue
        fed = evaluate_episode(ep, nli=nli, embedder=embedder, extractor=extractor, keep=True)
        w = fed["writer"]
        rec = recall(w.store, "user", "bot", first, indexes=w.indexes, budget_tokens=budget_tokens)
        history = [
            Turn(speaker="user" if r == "user" else "Sam", text=t)
            for s in ep.sessions
            for r, t in s
        ]
        base_tokens = agent().prompt([], user=first).prompt_tokens
        memory_tokens = agent(_FixedMemory(rec)).prompt([], user=first).prompt_tokens - base_tokens
        full_ctx = base_tokens + context_factor * max(memory_tokens, 1) + max_tokens
        row: dict[str, Any] = {"id": ep.id, "probe": first, "memory_facts": rec.to_dict()}
        for cond, a, hist in (
            ("memory", agent(_FixedMemory(rec)), []),
            ("no_memory", agent(), []),
            ("full_context", agent(max_context=full_ctx), history),
        ):
            build = a.prompt(hist, user=first)
            t0 = time.perf_counter()
            reply = a.reply(hist, user=first)
            verdict = check_consistency(gold, reply.text, nli=nli, split_sentences=True)
            row[cond] = {
                "reply": reply.text,
                "extra_prompt_tokens": build.prompt_tokens - base_tokens,
                "dropped_turns": build.dropped_turns,
                "contradiction": verdict.contradiction,
                "contradicted": verdict.contradicted,
                "entailed": verdict.entailed,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        rows.append(row)
        if on_episode is not None:
            on_episode(len(rows) - 1, row)
    out: dict[str, Any] = {
        "n": len(rows),
        "candidates": candidates,
        "budget_tokens": budget_tokens,
        "context_factor": context_factor,
        "rows": rows,
    }
    for cond in ("memory", "no_memory", "full_context"):
        if rows:
            k = sum(bool(r[cond]["contradiction"]) for r in rows)
            out[cond] = {
                "contradiction_rate": k / len(rows),
                "contradiction_ci95": wilson_interval(k, len(rows)),
                "entailment_rate": sum(bool(r[cond]["entailed"]) for r in rows) / len(rows),
                "mean_extra_prompt_tokens": sum(r[cond]["extra_prompt_tokens"] for r in rows)
                / len(rows),
            }
    if rows:
        # the full context is cut to context_factor × the memory's tokens; where the earlier
        # sessions were shorter than that, it is all of them, and the ratio is below the factor
        cut = [r for r in rows if r["full_context"].get("dropped_turns")]
        out["full_context_truncated"] = len(cut)
        mem = sum(r["memory"]["extra_prompt_tokens"] for r in rows)
        out["full_context_tokens_per_memory_token"] = (
            round(sum(r["full_context"]["extra_prompt_tokens"] for r in rows) / mem, 2)
            if mem > 0
            else None
        )
        # paired: the same probe with and without memory / with the full context
        for other in ("no_memory", "full_context"):
            out[f"memory_vs_{other}"] = {
                "only_memory_contradicts": sum(
                    bool(r["memory"]["contradiction"]) and not r[other]["contradiction"]
                    for r in rows
                ),
                f"only_{other}_contradicts": sum(
                    bool(r[other]["contradiction"]) and not r["memory"]["contradiction"]
                    for r in rows
                ),
            }
    return out


def wilson_interval(k: int, n: int, *, z: float = 1.96) -> list[float]:
    """The Wilson score interval of a proportion ``k / n`` (95% by default).

    >>> [round(x, 3) for x in wilson_interval(3, 10)]
    [0.108, 0.603]
    >>> wilson_interval(0, 0)
    [0.0, 1.0]
    """
    if n <= 0:
        return [0.0, 1.0]
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denom
    return [max(0.0, centre - half), min(1.0, centre + half)]
