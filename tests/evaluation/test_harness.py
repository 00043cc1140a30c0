import json

import pytest

from consona.errors import ConfigError, FormatError
from consona.evaluation.harness import (
    ReplyCache,
    build_examples,
    generate_replies,
    read_responses,
    score_examples,
    write_run,
)
from consona.evaluation.judge import LLMJudge, judge_rows
from consona.evaluation.report import compare_runs, render_report
from consona.testing import FakeBackend, FakeNLI
from consona.types import Dialogue, Persona, Turn


def dialogue(did, facts, texts, bot="bot"):
    turns = [Turn(speaker="user" if i % 2 == 0 else bot, text=t) for i, t in enumerate(texts)]
    personas = {bot: Persona(facts=facts)} if facts else {}
    return Dialogue(id=did, turns=turns, personas=personas)


@pytest.fixture
def dialogues():
    return [
        dialogue(
            "a",
            ["I have two dogs.", "I like jazz."],
            ["hi", "hello , my dogs say hi", "cool , pets ?", "yes two dogs"],
        ),
        dialogue("b", ["I am a nurse."], ["what do you do ?", "i am a nurse"]),
    ]


def test_build_examples(dialogues):
    examples, skipped = build_examples(dialogues)
    assert [e.id for e in examples] == ["a:1", "a:3", "b:1"]
    assert examples[1].context[-1].text == "cool , pets ?"
    assert examples[2].persona.fact_texts() == ["I am a nurse."]
    assert skipped["counts"] == {}
    assert [e.id for e in build_examples(dialogues, limit=1)[0]] == ["a:1", "a:3"]


def test_missing_persona_is_an_error_or_counted(dialogues):
    bad = [*dialogues, dialogue("nop", [], ["hi", "hello"])]
    with pytest.raises(ConfigError, match=r"'nop'.*--skip-invalid"):
        build_examples(bad, speaker="bot")
    examples, skipped = build_examples(bad, speaker="bot", skip_invalid=True)
    assert len(examples) == 3
    assert skipped["counts"]["missing_persona"] == 1
    assert skipped["first_ids"]["missing_persona"] == ["nop"]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_read_responses_by_order_and_by_id(tmp_path, dialogues):
    examples, _ = build_examples(dialogues)
    p = write_jsonl(tmp_path / "r.jsonl", [{"response": "x"}, "y", {"text": "z"}])
    assert read_responses(p, examples)[0] == ["x", "y", "z"]
    p = write_jsonl(tmp_path / "r.jsonl",
                    [{"id": "b:1", "response": "3"}, {"id": "a:1", "reply": "1"},
                     {"id": "a:3", "response": "2"}])  # fmt: skip
    assert read_responses(p, examples)[0] == ["1", "2", "3"]


def test_read_responses_errors_name_the_example(tmp_path, dialogues):
    examples, _ = build_examples(dialogues)
    p = write_jsonl(tmp_path / "r.jsonl", [{"response": "x"}, {"response": "y"}])
    with pytest.raises(FormatError, match=r"2 replies but DATA has 3.*'b:1'"):
        read_responses(p, examples)
    p = write_jsonl(tmp_path / "r.jsonl", [{"response": "x"}, {"response": " "}, {"response": "z"}])
    with pytest.raises(FormatError, match=r"line 2.*empty reply for example 'a:3'"):
        read_responses(p, examples)
    replies, counts = read_responses(p, examples, skip_invalid=True)
    assert replies == ["x", None, "z"] and counts == {"empty_reply": 1}
    p = write_jsonl(
        tmp_path / "r.jsonl", [{"id": "a:1", "response": "x"}, {"id": "zz:9", "response": "y"}]
    )
    with pytest.raises(FormatError, match="'zz:9'"):
        read_responses(p, examples)
    p = write_jsonl(tmp_path / "r.jsonl", [{"id": "a:1", "response": "x"}])
    with pytest.raises(FormatError, match="no reply for example 'a:3'"):
        read_responses(p, examples)
    (tmp_path / "bad.jsonl").write_text('{"response": "x"}\n{nope\n')
    with pytest.raises(FormatError, match="line 2"):
        read_responses(tmp_path / "bad.jsonl", examples)


def test_score_examples_hand_checked(dialogues):
    examples, _ = build_examples(dialogues)
    replies = ["I have dogs.", "I do not have dogs.", None]
    skipped = {"counts": {"empty_reply": 1}, "first_ids": {}}
    metrics, rows = score_examples(examples, replies, nli=FakeNLI(), skipped=skipped)
    # reply 1 entails the dog fact (+1), reply 2 contradicts it (-1); jazz neutral
    assert [r["c_score"] for r in rows] == [1.0, -1.0]
    assert metrics["n"] == 2 and metrics["n_skipped"] == 1
    assert metrics["c_score"] == 0.0
    assert metrics["contradiction_rate"] == 0.5
    assert metrics["entailment_rate"] == 0.5
    assert rows[1]["contradicted"] == ["I have two dogs."]
    # F1 of "I have dogs." vs "hello , my dogs say hi": {dogs} of 3 / 5 → 2·(1/3·1/5)/(8/15)
    assert rows[0]["f1"] == pytest.approx(0.25)


class CountingResponder:
    def __init__(self, fail_after=None):
        self.calls = 0
        self.fail_after = fail_after
        self.contexts = []

    def reply(self, persona, context):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt
        self.calls += 1
        self.contexts.append([(t.speaker, t.text) for t in context])
        return f"reply {self.calls} about {persona.facts[0].text}"


def test_reply_cache_resumes_after_interruption(tmp_path, dialogues):
    examples, _ = build_examples(dialogues)
    cache = ReplyCache(tmp_path, fingerprint="f1")
    first = CountingResponder(fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        generate_replies(examples, first, cache, show_progress=False)
    assert first.calls == 2
    # the responder sees the evaluated speaker as "assistant", the other as "user"
    assert first.contexts[1] == [("user", "hi"), ("assistant", "hello , my dogs say hi"),
                                 ("user", "cool , pets ?")]  # fmt: skip
    second = CountingResponder()
    replies = generate_replies(examples, second, ReplyCache(tmp_path, fingerprint="f1"),
                               show_progress=False)  # fmt: skip
    assert second.calls == 1  # only the missing example
    assert replies[:2] == ["reply 1 about I have two dogs.", "reply 2 about I have two dogs."]
    with pytest.raises(ConfigError, match="--overwrite"):
        ReplyCache(tmp_path, fingerprint="other")
    assert len(ReplyCache(tmp_path, fingerprint="other", overwrite=True)) == 0


def test_reply_cache_ignores_a_cut_last_line(tmp_path):
    cache = ReplyCache(tmp_path, fingerprint="f")
    cache.add("a:1", "hello", {})
    with open(tmp_path / "replies.jsonl", "a") as f:
        f.write('{"id": "a:3", "resp')
    again = ReplyCache(tmp_path, fingerprint="f")
    assert again.get("a:1")["response"] == "hello" and again.get("a:3") is None


def test_write_run_and_report(tmp_path, dialogues):
    examples, _ = build_examples(dialogues)
    metrics, rows = score_examples(examples, ["I have dogs.", "I do not have dogs.",
                                              "<b>I am not a nurse</b>"],
                                   nli=FakeNLI())  # fmt: skip
    paths = write_run(tmp_path / "run", metrics, rows, title="t")
    saved = json.loads(paths["metrics"].read_text())
    assert saved["n"] == 3 and saved["contradiction_rate"] == pytest.approx(2 / 3)
    html = paths["report"].read_text()
    assert "data:image/png;base64," in html
    assert "Worst contradictions" in html and "I do not have dogs." in html
    assert "<b>I am not" not in html and "&lt;b&gt;I am not a nurse&lt;/b&gt;" in html  # escaped
    assert len(paths["examples"].read_text().splitlines()) == 3
    assert not list((tmp_path / "run").glob(".*.tmp"))


def test_compare_runs_marks_best(tmp_path):
    for name, c, contra in (("r1", 0.2, 0.3), ("r2", 0.5, 0.1)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(
            json.dumps({"n": 10, "c_score": c, "contradiction_rate": contra})
        )
    cmp = compare_runs([tmp_path / "r1", tmp_path / "r2"])
    assert cmp["runs"] == ["r1", "r2"]
    assert cmp["metrics"]["c_score"] == [0.2, 0.5]
    assert cmp["best"] == {"c_score": 1, "contradiction_rate": 1}
    with pytest.raises(ConfigError, match=r"metrics.json"):
        compare_runs([tmp_path / "nothing"])


def test_llm_judge_parses_and_counts_failures():
    backend = FakeBackend(["ok. Score: 5", "no idea", "Score: 2"])
    rows = [{"facts": ["I like tea."], "context": "tea?", "response": r} for r in "abc"]
    out = judge_rows(LLMJudge(backend), rows)
    assert out["judge_score"] == pytest.approx(3.5)
    assert out["judge_n"] == 2 and out["judge_failed"] == 1
    assert [r["judge"] for r in rows] == [5.0, None, 2.0]
    # persona and reply reach the judge as data
    assert "I like tea." in backend.calls[0][1]["content"]
    html = render_report({"n": 3, "judge": out}, [], title="x")
    assert "LLM judge" in html
