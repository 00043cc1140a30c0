"""Character cards in PNG text chunks: precedence, writing, bad input, no network."""

from __future__ import annotations

import base64
import io
import json
import socket
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from consona.errors import FormatError
from consona.formats.cards import (
    CardJSON,
    CardPNG,
    CharX,
    persona_from_card,
    placeholder_png,
    read_card_png,
    write_card_png,
)
from consona.types import Persona

SIG = b"\x89PNG\r\n\x1a\n"


def chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def text_chunk(keyword: str, payload: bytes) -> bytes:
    return chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + payload)


def b64(card: dict) -> bytes:
    return base64.b64encode(json.dumps(card).encode("utf-8"))


def card(name: str, spec: str = "chara_card_v2") -> dict:
    version = "3.0" if spec.endswith("v3") else "2.0"
    return {"spec": spec, "spec_version": version, "data": {"name": name}}


def png_with(*extra: bytes, after_idat: bool = True) -> bytes:
    """A real 2x2 image with ``extra`` chunks placed after (or before) the image data."""
    buf = io.BytesIO()
    Image.new("RGB", (2, 2), (10, 200, 30)).save(buf, format="PNG")
    raw = buf.getvalue()
    iend = raw.rindex(b"IEND") - 4
    if after_idat:
        return raw[:iend] + b"".join(extra) + raw[iend:]
    ihdr_end = 8 + 12 + 13
    return raw[:ihdr_end] + b"".join(extra) + raw[ihdr_end:]


def keywords(path: Path) -> list[str]:
    data = path.read_bytes()
    pos, out = 8, []
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        if ctype == b"tEXt":
            out.append(data[pos + 8 : pos + 8 + length].split(b"\0")[0].decode())
        pos += 12 + length
    return out


@pytest.mark.parametrize("v3_first", [True, False])
def test_v3_chunk_wins_over_chara(tmp_path: Path, v3_first: bool):
    chunks = [
        text_chunk("chara", b64(card("Old"))),
        text_chunk("ccv3", b64(card("New", "chara_card_v3"))),
    ]
    if v3_first:
        chunks.reverse()
    path = tmp_path / "both.png"
    path.write_bytes(png_with(*chunks))
    got, keyword = read_card_png(path)
    assert keyword == "ccv3" and got["data"]["name"] == "New"
    p = CardPNG().read_persona(path)
    assert p.name == "New"


def test_first_chunk_of_a_keyword_counts_and_keywords_ignore_case(tmp_path: Path):
    path = tmp_path / "dup.png"
    path.write_bytes(
        png_with(text_chunk("Chara", b64(card("First"))), text_chunk("chara", b64(card("Second"))))
    )
    assert read_card_png(path)[0]["data"]["name"] == "First"


def test_chunk_before_image_data_and_compressed_chunks(tmp_path: Path):
    path = tmp_path / "early.png"
    path.write_bytes(png_with(text_chunk("chara", b64(card("Early"))), after_idat=False))
    assert read_card_png(path)[0]["data"]["name"] == "Early"
    ztxt = chunk(b"zTXt", b"chara\0\0" + zlib.compress(b64(card("Zed"))))
    path.write_bytes(png_with(ztxt))
    assert read_card_png(path)[0]["data"]["name"] == "Zed"
    itxt = chunk(b"iTXt", b"ccv3\0\x01\0en\0\0" + zlib.compress(b64(card("Ito", "chara_card_v3"))))
    path.write_bytes(png_with(itxt))
    assert read_card_png(path) == (card("Ito", "chara_card_v3"), "ccv3")


def test_v3_export_writes_both_chunks(tmp_path: Path):
    persona = Persona(name="Ada", nickname="A", facts=["I fix engines."])
    out = tmp_path / "ada.png"
    CardPNG(spec="v3").write_persona(persona, out)
    assert keywords(out) == ["chara", "ccv3"]
    v3, kw = read_card_png(out)
    assert kw == "ccv3" and v3["spec"] == "chara_card_v3" and v3["data"]["nickname"] == "A"
    # the chara chunk is the V2 view of the same card
    out2 = tmp_path / "v2only.png"
    write_card_png(out2, {"chara": read_v2_view(out)})
    v2, kw2 = read_card_png(out2)
    assert kw2 == "chara" and v2["spec"] == "chara_card_v2" and v2["spec_version"] == "2.0"
    assert v2["data"]["name"] == "Ada" and v2["data"]["nickname"] == "A"
    assert persona_from_card(v2).facts == persona.facts
    # an image that is really a PNG
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size[0] > 0


def read_v2_view(path: Path) -> dict:
    data = path.read_bytes()
    pos = 8
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if ctype == b"tEXt" and body.startswith(b"chara\0"):
            return json.loads(base64.b64decode(body[6:]))
        pos += 12 + length
    raise AssertionError("no chara chunk")


def test_v2_export_writes_only_chara(tmp_path: Path):
    out = tmp_path / "v2.png"
    CardPNG().write_persona(Persona(name="Kai"), out)
    assert keywords(out) == ["chara"]


def test_source_image_is_kept_and_old_card_chunks_replaced(tmp_path: Path):
    source = tmp_path / "src.png"
    source.write_bytes(
        png_with(text_chunk("chara", b64(card("Stale"))), text_chunk("Comment", b"keep me"))
    )
    out = tmp_path / "out.png"
    CardPNG(image=source).write_persona(Persona(name="Fresh"), out)
    assert keywords(out) == ["Comment", "chara"]
    assert read_card_png(out)[0]["data"]["name"] == "Fresh"
    with Image.open(out) as a, Image.open(source) as b:
        assert a.size == b.size and a.tobytes() == b.tobytes()


def test_non_png_source_image_is_converted(tmp_path: Path):
    jpeg = tmp_path / "face.jpg"
    Image.new("RGB", (8, 6), (200, 10, 10)).save(jpeg, format="JPEG")
    out = tmp_path / "out.png"
    CardPNG(image=jpeg).write_persona(Persona(name="J"), out)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (8, 6)
    assert read_card_png(out)[0]["data"]["name"] == "J"


def test_reexport_reuses_the_image_the_card_came_from(tmp_path: Path):
    source = tmp_path / "src.png"
    source.write_bytes(png_with(text_chunk("chara", b64(card("Mira")))))
    persona = CardPNG().read_persona(source)
    out = tmp_path / "again.png"
    CardPNG().write_persona(persona, out)
    with Image.open(out) as a, Image.open(source) as b:
        assert a.tobytes() == b.tobytes()


def test_placeholder_is_a_valid_png_that_depends_on_the_name():
    a, b = placeholder_png("Ada"), placeholder_png("Bob")
    with Image.open(io.BytesIO(a)) as im:
        im.load()
        assert im.size == (256, 256)
    assert a != b and a == placeholder_png("Ada")


def test_png_without_card_chunk(tmp_path: Path):
    path = tmp_path / "plain.png"
    path.write_bytes(png_with(text_chunk("Comment", b"just a photo")))
    with pytest.raises(FormatError) as info:
        CardPNG().read_persona(path)
    assert "plain.png" in str(info.value) and "no chara/ccv3 chunk" in str(info.value)


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        (b"!!!not base64!!!", "not valid base64"),
        (base64.b64encode(b'{"spec": "chara_card_v2", "data": {"name": "x"'), "not valid JSON"),
        (base64.b64encode(b"\xff\xfe\x00garbage"), "not UTF-8"),
    ],
)
def test_corrupt_chunk_names_the_chunk(tmp_path: Path, payload: bytes, what: str):
    path = tmp_path / "bad.png"
    path.write_bytes(png_with(text_chunk("ccv3", payload), text_chunk("chara", b64(card("ok")))))
    with pytest.raises(FormatError) as info:
        read_card_png(path)
    msg = str(info.value)
    assert "bad.png" in msg and "chunk ccv3" in msg and what in msg
    assert info.value.chunk == "ccv3"


def test_truncated_and_non_png_files(tmp_path: Path):
    full = png_with(text_chunk("chara", b64(card("T"))))
    path = tmp_path / "cut.png"
    path.write_bytes(full[: len(full) - 30])
    with pytest.raises(FormatError, match=r"cut\.png.*truncated"):
        CardPNG().read_persona(path)
    path.write_bytes(b"GIF89a" + b"\0" * 20)
    with pytest.raises(FormatError, match="not a PNG file"):
        CardPNG().read_persona(path)


def test_bad_crc_on_card_chunk(tmp_path: Path):
    good = text_chunk("chara", b64(card("C")))
    bad = good[:-4] + b"\0\0\0\0"
    path = tmp_path / "crc.png"
    path.write_bytes(png_with(bad))
    with pytest.raises(FormatError, match="CRC"):
        read_card_png(path)


def test_bad_source_image_leaves_no_output(tmp_path: Path):
    bogus = tmp_path / "bogus.jpg"
    bogus.write_bytes(b"not an image at all")
    out = tmp_path / "card.png"
    with pytest.raises(FormatError, match=r"bogus\.jpg"):
        CardPNG(image=bogus).write_persona(Persona(name="X"), out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bogus.jpg"]


def test_sniff_png():
    fmt = CardPNG()
    assert fmt.sniff(Path("a.png"), placeholder_png()[:64])
    assert not fmt.sniff(Path("a.png"), b'{"spec": "chara_card_v2"}')


def test_remote_asset_urls_are_never_fetched(tmp_path: Path, monkeypatch):
    remote = {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {
            "name": "Net",
            "group_only_greetings": [],
            "assets": [
                {
                    "type": "icon",
                    "uri": "https://example.invalid/icon.png",
                    "name": "main",
                    "ext": "png",
                },
                {
                    "type": "background",
                    "uri": "http://example.invalid/bg.webp",
                    "name": "bg",
                    "ext": "webp",
                },
            ],
        },
    }
    json_path = tmp_path / "net.json"
    json_path.write_text(json.dumps(remote))
    png_path = tmp_path / "net.png"
    png_path.write_bytes(png_with(text_chunk("ccv3", b64(remote))))

    def no_network(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    for fmt, path in ((CardJSON(), json_path), (CardPNG(), png_path)):
        p = fmt.read_persona(path)
        assert p.assets == remote["data"]["assets"]
    CardPNG().write_persona(p, tmp_path / "out.png")
    CharX().write_persona(p, tmp_path / "out.charx")
    assert CharX().read_persona(tmp_path / "out.charx").assets == remote["data"]["assets"]
    assert read_card_png(tmp_path / "out.png")[0]["data"]["assets"] == remote["data"]["assets"]
