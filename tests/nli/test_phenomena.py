"""Challenge set and the generated persona-phenomena sources of the NLI data recipe."""

from __future__ import annotations

import json
import random
from collections import Counter

from typer.testing import CliRunner

from consona.cli.main import app
from consona.nli.challenge import CHALLENGE, challenge_rows
from consona.nli.data import (
    GENERATED,
    chatify,
    norm_text,
    split_of,
    varied_negations,
)


def test_challenge_set_is_balanced_unique_and_named():
    labels = Counter(lab for *_, lab in CHALLENGE)
    assert len(CHALLENGE) >= 150 and len(set(labels.values())) == 1
    assert len({(norm_text(p), norm_text(h)) for _, p, h, _ in CHALLENGE}) == len(CHALLENGE)
    rows = list(challenge_rows())
    assert rows[0]["source"] and rows == list(challenge_rows())


def test_eval_challenge_set_needs_no_data_dir():
    res = CliRunner().invoke(app, ["nli", "eval", "--set", "challenge", "-m", "fake", "--json"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.stdout)
    assert m["n"] == len(CHALLENGE) and "by_source" in m


def test_varied_negations_cover_forms_and_hypernyms():
    negs = varied_negations("i have a golden retriever named max.", random.Random(0))
    assert "i do not have a golden retriever named max" in negs
    assert "i have no golden retriever named max" in negs
    assert any("pet" in n or "animal" in n for n in negs)
    assert any("hate" in n for n in varied_negations("i love jazz.", random.Random(0)))
    assert any("guitar" in n for n in varied_negations("i play the guitar.", random.Random(0)))


def test_chatify_is_deterministic_lowercase_and_contracted():
    a = chatify("I am not a Nurse.", random.Random(3))
    assert a == chatify("I am not a Nurse.", random.Random(3)) and a == a.lower()
    assert any("i'm" in chatify("i am happy", random.Random(s)) for s in range(10))


def test_generated_rows_never_reach_dev_test_nor_reuse_their_texts(tmp_path):
    from consona.nli.data import build_dataset

    pc = tmp_path / "personachat"
    pc.mkdir()
    sents = [f"i have a dog named rex{i}." for i in range(30)] + [
        f"i love jazz number {i}." for i in range(30)
    ]
    (pc / "train_entailed_pairs.json").write_text(json.dumps([[s, f"about {s}"] for s in sents]))
    alone, _ = build_dataset(tmp_path, only=GENERATED)
    generated = {norm_text(r[side]) for r in alone["train"] for side in ("premise", "hypothesis")}
    # texts the generators make that a persona source would put in dev/test: MSC facts
    held = sorted(t for t in generated if split_of(t) != "train")[:8]
    assert len(held) == 8
    session = tmp_path / "msc" / "msc_personasummary" / "session_2"
    session.mkdir(parents=True)
    episodes = [{"dialog": [{"text": f"well, {t}, and you?", "persona_text": f"{t}."},
                            {"text": "nice weather today"}]} for t in held]  # fmt: skip
    (session / "train.txt").write_text("\n".join(json.dumps(e) for e in episodes) + "\n")

    splits, _ = build_dataset(tmp_path)
    dev_test = splits["dev"] + splits["test"]
    assert dev_test and not [r for r in dev_test if r["source"] in GENERATED]
    assert {norm_text(r["premise"]) for r in dev_test} >= set(held)
    train_gen = [r for r in splits["train"] if r["source"] in GENERATED]
    assert {r["source"] for r in train_gen} == GENERATED
    used = {norm_text(r[side]) for r in train_gen for side in ("premise", "hypothesis")}
    assert not used & set(held)  # generated without the MSC facts, dropped with them


def test_generated_rows_keep_to_train_sentences(tmp_path):
    from consona.nli.data import build_dataset

    pc = tmp_path / "personachat"
    pc.mkdir()
    sents = [f"i have a dog named rex{i}." for i in range(40)] + [
        f"i love jazz number {i}." for i in range(40)
    ]
    pairs = [[s, f"utterance about {s}"] for s in sents]
    (pc / "train_entailed_pairs.json").write_text(json.dumps(pairs))
    splits, _ = build_dataset(tmp_path, only=GENERATED)
    assert not splits["dev"] and not splits["test"] and splits["train"]
    train_sents = {norm_text(s) for s in sents if split_of(s) == "train"}
    premises = {norm_text(r["premise"]) for r in splits["train"]}
    held_out = {norm_text(s) for s in sents if split_of(s) != "train"}
    assert premises & train_sents and held_out and not premises & held_out
    labels = Counter(r["label"] for r in splits["train"])
    assert set(labels) == {"entailment", "neutral", "contradiction"}
    again, _ = build_dataset(tmp_path, only=GENERATED)
    assert again == splits


def test_generated_rows_do_not_depend_on_hash_seed(tmp_path):
    import os
    import subprocess
    import sys

    pc = tmp_path / "personachat"
    pc.mkdir()
    sents = [f"i love cooking {i} !" for i in range(30)] + [
        f"i love cooking {i}." for i in range(30)
    ]
    (pc / "train_entailed_pairs.json").write_text(json.dumps([[s, "u"] for s in sents]))
    code = (
        "import json,sys; from consona.nli.data import build_dataset, GENERATED;"
        "print(json.dumps(build_dataset(sys.argv[1], only=GENERATED)[0]))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1
