"""CHARX: a zip holding a V3 card as ``card.json`` and its assets under ``assets/...``.

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "c.charx"
>>> card = {"spec": "chara_card_v3", "spec_version": "3.0", "data": {"name": "Ada"}}
>>> write_charx(p, card)
>>> read_charx(p)[0] == card
True

Assets are never unpacked or fetched: ``embeded://path`` URIs (the spec's spelling) name
entries of the zip and are kept as they are; ``http(s)://`` URIs stay plain strings.
Writing copies every entry but ``card.json`` from a source CHARX (``carry_from``) as is.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from consona.errors import FormatError
from consona.io import atomic_write

__all__ = ["CARD_ENTRY", "EMBEDDED_PREFIX", "embedded_entry", "read_charx", "write_charx"]

CARD_ENTRY = "card.json"
EMBEDDED_PREFIX = "embeded://"  # sic: the CCv3 spec spells it this way
_MAX_CARD = 64 << 20


def embedded_entry(uri: Any) -> str | None:
    """The zip entry an ``embeded://`` asset URI points to, else ``None``."""
    if isinstance(uri, str) and uri.startswith(EMBEDDED_PREFIX):
        return uri[len(EMBEDDED_PREFIX) :].lstrip("/")
    return None


def read_charx(path: str | Path) -> tuple[Any, list[str]]:
    """The parsed ``card.json`` of a CHARX and the names of its other entries."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                info = zf.getinfo(CARD_ENTRY)
            except KeyError:
                raise FormatError(
                    f"no {CARD_ENTRY} in this CHARX (zip) file",
                    path=path,
                    hint="a CHARX must hold the V3 card as card.json at the top of the zip",
                ) from None
            if info.file_size > _MAX_CARD:
                raise FormatError(f"{CARD_ENTRY} is larger than 64 MiB", path=path)
            raw = zf.read(info)
            entries = [n for n in zf.namelist() if n != CARD_ENTRY and not n.endswith("/")]
    except zipfile.BadZipFile as exc:
        raise FormatError(
            f"not a CHARX (zip) file: {exc}",
            path=path,
            hint="the file is damaged or truncated; export it again",
        ) from None
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", path=path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormatError(f"{CARD_ENTRY} is not UTF-8 text", path=path) from None
    try:
        card = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"{CARD_ENTRY} is not valid JSON ({exc.msg} at column {exc.colno})",
            path=path,
            line=exc.lineno,
            hint="the card is corrupt or truncated; export it again",
        ) from None
    return card, entries


def write_charx(
    path: str | Path,
    card: dict[str, Any],
    *,
    carry_from: str | Path | None = None,
    require_entries: Iterable[str] = (),
) -> None:
    """Write ``card`` as ``card.json`` plus every other entry of ``carry_from`` (a CHARX).

    ``require_entries`` are zip entries the card refers to (``embeded://`` assets); a
    missing one is a ``FormatError`` and nothing is written.
    """
    src: zipfile.ZipFile | None = None
    try:
        if carry_from is not None:
            try:
                src = zipfile.ZipFile(carry_from)
            except (OSError, zipfile.BadZipFile) as exc:
                raise FormatError(
                    f"cannot open the source CHARX to carry its assets: {exc}",
                    path=carry_from,
                ) from None
        carried = [i for i in src.infolist() if i.filename != CARD_ENTRY] if src is not None else []
        names = {i.filename for i in carried}
        missing = sorted(set(require_entries) - names)
        if missing:
            raise FormatError(
                f"the card's embedded assets are not available: {', '.join(missing)}",
                path=path,
                hint="convert from the CHARX itself (its assets are copied from there; a "
                "JSON copy of the card does not hold them), or write the card as card-json / "
                "card-png, which do not embed assets",
            )
        body = json.dumps(card, ensure_ascii=False, indent=2).encode("utf-8")
        with (
            atomic_write(path, "wb", encoding=None) as out,
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        ):
            zf.writestr(CARD_ENTRY, body)
            for info in carried:
                assert src is not None
                copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                copy.compress_type = info.compress_type
                copy.external_attr = info.external_attr
                copy.file_size = info.file_size  # lets zipfile pick zip64 when needed
                with src.open(info) as r, zf.open(copy, "w") as w:
                    shutil.copyfileobj(r, w)
    finally:
        if src is not None:
            src.close()
