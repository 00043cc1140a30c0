"""Bad input: a FormatError naming the file, the line and what is wrong; no partial output."""

from __future__ import annotations

import json

import pytest

from consona.errors import FormatError, UnknownNameError
from consona.formats import (
    detect_format,
    read_dialogues,
    read_persona,
    write_dialogues,
    write_persona,
)
from consona.types import Dialogue, Persona, Turn


def _read_all(path, fmt=None):
    return list(read_dialogues(path, fmt=fmt))


def test_jsonl_bad_line_has_line_number(tmp_path):
    p = tmp_path / "d.jsonl"
    good = json.dumps({"id": "a", "turns": []})
    p.write_text(f'{good}\n\n{good}\n{{"id": "b", "turns": [\n')
    with pytest.raises(FormatError) as e:
        _read_all(p)
    assert e.value.line == 4 and e.value.path == str(p)
    assert "invalid JSON" in str(e.value)


def test_jsonl_invalid_dialogue_names_field_and_line(tmp_path):
    p = tmp_path / "d.jsonl"
    p.write_text(json.dumps({"id": "a", "turns": [{"speaker": "", "text": "x"}]}) + "\n")
    with pytest.raises(FormatError, match=r"line 1: .*speaker"):
        _read_all(p, "jsonl")


def test_truncated_json_array(tmp_path):
    p = tmp_path / "valid_dialogs.json"
    full = json.dumps([{"persona": ["a ."], "turns": [{"text": "x", "label": "y"}]}] * 3, indent=1)
    p.write_text(full[: len(full) // 2])
    with pytest.raises(FormatError, match="truncated") as e:
        _read_all(p)
    assert e.value.line is not None and e.value.line > 1


def test_truncated_persona_json(tmp_path):
    p = tmp_path / "kai.json"
    p.write_text('{\n  "name": "Kai",\n  "facts": [\n')
    with pytest.raises(FormatError, match="truncated"):
        read_persona(p, fmt="persona-json")


def test_parlai_broken_line(tmp_path):
    p = tmp_path / "pc.txt"
    p.write_text("1 your persona: i like tea.\n2 hi\thello\nno number here\n")
    with pytest.raises(FormatError, match="broken ParlAI line") as e:
        _read_all(p, "parlai")
    assert e.value.line == 3


def test_parlai_too_many_fields(tmp_path):
    p = tmp_path / "pc.txt"
    p.write_text("1 a\tb\tc\td\te\n")
    with pytest.raises(FormatError, match="5 tab-separated fields") as e:
        _read_all(p, "parlai")
    assert e.value.line == 1


def test_wrong_encoding_reports_the_line(tmp_path):
    p = tmp_path / "pc.txt"
    p.write_bytes("1 your persona: i like tea.\n2 caf\xe9\tok\n".encode("latin-1"))
    with pytest.raises(FormatError, match="UTF-8") as e:
        _read_all(p, "parlai")
    assert e.value.line == 2


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(FormatError, match="empty"):
        _read_all(tmp_path / "empty.jsonl")
    with pytest.raises(FormatError, match="no such file"):
        _read_all(tmp_path / "missing.jsonl")


def test_unknown_format_lists_valid_names(tmp_path):
    with pytest.raises(UnknownNameError) as e:
        read_dialogues(tmp_path / "x.jsonl", fmt="parlay")
    assert "parlai" in str(e.value) and "persona-json" in str(e.value)


def test_undetectable_file(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(FormatError, match="cannot tell the format"):
        detect_format(p)


def test_failed_write_leaves_no_partial_file(tmp_path):
    def dialogues():
        yield Dialogue(id="ok", turns=[Turn(speaker="a", text="hi")])
        raise FormatError("boom", path="in.jsonl", line=2)

    for fmt, name in [
        ("jsonl", "o.jsonl"),
        ("parlai", "o.txt"),
        ("messages", "m.jsonl"),
        ("synthetic-persona-chat", "o.csv"),
        ("personachat-json", "o.json"),
    ]:
        with pytest.raises(FormatError, match="boom"):
            write_dialogues(dialogues(), tmp_path / name, fmt=fmt)
    assert list(tmp_path.iterdir()) == []


def test_convert_from_bad_input_leaves_no_output(tmp_path):
    src = tmp_path / "pc.txt"
    src.write_text("1 your persona: i like tea.\n2 hi\thello\n3 ok\n4 a\tb\tc\td\te\n")
    out = tmp_path / "out.jsonl"
    with pytest.raises(FormatError):
        write_dialogues(read_dialogues(src), out)
    assert not out.exists()


def test_read_only_and_wrong_kind(tmp_path):
    d = Dialogue(id="x", turns=[Turn(speaker="a", text="hi")])
    with pytest.raises(FormatError, match="read-only"):
        write_dialogues([d], tmp_path / "x.txt", fmt="msc")
    write_dialogues([d, d], tmp_path / "two.jsonl")
    with pytest.raises(FormatError, match="not a persona"):
        read_persona(tmp_path / "two.jsonl")
    with pytest.raises(FormatError, match="not a persona"):
        write_dialogues([d], tmp_path / "p.json", fmt="persona-json")
    assert not (tmp_path / "p.json").exists()
    write_persona(Persona(name="k", facts=["I x."]), tmp_path / "k.txt")
    assert (tmp_path / "k.txt").read_text() == "# name: k\nI x.\n"


def test_chatlog_text_before_first_speaker(tmp_path):
    p = tmp_path / "c.log"
    p.write_text("Ada: hi\n\nno speaker here\n")
    with pytest.raises(FormatError, match="Name: text") as e:
        _read_all(p, "chatlog")
    assert e.value.line == 3


def test_msc_line_without_dialog(tmp_path):
    p = tmp_path / "valid.txt"
    p.write_text(json.dumps({"dialog": []}) + "\n" + json.dumps({"personas": []}) + "\n")
    with pytest.raises(FormatError, match="'dialog'") as e:
        _read_all(p, "msc")
    assert e.value.line == 2


def test_csv_wrong_header(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(FormatError, match="header") as e:
        _read_all(p, "synthetic-persona-chat")
    assert e.value.line == 1


@pytest.mark.parametrize(
    ("name", "fmt", "content"),
    [
        (
            "a.json",
            "personachat-json",
            b'[{"persona": [], "turns": []},\n{"persona": ["caf\xe9"]}]',
        ),
        (
            "a.csv",
            "synthetic-persona-chat",
            b'user 1 personas,user 2 personas,Best Generated Conversation\n"a","b","c"\n"\xe9","b","c"\n',
        ),
        (
            "a.jsonl",
            "messages",
            b'{"messages": []}\n{"messages": [{"role": "user", "content": "\xe9"}]}\n',
        ),
    ],
)
def test_wrong_encoding_in_other_layouts(tmp_path, name, fmt, content):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(FormatError, match="UTF-8") as e:
        _read_all(p, fmt)
    assert e.value.line == (3 if fmt == "synthetic-persona-chat" else 2)


def test_broken_json_persona_is_an_error_not_facts(tmp_path):
    from consona.errors import FormatError
    from consona.formats import read_persona

    for text in ('{"description": "x",\n "oops', "[1, 2", '{"name": "Kai", "facts": ["I surf."'):
        path = tmp_path / "p.json"
        path.write_text(text)
        with pytest.raises(FormatError) as info:
            read_persona(path)
        assert "p.json" in str(info.value)
