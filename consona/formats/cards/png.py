"""Character cards inside PNG images: base64 JSON in ``tEXt`` chunks ``chara`` (V2) and
``ccv3`` (V3).

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "card.png"
>>> card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Ada"}}
>>> write_card_png(p, {"chara": card})
>>> read_card_png(p) == (card, "chara")
True

A small chunk parser is used instead of Pillow: Pillow keeps only the last of two chunks
with the same keyword and loads chunks after the image data only on ``load()``. Reading
follows SillyTavern: keywords are matched case-insensitively, the first chunk of a
keyword counts, and ``ccv3`` wins over ``chara``. ``tEXt``, ``zTXt`` and ``iTXt`` chunks
are all read. Writing copies the source image's chunks byte for byte, drops its old card
chunks and adds the new ones just before ``IEND``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import os
import struct
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from consona.errors import FormatError, require
from consona.io import atomic_write

__all__ = [
    "CARD_KEYWORDS",
    "PNG_SIGNATURE",
    "decode_card_text",
    "encode_card_text",
    "placeholder_png",
    "read_card_png",
    "to_png_bytes",
    "write_card_png",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CARD_KEYWORDS = ("ccv3", "chara")  # in order of precedence
_TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")
_MAX_TEXT = 64 << 20  # a card chunk larger than this is refused (zip-bomb guard)


def _chunks(f: IO[bytes], size: int, path: Path | str) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(type, data_offset, length)`` for each chunk up to and including IEND."""
    if f.read(8) != PNG_SIGNATURE:
        raise FormatError(
            "not a PNG file (bad signature)", path=path, hint="pass a .png character card"
        )
    pos = 8
    while True:
        header = f.read(8)
        if len(header) < 8:
            raise FormatError(
                f"the PNG is truncated at byte {pos} (no IEND chunk)",
                path=path,
                hint="the file is incomplete; download or export it again",
            )
        length, ctype = struct.unpack(">I4s", header)
        if pos + 12 + length > size:
            name = ctype.decode("latin-1", errors="replace")
            raise FormatError(
                f"the PNG is truncated inside chunk {name!r} at byte {pos}",
                path=path,
                hint="the file is incomplete; download or export it again",
            )
        yield ctype, pos + 8, length
        pos += 12 + length
        f.seek(pos)
        if ctype == b"IEND":
            return


def _text_chunk(ctype: bytes, data: bytes) -> tuple[str, bytes | None]:
    """The keyword of a text chunk and, for card keywords, its raw (decompressed) text."""
    keyword, sep, rest = data.partition(b"\0")
    if not sep:
        return "", None
    kw = keyword.decode("latin-1").lower()
    if kw not in CARD_KEYWORDS:
        return kw, None
    if ctype == b"tEXt":
        return kw, rest
    if ctype == b"zTXt":
        return kw, _inflate(rest[1:], kw)
    # iTXt: compression flag, method, language\0, translated keyword\0, text
    flag = rest[:1]
    _lang, _, rest2 = rest[2:].partition(b"\0")
    _trans, _, text = rest2.partition(b"\0")
    return kw, _inflate(text, kw) if flag == b"\x01" else text


def _inflate(data: bytes, keyword: str) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, _MAX_TEXT)
    except zlib.error as exc:
        raise FormatError(f"compressed text does not inflate ({exc})", chunk=keyword) from None
    if d.unconsumed_tail:
        raise FormatError("compressed text is larger than 64 MiB", chunk=keyword)
    return out


def decode_card_text(text: bytes, *, keyword: str = "chara", path: Path | str | None = None) -> Any:
    """Decode a card chunk's text (base64 of UTF-8 JSON; raw JSON is accepted too)."""
    where: dict[str, Any] = {"path": path, "chunk": keyword}
    stripped = text.strip()
    if stripped.startswith(b"{"):
        payload = stripped
    else:
        compact = b"".join(stripped.split())
        compact += b"=" * (-len(compact) % 4)
        try:
            payload = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            raise FormatError(
                "the card chunk is not valid base64",
                hint="the card is corrupt; export it again from the app that made it",
                **where,
            ) from None
    try:
        decoded = payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(
            f"the decoded card is not UTF-8 text (byte {exc.start})",
            hint="the card is corrupt; export it again from the app that made it",
            **where,
        ) from None
    try:
        return json.loads(decoded)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"the decoded card is not valid JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno})",
            hint="the card is corrupt or truncated; export it again",
            **where,
        ) from None


def encode_card_text(card: Mapping[str, Any]) -> bytes:
    """Base64 of the card's UTF-8 JSON, as SillyTavern and RisuAI write it."""
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8"))


def read_card_png(path: str | Path) -> tuple[Any, str]:
    """The card stored in a PNG and the keyword it came from (``ccv3`` wins over ``chara``).

    Raises ``FormatError`` naming the file (and chunk) when there is no card chunk, the PNG
    is truncated or the chunk does not decode.
    """
    path = Path(path)
    found: dict[str, bytes] = {}
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            for ctype, offset, length in _chunks(f, size, path):
                if ctype not in _TEXT_TYPES or length > _MAX_TEXT:
                    continue
                f.seek(offset)
                data = f.read(length)
                crc = f.read(4)
                try:
                    kw, text = _text_chunk(ctype, data)
                except FormatError as exc:
                    raise FormatError(exc.message, path=path, chunk=exc.chunk) from None
                if text is None or kw in found:
                    continue
                if struct.unpack(">I", crc)[0] != zlib.crc32(ctype + data):
                    raise FormatError(
                        "the chunk's CRC does not match (corrupt file)",
                        path=path,
                        chunk=kw,
                        hint="export the card again",
                    )
                found[kw] = text
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", path=path) from None
    for kw in CARD_KEYWORDS:
        if kw in found:
            return decode_card_text(found[kw], keyword=kw, path=path), kw
    raise FormatError(
        "no chara/ccv3 chunk — this PNG holds no character card",
        path=path,
        hint="pass a PNG exported as a character card (SillyTavern, RisuAI, chub), "
        "or the card's JSON",
    )


def _chunk_bytes(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def placeholder_png(seed: str = "", *, size: int = 256) -> bytes:
    """A small generated PNG (a two-colour gradient derived from ``seed``)."""
    h = hashlib.sha256(seed.encode("utf-8")).digest()
    top, bottom = h[0:3], h[3:6]
    rows = []
    for y in range(size):
        t = y / max(size - 1, 1)
        px = bytes(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        rows.append(b"\0" + px * size)
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk_bytes(b"IHDR", ihdr)
        + _chunk_bytes(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk_bytes(b"IEND", b"")
    )


def to_png_bytes(image: bytes | str | Path, *, name: str = "image") -> bytes:
    """PNG bytes of an image given as bytes or a path; other formats go through Pillow."""
    if isinstance(image, (str, Path)):
        name = str(image)
        try:
            image = Path(image).read_bytes()
        except OSError as exc:
            raise FormatError(
                f"cannot read the image: {exc.strerror or exc}",
                path=name,
                hint="pass an existing image file",
            ) from None
    if image.startswith(PNG_SIGNATURE):
        return image
    pil = require("PIL.Image", package="pillow", purpose="converting an image to PNG")
    try:
        with pil.open(io.BytesIO(image)) as im:
            buf = io.BytesIO()
            im.save(buf, format="PNG")
    except Exception as exc:  # Pillow raises many types for bad images
        raise FormatError(
            f"not an image Pillow can read ({exc})", path=name, hint="pass a PNG, JPEG or WebP"
        ) from None
    return buf.getvalue()


def write_card_png(
    path: str | Path,
    cards: Mapping[str, Mapping[str, Any]],
    *,
    image: bytes | str | Path | None = None,
) -> None:
    """Write ``image`` (default: a generated placeholder) with ``cards`` as text chunks.

    ``cards`` maps a keyword (``chara``, ``ccv3``) to a card dict. Old card chunks of the
    image are dropped. The file is written atomically.
    """
    unknown = set(cards) - set(CARD_KEYWORDS)
    if unknown:
        raise FormatError(
            f"unknown card chunk keyword(s) {sorted(unknown)}",
            hint=f"use {' / '.join(CARD_KEYWORDS)}",
        )
    png = to_png_bytes(image) if image is not None else placeholder_png(_seed(cards))
    new = b"".join(
        _chunk_bytes(b"tEXt", kw.encode("latin-1") + b"\0" + encode_card_text(card))
        for kw, card in sorted(cards.items(), key=lambda kv: kv[0] != "chara")  # chara first
    )
    src = io.BytesIO(png)
    chunks = list(_chunks(src, len(png), str(image) if isinstance(image, (str, Path)) else "image"))
    with atomic_write(path, "wb", encoding=None) as out:
        out.write(PNG_SIGNATURE)
        for ctype, offset, length in chunks:
            data = png[offset : offset + length]
            if ctype in _TEXT_TYPES and _text_chunk_keyword(data) in CARD_KEYWORDS:
                continue
            if ctype == b"IEND":
                out.write(new)
            out.write(png[offset - 8 : offset + length + 4])


def _text_chunk_keyword(data: bytes) -> str:
    return data.partition(b"\0")[0].decode("latin-1").lower()


def _seed(cards: Mapping[str, Mapping[str, Any]]) -> str:
    for card in cards.values():
        data = card.get("data")
        if isinstance(data, Mapping) and isinstance(data.get("name"), str):
            return data["name"]
    return ""
