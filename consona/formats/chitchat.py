"""The ``chitchat-dataset`` PyPI corpus (MIT; 7,168 open-domain conversations), read only.

The package stores one JSON object ``{conversation id: {"messages": [[{"text",
"timestamp", "sender"}, ...], ...], "prompt"?, "ratings"?, "start"}}`` in
``chitchat_dataset/dataset.json``; each inner list is one speaker's consecutive messages,
which become one turn (texts joined with a space, like the package's own default).
Senders are renamed ``speaker_1`` / ``speaker_2`` in order of appearance (the ids are kept
in ``meta["senders"]``). The file is streamed member by member, never loaded whole.

Input paths: ``chitchat:`` reads the installed corpus, ``chitchat:N`` its first N
conversations; a path to a ``dataset.json`` of that layout works too.

>>> ChitchatFormat().can_write
False
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from consona.errors import DataValidationError, FormatError, MissingDependencyError
from consona.formats._util import expect_object, head_text, iter_json_object
from consona.formats.base import DIALOGUE_FORMATS
from consona.types import Dialogue, Turn

PREFIX = "chitchat:"
_SPEC = re.compile(r"^chitchat:(\d*)$")


def is_chitchat_spec(path: str | Path) -> bool:
    return isinstance(path, str) and _SPEC.match(path) is not None


def installed_path() -> Path:
    """``dataset.json`` of the installed ``chitchat-dataset`` package (not imported)."""
    spec = importlib.util.find_spec("chitchat_dataset")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "chitchat-dataset", extra="data", purpose="reading the chitchat: corpus"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset.json"
    if not path.is_file():
        raise FormatError(
            "the chitchat-dataset package has no dataset.json",
            path=path,
            hint="reinstall it: pip install --force-reinstall chitchat-dataset",
        )
    return path


def resolve(spec: str) -> tuple[Path, int | None]:
    """``"chitchat:"`` / ``"chitchat:N"`` → (dataset.json path, limit or None)."""
    m = _SPEC.match(spec)
    if not m:
        raise FormatError(
            f"not a chitchat corpus reference: {spec!r}",
            hint="use 'chitchat:' for all conversations or 'chitchat:N' for the first N",
        )
    return installed_path(), (int(m.group(1)) if m.group(1) else None)


class ChitchatFormat:
    """Reader of the chitchat-dataset corpus (``chitchat:`` / ``chitchat:N`` or a path).

    >>> ChitchatFormat().name
    'chitchat'
    """

    name: str = "chitchat"
    extensions: tuple[str, ...] = (".json",)
    can_write: bool = False

    def sniff(self, path: Path, head: bytes) -> bool:
        text = head_text(head).lstrip()
        return text.startswith("{") and '"messages"' in text[:400] and '"sender"' in text[:4000]

    def read(self, path: Path | str, *, limit: int | None = None) -> Iterator[Dialogue]:
        if is_chitchat_spec(path):
            path, spec_limit = resolve(str(path))
            limit = spec_limit if limit is None else limit
        path = Path(path)
        items = iter_json_object(path)
        if limit is not None:
            items = itertools.islice(items, limit)
        for line, key, value in items:
            yield _dialogue(path, line, key, expect_object(path, line, value))

    def write(self, dialogues: Iterable[Dialogue], path: Path) -> int:
        raise FormatError("chitchat is read-only", path=path, hint="write jsonl instead")


def _dialogue(path: Path, line: int, key: str, conv: dict[str, Any]) -> Dialogue:
    groups = conv.get("messages")
    if not isinstance(groups, list):
        raise FormatError(f"conversation {key!r} has no 'messages' list", path=path, line=line)
    senders: dict[str, str] = {}
    turns: list[Turn] = []
    for group in groups:
        if not isinstance(group, list) or not group:
            continue
        first = group[0] if isinstance(group[0], dict) else {}
        sender = str(first.get("sender", "?"))
        speaker = senders.setdefault(sender, f"speaker_{len(senders) + 1}")
        text = " ".join(str(m.get("text", "")) for m in group if isinstance(m, dict))
        tmeta = {"timestamp": first["timestamp"]} if "timestamp" in first else {}
        turns.append(Turn(speaker=speaker, text=text, meta=tmeta))
    meta: dict[str, Any] = {
        "source": "chitchat-dataset",
        "senders": {v: k for k, v in senders.items()},
    }
    for k in ("prompt", "ratings", "start"):
        if k in conv:
            meta[k] = conv[k]
    try:
        return Dialogue(id=key, turns=turns, meta=meta)
    except DataValidationError as exc:
        raise FormatError(exc.message, path=path, line=line) from None


DIALOGUE_FORMATS.register("chitchat", ChitchatFormat)
