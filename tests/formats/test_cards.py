"""Character Card JSON (V1/V2/V3) ⇄ Persona mapping, card-json format, round trips."""

from __future__ import annotations

import base64
import copy
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from consona.cli.main import app
from consona.errors import ConsonaError, FormatError
from consona.formats.base import PERSONA_FORMATS
from consona.formats.cards import (
    RESERVED,
    CardJSON,
    CardPNG,
    card_from_persona,
    persona_from_card,
    read_card_png,
    sniff_card_json,
)
from consona.types import Fact, Persona


def realistic_v2_card() -> dict:
    """A SillyTavern-style V2 card: V1 fields mirrored at the top level, app-specific
    top-level fields, a character book with extensions, nested extensions."""
    data = {
        "name": "Captain Mira Vale",
        "description": "{{char}} keeps the Northpoint lighthouse. Weathered, dry humour.",
        "personality": "stoic, kind, superstitious about storms",
        "scenario": "{{user}} washes ashore during a gale.",
        "first_mes": '*The door creaks.* "You\'re soaked. Sit by the fire."',
        "mes_example": "<START>\n{{user}}: Who are you?\n{{char}}: The keeper. Tea?",
        "creator_notes": "Works best with slow-burn adventure. ünïcødé ✓",
        "system_prompt": "",
        "post_history_instructions": "Stay in character.",
        "alternate_greetings": ["*She lowers the lamp.* Another one from the wreck?"],
        "character_book": {
            "name": "Northpoint lore",
            "description": "places and people",
            "scan_depth": 4,
            "token_budget": 512,
            "recursive_scanning": False,
            "extensions": {"risu_fullWordMatching": True},
            "entries": [
                {
                    "keys": ["lighthouse", "lamp"],
                    "secondary_keys": ["storm"],
                    "content": "The lamp has not gone dark in 40 years.",
                    "extensions": {"position": 0, "depth": 4, "weight": 10, "probability": 100},
                    "enabled": True,
                    "insertion_order": 100,
                    "case_sensitive": False,
                    "name": "Lamp",
                    "priority": 10,
                    "id": 0,
                    "comment": "",
                    "selective": True,
                    "constant": False,
                    "position": "before_char",
                },
                {
                    "keys": ["Tobias"],
                    "content": "Tobias was Mira's brother, lost at sea.",
                    "extensions": {},
                    "enabled": False,
                    "insertion_order": 50,
                    "use_regex": False,
                },
            ],
        },
        "tags": ["maritime", "slow burn"],
        "creator": "anon",
        "character_version": "1.2",
        "extensions": {
            "talkativeness": "0.5",
            "fav": False,
            "world": "Northpoint lore",
            "depth_prompt": {"prompt": "Mira hates thunder.", "depth": 4, "role": "system"},
            "regex_scripts": [{"scriptName": "x", "findRegex": "/a/g", "flags": [1, 2.5, None]}],
        },
        "mood": "wistful",  # unknown data field
    }
    top = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": data,
        # SillyTavern writes V1 fields at the top level too, plus its own fields
        "name": data["name"],
        "description": data["description"],
        "first_mes": data["first_mes"],
        "avatar": "none",
        "chat": "Captain Mira Vale - 2024-01-01@12h00m00s",
        "talkativeness": "0.5",
        "create_date": "2024-01-01T12:00:00.000Z",
        "creatorcomment": "old-style note",
    }
    return top


def v3_card() -> dict:
    return {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {
            "name": "Ada",
            "description": "An engineer.",
            "personality": "",
            "scenario": "",
            "first_mes": "Hello.",
            "mes_example": "",
            "creator_notes": "",
            "system_prompt": "",
            "post_history_instructions": "",
            "alternate_greetings": [],
            "group_only_greetings": ["Hi all."],
            "tags": [],
            "creator": "",
            "character_version": "",
            "nickname": "Addy",
            "creator_notes_multilingual": {"fr": "Une ingénieure."},
            "source": ["https://example.invalid/ada"],
            "creation_date": 1700000000,
            "modification_date": 1700000500,
            "assets": [
                {"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"},
                {
                    "type": "background",
                    "uri": "https://example.invalid/bg.png",
                    "name": "bg",
                    "ext": "png",
                },
            ],
            "extensions": {"deep": {"a": [{"b": {"c": [1, 2, {"d": None}]}}]}},
            "x_unknown": {"kept": True},
        },
        "x_top": [1, 2, 3],
    }


def test_v2_fields_map_to_persona_fields():
    card = realistic_v2_card()
    p = persona_from_card(card)
    assert p.name == "Captain Mira Vale"
    assert p.personality == "stoic, kind, superstitious about storms"
    assert p.character_book is not None
    assert p.character_book["entries"][0]["keys"] == ["lighthouse", "lamp"]
    assert p.extensions is not None and p.extensions["depth_prompt"]["depth"] == 4
    assert p.extra_fields()["mood"] == "wistful"
    assert p.facts == []  # no consona facts in the card: the agent derives them
    assert card == realistic_v2_card()  # input not modified


def test_v2_card_round_trips_through_persona():
    card = realistic_v2_card()
    assert card_from_persona(persona_from_card(card), spec="v2") == card


def test_v2_card_json_png_json_unchanged(tmp_path: Path):
    card = realistic_v2_card()
    src = tmp_path / "mira.json"
    src.write_text(json.dumps(card), encoding="utf-8")
    persona = CardJSON().read_persona(src)
    CardPNG().write_persona(persona, tmp_path / "mira.png")
    assert read_card_png(tmp_path / "mira.png") == (card, "chara")  # V2 stays V2
    back = CardPNG().read_persona(tmp_path / "mira.png")
    CardJSON().write_persona(back, tmp_path / "out.json")
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == card


def test_v3_unknown_fields_and_nested_extensions_round_trip(tmp_path: Path):
    card = v3_card()
    p = persona_from_card(card)
    assert p.nickname == "Addy" and p.group_only_greetings == ["Hi all."]
    assert p.extra_fields()["x_unknown"] == {"kept": True}
    assert p.extra_fields()[RESERVED]["top"] == {"x_top": [1, 2, 3]}
    # through consona's own persona dict (what persona-json stores) and back
    again = Persona.from_dict(json.loads(json.dumps(p.to_dict())))
    assert card_from_persona(again, spec="v3") == card
    # card-json keeps V3 for a V3 persona
    CardJSON().write_persona(again, tmp_path / "ada.json")
    assert json.loads((tmp_path / "ada.json").read_text(encoding="utf-8")) == card


def test_values_that_do_not_fit_the_persona_types_are_kept_verbatim():
    card = {
        "spec": "chara_card_v2",
        "spec_version": "2.0",
        "data": {
            "name": "N",
            "description": None,
            "character_version": 3,  # spec says string
            "tags": "not-a-list",
            "creation_date": "1700000000",
            "facts": ["clashes with consona's own field"],
            "_card": "clashes with the reserved field",
            "x_null": None,
        },
    }
    p = persona_from_card(card)
    assert p.description is None and p.character_version is None and p.facts == []
    assert card_from_persona(p) == card
    # also through consona's persona dict, which leaves out null fields
    assert card_from_persona(Persona.from_dict(json.loads(json.dumps(p.to_dict())))) == card


def test_null_name_missing_fields_and_odd_spec_version_round_trip():
    card = {"spec": "chara_card_v2", "spec_version": "2.1", "data": {"name": None}}
    p = persona_from_card(card)
    assert p.name == ""
    assert card_from_persona(p, spec="v2") == card
    nameless = {"spec": "chara_card_v3", "data": {"description": "no name, no version"}}
    assert card_from_persona(persona_from_card(nameless), spec="v3") == nameless
    # written as the other spec, the version is that spec's and required fields are filled
    as_v2 = card_from_persona(persona_from_card(nameless), spec="v2")
    assert as_v2["spec_version"] == "2.0" and as_v2["data"]["tags"] == []


def test_facts_are_stored_in_extensions_and_read_back():
    persona = Persona(
        name="Kai",
        facts=[
            Fact(text="I surf every morning.", relation="like_activity", object="surfing"),
            Fact(text="I have a dog.", confidence=0.9),
        ],
        extensions={"consona": {"version": 1}, "other": {"x": 1}},
    )
    card = card_from_persona(persona, spec="v3")
    ext = card["data"]["extensions"]
    assert ext["other"] == {"x": 1}
    assert ext["consona"]["version"] == 1
    assert [f["text"] for f in ext["consona"]["facts"]] == [
        "I surf every morning.",
        "I have a dog.",
    ]
    back = persona_from_card(card)
    assert back.facts == persona.facts
    assert back.extensions == {"consona": {"version": 1}, "other": {"x": 1}}
    assert card_from_persona(back, spec="v3") == card


def test_export_fills_required_fields_of_the_spec():
    v2 = card_from_persona(Persona(name="Solo"), spec="v2")
    assert v2["spec"] == "chara_card_v2" and v2["spec_version"] == "2.0"
    assert v2["data"]["first_mes"] == "" and v2["data"]["alternate_greetings"] == []
    assert v2["data"]["extensions"] == {}
    assert "group_only_greetings" not in v2["data"]
    v3 = card_from_persona(Persona(name="Solo"), spec="v3")
    assert v3["spec"] == "chara_card_v3" and v3["spec_version"] == "3.0"
    assert v3["data"]["group_only_greetings"] == []


def test_v1_card_import_and_export_as_v2():
    v1 = {
        "name": "Old Tom",
        "description": "A fisherman.",
        "personality": "gruff",
        "scenario": "the docks",
        "first_mes": "Eh?",
        "mes_example": "",
        "avatar": "tom.png",  # not a V1 field: kept at the top level
    }
    p = persona_from_card(v1)
    assert (p.name, p.description, p.first_mes) == ("Old Tom", "A fisherman.", "Eh?")
    v2 = card_from_persona(p, spec="v2")
    assert v2["spec"] == "chara_card_v2"
    assert v2["data"]["scenario"] == "the docks"
    assert v2["data"]["creator_notes"] == ""
    assert v2["avatar"] == "tom.png"


def test_v1_card_file_reads_through_card_json(tmp_path: Path):
    path = tmp_path / "tom.json"
    path.write_text(json.dumps({"name": "Tom", "first_mes": "Eh?", "description": "d"}))
    assert sniff_card_json(path.read_bytes())
    assert CardJSON().read_persona(path).first_mes == "Eh?"


def test_edited_persona_updates_mirrored_top_level_fields():
    p = persona_from_card(realistic_v2_card())
    p.description = "Retired keeper."
    card = card_from_persona(p)
    assert card["data"]["description"] == card["description"] == "Retired keeper."
    assert card["creatorcomment"] == "old-style note"


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (realistic_v2_card(), True),
        (v3_card(), True),
        ({"name": "Tom", "first_mes": "Eh?"}, True),
        ({"name": "Kai", "facts": [{"text": "I surf."}], "description": "x"}, False),
        ({"spec": "something_else", "data": {}}, False),
        ({"turns": [], "id": "d1"}, False),
        ([1, 2], False),
    ],
)
def test_sniff_card_json(obj, expected):
    assert sniff_card_json(json.dumps(obj).encode()) is expected


def test_sniff_on_a_head_cut_inside_a_big_card():
    card = realistic_v2_card()
    card["data"]["description"] = "x" * 100_000
    head = json.dumps({"spec": card["spec"], "data": card["data"]}).encode()[:4096]
    assert sniff_card_json(head)
    # consona's persona JSON (Persona.to_dict order: name, facts, card fields)
    persona = Persona(name="Kai", facts=["I surf."], description="y" * 10_000)
    persona = json.dumps(persona.to_dict()).encode()
    assert not sniff_card_json(persona[:4096])
    jsonl = b'{"name": "a", "description": "b"}\n{"name": "c", "description": "d"}\n'
    assert not sniff_card_json(jsonl)


def test_truncated_json_names_file_and_line(tmp_path: Path):
    path = tmp_path / "broken.json"
    text = json.dumps(realistic_v2_card(), indent=2)
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(FormatError) as info:
        CardJSON().read_persona(path)
    msg = str(info.value)
    assert "broken.json" in msg and "line" in msg and "truncated" in msg
    assert info.value.line is not None and info.value.line > 1


def test_unsupported_spec_and_bad_data_are_format_errors(tmp_path: Path):
    path = tmp_path / "v9.json"
    path.write_text(json.dumps({"spec": "chara_card_v9", "data": {}}))
    with pytest.raises(FormatError, match="unsupported card spec 'chara_card_v9'"):
        CardJSON().read_persona(path)
    path.write_text(json.dumps({"spec": "chara_card_v2", "data": []}))
    with pytest.raises(FormatError, match="'data' of a chara_card_v2 card must be an object"):
        CardJSON().read_persona(path)
    path.write_text("[1, 2]")
    with pytest.raises(FormatError, match="must be a JSON object"):
        CardJSON().read_persona(path)


def test_bad_consona_facts_name_their_position(tmp_path: Path):
    card = copy.deepcopy(v3_card())
    card["data"]["extensions"]["consona"] = {"facts": [{"text": "ok"}, {"text": "  "}]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(card))
    with pytest.raises(FormatError, match=r"bad\.json.*consona\.facts\[1\]"):
        CardJSON().read_persona(path)


def test_failed_write_leaves_no_file(tmp_path: Path):
    p = Persona(name="X", facts=["I exist."], extensions={"consona": "not an object"})
    out = tmp_path / "x.json"
    with pytest.raises(ConsonaError):
        CardJSON().write_persona(p, out)
    assert list(tmp_path.iterdir()) == []


def test_registered_names_and_forced_specs(tmp_path: Path):
    names = set(PERSONA_FORMATS.names())
    expected = {
        "card-json",
        "card-json-v2",
        "card-json-v3",
        "card-png",
        "card-png-v2",
        "card-png-v3",
        "charx",
    }
    assert expected <= names
    for name in expected:
        fmt = PERSONA_FORMATS.create(name)
        assert fmt.name == name and fmt.can_write
    v2_persona = persona_from_card(realistic_v2_card())
    PERSONA_FORMATS.create("card-json-v3").write_persona(v2_persona, tmp_path / "v3.json")
    out = json.loads((tmp_path / "v3.json").read_text(encoding="utf-8"))
    assert out["spec"] == "chara_card_v3" and out["spec_version"] == "3.0"
    assert out["data"]["character_book"] == realistic_v2_card()["data"]["character_book"]
    # only the auto formats sniff, so detection is unambiguous
    head = (tmp_path / "v3.json").read_bytes()
    assert PERSONA_FORMATS.create("card-json").sniff(tmp_path / "v3.json", head)
    assert not PERSONA_FORMATS.create("card-json-v2").sniff(tmp_path / "v3.json", head)


def test_unknown_spec_choice_lists_valid_ones():
    with pytest.raises(FormatError, match="'auto', 'v2' or 'v3'"):
        CardJSON(spec="v4")  # type: ignore[arg-type]


# --- no local paths in outputs; conversions reach a fixed point ---------------------------


def _convert(*args: str) -> None:
    res = CliRunner().invoke(app, ["convert", *args])
    assert res.exit_code == 0, res.output


def _written_text(path: Path) -> str:
    """What a file records, readable (a PNG's text chunks decoded: card chunks are base64)."""
    if not path.read_bytes().startswith(b"\x89PNG"):
        return path.read_text(encoding="utf-8")
    with Image.open(path) as im:
        im.load()
        chunks = dict(im.text)
    assert {"chara"} <= set(chunks)
    return " ".join(
        base64.b64decode(v).decode("utf-8") if k in ("chara", "ccv3") else f"{k} {v}"
        for k, v in chunks.items()
    )


def v3_card_with_book() -> dict:
    card = v3_card()
    card["data"]["character_book"] = copy.deepcopy(realistic_v2_card()["data"]["character_book"])
    return card


@pytest.mark.parametrize(
    ("card", "spec"), [(realistic_v2_card(), "v2"), (v3_card_with_book(), "v3")], ids=["v2", "v3"]
)
def test_convert_png_json_png_json_is_a_fixed_point_without_paths(tmp_path: Path, card, spec):
    for d in ("a", "b", "c", "d"):
        (tmp_path / d).mkdir()
    png = tmp_path / "a" / "mira.png"
    CardPNG(spec=spec).write_persona(persona_from_card(card), png)
    first, again, second = (
        tmp_path / "b" / "p.json",
        tmp_path / "c" / "x.png",
        tmp_path / "d" / "q.json",
    )
    _convert(str(png), str(first))
    _convert(str(first), str(again))
    _convert(str(again), str(second))
    assert second.read_bytes() == first.read_bytes()  # the same JSON the second time
    persona = json.loads(first.read_text(encoding="utf-8"))
    assert persona["character_book"] == card["data"]["character_book"]
    assert "source" not in persona[RESERVED]
    assert read_card_png(again)[0] == card  # and the card itself is unchanged
    for out in (first, again, second):
        text = _written_text(out)
        assert str(tmp_path) not in text and "mira.png" not in text


def test_no_written_format_records_the_cards_local_path(tmp_path: Path):
    src = tmp_path / "cards" / "mira.png"
    src.parent.mkdir()
    CardPNG().write_persona(persona_from_card(realistic_v2_card()), src)
    from consona.formats import api

    writable = [n for n in api.format_names() if api.get_format(n).can_write]
    assert {"persona-json", "jsonl", "card-png", "charx"} <= set(writable)
    for name in writable:
        out = tmp_path / f"out-{name}"
        _convert(str(src), str(out), "--to", name)
        if name == "charx":
            with zipfile.ZipFile(out) as zf:
                text = zf.read("card.json").decode("utf-8")
        else:
            text = _written_text(out)
        assert str(tmp_path) not in text and "mira.png" not in text, name


def test_a_recorded_local_path_in_an_old_persona_json_is_not_copied_on(tmp_path: Path):
    persona = persona_from_card(realistic_v2_card()).to_dict()
    persona[RESERVED]["source"] = {"kind": "png", "path": "/home/someone/cards/mira.png"}
    old = tmp_path / "old.json"
    old.write_text(json.dumps(persona), encoding="utf-8")
    _convert(str(old), str(tmp_path / "new.json"))
    new = json.loads((tmp_path / "new.json").read_text(encoding="utf-8"))
    assert "source" not in new[RESERVED]
    del persona[RESERVED]["source"]
    assert new == persona
