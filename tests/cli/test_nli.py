"""CLI: nli predict / eval / build-data and check, with the fake model and tiny fixtures."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from consona.cli.main import app

runner = CliRunner()


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_predict_adds_label_and_probs_and_keeps_keys(tmp_path):
    src = _write(
        tmp_path / "in.jsonl",
        [
            json.dumps({"premise": "I have two dogs.", "hypothesis": "I have dogs.", "id": 7}),
            json.dumps({"premise": "I have two dogs.", "hypothesis": "I do not have dogs."}),
            json.dumps({"premise": "", "hypothesis": ""}),
            json.dumps({"premise": "J'ai deux chiens. " * 500, "hypothesis": "私は犬が好き"}),
        ],
    )
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["nli", "predict", str(src), "-o", str(out), "--model", "fake"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["label"] for r in rows[:2]] == ["entailment", "contradiction"]
    assert rows[0]["id"] == 7
    assert set(rows[0]["probs"]) == {"entailment", "neutral", "contradiction"}
    for row in rows:  # a probability per label, summing to one, the label the likeliest
        assert sum(row["probs"].values()) == pytest.approx(1.0, abs=1e-3)
        assert row["label"] == max(row["probs"], key=row["probs"].get)
    assert len(rows) == 4


def test_predict_bad_line_fails_with_line_number_and_no_output(tmp_path):
    src = _write(
        tmp_path / "in.jsonl",
        [json.dumps({"premise": "a", "hypothesis": "b"}), "[1, 2]", json.dumps({"premise": "x"})],
    )
    out = tmp_path / "out.jsonl"
    res = runner.invoke(app, ["nli", "predict", str(src), "-o", str(out), "--model", "fake"])
    assert res.exit_code == 2
    assert "line 2" in res.output and "expected a JSON object" in res.output
    assert "Traceback" not in res.output
    assert not out.exists()


def test_predict_skip_invalid_reports_skipped_lines(tmp_path):
    src = _write(
        tmp_path / "in.jsonl",
        [
            json.dumps({"premise": "a b", "hypothesis": "a b"}),
            "{not json",
            json.dumps({"premise": "x"}),
            json.dumps({"premise": 3, "hypothesis": "y"}),
        ],
    )
    out = tmp_path / "out.jsonl"
    args = ["nli", "predict", str(src), "-o", str(out), "--model", "fake", "--skip-invalid"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "skipped 3 invalid line(s)" in res.output
    for n, why in (
        (2, "not valid JSON"),
        (3, "missing key 'hypothesis'"),
        (4, "'premise' must be a string"),
    ):
        assert f"line {n}: {why}" in res.output
    assert len(out.read_text().splitlines()) == 1


def test_unknown_model_lists_valid_names(tmp_path):
    src = _write(tmp_path / "in.jsonl", [json.dumps({"premise": "a", "hypothesis": "b"})])
    res = runner.invoke(app, ["nli", "predict", str(src), "-o", str(tmp_path / "o"), "-m", "zzz"])
    assert res.exit_code == 2
    assert "fake" in res.output and "hf:<id or dir>" in res.output


def test_eval_metrics_json(tmp_path):
    lines = [
        {"premise": "I have two dogs.", "hypothesis": "I have dogs.", "label": "entailment"},
        {"premise": "I have two dogs.", "hypothesis": "I do not have dogs.", "label": "c"},
        {"premise": "I like jazz.", "hypothesis": "I live in Paris.", "label": "neutral"},
        {"premise": "I like jazz.", "hypothesis": "I do not like jazz.", "label": "entailment"},
    ]
    src = _write(tmp_path / "d.jsonl", [json.dumps(x) for x in lines])
    res = runner.invoke(app, ["nli", "eval", str(src), "--model", "fake", "--json"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["n"] == 4 and m["accuracy"] == 0.75
    assert m["per_class"]["contradiction"]["precision"] == 0.5
    assert m["per_class"]["contradiction"]["recall"] == 1.0
    assert m["confusion"]["matrix"] == [[1, 0, 1], [0, 1, 0], [0, 0, 1]]
    table = runner.invoke(app, ["nli", "eval", str(src), "--model", "fake"])
    assert table.exit_code == 0 and "accuracy 0.7500" in table.stdout


def test_eval_bad_label_and_named_set_errors(tmp_path):
    src = _write(
        tmp_path / "d.jsonl", [json.dumps({"premise": "a", "hypothesis": "b", "label": "?"})]
    )
    res = runner.invoke(app, ["nli", "eval", str(src), "--model", "fake"])
    assert res.exit_code == 2 and "line 1" in res.output and "unknown label" in res.output
    res = runner.invoke(app, ["nli", "eval", "--set", "mnli", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2 and "snli" in res.output
    res = runner.invoke(
        app, ["nli", "eval", "--set", "snli", "--data-dir", str(tmp_path), "-m", "fake"]
    )
    assert res.exit_code == 2 and "not in" in res.output


def test_eval_named_set_snli(tmp_path):
    d = tmp_path / "nli" / "snli-becel"
    d.mkdir(parents=True)
    (d / "test.tsv").write_text(
        "premise\thypothesis\tlabel\n"
        "I have two dogs.\tI have dogs.\t0\n"
        "I have two dogs.\tI do not have dogs.\t2\n"
        "I like jazz.\tI live in Paris.\t1\n"
    )
    res = runner.invoke(
        app, ["nli", "eval", "--set", "snli", "--data-dir", str(tmp_path), "-m", "fake", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["accuracy"] == 1.0


def test_check_exit_codes_and_json(tmp_path):
    persona = _write(tmp_path / "kai.txt", ["# name: Kai", "I have two dogs.", "I like jazz."])
    ok = runner.invoke(app, ["check", "--persona", str(persona), "I have dogs.", "-m", "fake"])
    assert ok.exit_code == 0, ok.output
    assert "consistent" in ok.stdout and "I have two dogs." in ok.stdout
    bad = runner.invoke(
        app, ["check", "--persona", str(persona), "I do not have dogs.", "-m", "fake", "--json"]
    )
    assert bad.exit_code == 3
    data = json.loads(bad.stdout)
    assert data["contradicted"] == ["I have two dogs."] and data["c_score"] == -1.0
    assert [v["label"] for v in data["verdicts"]] == ["contradiction", "neutral"]


def test_check_missing_persona_file(tmp_path):
    res = runner.invoke(app, ["check", "--persona", str(tmp_path / "none.txt"), "hi", "-m", "fake"])
    assert res.exit_code == 2 and "persona" in res.output and "Traceback" not in res.output


def test_build_data_on_tiny_tree(tmp_path):
    data = tmp_path / "data"
    tri = data / "convai2-dnli-triples"
    tri.mkdir(parents=True)
    personas = [
        ("i am 30 years old.", "['i', 'has_age', '30']"),
        ("i am 52 years old.", "['i', 'has_age', '52']"),
        ("i have two dogs.", "['i', 'have_pet', '2 dog']"),
        ("my favorite color is blue.", "['i', 'favorite_color', 'blue']"),
        ("i like pizza.", "['i', 'like_food', 'pizza']"),
        ("i hate pizza.", "['i', 'dislike', 'pizza']"),
    ]
    lines = []
    for i in range(30):  # many dialogues so every split gets persona sentences
        for text, triple in personas:
            lines.append(f"your persona: {text.replace('.', f' {i}.')}\t{triple}")
        lines.append("1\tthirty is my age , i turned 30 this year\t['i', 'has_age', '30']")
        lines.append("2\tmy dogs are two labradors\t['i', 'have_pet', '2 dog']")
    (tri / "valid_both_original_dialogueNLI.txt").write_text("\n".join(lines) + "\n")
    nli = data / "nli" / "sick"
    nli.mkdir(parents=True)  # NC set present: must not be used
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["nli", "build-data", "--data-dir", str(data), "-o", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert "dnli-triples" in report["used"] and "sick" not in report["used"]
    assert "not in the data directory" in report["skipped"]["snli-1pct"]
    rows = {s: [json.loads(x) for x in (out / f"{s}.jsonl").read_text().splitlines()]
            for s in ("train", "dev", "test")}  # fmt: skip
    labels = {r["label"] for s in rows.values() for r in s}
    assert labels == {"entailment", "neutral", "contradiction"}
    train_personas = {r["premise"] for r in rows["train"]}
    for split in ("dev", "test"):
        assert not train_personas & {r["premise"] for r in rows[split]}
    # deterministic: a second build gives the same files
    out2 = tmp_path / "out2"
    runner.invoke(app, ["nli", "build-data", "--data-dir", str(data), "-o", str(out2)])
    assert (out / "train.jsonl").read_text() == (out2 / "train.jsonl").read_text()
    missing = runner.invoke(
        app, ["nli", "build-data", "--data-dir", str(tmp_path / "x"), "-o", str(out)]
    )
    assert missing.exit_code == 2
    # the fine-tuning mixture: the kept sources whole, a replay sample of the rest
    mix = tmp_path / "mix"
    res = runner.invoke(
        app,
        ["nli", "mix", str(out), "-o", str(mix), "--data-dir", str(data), "--keep",
         "dnli-triples", "--replay", "5", "--dev", "3"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    got = [json.loads(x) for x in (mix / "train.jsonl").read_text().splitlines()]
    kept = [r for r in rows["train"] if r["source"] == "dnli-triples"]
    assert sorted(map(json.dumps, kept)) == sorted(
        json.dumps(r) for r in got if r["source"] == "dnli-triples"
    )
    assert sum(r["source"] != "dnli-triples" for r in got) == min(
        5, sum(r["source"] != "dnli-triples" for r in rows["train"])
    )
    dev = [json.loads(x) for x in (mix / "dev.jsonl").read_text().splitlines()]
    assert sum(r.get("source") != "dialogue-dev" for r in dev) == min(3, len(rows["dev"]))
