"""``consona convert`` smoke tests with Typer's runner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from consona.cli.main import app

PARLAI = (
    "1 your persona: i like tea.\n2 partner's persona: i like coffee.\n"
    "3 hi !\thello , tea ?\n4 coffee .\tok .\n"
    "1 your persona: i surf.\n2 hey\tyo\n"
)


def _run(*args: str):
    return CliRunner().invoke(app, ["convert", *args])


def test_convert_parlai_to_jsonl_with_json_summary(tmp_path):
    src, out = tmp_path / "pc.txt", tmp_path / "pc.jsonl"
    src.write_text(PARLAI)
    res = _run(str(src), str(out), "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary == {
        "input": str(src),
        "from": "parlai",
        "output": str(out),
        "to": "jsonl",
        "dialogues": 2,
        "turns": 6,
        "personas": 3,
    }
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[0]["personas"]["self"]["facts"][0]["text"] == "i like tea."
    assert lines[1]["turns"][1] == {"speaker": "self", "text": "yo"}


def test_convert_limit_and_explicit_formats(tmp_path):
    src, out = tmp_path / "pc.data", tmp_path / "out.data"
    src.write_text(PARLAI)
    res = _run(str(src), str(out), "--from", "parlai", "--to", "messages", "--limit", "1", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["dialogues"] == 1
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(rows) == 1 and rows[0]["messages"][0]["role"] == "system"


def test_convert_summary_on_stderr_without_json(tmp_path):
    src, out = tmp_path / "pc.txt", tmp_path / "chat.log"
    src.write_text(PARLAI)
    res = _run(str(src), str(out))
    assert res.exit_code == 0
    assert res.stdout == ""
    assert "2 dialogues" in res.stderr
    assert out.read_text().startswith("partner: hi !\nself: hello , tea ?\n")


def test_convert_persona_to_jsonl_and_back(tmp_path):
    p, j, back = tmp_path / "kai.txt", tmp_path / "kai.jsonl", tmp_path / "back.json"
    p.write_text("# name: Kai\nI surf.\nI have a cat.\n")
    assert _run(str(p), str(j)).exit_code == 0
    assert json.loads(j.read_text())["personas"]["Kai"]["facts"][1]["text"] == "I have a cat."
    res = _run(str(j), str(back), "--to", "persona-json")
    assert res.exit_code == 0, res.output
    assert json.loads(back.read_text())["facts"][0]["text"] == "I surf."


def test_convert_errors_are_clean(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 your persona: i like tea.\n2 hi\tho\nbroken\n")
    out = tmp_path / "out.jsonl"
    res = _run(str(bad), str(out), "--from", "parlai")
    assert res.exit_code == 2
    assert "bad.txt, line 3" in res.stderr and "Traceback" not in res.output
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]

    res = _run(str(bad), str(out), "--from", "nope")
    assert res.exit_code == 2 and "Valid formats:" in res.stderr and "parlai" in res.stderr

    res = _run(str(tmp_path / "missing.jsonl"), str(out))
    assert res.exit_code == 2 and "no such file" in res.stderr

    res = _run(str(bad), str(bad))
    assert res.exit_code == 2 and "same file" in res.stderr

    res = _run(str(bad), str(tmp_path / "x.jsonl"), "--from", "parlai", "--to", "msc")
    assert res.exit_code == 2 and "read-only" in res.stderr


def test_convert_help_lists_formats():
    res = CliRunner().invoke(app, ["convert", "--help"])
    assert res.exit_code == 0
    for name in (
        "jsonl",
        "parlai",
        "personachat-json",
        "msc",
        "synthetic-persona-chat",
        "messages",
        "sharegpt",
        "chatlog",
        "chitchat",
        "persona-json",
        "persona-txt",
    ):
        assert name in res.stdout
