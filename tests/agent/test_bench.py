"""bench/agent_consistency.py end to end on a tiny PersonaChat-shaped fixture (fakes only)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from consona.testing import FakeBackend

BENCH = Path(__file__).resolve().parents[2] / "bench" / "agent_consistency.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("agent_consistency_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_probe_templates(bench):
    assert bench.probes_for("i have two dogs .") == (
        "Do you have two dogs?",
        "You don't have two dogs, right?",
    )
    assert bench.probes_for("my favorite color is blue .") == (
        "What is your favorite color?",
        "Your favorite color isn't blue, is it?",
    )
    assert bench.probes_for("i am a nurse .") == (
        "Are you a nurse?",
        "You aren't a nurse, are you?",
    )
    assert bench.probes_for("i was raised by wolves .") is None


def test_bench_runs_and_rerank_halves_contradictions(bench, tmp_path):
    data = tmp_path / "personachat"
    data.mkdir()
    dialogs = [
        {"persona": [f"i have {n} dogs .", "i like jazz ."], "turns": []}
        for n in ("two", "three", "four")
    ]
    (data / "valid_dialogs.json").write_text(json.dumps(dialogs))
    # The fake script alternates a contradicting and a consistent reply per candidate:
    # N=1 gets the contradicting one on every other probe; N=2 sees both and re-ranks.
    backend = FakeBackend(["I do not have dogs.", "I have dogs!"])
    out = tmp_path / "r.json"
    result = bench.main(
        [
            "--data-dir",
            str(tmp_path),
            "--personas",
            "3",
            "--nli",
            "fake",
            "--candidates",
            "2",
            "--repair",
            "0",
            "--out",
            str(out),
        ],
        backend=backend,
    )
    assert json.loads(out.read_text())["probes"] == result["probes"] == 6
    off, on = result["rerank_off"], result["rerank_on"]
    assert off["contradiction_rate"] == 0.5 and on["contradiction_rate"] == 0.0
    assert result["contradiction_reduction"] == 1.0
    assert result["samples"][0]["facts"] and result["samples"][0]["off"]["reply"]
