"""Readers and writers stream: memory stays bounded however long the file is."""

from __future__ import annotations

import json
import tracemalloc

from consona.formats import read_dialogues, write_dialogues


def _peak(fn) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def test_jsonl_100k_lines_read_and_write_in_bounded_memory(tmp_path):
    src = tmp_path / "big.jsonl"
    with open(src, "w") as f:
        for i in range(100_000):
            f.write(json.dumps({"id": f"d{i}", "turns": [
                {"speaker": "a", "text": f"hello number {i}, how is it going today?"},
                {"speaker": "b", "text": "fine thanks, and you? " * 3}]}) + "\n")
    size = src.stat().st_size
    assert size > 15_000_000

    def count() -> int:
        return sum(len(d.turns) for d in read_dialogues(src))

    peak, turns = _peak(count)
    assert turns == 200_000
    assert peak < size / 20, f"peak {peak:,} B for a {size:,} B file"

    out = tmp_path / "copy.txt"
    peak, n = _peak(lambda: write_dialogues(read_dialogues(src), out, fmt="chatlog"))
    assert n == 100_000
    assert peak < size / 20, f"peak {peak:,} B while converting a {size:,} B file"


def test_json_array_and_object_are_streamed(tmp_path):
    """PersonaChat JSON (one array) and the chitchat corpus (one object) are read item by
    item, not loaded whole."""
    arr = tmp_path / "valid_dialogs.json"
    with open(arr, "w") as f:
        f.write("[")
        for i in range(20_000):
            f.write(("," if i else "") + json.dumps(
                {"persona": ["i like tea ."], "turns": [{"text": f"hi {i}", "label": "yo " * 20}]}))
        f.write("]")
    peak, n = _peak(lambda: sum(1 for _ in read_dialogues(arr)))
    assert n == 20_000
    assert peak < arr.stat().st_size / 5

    obj = tmp_path / "dataset.json"
    with open(obj, "w") as f:
        f.write("{")
        for i in range(20_000):
            conv = {"messages": [[{"text": "x " * 40, "sender": "a"}], [{"text": "y", "sender": "b"}]]}
            f.write(("," if i else "") + json.dumps(f"c{i}") + ":" + json.dumps(conv))
        f.write("}")
    peak, n = _peak(lambda: sum(1 for _ in read_dialogues(obj, fmt="chitchat")))
    assert n == 20_000
    assert peak < obj.stat().st_size / 5
