import json

import pytest
from typer.testing import CliRunner

from consona.cli.main import app
from consona.types import Dialogue, Persona, Turn

runner = CliRunner()


@pytest.fixture
def data(tmp_path):
    ds = [
        Dialogue(id="a", personas={"bot": Persona(facts=["I have two dogs.", "I like jazz."])},
                 turns=[Turn(speaker="user", text="hi"), Turn(speaker="bot", text="hello , dogs !"),
                        Turn(speaker="user", text="pets ?"), Turn(speaker="bot", text="two dogs")]),
        Dialogue(id="b", personas={"bot": Persona(facts=["I am a nurse."])},
                 turns=[Turn(speaker="user", text="job ?"), Turn(speaker="bot", text="nurse")]),
    ]  # fmt: skip
    p = tmp_path / "data.jsonl"
    p.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in ds))
    return p


def test_eval_responses_json_and_outputs(tmp_path, data):
    resp = tmp_path / "resp.jsonl"
    resp.write_text('{"response": "I have dogs."}\n{"response": "I do not have dogs."}\n'
                    '{"response": "I am a nurse."}\n')  # fmt: skip
    out = tmp_path / "run"
    r = runner.invoke(app, ["eval", "responses", str(data), str(resp), "-o", str(out),
                            "--nli", "fake", "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    assert m["n"] == 3
    assert m["c_score"] == pytest.approx((1 - 1 + 1) / 3)
    assert m["contradiction_rate"] == pytest.approx(1 / 3)
    assert (out / "report.html").is_file() and (out / "metrics.json").is_file()


def test_eval_responses_mismatch_is_a_clear_error(tmp_path, data):
    resp = tmp_path / "resp.jsonl"
    resp.write_text('{"response": "x"}\n')
    out = tmp_path / "run"
    r = runner.invoke(app, ["eval", "responses", str(data), str(resp), "-o", str(out),
                            "--nli", "fake"])  # fmt: skip
    assert r.exit_code == 2
    assert "error:" in r.output and "'a:3'" in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_eval_dialogue_resumes_and_compare(tmp_path, data):
    cfg = tmp_path / "agent.toml"
    cfg.write_text('backend = "fake"\nnli = "fake"\ncandidates = 2\ncoherence = "lexical"\n'
                   '[backend_options]\nreplies = ["I do not have dogs.", "I have two dogs!"]\n')  # fmt: skip
    out = tmp_path / "runA"
    args = ["eval", "dialogue", str(data), "--agent", str(cfg), "-o", str(out), "--nli", "fake",
            "--json"]  # fmt: skip
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    assert m["n"] == 3 and m["candidates"] == 2
    # the NLI guard picks the consistent candidate every time
    assert m["contradiction_rate"] == 0.0
    cached = (out / "replies.jsonl").read_text().splitlines()
    assert len(cached) == 3 and all(json.loads(x)["n_candidates"] == 2 for x in cached)
    # a second run takes everything from the cache
    r2 = runner.invoke(app, args)
    assert r2.exit_code == 0 and "resuming: 3 cached" in r2.output
    assert (out / "replies.jsonl").read_text().splitlines() == cached
    # another configuration into the same dir is refused
    r3 = runner.invoke(app, [*args[:-1], "--candidates", "1"])
    assert r3.exit_code == 2 and "--overwrite" in r3.output
    # N=1 without repair: the scripted contradiction gets through once (example a:1)
    cfg_b = tmp_path / "agent_b.json"
    cfg_b.write_text(json.dumps({"backend": "fake", "nli": "fake", "candidates": 1,
                                 "repair_attempts": 0, "coherence": "lexical",
                                 "backend_options": {"replies": ["I do not have dogs.",
                                                                 "I have two dogs!"]}}))  # fmt: skip
    out_b = tmp_path / "runB"
    r4 = runner.invoke(app, ["eval", "dialogue", str(data), "--agent", str(cfg_b), "-o",
                             str(out_b), "--nli", "fake", "--json"])  # fmt: skip
    assert r4.exit_code == 0, r4.output
    mb = json.loads(r4.stdout)
    assert mb["contradiction_rate"] == pytest.approx(1 / 3)
    assert mb["flagged_rate"] == pytest.approx(1 / 3)  # the agent flagged that reply
    r5 = runner.invoke(app, ["eval", "compare", str(out), str(out_b), "--json"])
    assert r5.exit_code == 0, r5.output
    cmp = json.loads(r5.stdout)
    assert cmp["runs"] == ["runA", "runB"] and "c_score" in cmp["metrics"]


def test_eval_dialogue_bad_config_lists_keys(tmp_path, data):
    cfg = tmp_path / "agent.toml"
    cfg.write_text('backend = "fake"\ncandidatez = 2\n')
    r = runner.invoke(app, ["eval", "dialogue", str(data), "--agent", str(cfg), "-o",
                            str(tmp_path / "o")])  # fmt: skip
    assert r.exit_code == 2 and "candidatez" in r.output and "candidates" in r.output


def test_eval_ranking_cli(tmp_path):
    d = tmp_path / "convai2-dnli-triples"
    d.mkdir()
    (d / "valid_both_original_dialogueNLI.txt").write_text(
        "your persona: i am 30 years old.\t['i', 'has_age', '30']\n"
        "1\thow old are you ?\n2\ti am 30 years old .\t['i', 'has_age', '30']\n"
        "your persona: i am 45 years old.\t['i', 'has_age', '45']\n"
        "1\tage ?\n2\ti am 45 years old .\t['i', 'has_age', '45']\n"
    )
    r = runner.invoke(app, ["eval", "ranking", "--data-dir", str(tmp_path), "--nli", "fake",
                            "--json", "--save-set", str(tmp_path / "set.jsonl")])  # fmt: skip
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["items"] == 2 and set(res["results"]) == {"base", "rerank"}
    r2 = runner.invoke(app, ["eval", "ranking", "--set", str(tmp_path / "set.jsonl"),
                             "--nli", "none", "--scorer", "lexical", "--json"])  # fmt: skip
    assert r2.exit_code == 0, r2.output
    assert set(json.loads(r2.stdout)["results"]) == {"base"}
    r3 = runner.invoke(app, ["eval", "ranking", "--nli", "fake"])
    assert r3.exit_code == 2 and "--data-dir" in r3.output


def test_eval_dialogue_perplexity_needs_token_scores(tmp_path, data):
    cfg = tmp_path / "agent.toml"
    cfg.write_text('backend = "fake"\nnli = "none"\ncandidates = 1\ncoherence = "lexical"\n')
    out = tmp_path / "o"
    r = runner.invoke(app, ["eval", "dialogue", str(data), "--agent", str(cfg), "-o", str(out),
                            "--nli", "fake", "--perplexity"])  # fmt: skip
    assert r.exit_code == 2 and "transformers" in r.output and "Traceback" not in r.output
    assert not (out / "metrics.json").exists()


def test_eval_responses_with_judge_reports_it_apart(tmp_path, data):
    resp = tmp_path / "resp.jsonl"
    resp.write_text('"I have dogs."\n"hello"\n"I am a nurse."\n')
    out = tmp_path / "run"
    r = runner.invoke(app, ["eval", "responses", str(data), str(resp), "-o", str(out),
                            "--nli", "fake", "--judge", "fake", "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    # the fake backend's default answer has no score: every judgement counted as failed
    assert m["judge"]["judge_failed"] == 3 and m["judge"]["judge_n"] == 0
    assert m["judge"]["judge_score"] is None
    assert "judge_score" not in m  # never mixed into the NLI metrics
    assert "LLM judge" in (out / "report.html").read_text()
