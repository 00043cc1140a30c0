"""consona.evaluation.memory with fakes on a tiny MSC-shaped file."""

from __future__ import annotations

import json
import math

import pytest

from consona.errors import FormatError
from consona.evaluation.memory import (
    N_UPDATES,
    UPDATE_SETS,
    add_scaling,
    injected_updates,
    read_msc_episodes,
    run_memory_eval,
)
from consona.testing import FakeEmbedder, FakeExtractor, FakeNLI


def msc_file(tmp_path):
    path = tmp_path / "msc" / "msc_dialogue" / "session_3" / "valid.txt"
    path.parent.mkdir(parents=True)
    ep = {
        "personas": [["I have a dog. I like jazz."], ["I am a baker."]],
        "dialog": [
            {"id": "Speaker 1", "text": "how is the bakery?"},
            {"id": "Speaker 2", "text": "busy!"},
        ],
        "previous_dialogs": [
            {
                "dialog": [
                    {"text": "hi! i have a dog."},
                    {"text": "i am a baker."},
                    {"text": "i like jazz. do you?"},
                    {"text": "not really"},
                ]
            }
        ],
        "metadata": {"initial_data_id": "valid_0"},
    }
    path.write_text(
        json.dumps(ep)
        + "\n"
        + json.dumps({**ep, "metadata": {"initial_data_id": "valid_1"}})
        + "\n"
    )
    return tmp_path


def test_reads_msc_episodes(tmp_path):
    eps = list(read_msc_episodes(msc_file(tmp_path)))
    assert [e.id for e in eps] == ["valid_0", "valid_1"]
    e = eps[0]
    assert e.gold == {"user": ["I have a dog.", "I like jazz."], "bot": ["I am a baker."]}
    assert [r for r, _ in e.sessions[0]] == ["user", "bot", "user", "bot"]
    assert e.next_turns[0] == ("user", "how is the bakery?")
    assert len(list(read_msc_episodes(tmp_path, limit=1))) == 1
    with pytest.raises(FormatError, match="no MSC"):
        list(read_msc_episodes(tmp_path / "nothing"))


def test_run_memory_eval_with_fakes(tmp_path):
    r = run_memory_eval(
        msc_file(tmp_path),
        nli=FakeNLI(),
        embedder=FakeEmbedder(),
        extractor=FakeExtractor(),
        episodes=2,
        scaling=False,
    )
    assert r["episodes"] == 2
    assert r["recall"] == {"user": 1.0, "bot": 1.0}
    assert r["duplicates"]["user"] == 1.0
    n = N_UPDATES
    # every set of the module is in the table (a set left out would shrink both sides)
    import consona.evaluation.memory as mem

    named = {k for k in mem.__all__ if k.endswith("_UPDATES") and k not in ("UPDATES", "N_UPDATES")}
    assert {id(getattr(mem, k)) for k in named} == {id(v) for v in UPDATE_SETS.values()}
    assert len(named) == 6 and n == 96
    assert n >= 40 and r["updates"]["n"] == n and r["updates"]["unrelated_retired"] == 0
    assert r["updates"]["extractor"] and not r["updates_text"]["extractor"]
    assert r["write_path_ms"]["turns"] == 8 and not math.isnan(r["write_path_ms"]["median"])


def test_injected_updates_and_scaling_with_fakes():
    u = injected_updates(nli=FakeNLI(), embedder=FakeEmbedder())
    # FakeNLI sees the negated updates as contradictions ("I do not have any cats anymore.")
    rows = {x["new"]: x for x in u["rows"]}
    assert rows["I do not have any cats anymore."]["old_superseded"]
    assert u["unrelated_retired"] == 0
    assert {r["set"] for r in u["rows"]} == {
        "original",
        "fresh",
        "heldout",
        "heldout2",
        "heldout3",
        "heldout4",
        "heldout5",
    }
    assert len({r["slot"] for r in u["rows"] if r["set"] == "fresh"}) >= 8  # several relations
    s = add_scaling(nli=FakeNLI(), embedder=FakeEmbedder(), sizes=(10, 200), adds=3)
    assert set(s) >= {"10", "200", "ratio"} and s["ratio"] > 0


def test_probe_answers_compare_memory_no_memory_and_full_context(tmp_path):
    from consona.evaluation.memory import probe_answers
    from consona.testing import FakeBackend

    def replier(messages):
        system = messages[0]["content"]
        said = " ".join(m["content"] for m in messages[1:])
        if "I am a baker." in system or "i am a baker." in said:
            return "The bakery is busy, I am a baker after all."
        return "I am not a baker."

    r = probe_answers(
        msc_file(tmp_path),
        backend=FakeBackend(replier),
        nli=FakeNLI(),
        embedder=FakeEmbedder(),
        extractor=FakeExtractor(),
        episodes=1,
    )
    assert r["n"] == 1
    row = r["rows"][0]
    assert "I am a baker." in row["memory_facts"]["bot"]
    assert r["memory"]["contradiction_rate"] == 0.0
    assert r["no_memory"]["contradiction_rate"] == 1.0
    assert r["full_context"]["contradiction_rate"] == 0.0
    lo, hi = r["no_memory"]["contradiction_ci95"]
    assert 0.0 < lo < 0.5 and hi > 0.99  # one probe: a wide interval, not a point
    assert r["memory_vs_no_memory"] == {
        "only_memory_contradicts": 0,
        "only_no_memory_contradicts": 1,
    }
    assert 0 < row["memory"]["extra_prompt_tokens"] < row["full_context"]["extra_prompt_tokens"]
    assert row["no_memory"]["extra_prompt_tokens"] == 0
    ratio = row["full_context"]["extra_prompt_tokens"] / row["memory"]["extra_prompt_tokens"]
    assert r["full_context_tokens_per_memory_token"] == round(ratio, 2)
    assert r["full_context_truncated"] == int(row["full_context"]["dropped_turns"] > 0)


def test_duplicates_count_copies_not_related_facts():
    from consona.evaluation.memory import _copies, _redundant

    nli = FakeNLI()
    gold = ["I have a dog."]
    linked = [["I have a dog.", "I have a dog named rex.", "I have a dog !"]]
    # "named rex" says more than the gold sentence: linked to it, but no copy of it
    assert _copies(nli, gold, linked) == [["I have a dog.", "I have a dog !"]]
    assert _copies(nli, ["I swim."], [[]]) == [[]]
    facts = ["I have a dog.", "I bake bread.", "I have a dog !", "I bake bread.", "I swim."]
    assert sorted(_redundant(nli, facts)) == sorted(facts[:4])
    assert _redundant(nli, ["I have a dog.", "I have a dog named rex."]) == []
    assert _redundant(nli, ["I swim."]) == []


def test_probe_answers_with_candidates_let_the_guard_check_the_recalled_facts(tmp_path):
    from consona.evaluation.memory import probe_answers
    from consona.testing import FakeBackend

    calls = []

    def replier(messages):  # every other candidate contradicts the character's fact
        calls.append(1)
        return "I am not a baker." if len(calls) % 2 else "The bakery is busy, I bake bread."

    kw = {
        "backend": FakeBackend(replier),
        "nli": FakeNLI(),
        "embedder": FakeEmbedder(),
        "extractor": FakeExtractor(),
        "episodes": 1,
    }
    data = msc_file(tmp_path)
    one = probe_answers(data, **kw)
    calls.clear()
    two = probe_answers(data, candidates=2, **kw)
    assert (one["candidates"], two["candidates"]) == (1, 2)
    assert one["memory"]["contradiction_rate"] == 1.0  # the first candidate, unchecked
    # the guard knew the recalled fact (the same judge also scores the probes here, so
    # with candidates its rates are not an independent grade: the bench reads them)
    assert two["memory"]["contradiction_rate"] == 0.0
    assert two["rows"][0]["memory"]["reply"] == "The bakery is busy, I bake bread."
