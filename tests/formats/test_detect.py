"""Format detection: by extension, then by content."""

from __future__ import annotations

import json

import pytest

from consona.formats import detect_format, output_format, write_dialogues, write_persona
from consona.types import Persona


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.jsonl", json.dumps({"id": "x", "turns": []}), ("dialogue", "jsonl")),
        (
            "a.jsonl",
            json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
            ("dialogue", "messages"),
        ),
        (
            "a.jsonl",
            json.dumps({"conversations": [{"from": "human", "value": "hi"}]}),
            ("dialogue", "sharegpt"),
        ),
        (
            "valid.txt",
            json.dumps({"dialog": [{"id": "bot_0", "text": "hi"}], "initial_data_id": "v"}),
            ("dialogue", "msc"),
        ),
        ("pc.txt", "1 your persona: i like tea.\n2 hi\tho\n", ("dialogue", "parlai")),
        ("chat.txt", "Ada: hi\nBob: yo\n", ("dialogue", "chatlog")),
        ("facts.txt", "I like tea.\nI have a cat.\n", ("persona", "persona-txt")),
        (
            "p.json",
            json.dumps({"name": "Kai", "facts": [{"text": "I surf."}]}),
            ("persona", "persona-json"),
        ),
        (
            "d.json",
            json.dumps([{"persona": ["a ."], "turns": []}]),
            ("dialogue", "personachat-json"),
        ),
        (
            "x.csv",
            "user 1 personas,user 2 personas,Best Generated Conversation\n",
            ("dialogue", "synthetic-persona-chat"),
        ),
        # wrong or missing extension: content decides
        ("noext", json.dumps({"id": "x", "turns": []}), ("dialogue", "jsonl")),
        ("pc.log", "1 your persona: i like tea.\n2 hi\tho\n", ("dialogue", "parlai")),
    ],
)
def test_detect(tmp_path, name, content, expected):
    p = tmp_path / name
    p.write_text(content + ("\n" if not content.endswith("\n") else ""))
    assert detect_format(p) == expected


def test_detect_long_first_line(tmp_path):
    """A first JSONL line longer than the sniffed head is still recognised."""
    p = tmp_path / "big.jsonl"
    turns = [{"speaker": "a", "text": "x" * 1000}] * 100
    write_dialogues([], p)  # empty file first: nothing to detect
    p.write_text(json.dumps({"id": "x", "turns": turns}) + "\n")
    assert detect_format(p) == ("dialogue", "jsonl")


def test_detect_written_files(tmp_path, dialogues):
    for fmt, name in [
        ("parlai", "a.txt"),
        ("personachat-json", "a.json"),
        ("chatlog", "a.log"),
        ("messages", "m.jsonl"),
        ("sharegpt", "s.jsonl"),
        ("synthetic-persona-chat", "a.csv"),
        ("jsonl", "j.jsonl"),
    ]:
        write_dialogues(dialogues, tmp_path / name, fmt=fmt)
        assert detect_format(tmp_path / name) == ("dialogue", fmt)
    write_persona(Persona(name="K", facts=["I x."]), tmp_path / "p.json")
    assert detect_format(tmp_path / "p.json") == ("persona", "persona-json")


def test_output_format_by_extension(tmp_path):
    assert output_format(tmp_path / "a.jsonl") == ("dialogue", "jsonl")
    assert output_format(tmp_path / "a.txt", kind="dialogue") == ("dialogue", "parlai")
    assert output_format(tmp_path / "a.txt", kind="persona") == ("persona", "persona-txt")
    assert output_format(tmp_path / "a.json", kind="persona") == ("persona", "persona-json")
    assert output_format(tmp_path / "a.csv") == ("dialogue", "synthetic-persona-chat")
