from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from consona.cli.main import app

runner = CliRunner()
BASE = ["chat", "--backend", "fake", "--nli", "fake", "--coherence", "lexical"]


def run(args, text):
    return runner.invoke(app, args, input=text)


def test_piped_chat_with_commands_and_save(tmp_path):
    out = tmp_path / "chat.jsonl"
    r = run(
        [*BASE, "--candidates", "2"],
        f"hello\n/facts\n/why\n\n/nonsense\n/persona\nhow are you?\n/save {out}\n/quit\n"
        "never reached\n",
    )
    assert r.exit_code == 0, r.output
    assert "Mira>" in r.stdout
    assert "I have a grey cat named Pepper." in r.stdout  # /facts
    assert "candidates" in r.stdout  # /why table
    assert "turn took" in r.stdout and "judging" in r.stdout  # /why timing
    assert "unknown command /nonsense" in r.stderr
    assert "empty message" in r.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 1
    d = json.loads(lines[0])
    texts = [t["text"] for t in d["turns"]]
    assert texts[1:] == [
        "hello",
        "I'm not sure what to say.",
        "how are you?",
        "I'm not sure what to say.",
    ]
    assert d["personas"]["Mira"]["facts"][0]["text"].startswith("I am a lighthouse keeper")
    assert "never reached" not in r.stdout


def test_errors_keep_chat_going(tmp_path):
    long = "word " * 5000
    r = run(BASE, f"{long}\nhi\n/save\n/save {tmp_path}/no/such/../x/\n/reset\n/why\n")
    assert r.exit_code == 0, r.output
    assert "too long" in r.stderr
    assert r.stdout.count("I'm not sure what to say.") == 1
    assert "/save needs a file name" in r.stderr
    assert "(no reply yet)" in r.stderr  # /why after /reset


def test_custom_persona_card(tmp_path):
    card = tmp_path / "card.json"
    card.write_text(
        json.dumps(
            {
                "spec": "chara_card_v2",
                "spec_version": "2.0",
                "data": {
                    "name": "Kai",
                    "description": "Kai is a surfer. He has a van.",
                    "first_mes": "Yo {{user}}!",
                },
            }
        )
    )
    r = run(BASE, "/facts\n")
    assert r.exit_code == 0
    r = run([*BASE, "--persona", str(card)], "/facts\n")
    assert r.exit_code == 0, r.output
    assert "Kai> Yo you!" in r.stdout
    assert "I am a surfer." in r.stdout and "I have a van." in r.stdout


def test_bad_persona_and_backend_names(tmp_path):
    r = run([*BASE, "--persona", str(tmp_path / "missing.json")], "hi\n")
    assert r.exit_code == 2 and "no such persona file" in r.stderr
    assert "Traceback" not in r.output
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "A", "facts": [')  # truncated
    r = run([*BASE, "--persona", str(bad)], "hi\n")
    assert r.exit_code == 2 and "bad.json" in r.stderr
    r = run(["chat", "--backend", "nope"], "hi\n")
    assert r.exit_code == 2 and "Valid backends: fake, llamacpp, openai, transformers" in r.stderr
    r = run(["chat", "--backend", "llamacpp", "--model", str(tmp_path / "x.gguf")], "hi\n")
    assert r.exit_code == 3 and "No model at" in r.stderr and "consona models setup" in r.stderr
    corrupt = tmp_path / "c.gguf"
    corrupt.write_bytes(b"NOPE" + b"\0" * 64)
    r = run(["chat", "--backend", "llamacpp", "--model", str(corrupt)], "hi\n")
    assert r.exit_code == 3 and "not a GGUF" in r.stderr


def test_autosave_after_every_reply(tmp_path):
    out = tmp_path / "auto.jsonl"
    r = run([*BASE, "--save", str(out)], "first\nsecond\n")
    assert r.exit_code == 0, r.output
    turns = json.loads(out.read_text())["turns"]
    assert [t["text"] for t in turns if t["speaker"] == "user"] == ["first", "second"]
    assert not list(tmp_path.glob(".auto.jsonl.*"))  # no temp files left behind


@pytest.mark.slow  # waits out the backend's 3 retries with backoff: ~3.5 s
def test_openai_server_down_keeps_chat_going(tmp_path):
    r = run(
        [
            "chat",
            "--backend",
            "openai",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "--nli",
            "none",
            "--coherence",
            "lexical",
            "--candidates",
            "1",
        ],
        f"hello\n/save {tmp_path / 'x.jsonl'}\n",
    )
    assert r.exit_code == 0, r.output
    assert "cannot connect" in r.stderr and "message not sent" in r.stderr
    assert "saved 1 turns" in r.stderr  # the greeting is kept
    r = run([*BASE, "--base-url", "http://x/v1"], "hi\n")
    assert r.exit_code == 2 and "--base-url needs --backend openai" in r.stderr
