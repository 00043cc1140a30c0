"""Training the fast model on tiny synthetic encoded data (stub vectors, no MiniLM)."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from consona.cli.main import app
from consona.extraction.data import LabeledUtterance as U
from consona.extraction.encoder import EncodedTurn
from consona.extraction.evaluate import evaluate_encoded
from consona.extraction.text import split_clauses
from consona.extraction.train import clause_labels, train_model
from consona.text import tokens

DIM = 16


def _encode(texts):
    out = []
    for text in texts:
        clauses = split_clauses(text)
        vecs = np.zeros((len(clauses), DIM), np.float32)
        for i, c in enumerate(clauses):
            for w in tokens(c.text):
                vecs[i, sum(map(ord, w)) % DIM] += 1.0
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
        out.append(
            EncodedTurn(clauses, vecs, vecs.mean(0) if len(vecs) else np.zeros(DIM, np.float32))
        )
    return out


def _items(n):
    rng = np.random.default_rng(0)
    pets, jobs = ["dog", "cat", "fish", "bird"], ["nurse", "pilot", "chef", "teacher"]
    items = []
    for i in range(n):
        g = f"msc:ep{i % 40}"
        if rng.random() < 0.5:
            job = jobs[i % 4]
            items.append(
                U(
                    text=f"lol nice. i work as a {job}",
                    persona_text=f"I work as a {job}.",
                    group=g,
                    source="msc",
                )
            )
        else:
            items.append(U(text=f"haha what about your {pets[i % 4]}?", group=g, source="msc"))
    return items


def test_clause_labels_ignore_stopwords():
    assert clause_labels(["yes it is", "my son plays soccer"], "My son plays soccer.") == [0, 1]
    assert clause_labels(["i have a dog"], None) == [0]


def test_train_model_learns_synthetic_task():
    items = _items(200)
    encs = _encode([x.text for x in items])
    rel_items = [U(text="i have a dog", triples=[("i", "have_pet", "dog")])] * 6 + [
        U(text="i am a nurse", triples=[("i", "has_profession", "nurse")])
    ] * 6
    model, report = train_model(
        items, encs, rel_items, _encode([x.text for x in rel_items]), epochs=10
    )
    assert model.relations == ["has_profession", "have_pet"]
    test = _items(60)
    scores = evaluate_encoded(model, test, _encode([x.text for x in test]))
    assert scores["f1"] > 0.9
    assert scores["rouge_l"] > 0.9
    assert 0.0 < report["threshold"] < 1.0


def test_cli_train_missing_data_dir(tmp_path):
    r = CliRunner().invoke(
        app,
        ["extract", "train", "--data-dir", str(tmp_path / "nope"), "-o", str(tmp_path / "m.npz")],
    )
    assert r.exit_code == 2 and "--data-dir" in r.output
    assert not (tmp_path / "m.npz").exists()
