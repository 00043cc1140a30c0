"""Round trip of every writable dialogue and persona format on fixtures built here."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from consona.formats import read_dialogues, read_persona, write_dialogues, write_persona
from consona.formats.jsonl import json_schema
from consona.types import Dialogue, Fact, Persona, Turn

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _turns(d: Dialogue) -> list[tuple[str, str]]:
    return [(t.speaker, t.text) for t in d.turns]


def _facts(d: Dialogue) -> dict[str, list[str]]:
    return {s: p.fact_texts() for s, p in d.personas.items()}


def test_jsonl_roundtrip_is_exact(tmp_path, dialogues):
    rich = Dialogue(
        id="rich",
        turns=[Turn(speaker="Ada", text="multi\nline\ttext ✓", id="t1", meta={"k": [1, 2]})],
        personas={
            "Ada": Persona(
                name="Ada",
                facts=[Fact(text="I fly planes.", relation="has_job", object="pilot")],
                tags=["x"],
                extensions={"app": {"deep": {"a": 1}}},
                unknown_card_field={"keep": True},
            )
        },
        meta={"source": "test"},
    )
    out = tmp_path / "d.jsonl"
    assert write_dialogues([*dialogues, rich], out) == 4
    back = list(read_dialogues(out))
    assert back == [*dialogues, rich]
    assert back[-1].personas["Ada"].extra_fields() == {"unknown_card_field": {"keep": True}}


@pytest.mark.parametrize(
    ("fmt", "suffix"),
    [
        ("parlai", ".txt"),
        ("personachat-json", ".json"),
        ("messages", ".jsonl"),
        ("sharegpt", ".jsonl"),
        ("sharegpt", ".json"),
        ("messages", ".json"),
        ("synthetic-persona-chat", ".csv"),
        ("chatlog", ".log"),
    ],
)
def test_dialogue_formats_roundtrip_turns(tmp_path, dialogues, fmt, suffix):
    out = tmp_path / f"out{suffix}"
    assert write_dialogues(dialogues, out, fmt=fmt) == 3
    back = list(read_dialogues(out, fmt=fmt))
    assert len(back) == 3
    if suffix == ".json" and fmt in ("messages", "sharegpt"):
        assert isinstance(json.loads(out.read_text()), list)
    for orig, got in zip(dialogues, back, strict=True):
        if fmt == "synthetic-persona-chat":  # speakers become User 1 / User 2
            mapping = {"partner": "User 1", "self": "User 2"}
            assert _turns(got) == [(mapping[s], t) for s, t in _turns(orig)]
        else:
            assert _turns(got) == _turns(orig)


@pytest.mark.parametrize(
    ("fmt", "keeps"),
    [
        ("parlai", {"self", "partner"}),
        ("personachat-json", {"self", "partner"}),
        ("messages", {"self"}),
        ("sharegpt", {"self"}),
        ("synthetic-persona-chat", {"User 1", "User 2"}),
    ],
)
def test_dialogue_formats_roundtrip_personas(tmp_path, dialogues, fmt, keeps):
    out = tmp_path / "out.any"
    write_dialogues(dialogues, out, fmt=fmt)
    got = next(iter(read_dialogues(out, fmt=fmt)))
    assert set(got.personas) == keeps
    want = {
        "self": ["i have two dogs."],
        "partner": ["i have a cat."],
        "User 2": ["i have two dogs."],
        "User 1": ["i have a cat."],
    }
    assert _facts(got) == {k: want[k] for k in keeps}


def test_parlai_keeps_candidates_silence_and_unanswered_turns(tmp_path):
    d = Dialogue(
        id="x",
        turns=[
            Turn(speaker="self", text="i open", meta={"candidates": ["a", "i open"]}),
            Turn(speaker="partner", text="first"),
            Turn(speaker="partner", text="second\nline"),
            Turn(speaker="self", text="reply", meta={"reward": 1.0, "candidates": ["x", "reply"]}),
            Turn(speaker="partner", text="last word"),
        ],
    )
    for fmt in ("parlai", "personachat-json"):
        out = tmp_path / f"x.{fmt}"
        write_dialogues([d], out, fmt=fmt)
        back = next(iter(read_dialogues(out, fmt=fmt)))
        assert _turns(back) == _turns(d), fmt
        assert back.turns[0].meta["candidates"] == ["a", "i open"]
        assert back.turns[3].meta == {"reward": 1.0, "candidates": ["x", "reply"]}


def test_messages_names_speakers_and_renders_persona(tmp_path, make_dialogue):
    d = make_dialogue(a="Ann", b="Bot")
    out = tmp_path / "m.jsonl"
    write_dialogues([d], out, fmt="messages")
    line = json.loads(out.read_text().splitlines()[0])
    assert [m["role"] for m in line["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert "- i have two dogs." in line["messages"][0]["content"]
    back = next(iter(read_dialogues(out)))  # detected as messages
    assert back.id == d.id and _turns(back) == _turns(d)
    assert back.personas["Bot"].fact_texts() == ["i have two dogs."]


def test_persona_formats_roundtrip(tmp_path):
    p = Persona(
        name="Kai",
        facts=["I surf every morning.", "I have a cat."],
        description="A surfer.",
        extensions={"x": {"y": 1}},
        odd_field=3,
    )
    write_persona(p, tmp_path / "kai.json")
    assert read_persona(tmp_path / "kai.json") == p
    write_persona(p, tmp_path / "kai.txt")
    back = read_persona(tmp_path / "kai.txt")
    assert (back.name, back.fact_texts()) == ("Kai", p.fact_texts())


def test_persona_to_jsonl_and_back(tmp_path):
    p = Persona(name="Kai", facts=["I surf."])
    write_persona(p, tmp_path / "kai.json")
    n = write_dialogues(read_dialogues(tmp_path / "kai.json"), tmp_path / "kai.jsonl")
    assert n == 1
    d = next(iter(read_dialogues(tmp_path / "kai.jsonl")))
    assert d.turns == [] and d.personas["Kai"] == p
    assert read_persona(tmp_path / "kai.jsonl") == p


def test_schema_file_matches_models_and_validates_writer_output(tmp_path, dialogues):
    on_disk = json.loads((DOCS / "consona-jsonl.schema.json").read_text())
    assert on_disk == json_schema(), "regenerate docs/consona-jsonl.schema.json"
    validator = jsonschema.Draft202012Validator(on_disk)
    rich = Dialogue(
        id="r",
        turns=[Turn(speaker="a", text="t", meta={"m": 1})],
        personas={"a": Persona(name="a", facts=["I x."], tags=["t"], zz=1)},
        meta={"k": "v"},
    )
    out = tmp_path / "d.jsonl"
    write_dialogues([*dialogues, rich], out)
    for line in out.read_text().splitlines():
        validator.validate(json.loads(line))
    assert not validator.is_valid({"id": "x", "turns": [{"speaker": "a"}]})
    assert not validator.is_valid({"turns": []})
