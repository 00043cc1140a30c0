"""The write path (NLI-gated merge / supersede / add), the read path and the agent hooks,
with fakes (FakeNLI, ScriptedNLI, FakeEmbedder, FakeExtractor, FakeBackend)."""

from __future__ import annotations

import pytest

from consona.agent import PersonaAgent
from consona.memory import MemoryStore, MemoryWriter, PersonaMemory, own_facts
from consona.memory.store import MemoryStoreError
from consona.testing import FakeBackend, FakeEmbedder, FakeExtractor, FakeNLI, ScriptedNLI
from consona.types import Fact, Persona, Turn


def writer(nli=None, **kw):
    return MemoryWriter(
        MemoryStore("sqlite://"), nli=nli or FakeNLI(), embedder=FakeEmbedder(), **kw
    )


def active(w, role="user"):
    return [f.text for f in w.store.active("ana", "Mira", role)]


def test_entailed_fact_merges_and_counts():
    w = writer()
    w.apply("ana", "Mira", "user", ["I have two dogs."])
    diff = w.apply("ana", "Mira", "user", ["I have dogs."])
    assert [c.action for c in diff.changes] == ["merge"]
    assert active(w) == ["I have two dogs."]
    assert w.store.active("ana", "Mira", "user")[0].times_seen == 2


def test_contradiction_about_same_subject_supersedes_only_that_fact():
    w = writer()
    w.apply("ana", "Mira", "user", ["I have a dog.", "I like jazz.", "I am a nurse."])
    diff = w.apply("ana", "Mira", "user", ["I do not have a dog."])
    (change,) = diff.changes
    assert change.action == "supersede" and [t for _, t in change.replaced] == ["I have a dog."]
    assert active(w) == ["I like jazz.", "I am a nurse.", "I do not have a dog."]
    old = w.store.facts("ana", "Mira", "user", include_retired=True)[0]
    assert (old.retired, old.superseded_by) == ("superseded", change.fact_id)
    w.store.restore(old.id)  # undo
    assert active(w) == ["I have a dog.", "I like jazz.", "I am a nurse."]


def test_contradiction_about_another_subject_retires_nothing():
    # the judge (wrongly) says contradiction, but the facts share no subject: add, not supersede
    nli = ScriptedNLI({("I live in Lisbon.", "I adore opera.")})
    w = writer(nli=nli, same_subject=0.9)
    w.apply("ana", "Mira", "user", ["I live in Lisbon."])
    diff = w.apply("ana", "Mira", "user", ["I adore opera."])
    assert [c.action for c in diff.changes] == ["add"]
    assert active(w) == ["I live in Lisbon.", "I adore opera."]


def test_same_relation_counts_as_same_subject():
    nli = ScriptedNLI({("I live in Lisbon.", "I moved to Oslo.")})
    w = writer(nli=nli, same_subject=0.99)
    w.apply(
        "ana", "Mira", "user", [Fact(text="I live in Lisbon.", relation="live_in", object="lisbon")]
    )
    diff = w.apply(
        "ana", "Mira", "user", [Fact(text="I moved to Oslo.", relation="live_in", object="oslo")]
    )
    assert diff.changes[0].action == "supersede"
    assert active(w) == ["I moved to Oslo."]
    assert w.store.active("ana", "Mira", "user")[0].triple == (None, "live_in", "oslo")


def test_roles_are_separate():
    w = writer()
    w.apply("ana", "Mira", "bot", ["I have a dog."])
    diff = w.apply("ana", "Mira", "user", ["I do not have a dog."])
    assert diff.changes[0].action == "add"  # the user's fact never retires the bot's
    assert active(w, "bot") == ["I have a dog."]


def test_dry_run_shows_the_diff_and_writes_nothing():
    w = writer()
    w.apply("ana", "Mira", "user", ["I have a dog."])
    before = w.store.count()
    diff = w.apply(
        "ana",
        "Mira",
        "user",
        ["I do not have a dog.", "I like jazz.", "I like jazz."],
        dry_run=True,
    )
    assert [c.action for c in diff.changes] == ["supersede", "add", "merge"]
    assert diff.dry_run and w.store.count() == before
    assert active(w) == ["I have a dog."]
    text = diff.render()
    assert "~ user: I do not have a dog.  (supersedes #1: I have a dog.)" in text
    assert "+ user: I like jazz." in text


def test_too_long_fact_is_refused_before_anything_is_written():
    w = writer()
    with pytest.raises(MemoryStoreError, match="limit is 2,000"):
        w.apply("ana", "Mira", "user", ["I like tea.", "I " + "x" * 2100])
    assert w.store.count() == 0


def test_own_facts_drop_questions_you_statements_and_hypotheticals():
    turn = Turn(
        speaker="user",
        text="You have a lovely dog. I am a pilot. If I had a cat I'd be happy. Do you fly?",
    )
    facts = [
        Fact(text=t) for t in ("I have a lovely dog.", "I am a pilot.", "I had a cat.", "I fly.")
    ]
    assert [f.text for f in own_facts(turn, facts)] == ["I am a pilot."]
    assert own_facts(turn, [Fact(text="You have a lovely dog.")]) == []


def test_own_facts_drop_remarks_about_the_other_speaker():
    turn = Turn(
        speaker="a",
        text="I hope your cow gets better. Man your lucky I am a nurse and the pay sucks.",
    )
    facts = [
        Fact(text="I hope your cow gets better."),
        Fact(text="I am sure it will work out well for you given your experience."),
        Fact(text="Man your lucky I am a nurse and the pay sucks.", relation="has_profession",
             object="nurse"),
    ]  # fmt: skip
    kept = own_facts(turn, facts)
    assert [f.text for f in kept] == ["I am a nurse and the pay sucks."]
    assert kept[0].object == "nurse"  # the triple stays with the statement
    # a remark after the statement is cut off, not the statement dropped
    later = Turn(speaker="a", text="I met my wife when I was 20, like you.")
    got = own_facts(later, [Fact(text="I met my wife when I was 20, like you.")])
    assert [f.text for f in got] == ["I met my wife when I was 20."]


def test_own_facts_drop_facts_that_name_nothing():
    turn = Turn(speaker="a", text="I can do both. I haven't. I love it. I like 20 dogs.")
    facts = [
        Fact(text=t) for t in ("I can do both.", "I haven't.", "I love it.", "I like 20 dogs.")
    ]
    assert [f.text for f in own_facts(turn, facts)] == ["I like 20 dogs."]
    # reactions, and a question without its question mark (read on MSC)
    said = "I agree. I get that. What types of flavors does she like, maybe I can recommend"
    turn = Turn(speaker="a", text=said + " something. I agree with vegans.")
    facts = [
        Fact(text=t)
        for t in (
            "I agree.",
            "I get that.",
            "What types of flavors does she like, maybe I can recommend something.",
            "I agree with vegans.",
        )
    ]
    assert [f.text for f in own_facts(turn, facts)] == ["I agree with vegans."]
    # a number names something: "I get up at 5." is a fact
    early = Turn(speaker="a", text="I get up at 5.")
    assert [f.text for f in own_facts(early, [Fact(text="I get up at 5.")])] == ["I get up at 5."]


def test_own_facts_resolve_a_yes_or_no_answer():
    asked = Turn(speaker="b", text="Cool! Have you ever been to Disneyland?")
    turn = Turn(speaker="a", text="No, we just bought a house. Do you like pets? I don't.")
    got = [f.text for f in own_facts(turn, [Fact(text="We bought a house.")], context=[asked])]
    assert got == [
        "We bought a house.",
        "I have never been to Disneyland.",
        "I don't like pets.",
    ]
    assert all(f.speaker == "a" for f in own_facts(turn, [], context=[asked]))
    # the speaker's own earlier turn is not a question put to them; no context, no answer
    mine = Turn(speaker="a", text="Have you ever been to Disneyland?")
    assert own_facts(Turn(speaker="a", text="No."), [], context=[mine]) == []
    assert own_facts(Turn(speaker="a", text="No."), []) == []
    # after the speaker's own question, only a first-person answer is theirs to it
    hungry = Turn(speaker="b", text="hungry?")
    got = own_facts(Turn(speaker="a", text="do you have a garden? yeah i could eat"), [],
                    context=[hungry])  # fmt: skip
    assert got == []
    papaya = Turn(speaker="a", text="what is your favorite food? mine is papaya.")
    assert [f.text for f in own_facts(papaya, [])] == ["My favorite food is papaya."]
    # a question that is not the other speaker's last clause is not the one answered
    moved_on = Turn(speaker="b", text="Do you have pets? I have two dogs.")
    assert own_facts(Turn(speaker="a", text="Yes."), [], context=[moved_on]) == []


def test_contradicting_facts_that_share_only_a_light_verb_do_not_supersede():
    w = writer(same_subject=0.99)  # the fake embedder finds every pair of these alike
    w.apply("ana", "Mira", "user", ["I have heard of the Stephen King adaptation."])
    diff = w.apply("ana", "Mira", "user", ["I have never heard of the Libby app."])
    assert [c.action for c in diff.changes] == ["add"]
    # a shared object still makes them one subject
    diff = w.apply("ana", "Mira", "user", ["I have never heard of the Stephen King adaptation."])
    assert [c.action for c in diff.changes] == ["supersede"]


def memory(**kw):
    return PersonaMemory(
        MemoryStore(kw.pop("store", "sqlite://")),
        user="ana",
        character="Mira",
        nli=kw.pop("nli", FakeNLI()),
        embedder=FakeEmbedder(),
        extractor=FakeExtractor(),
        **kw,
    )


def test_observe_stores_both_speakers_and_never_the_others_statements():
    mem = memory()
    diff = mem.observe(
        "i am a nurse. you are a great baker! do you like cats?", "i have a cat named pip."
    )
    assert [(c.role, c.text) for c in diff.changes] == [
        ("user", "I am a nurse."),
        ("bot", "I have a cat named pip."),
    ]
    assert [f.text for f in mem.facts("user")] == ["I am a nurse."]
    assert [f.text for f in mem.facts("bot")] == ["I have a cat named pip."]
    f = mem.facts("user")[0]
    assert (f.session, f.turn) == (mem.session, 0)


def test_observe_reads_the_users_answer_to_the_characters_last_question():
    mem = memory()
    mem.observe("hi there", "i bake bread. do you have any pets?")
    diff = mem.observe("no, my landlord says no.", "oh that is a pity")
    assert ("user", "I don't have any pets.") in [(c.role, c.text) for c in diff.changes]
    # a dry run does not move the conversation on: the next turn still answers the question
    mem.observe("hello", "do you like jazz?")
    mem.observe("whatever", "ok", dry_run=True)
    diff = mem.observe("yes!", "great")
    assert ("user", "I like jazz.") in [(c.role, c.text) for c in diff.changes]


def test_recall_prefers_relevant_facts_within_budget():
    mem = memory(budget_tokens=14)
    mem.remember("user", ["I have a dog named Rex.", "I work at a bank.", "I love sushi."])
    mem.remember("bot", ["I bake bread every morning."])
    r = mem.recall("what bread do you bake")
    assert [f.text for f in r.bot] == ["I bake bread every morning."]
    assert r.tokens <= 14
    assert "I bake bread every morning." in r.block()


def test_agent_without_memory_is_unchanged_and_with_memory_uses_it(tmp_path):
    persona = Persona(name="Mira", facts=["I am a baker."])
    plain = PersonaAgent(
        persona, backend=FakeBackend(["hi"]), nli=FakeNLI(), candidates=1, coherence="lexical"
    )
    r = plain.reply([], user="hello")
    assert r.memory is None and "memory" not in r.to_dict()
    assert "Memory of earlier" not in plain.prompt([], user="hello").messages[0]["content"]

    db = tmp_path / "m.db"
    mem = memory(store=str(db))
    mem.remember("user", ["I have a dog named Rex."])
    mem.remember("bot", ["I have a cat named Pip."])
    backend = FakeBackend(["I do not have a cat.", "Pip the cat says hi!"])
    agent = PersonaAgent(
        persona, backend=backend, nli=FakeNLI(), candidates=2, coherence="lexical", memory=mem
    )
    system = agent.prompt([], user="how is your cat Pip?").messages[0]["content"]
    assert "I have a cat named Pip." in system
    r = agent.reply([], user="how is your cat Pip? i moved to oslo")
    assert r.text == "Pip the cat says hi!"  # the remembered bot fact guarded the reply
    assert "I have a cat named Pip." in r.caught
    assert r.memory["written"]["changes"][0]["text"] == "I moved to oslo."
    # a new process (new memory object on the same file) remembers it
    mem2 = memory(store=str(db))
    assert "I moved to oslo." in [f.text for f in mem2.facts("user")]


def test_rerank_rejects_a_reply_contradicting_the_users_facts():
    mem = memory()
    mem.remember("user", ["I have a dog."])
    backend = FakeBackend(["You do not have a dog, right?", "Say hi to your dog for me!"])
    agent = PersonaAgent(
        Persona(name="Mira", facts=["I am a baker."]),
        backend=backend,
        nli=FakeNLI(),
        candidates=2,
        coherence="lexical",
        memory=mem,
    )
    r = agent.reply([], user="my dog is sick")
    assert r.text == "Say hi to your dog for me!"
    assert "the user: I have a dog." in r.candidates[0].contradicted


def test_forget_only_own_facts():
    mem = memory()
    f = mem.remember("user", ["I am a nurse."]).changes[0]
    mem.forget(f.fact_id)
    assert mem.facts() == []
    mem.restore(f.fact_id)
    bob = PersonaMemory(
        mem.store,
        user="bob",
        character="Mira",
        nli=FakeNLI(),
        embedder=FakeEmbedder(),
        extractor=FakeExtractor(),
    )
    with pytest.raises(MemoryStoreError, match="not one of 'bob'"):
        bob.forget(f.fact_id)


def test_write_path_on_both_backends(store_url):
    w = MemoryWriter(MemoryStore(store_url), nli=FakeNLI(), embedder=FakeEmbedder())
    diff = w.apply("ana", "Mira", "user", ["I have a dog.", "I have a dog.", "I like jazz."])
    assert [c.action for c in diff.changes] == ["add", "merge", "add"]
    diff = w.apply("ana", "Mira", "user", ["I do not have a dog."])
    assert diff.changes[0].action == "supersede"
    # a second process (fresh writer, empty caches) sees the same memory
    w2 = MemoryWriter(MemoryStore(store_url), nli=FakeNLI(), embedder=FakeEmbedder())
    assert w2.apply("ana", "Mira", "user", ["I like jazz."]).changes[0].action == "merge"
    assert active(w2) == ["I like jazz.", "I do not have a dog."]


def test_change_statements_are_judged_as_the_state_they_bring_about():
    from consona.memory.update import state_form

    nli = ScriptedNLI({("I live in Lisbon.", "I live in Oslo.")})
    w = writer(nli=nli)
    w.apply("ana", "Mira", "user", ["I live in Lisbon.", "I have two dogs."])
    diff = w.apply("ana", "Mira", "user", ["I moved to Oslo."])
    assert diff.changes[0].action == "supersede"
    assert active(w) == ["I have two dogs.", "I moved to Oslo."]  # stored as said
    assert state_form("I work at a school now.") == "I work at a school."


@pytest.mark.parametrize(
    ("old", "change", "state"),
    [
        ("I ride a motorcycle.", "I sold my motorcycle.", "I do not have my motorcycle anymore."),
        ("I have a parakeet.", "I gave my parakeet to my neighbor.", "I do not have my parakeet anymore."),
        ("I have a girlfriend.", "My girlfriend and I split up.", "I do not have a girlfriend anymore."),
        ("I have a boyfriend.", "I broke up with my boyfriend.", "I do not have a boyfriend anymore."),
        ("I am studying law.", "I finished law school in May.", "I am not in law school anymore."),
        ("I live with my grandma.", "I got my own place in town.", "I live in my own place in town."),
        ("I am a cashier at the store.", "I got promoted to store manager.", "I work as store manager."),
        ("I am 33 years old.", "I just had my 34th birthday.", "I am 34 years old."),
        ("I go running daily.", "I stopped running after my knee surgery.", "I am not running anymore."),
    ],
)  # fmt: skip
def test_an_ending_is_judged_as_the_state_that_is_over(old, change, state):
    from consona.memory.update import is_change, state_form

    assert is_change(change) and state_form(change) == state
    nli = ScriptedNLI({(old, state)})
    w = writer(nli=nli)
    w.apply("ana", "Mira", "user", [old, "I like jazz."])
    diff = w.apply("ana", "Mira", "user", [change])
    assert diff.changes[0].action == "supersede", diff.render()
    assert active(w) == ["I like jazz.", change]  # stored as said
    assert (old, state) in nli.seen  # the judge read the state that is over


@pytest.mark.parametrize(
    "text",
    [
        "I ride a motorcycle.",
        "I gave my brother a ride to work.",  # a second object: nothing given away
        "I gave my dog a bath to cool him off.",
        "I left for college last fall.",
        "I finished the school year with straight A's.",
        "I love it because it is fun.",
        "My sister got married last week.",  # someone else's change
        "My son turned 5 today.",
        "I was moved to tears by the ending.",
    ],
)
def test_a_statement_that_changes_nothing_of_the_speaker_is_no_change(text):
    from consona.memory.update import is_change, state_form

    assert not is_change(text)
    # and its state is itself, bar the time words ("last week", "now")
    assert state_form(text).split()[:3] == text.split()[:3]


def test_a_change_keeps_the_rest_of_the_sentence_and_only_a_change_loses_its_reason():
    from consona.memory.update import is_change, state_form

    assert state_form("Oh, I sold my car two weeks ago.") == "Oh, I do not have my car anymore."
    assert is_change("I've been promoted to assistant manager.")
    assert state_form("I feel sick after eating dairy.") == "I feel sick after eating dairy."


def test_each_part_of_a_joined_change_is_judged():
    nli = ScriptedNLI({("I tend bar, bartending at a pub.", "I am not bartending anymore.")})
    w = writer(nli=nli)
    w.apply("ana", "Mira", "user", ["I tend bar, bartending at a pub.", "I have two sisters."])
    diff = w.apply("ana", "Mira", "user", ["I quit bartending and now I drive for Uber."])
    assert diff.changes[0].action == "supersede"
    assert ("I tend bar, bartending at a pub.", "I am not bartending anymore.") in nli.seen


def test_a_change_is_kept_as_said_not_in_the_extractors_pieces():
    turn = Turn(speaker="u", text="Oh well. My girlfriend and I split up. I am fine though.")
    pieces = [Fact(text=t) for t in ("I have a girlfriend.", "I split up.", "I am fine.")]
    assert [f.text for f in own_facts(turn, pieces)] == [
        "I am fine.",
        "My girlfriend and I split up.",
    ]
    # a wish or a hypothetical about a change is not one
    unreal = Turn(speaker="u", text="I wish I sold my car. If I sold my car I would walk.")
    assert own_facts(unreal, []) == []
    # a sentence over the fact limit is left to the extractor, and nothing breaks
    long = Turn(speaker="u", text="I sold my car " + "and then some more " * 200 + ".")
    assert own_facts(long, []) == []


def test_a_more_specific_fact_refines_the_one_that_entails_it():
    nli = FakeNLI(verdicts={("I read.", "I have read 20 books this year."): "entailment"})
    w = writer(nli=nli)
    w.apply("ana", "Mira", "bot", ["I read.", "I like tea."])
    w.apply("ana", "Mira", "bot", ["I read."])  # merge: times_seen 2
    diff = w.apply("ana", "Mira", "bot", ["I have read 20 books this year."])
    (change,) = diff.changes
    assert change.action == "refine" and change.replaced == [(1, "I read.")]
    assert "^ bot #3: I have read 20 books this year.  (refines #1: I read.)" in diff.render()
    assert active(w, "bot") == ["I like tea.", "I have read 20 books this year."]
    old, new = w.store.get(1), w.store.get(3)
    assert (old.retired, old.superseded_by, new.times_seen) == ("refined", 3, 3)
    w.store.restore(1)  # undoable like a supersede
    assert active(w, "bot") == ["I read.", "I like tea."]


def test_a_flagged_reply_is_not_remembered_as_the_characters_own():
    mem = memory()
    mem.remember("bot", ["I have a cat."])
    agent = PersonaAgent(
        Persona(name="Mira", facts=["I am a baker."]),
        backend=FakeBackend(["I do not have a cat."]),
        nli=FakeNLI(),
        candidates=1,
        repair_attempts=0,
        coherence="lexical",
        memory=mem,
    )
    r = agent.reply([], user="i am a pilot. do you have a cat?")
    assert r.flagged
    assert [f.text for f in mem.facts("bot")] == ["I have a cat."]  # not superseded
    assert [f.text for f in mem.facts("user")] == ["I am a pilot."]  # the user's side is kept


def test_a_lenient_entailment_that_adds_new_content_is_not_merged():
    said = ("In my spare time I volunteer.", "I have been volunteering at the shelter for 7 years.")
    w = writer(nli=FakeNLI(verdicts={said: "entailment"}))
    w.apply("ana", "Mira", "user", [said[0]])
    assert w.apply("ana", "Mira", "user", [said[1]]).changes[0].action == "add"
    assert active(w) == list(said)  # the 7 years are kept
    w2 = writer(nli=FakeNLI(verdicts={said: "entailment"}), max_novel=5)
    w2.apply("ana", "Mira", "user", [said[0]])
    assert w2.apply("ana", "Mira", "user", [said[1]]).changes[0].action == "merge"


def test_a_liking_is_not_merged_into_a_fact_that_only_shares_its_topic():
    said = ("I got done watching a horror movie.", "I love horror.")
    w = writer(nli=FakeNLI(verdicts={said: "entailment"}))
    w.apply("ana", "Mira", "user", [said[0]])
    assert w.apply("ana", "Mira", "user", [said[1]]).changes[0].action == "add"
    assert active(w) == list(said)
    # two likings of the same thing still merge
    again = ("I love horror.", "I love horror!")
    w2 = writer(nli=FakeNLI(verdicts={again: "entailment"}))
    w2.apply("ana", "Mira", "user", [again[0]])
    assert w2.apply("ana", "Mira", "user", [again[1]]).changes[0].action == "merge"


def test_imported_facts_without_embeddings_are_embedded_on_demand():
    import io

    from consona.memory.transfer import import_jsonl

    mem = memory()
    lines = [
        '{"role": "user", "text": "I have a dog named Rex."}',
        '{"role": "bot", "text": "I bake bread."}',
    ]
    assert import_jsonl(mem.store, "ana", "Mira", io.StringIO("\n".join(lines))) == 2
    assert [f.text for f in mem.recall("your dog rex").user] == ["I have a dog named Rex."]
    assert mem.remember("user", ["I have a dog named Rex."]).changes[0].action == "merge"


def test_embedding_index_matrix_appends_and_rebuilds():
    import numpy as np

    from consona.memory.index import EmbeddingIndex

    idx = EmbeddingIndex(FakeEmbedder())
    vecs = idx.embed([f"fact number {i} about topic{i}" for i in range(40)])
    idx.put(dict(enumerate(vecs)))
    for ids in ([0, 1], [0, 1, 2], list(range(30)), list(range(40)), [3, 5, 7], []):
        got = idx.matrix(ids)
        want = np.stack([vecs[i] for i in ids]) if ids else np.zeros((0, vecs.shape[1]))
        assert got.shape == want.shape and np.allclose(got, want)
    assert idx.search(vecs[7], [3, 5, 7], k=1)[0][0] == 7


@pytest.mark.parametrize(
    "text",
    [
        "I sold my car" + " " * 20_000 + "and now I drive.",
        "i am here" + " " * 20_000 + ", but i go",
        "i have a dog " + "  " * 10_000 + "what do you do ?",
        "i like it ;" + " " * 20_000 + "; ok - fine",
    ],
)
def test_long_runs_of_spaces_are_read_in_linear_time(text):
    # each regex that opens with whitespace starts only where a run of it starts; before,
    # 20,000 spaces took ~50 s in the clause splitter
    import time

    from consona.extraction.text import split_clauses
    from consona.memory.update import state_forms
    from consona.nli.judge import segments

    t = time.perf_counter()
    split_clauses(text)
    segments(text)
    state_forms(text)
    own_facts(Turn(speaker="u", text=text), [])
    assert time.perf_counter() - t < 2


def test_a_wish_is_not_merged_into_a_state_the_judge_calls_the_same():
    # read on MSC: "I want to own my own bookstore." was counted as "I work in a bookstore."
    # seen again
    state, wish = "I work in a bookstore.", "I want to own my own bookstore."
    nli = FakeNLI(verdicts={(state, wish): "entailment", (wish, state): "entailment"})
    w = writer(nli=nli)
    w.apply("ana", "Mira", "bot", [state])
    assert w.apply("ana", "Mira", "bot", [wish]).changes[0].action == "add"
    assert active(w, "bot") == [state, wish]


def test_the_memory_extractor_follows_the_config_like_consona_extract(monkeypatch, tmp_path):
    # a retrained triple tagger set in the config file reaches memory too; the statement
    # writer stays the rules (memory keeps the speaker's wording)
    import consona.extraction.fast as fast
    from consona.config import Settings
    from consona.memory.memory import CLAUSE_THRESHOLD, default_extractor

    seen = {}

    class Stub:
        answers = True

    def fake_load_fast(path=None, **kwargs):
        seen.update(kwargs, path=path)
        return Stub()

    monkeypatch.setattr(fast, "load_fast", fake_load_fast)
    (tmp_path / "config.toml").write_text(
        'fast_extractor_triples = "my_triples"\nfast_extractor_model = "m"\n'
    )
    ex = default_extractor(settings=Settings.load(env={"CONSONA_HOME": str(tmp_path)}))
    assert seen == {
        "path": "m",
        "writer": "off",
        "triples": "my_triples",
        "threshold": CLAUSE_THRESHOLD,
    }
    assert ex.answers is False
    (tmp_path / "config.toml").unlink()
    default_extractor(settings=Settings.load(env={"CONSONA_HOME": str(tmp_path)}))
    assert seen["triples"] == "auto" and seen["path"] is None


def test_a_wish_conflicts_with_no_state_and_frequencies_are_no_wish():
    from consona.memory.update import _WISH

    # a tagger may give a wish the triple of a state; it still retires nothing
    w = writer(nli=ScriptedNLI())
    nurse = Fact(text="I am a nurse.", subject="i", relation="has_profession", object="nurse")
    w.apply("ana", "Mira", "user", [nurse])
    wish = Fact(
        text="I want to be a teacher.", subject="i", relation="has_profession", object="teacher"
    )
    assert w.apply("ana", "Mira", "user", [wish]).changes[0].action == "add"
    teacher = Fact(text="I am a teacher.", subject="i", relation="has_profession", object="teacher")
    assert w.apply("ana", "Mira", "user", [teacher]).changes[0].action == "supersede"
    assert _WISH.search("I'd love to own a bookstore.") and _WISH.search("I planned to move.")
    assert not _WISH.search("I work one day a week.")
    assert not _WISH.search("One day I went fishing.")
