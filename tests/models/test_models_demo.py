"""`python -m consona.demo` (what `make run` starts) runs offline and converts the sample."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from consona import demo


@pytest.mark.slow  # loads the real default NLI model (MiniLM + head): ~18 s
def test_demo_main_runs(capsys):
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    assert "consona models" in out
    assert "chat" in out and "embedder" in out
    assert "identical to the original" in out


def test_sample_converts_to_v2_card(tmp_path):
    with open(tmp_path / "log.txt", "w") as log:
        card = demo.convert_sample(Console(file=log, width=100), out_dir=tmp_path)
    assert card is not None and card.parent == tmp_path
    data = json.loads(card.read_text())
    assert data["spec"] == "chara_card_v2"
    sample = json.loads(demo.SAMPLE_PERSONA.read_text())
    assert data["data"]["name"] == sample["name"]
    assert len(sample["facts"]) == 5
    assert sample["facts"][0] in json.dumps(data)
