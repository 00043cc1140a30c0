"""The change-judge measurement (consona.evaluation.change) with scripted backends."""

from __future__ import annotations

import json
import math

import pytest

from consona.errors import FormatError
from consona.evaluation.change import (
    ask_pairwise,
    ask_unary,
    change_judge_report,
    same_topic_pairs,
    update_pairs,
)
from consona.testing import FakeBackend, FakeEmbedder


def _judge(messages):
    """Ended when the later statement says "sold" or "moved"; a change when it does."""
    user = messages[-1]["content"]
    later = user.split("SECOND:")[-1] if "SECOND:" in user else user
    changed = any(w in later for w in ("sold", "moved"))
    if "both_true" in messages[0]["content"]:
        return json.dumps({"both_true": "no" if changed else "yes"})
    return json.dumps({"change": "yes" if changed else "no"})


def test_questions_read_the_answer_and_send_the_schema():
    fake = FakeBackend(_judge)
    assert ask_pairwise(fake, "I live in Lisbon.", "I moved to Oslo.") is True
    assert ask_pairwise(fake, "I live in Lisbon.", "I love Lisbon.") is False
    assert ask_unary(fake, "I sold my car.") is True
    assert ask_unary(fake, "I drive a car.") is False
    assert all(r["json_schema"] is not None for r in fake.requests)
    # the pair is in the prompt, old first
    assert "FIRST: I live in Lisbon. SECOND: I moved to Oslo." in fake.calls[0][-1]["content"]


def test_a_reply_that_breaks_the_schema_is_asked_again_without_it():
    fake = FakeBackend(["both_true: no, not anymore", "No."])
    assert ask_pairwise(fake, "I live in Lisbon.", "I moved to Oslo.") is True
    assert [r["json_schema"] is None for r in fake.requests] == [False, True]


def test_unreadable_replies_are_none_and_plain_words_count():
    assert ask_pairwise(FakeBackend(["I cannot tell."]), "a", "b") is None
    assert ask_pairwise(FakeBackend(["No."]), "a", "b") is True  # "no": not both true
    assert ask_unary(FakeBackend(['{"change": "maybe"}']), "a") is None
    assert ask_unary(FakeBackend(["yes"]), "a") is True
    # the instruction echoed back names both answers: no answer
    echoed = 'Reply {"both_true": "yes"} or {"both_true": "no"}'
    assert ask_pairwise(FakeBackend([echoed]), "a", "b") is None


def test_update_pairs_cover_every_set():
    from consona.evaluation.memory import N_UPDATES, UPDATE_SETS

    pairs = update_pairs()
    assert len(pairs) == N_UPDATES
    assert {s for s, _, _ in pairs} == {"original", *UPDATE_SETS}
    assert ("original", "I live in Lisbon.", "I moved to Oslo.") in pairs


def test_same_topic_pairs_keep_one_speaker_and_the_threshold(tmp_path):
    user = ["I have a dog.", "I have a dog named Rex.", "I like tea."]
    bot = ["I have a cat.", "I have a cat named Tom."]
    results = {"rows": [{"facts": {"user": user, "bot": bot}}]}
    emb = FakeEmbedder()
    pairs = same_topic_pairs(results, emb, min_sim=0.5)
    assert ("I have a dog.", "I have a dog named Rex.") in [(a, b) for a, b, _ in pairs]
    # each speaker's facts pair among themselves, never across speakers
    assert ("I have a cat.", "I have a cat named Tom.") in [(a, b) for a, b, _ in pairs]
    assert all((a in user) == (b in user) for a, b, _ in pairs)
    # (across speakers "I have a dog." / "I have a cat." is 0.75 here: it would pass)
    assert len(pairs) == 2
    assert all(s >= 0.5 for _, _, s in pairs)
    assert len(same_topic_pairs(results, emb, min_sim=1.01)) == 0
    path = tmp_path / "m.json"
    path.write_text(json.dumps(results))
    assert same_topic_pairs(path, emb, min_sim=0.5) == pairs


def test_same_topic_pairs_name_a_wrong_file(tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        same_topic_pairs(tmp_path / "none.json", FakeEmbedder())
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FormatError, match="not JSON"):
        same_topic_pairs(bad, FakeEmbedder())
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"recall": 1.0}))
    with pytest.raises(FormatError, match="memory evaluation"):
        same_topic_pairs(other, FakeEmbedder())


def test_report_counts_both_sides_and_the_joint_gate():
    updates = [("a", "I live in Lisbon.", "I moved to Oslo."), ("a", "I drive.", "I sold my car."),
               ("b", "I am a nurse.", "I became a pilot.")]  # fmt: skip
    pairs = [("I have a dog.", "I walk my dog.", 0.6), ("I like tea.", "I moved a chair.", 0.3)]
    seen = []
    r = change_judge_report(
        FakeBackend(_judge), updates=updates, pairs=pairs, progress=lambda d, t: seen.append((d, t))
    )
    assert r["pairwise"]["updates"] == {"n": 3, "ended": 2, "unparsed": 0, "rate": 2 / 3}
    assert r["pairwise"]["updates_by_set"]["b"]["ended"] == 0
    assert r["pairwise"]["same_topic"]["ended"] == 1
    assert r["unary"]["same_topic"]["ended"] == 1
    assert r["both"]["same_topic"]["ended"] == 1
    assert seen[-1] == (10, 10) and len(r["rows"]) == 5
    assert r["rows"][3] == {"kind": "same_topic", "old": "I have a dog.", "new": "I walk my dog.",
                            "sim": 0.6, "pairwise": False, "unary": False}  # fmt: skip
    plain = change_judge_report(FakeBackend(_judge), updates=updates, pairs=[], unary=False)
    assert set(plain) == {"pairwise", "seconds", "rows"}
    assert math.isnan(plain["pairwise"]["same_topic"]["rate"])
    # an unreadable reply counts as "not ended" and is counted apart
    u = change_judge_report(FakeBackend(["?"]), updates=updates, pairs=[], unary=False)
    assert u["pairwise"]["updates"]["unparsed"] == 3 and u["pairwise"]["updates"]["rate"] == 0
