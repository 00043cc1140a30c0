"""SFT data for ``consona train``: chat-messages examples read from a ``consona build``
folder (its committed shards: messages JSONL, or the Parquet files when the JSONL is absent)
or from any chat-messages JSONL file, a fingerprint of exactly what is trained on, and the
tokenization that puts the loss on the assistant reply only.

The chat template of the base has no ``{% generation %}`` markers, so the masks are built
here: the template rendered up to the trained assistant turn (with the generation prompt)
is the prompt; the rest up to and including the EOS token is the completion. Only
completion tokens get labels; an example left with none raises ``TrainingError``.

>>> ex = SFTExample(id="1", messages=[{"role": "user", "content": "hi"},
...                                   {"role": "assistant", "content": "hello"}])
>>> len(fingerprint([ex]))
64
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consona.errors import FormatError
from consona.training.errors import TrainingError

__all__ = [
    "ROLES",
    "Encoded",
    "SFTExample",
    "describe_source",
    "encode_example",
    "fingerprint",
    "read_examples",
]

ROLES = ("system", "user", "assistant")
_MANIFEST = "manifest.json"


@dataclass
class SFTExample:
    """One chat: OpenAI-style ``messages`` with at least one assistant reply."""

    id: str
    messages: list[dict[str, str]]


def _check_messages(raw: Any, *, path: Path, line: int | None) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise FormatError(
            "expected a non-empty 'messages' list",
            path=path,
            line=line,
            hint='each line must be {"messages": [{"role": ..., "content": ...}, ...]}',
        )
    out = []
    for m in raw:
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise FormatError(
                f"a message must be an object with role in {list(ROLES)}, got {str(m)[:80]}",
                path=path,
                line=line,
            )
        content = m.get("content")
        if not isinstance(content, str):
            raise FormatError("a message's content must be a string", path=path, line=line)
        out.append({"role": str(m["role"]), "content": content})
    if not any(m["role"] == "assistant" for m in out):
        raise FormatError(
            "the chat has no assistant message: nothing to train on",
            path=path,
            line=line,
            hint="every example needs at least one assistant reply",
        )
    return out


def _read_jsonl(path: Path) -> Iterator[SFTExample]:
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", path=path) from None
    with fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise FormatError(
                    "not valid JSON",
                    path=path,
                    line=i,
                    hint="DATA must be a consona build folder or a chat-messages JSONL file",
                ) from None
            if not isinstance(obj, dict) or "messages" not in obj:
                raise FormatError(
                    "expected an object with a 'messages' list",
                    path=path,
                    line=i,
                    hint="convert it first: consona convert IN OUT.jsonl --to messages",
                )
            msgs = _check_messages(obj["messages"], path=path, line=i)
            yield SFTExample(id=str(obj.get("id", f"{path.name}:{i}")), messages=msgs)


def _read_parquet(path: Path) -> Iterator[SFTExample]:
    from consona.errors import require

    pq = require("pyarrow.parquet", package="pyarrow", extra="data", purpose="Parquet shards")
    try:
        table = pq.read_table(path, columns=["id", "messages"])
    except Exception as exc:  # pyarrow raises its own error types
        raise FormatError(f"cannot read Parquet: {exc}", path=path) from None
    for i, row in enumerate(table.to_pylist(), 1):
        msgs = _check_messages(row["messages"], path=path, line=i)
        yield SFTExample(id=str(row["id"]), messages=msgs)


def _build_files(folder: Path) -> list[Path]:
    try:
        manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
        shards = manifest["shards"]
    except (OSError, ValueError, KeyError, TypeError):
        raise FormatError(
            "unreadable build manifest",
            path=folder / _MANIFEST,
            hint="re-run 'consona build' into this folder",
        ) from None
    files = []
    for s in sorted(shards, key=lambda s: s["id"]):
        jsonl = folder / s["messages"]["path"]
        parquet = folder / s["parquet"]["path"]
        if jsonl.is_file():
            files.append(jsonl)
        elif parquet.is_file():
            files.append(parquet)
        else:
            raise FormatError(
                f"shard {s['id']} is listed in the manifest but its files are missing",
                path=folder,
                hint="re-run 'consona build' into this folder (it redoes missing shards)",
            )
    return files


def data_files(data: str | Path) -> list[Path]:
    """The files to read for DATA: a build folder's committed shards (in shard order), a
    folder of ``*.jsonl`` files, or one JSONL file."""
    path = Path(data).expanduser()
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise TrainingError(
            f"No training data at {str(path)!r}",
            hint="pass a 'consona build' output folder or a chat-messages JSONL file",
        )
    if (path / _MANIFEST).is_file():
        files = _build_files(path)
    else:
        files = sorted(p for p in path.glob("*.jsonl") if p.is_file())
    if not files:
        raise TrainingError(
            f"{str(path)!r} has no training data (no build manifest.json with shards, "
            "no *.jsonl files)",
            hint="pass a 'consona build' output folder or a chat-messages JSONL file",
        )
    return files


def read_examples(data: str | Path, *, limit: int | None = None) -> list[SFTExample]:
    """The examples of DATA in a stable order (the first ``limit`` when given). An empty
    result is a TrainingError."""
    out: list[SFTExample] = []
    for f in data_files(data):
        reader = _read_parquet if f.suffix == ".parquet" else _read_jsonl
        for ex in reader(f):
            out.append(ex)
            if limit is not None and len(out) >= limit:
                return out
    if not out:
        raise TrainingError(
            f"No examples in {str(data)!r}",
            hint="the data is empty: build it first with 'consona build'",
        )
    return out


def describe_source(data: str | Path) -> dict[str, Any]:
    """What DATA is (for the report): kind and folder/file name, never a local path."""
    path = Path(data).expanduser()
    kind = "build" if (path / _MANIFEST).is_file() else "jsonl"
    return {"kind": kind, "name": path.name}


def fingerprint(examples: Sequence[SFTExample]) -> str:
    """sha256 over the examples' messages (canonical JSON, in order): the identity of the
    data a run trains on."""
    h = hashlib.sha256()
    for ex in examples:
        h.update(json.dumps(ex.messages, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


@dataclass
class Encoded:
    """Token ids and labels (-100 = no loss) of one example."""

    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(1 for t in self.labels if t != -100)


def _render(tokenizer: Any, messages: list[dict[str, str]], *, generation: bool) -> str:
    return str(
        tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)
    )


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode_example(
    tokenizer: Any,
    example: SFTExample,
    *,
    max_length: int,
    train_on: str = "last",
) -> Encoded:
    """Tokenize one chat; labels on the trained assistant replies (``train_on``: ``last``
    = the final assistant message, ``all`` = every assistant message), each up to and
    including the tokenizer's EOS token. Context messages are dropped from the front
    (after the system message) until the chat fits ``max_length``."""
    if train_on not in ("last", "all"):
        raise TrainingError(f"Unknown train_on {train_on!r}", hint="use 'last' or 'all'")
    eos = tokenizer.eos_token
    if not eos:
        raise TrainingError(
            "The tokenizer has no EOS token: the model could never learn to stop",
            hint="use a chat model whose tokenizer defines eos_token",
        )
    messages = list(example.messages)
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    messages = messages[: last + 1]
    while True:
        enc = _encode(tokenizer, messages, eos=eos, train_on=train_on)
        if len(enc.input_ids) <= max_length:
            break
        start = 1 if messages[0]["role"] == "system" else 0
        # drop the oldest context message, keeping a chat that still ends with the reply
        if len(messages) - start > 2:
            del messages[start]
            if messages[start]["role"] == "assistant" and len(messages) - start > 1:
                del messages[start]
            continue
        enc = Encoded(enc.input_ids[:max_length], enc.labels[:max_length])
        break
    if enc.trained_tokens == 0:
        raise TrainingError(
            f"Example {example.id!r} has no trained token (its assistant reply is empty or "
            f"cut off at max_length={max_length})",
            hint="raise --max-length or drop the example from the data",
        )
    return enc


def _encode(tokenizer: Any, messages: list[dict[str, str]], *, eos: str, train_on: str) -> Encoded:
    targets = [
        i
        for i, m in enumerate(messages)
        if m["role"] == "assistant" and (train_on == "all" or i == len(messages) - 1)
    ]
    input_ids: list[int] = []
    labels: list[int] = []
    done = ""  # the rendered text consumed so far
    for i in targets:
        prompt = _render(tokenizer, messages[:i], generation=True)
        full = _render(tokenizer, messages[: i + 1], generation=False)
        if not prompt.startswith(done) or not full.startswith(prompt):
            raise TrainingError(
                "The chat template does not render a chat as prompt + reply (it rewrites "
                "earlier turns)",
                hint="use a base whose template only appends each message, or train_on='last'",
            )
        reply = full[len(prompt) :]
        cut = reply.find(eos)
        if cut < 0:
            raise TrainingError(
                f"The chat template does not end an assistant reply with EOS {eos!r}",
                hint="use a chat model whose template closes replies with its eos_token",
            )
        reply = reply[: cut + len(eos)]
        ctx = _ids(tokenizer, prompt[len(done) :])
        out = _ids(tokenizer, reply)
        input_ids += ctx + out
        labels += [-100] * len(ctx) + out
        done = prompt + reply
    return Encoded(input_ids, labels)
