"""Data readers, metrics, and the extract / eval extraction commands (with fakes)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from consona.cli.main import app
from consona.errors import FormatError
from consona.extraction.data import LabeledUtterance as U
from consona.extraction.data import detect_kind, held_out, read_labeled
from consona.extraction.evaluate import evaluate_extractor, score
from consona.testing import FakeExtractor
from consona.types import Fact

runner = CliRunner()


def _msc(path):
    ep = {
        "dialog": [
            {"id": "bot_0", "text": "Hello what are you doing today?"},
            {
                "id": "bot_1",
                "text": "I am good, I have two jobs.",
                "persona_text": "I have two jobs.",
            },
            {"id": "bot_0", "text": "lol ok"},
            {"id": "bot_1", "text": "i love to read books", "persona_text": "I like to read."},
        ],
        "initial_data_id": "valid_1",
    }
    path.write_text(json.dumps(ep) + "\n")
    return path


def _pext(path):
    toks = ["i", "love", "spending", "time", "with", "my", "family"]
    line = {"triplets": [{"tokens": toks, "head": [0], "tail": [5, 6], "label": "like_activity"}]}
    path.write_text(json.dumps(line) + "\n")
    return path


def test_readers(tmp_path):
    items = list(read_labeled(_msc(tmp_path / "m.txt")))
    assert [x.positive for x in items] == [False, True, False, True]
    assert items[3].context == ["I am good, I have two jobs.", "lol ok"]
    assert len({x.group for x in items}) == 1
    pe = list(read_labeled(_pext(tmp_path / "p.jsonl")))
    assert pe[0].triples == [("i", "like_activity", "my family")]
    (tmp_path / "dn.txt").write_text(
        "your persona: i like cats.\t['i', 'like_animal', 'cat']\n1\thello\n"
        "2\ti have a cat\t['i', 'have_pet', 'cat']\n"
    )
    dn = list(read_labeled(tmp_path / "dn.txt"))
    assert [(x.text, x.source, x.triples) for x in dn] == [
        ("i like cats.", "dnli-persona", [("i", "like_animal", "cat")]),
        ("hello", "dnli", []),
        ("i have a cat", "dnli", [("i", "have_pet", "cat")]),
    ]
    (tmp_path / "pairs.json").write_text(json.dumps([["i like cats.", "cats are my thing"]]))
    assert detect_kind(tmp_path / "pairs.json") == "pairs"


def test_reader_errors(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("just some text\n")
    with pytest.raises(FormatError, match=r"bad\.txt"):
        list(read_labeled(bad))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"dialog": [{"text": "a"}]}\n{"dialog": \n')
    with pytest.raises(FormatError, match="line 2"):
        list(read_labeled(broken))


def test_held_out_is_stable_and_about_a_fifth():
    groups = [f"g{i}" for i in range(2000)]
    frac = sum(held_out(g) for g in groups) / len(groups)
    assert 0.15 < frac < 0.25
    assert [held_out(g) for g in groups[:50]] == [held_out(g) for g in groups[:50]]


def test_score_metrics():
    items = [
        U(text="a", persona_text="I have two dogs."),
        U(text="b"),
        U(text="c", persona_text="I like jazz."),
        U(text="d", triples=[("i", "have_pet", "dog")]),
    ]
    preds = [
        [Fact(text="I have two dogs.")],
        [Fact(text="I am x.")],
        [],
        [Fact(text="I have a dog.", relation="have_pet", object="a dog")],
    ]
    s = score(items, preds)
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    assert s["rouge_l"] == 1.0 and s["rouge_l_n"] == 1
    assert s["relation_accuracy"] == 1.0 and s["triple_accuracy"] == 1.0


def test_evaluate_extractor_with_fake(tmp_path):
    items = list(read_labeled(_msc(tmp_path / "m.txt")))
    s = evaluate_extractor(FakeExtractor(), items)
    assert s["precision"] == 1.0 and s["recall"] == 1.0 and s["utterances_per_s"] > 0


def _dialogues(path):
    rows = [
        {
            "id": "d1",
            "turns": [
                {"speaker": "a", "text": "i have two dogs"},
                {"speaker": "b", "text": "lol ok"},
                {"speaker": "a", "text": "do you like dogs?"},
            ],
        },
        {
            "id": "d2",
            "turns": [{"speaker": "x", "text": "😀"}, {"speaker": "y", "text": "i am a nurse"}],
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_cli_extract_with_fakes(tmp_path):
    out = tmp_path / "out.jsonl"
    r = runner.invoke(
        app,
        [
            "extract",
            str(_dialogues(tmp_path / "in.jsonl")),
            "-o",
            str(out),
            "--extractor",
            "fake",
            "--nli",
            "fake",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [f["text"] for f in rows[0]["personas"]["a"]["facts"]] == ["I have two dogs."]
    assert rows[0]["personas"]["b"]["facts"] == []
    assert rows[1]["personas"]["y"]["facts"][0]["source_turn"] == 1
    summary = json.loads(r.stdout)
    assert summary["dialogues"] == 2 and summary["facts"] == 2


def test_cli_extract_limit(tmp_path):
    out = tmp_path / "out.jsonl"
    r = runner.invoke(
        app,
        [
            "extract",
            str(_dialogues(tmp_path / "in.jsonl")),
            "-o",
            str(out),
            "-e",
            "fake",
            "--nli",
            "none",
            "--limit",
            "1",
        ],
    )
    assert r.exit_code == 0, r.output
    assert len(out.read_text().splitlines()) == 1


@pytest.mark.parametrize(
    "content", ["", "not json at all\n", '{"id": "d", "turns": [{"text": "x"}]}\n']
)
def test_cli_extract_bad_input_no_traceback_no_output(tmp_path, content):
    inp = tmp_path / "in.jsonl"
    inp.write_text(content)
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["extract", str(inp), "-o", str(out), "-e", "fake", "--nli", "fake"])
    assert "Traceback" not in r.output
    if r.exit_code != 0:
        assert "error:" in r.output
        assert not out.exists()
        assert not list(tmp_path.glob(".out.jsonl*"))


def test_cli_extract_unknown_extractor(tmp_path):
    r = runner.invoke(
        app,
        [
            "extract",
            str(_dialogues(tmp_path / "in.jsonl")),
            "-o",
            str(tmp_path / "o.jsonl"),
            "-e",
            "nope",
            "--nli",
            "none",
        ],
    )
    assert r.exit_code == 2 and "fast" in r.output and "llm" in r.output
    assert not (tmp_path / "o.jsonl").exists()


def test_cli_eval_extraction_json(tmp_path):
    r = runner.invoke(
        app, ["eval", "extraction", str(_msc(tmp_path / "m.txt")), "-e", "fake", "--json"]
    )
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["f1"] == 1.0 and res["n"] == 4
    r = runner.invoke(app, ["eval", "extraction", str(_pext(tmp_path / "p.jsonl")), "-e", "fake"])
    assert r.exit_code == 0 and "recall" in r.stdout


def test_cli_eval_extraction_bad_file(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\n")
    r = runner.invoke(app, ["eval", "extraction", str(bad), "-e", "fake"])
    assert r.exit_code == 2 and "error:" in r.output and "Traceback" not in r.output


def test_evaluate_extractor_time_budget(tmp_path):
    items = list(read_labeled(_msc(tmp_path / "m.txt")))
    s = evaluate_extractor(FakeExtractor(), items, batch_size=1, max_seconds=0.0)
    assert s["n"] == 1.0


def test_cli_statements_option(tmp_path):
    msc = str(_msc(tmp_path / "m.txt"))
    r = runner.invoke(app, ["eval", "extraction", msc, "-e", "fake", "--statements", "nowhere"])
    assert r.exit_code == 2 and "'editor', 'rules'" in r.output
    # the choice only matters to the fast extractor; other extractors accept it
    r = runner.invoke(app, ["eval", "extraction", msc, "-e", "fake", "--statements", "rules",
                            "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["f1"] == 1.0
