"""CHARX (zip with card.json + assets): read/write round trip, carried assets, bad input."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from consona.cli.main import app
from consona.errors import FormatError
from consona.formats.cards import CardJSON, CardPNG, CharX, read_card_png, read_charx
from consona.types import Persona


def icon_bytes(colour=(1, 2, 3), fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), colour).save(buf, format=fmt)
    return buf.getvalue()


def charx_card() -> dict:
    return {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {
            "name": "Risu",
            "description": "A cat.",
            "personality": "",
            "scenario": "",
            "first_mes": "Mrrp.",
            "mes_example": "",
            "creator_notes": "",
            "system_prompt": "",
            "post_history_instructions": "",
            "alternate_greetings": [],
            "group_only_greetings": [],
            "tags": ["cat"],
            "creator": "me",
            "character_version": "1",
            "assets": [
                {
                    "type": "icon",
                    "uri": "embeded://assets/icon/images/main.webp",
                    "name": "main",
                    "ext": "webp",
                },
                {
                    "type": "emotion",
                    "uri": "embeded://assets/emotion/images/happy.png",
                    "name": "happy",
                    "ext": "png",
                },
                {
                    "type": "background",
                    "uri": "https://example.invalid/bg.png",
                    "name": "bg",
                    "ext": "png",
                },
            ],
            "extensions": {"risuai": {"utilityBot": False, "sourceMap": {"a": "b"}}},
        },
    }


def make_charx(path: Path, card: dict | None = None, *, card_text: str | None = None) -> dict:
    entries = {
        "assets/icon/images/main.webp": icon_bytes((9, 99, 199), "WEBP"),
        "assets/emotion/images/happy.png": icon_bytes((255, 255, 0)),
        "x_meta/1.json": b'{"type": "WEBP"}',
        "module.risum": bytes(range(256)) * 4,
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        if card_text is not None:
            zf.writestr("card.json", card_text)
        elif card is not None:
            zf.writestr("card.json", json.dumps(card))
        for name, data in entries.items():
            zf.writestr(name, data, compress_type=zipfile.ZIP_STORED)
    return entries


def test_charx_read_write_round_trip(tmp_path: Path):
    card = charx_card()
    src = tmp_path / "risu.charx"
    entries = make_charx(src, card)
    persona = CharX().read_persona(src)
    assert persona.name == "Risu" and persona.assets == card["data"]["assets"]
    assert persona.extensions == {"risuai": {"utilityBot": False, "sourceMap": {"a": "b"}}}
    out = tmp_path / "copy.charx"
    CharX().write_persona(persona, out)
    got, names = read_charx(out)
    assert got == card
    assert sorted(names) == sorted(entries)
    with zipfile.ZipFile(out) as zf:
        for name, data in entries.items():
            assert zf.read(name) == data
        assert zf.testzip() is None


def test_charx_from_plain_persona_has_only_card_json(tmp_path: Path):
    out = tmp_path / "ada.charx"
    CharX().write_persona(Persona(name="Ada", facts=["I fix engines."]), out)
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["card.json"]
        card = json.loads(zf.read("card.json"))
    assert card["spec"] == "chara_card_v3"
    back = CharX().read_persona(out)
    assert back.fact_texts() == ["I fix engines."]


def test_charx_to_png_uses_the_embedded_icon(tmp_path: Path):
    src = tmp_path / "risu.charx"
    make_charx(src, charx_card())
    persona = CharX().read_persona(src)
    out = tmp_path / "risu.png"
    CardPNG().write_persona(persona, out)  # V3 persona: both chunks
    got, kw = read_card_png(out)
    assert kw == "ccv3" and got == charx_card()
    with Image.open(out) as im:
        assert im.size == (4, 4)
        assert im.convert("RGB").getpixel((0, 0))[2] > 150  # the blue-ish icon, not a placeholder


def test_charx_card_via_card_json_keeps_v3(tmp_path: Path):
    src = tmp_path / "risu.charx"
    make_charx(src, charx_card())
    CardJSON().write_persona(CharX().read_persona(src), tmp_path / "risu.json")
    assert json.loads((tmp_path / "risu.json").read_text(encoding="utf-8")) == charx_card()


def test_missing_embedded_assets_are_an_error_and_nothing_is_written(tmp_path: Path):
    src = tmp_path / "risu.charx"
    make_charx(src, charx_card())
    persona = CharX().read_persona(src)
    src.unlink()
    out = tmp_path / "out.charx"
    with pytest.raises(FormatError, match=r"assets/icon/images/main\.webp"):
        CharX().write_persona(persona, out)
    assert list(tmp_path.iterdir()) == []


def test_charx_without_card_json(tmp_path: Path):
    path = tmp_path / "empty.charx"
    make_charx(path, None)
    with pytest.raises(FormatError, match=r"empty\.charx.*no card\.json"):
        CharX().read_persona(path)


def test_charx_with_truncated_card_json(tmp_path: Path):
    path = tmp_path / "cut.charx"
    text = json.dumps(charx_card(), indent=2)
    make_charx(path, card_text=text[: len(text) // 3])
    with pytest.raises(FormatError) as info:
        CharX().read_persona(path)
    assert "cut.charx" in str(info.value) and "card.json is not valid JSON" in str(info.value)
    assert info.value.line is not None


def test_not_a_zip(tmp_path: Path):
    path = tmp_path / "fake.charx"
    path.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(FormatError, match=r"fake\.charx.*not a CHARX"):
        CharX().read_persona(path)


def test_sniff_charx(tmp_path: Path):
    path = tmp_path / "risu.charx"
    make_charx(path, charx_card())
    head = path.read_bytes()[:4096]
    assert CharX().sniff(path, head)
    assert CharX().sniff(tmp_path / "risu.zip", head)  # card.json is the first entry
    assert not CharX().sniff(path, b'{"spec": "chara_card_v3"}')


def _convert(*args: str):
    return CliRunner().invoke(app, ["convert", *args])


def test_charx_json_png_json_is_a_fixed_point_without_paths(tmp_path: Path):
    src = tmp_path / "in" / "risu.charx"
    src.parent.mkdir()
    card = charx_card()
    card["data"]["character_book"] = {"entries": [{"keys": ["cat"], "content": "Risu purrs."}]}
    make_charx(src, card)
    first, png, second = tmp_path / "a.json", tmp_path / "b.png", tmp_path / "c.json"
    for a, b in ((src, first), (first, png), (png, second)):
        res = _convert(str(a), str(b))
        assert res.exit_code == 0, res.output
    assert second.read_bytes() == first.read_bytes()
    text = first.read_text(encoding="utf-8")
    assert str(tmp_path) not in text and "risu.charx" not in text
    assert read_card_png(png)[0] == card


def test_charx_via_json_back_to_charx_names_the_missing_assets(tmp_path: Path):
    src = tmp_path / "risu.charx"
    make_charx(src, charx_card())
    assert _convert(str(src), str(tmp_path / "risu.json")).exit_code == 0
    res = _convert(str(tmp_path / "risu.json"), str(tmp_path / "back.charx"))
    assert res.exit_code != 0 and "assets/icon/images/main.webp" in res.output
    assert "convert from the CHARX itself" in " ".join(res.output.split())
    assert not (tmp_path / "back.charx").exists()
    # straight from the CHARX, the assets are carried
    assert _convert(str(src), str(tmp_path / "copy.charx")).exit_code == 0
    with zipfile.ZipFile(tmp_path / "copy.charx") as zf:
        assert "assets/icon/images/main.webp" in zf.namelist()
