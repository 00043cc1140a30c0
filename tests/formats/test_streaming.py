"""Readers and writers stream: memory stays bounded however long the file is."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

# Reads IN and writes OUT through the public API, then prints the peak RSS in KiB.
_CONVERT = """
import resource, sys
from consona.formats import read_dialogues, write_dialogues
n = write_dialogues(read_dialogues(sys.argv[1]), sys.argv[2], fmt=sys.argv[3])
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _jsonl(path: Path, lines: int) -> None:
    pad = "fine thanks, and you? " * 8
    with open(path, "w") as f:
        for i in range(lines):
            f.write(
                json.dumps(
                    {
                        "id": f"d{i}",
                        "turns": [
                            {"speaker": "a", "text": f"hello number {i}"},
                            {"speaker": "b", "text": pad},
                        ],
                    }
                )
                + "\n"
            )


def _convert_rss(src: Path, out: Path, fmt: str) -> tuple[int, int]:
    res = subprocess.run(
        [sys.executable, "-c", _CONVERT, str(src), str(out), fmt],
        capture_output=True,
        text=True,
        check=True,
    )
    n, rss = res.stdout.split()
    return int(n), int(rss) * 1024


@pytest.mark.slow  # 25 MB of input, two child processes: ~3.4 s
def test_jsonl_100k_lines_convert_in_bounded_memory(tmp_path):
    """Converting a 100k-line JSONL (~25 MB; ~150 MB as objects) costs no more memory
    than converting a 1k-line one, give or take a few MB."""
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    _jsonl(small, 1_000)
    _jsonl(big, 100_000)
    size = big.stat().st_size
    assert size > 20_000_000
    n_small, rss_small = _convert_rss(small, tmp_path / "small.out.jsonl", "jsonl")
    n_big, rss_big = _convert_rss(big, tmp_path / "big.out.log", "chatlog")
    assert (n_small, n_big) == (1_000, 100_000)
    assert rss_big - rss_small < size / 5, (
        f"RSS grew by {(rss_big - rss_small) / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"
    )
    assert (tmp_path / "big.out.log").read_text().count("\n\n") == 99_999


def _peak(fn) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def test_json_array_and_object_are_streamed(tmp_path):
    """PersonaChat JSON (one array) and the chitchat corpus (one object) are read item by
    item, not loaded whole."""
    from consona.formats import read_dialogues

    arr = tmp_path / "valid_dialogs.json"
    with open(arr, "w") as f:
        f.write("[")
        for i in range(3_000):
            f.write(
                ("," if i else "")
                + json.dumps(
                    {
                        "persona": ["i like tea ."],
                        "turns": [{"text": f"hi {i}", "label": "yo " * 400}],
                    }
                )
            )
        f.write("]")
    peak, n = _peak(lambda: sum(1 for _ in read_dialogues(arr)))
    assert n == 3_000
    assert peak < arr.stat().st_size / 5

    obj = tmp_path / "dataset.json"
    with open(obj, "w") as f:
        f.write("{")
        for i in range(3_000):
            conv = {
                "messages": [[{"text": "x " * 600, "sender": "a"}], [{"text": "y", "sender": "b"}]]
            }
            f.write(("," if i else "") + json.dumps(f"c{i}") + ":" + json.dumps(conv))
        f.write("}")
    peak, n = _peak(lambda: sum(1 for _ in read_dialogues(obj, fmt="chitchat")))
    assert n == 3_000
    assert peak < obj.stat().st_size / 5
