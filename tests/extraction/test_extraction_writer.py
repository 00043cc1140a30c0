"""The statement writer: decoding, training, storage and its use by the fast extractor — on a
tiny BERT the test creates (no MiniLM); the shipped writer is exercised by the slow test."""

from __future__ import annotations

import numpy as np
import pytest
from test_extraction_fast import StubEncoder, _model

from consona.errors import ModelError
from consona.extraction.encoder import EncodedTurn
from consona.extraction.fast import FastExtractor
from consona.extraction.text import rouge_l, split_clauses
from consona.extraction.writer import (
    StatementWriter,
    load_writer,
    split_statements,
    train_writer,
)
from consona.types import Turn

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


class TinyEncoder:
    """The ClauseEncoder seam over the tiny BERT: token states from its forward pass."""

    quantized = False

    def __init__(self, path):
        self.path = path
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(path))
        self.model = transformers.BertModel.from_pretrained(str(path)).eval()

    def encode(self, texts, *, keep_states=False):
        out = []
        for text in texts:
            batch = self.tokenizer([text or "."], return_tensors="pt")
            with torch.inference_mode():
                h = self.model(**batch).last_hidden_state[0].numpy()
            clauses = split_clauses(text)
            vecs = np.ones((len(clauses), h.shape[1]), np.float32)
            ids = batch["input_ids"][0].numpy() if keep_states else None
            out.append(
                EncodedTurn(clauses, vecs, h.mean(0), h.copy() if keep_states else None, ids)
            )
        return out


PAIRS = [
    ("wow i have two dogs lol", "i have two dogs."),
    ("yes i work as a nurse", "i work as a nurse."),
    ("cool i love hiking", "i like hiking."),
    ("no i like to read books", "i like to read. i like books."),
]


def test_split_statements_cleans_and_splits():
    assert split_statements("i like to read . i ' m a nurse") == ["I like to read.", "I'm a nurse."]
    assert split_statements("ok .") == []
    assert split_statements("") == []


def test_writer_learns_saves_and_reloads(tiny_base, tmp_path):
    enc = TinyEncoder(tiny_base)
    out = tmp_path / "writer"
    report = train_writer(PAIRS * 8, out=out, dev=PAIRS, encoder=enc, layers=1, epochs=24,
                          batch_size=4, lr=1e-2)  # fmt: skip
    assert report["loss"][-1] < report["loss"][0] / 3
    assert report["dev_rouge_l"] > 0.8  # memorised through an int8 save/load round trip
    assert (out / "train_report.json").is_file()
    writer = load_writer(out, base_dir=tiny_base)
    states = enc.encode([u for u, _ in PAIRS], keep_states=True)
    texts = writer.write(states)
    assert len(texts) == len(PAIRS)
    # batched decoding (padding, finished rows) gives what one-by-one decoding gives
    assert texts == [writer.write([s])[0] for s in states]
    scores = [
        rouge_l(" ".join(split_statements(t)), g) for t, (_, g) in zip(texts, PAIRS, strict=True)
    ]
    assert np.mean(scores) > 0.8


def test_load_writer_errors(tmp_path):
    with pytest.raises(ModelError, match="train-writer"):
        load_writer(tmp_path / "nothing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "writer.safetensors").write_bytes(b"")
    (tmp_path / "bad" / "writer.json").write_text("{not json")
    with pytest.raises(ModelError, match="writer config"):
        load_writer(tmp_path / "bad")


class FakeWriter:
    def __init__(self, replies):
        self.replies = replies
        self.seen = 0

    def write(self, states):
        self.seen += len(states)
        return [self.replies.get(round(float(t.states.sum()), 3), "") for t in states]


class StatefulStub(StubEncoder):
    def encode(self, texts, *, keep_states=False):
        out = super().encode(texts)
        for e, t in zip(out, texts, strict=True):
            e.states = np.full((2, 3), float(len(t)), np.float32) if keep_states else None
        return out


def test_fast_extractor_with_writer_keeps_grounded_statements():
    text = "oh wow. i have a dog lol. do you have pets?"
    writer = FakeWriter({6.0 * len(text): "i have a dog . i have a dog . i am an astronaut"})
    ex = FastExtractor(_model(), encoder=StatefulStub(), writer=writer)
    facts = ex.extract_batch([Turn(speaker="a", text=t) for t in [text, "lol ok", "cool, you?"]])
    # the duplicate is merged; the invented topic (no shared content word) is dropped
    assert [f.text for f in facts[0]] == ["I have a dog."]
    assert facts[0][0].relation == "have_pet" and facts[0][0].confidence > 0.5
    assert facts[1] == [] and facts[2] == []
    assert writer.seen == 1  # only the persona-bearing utterance was decoded


@pytest.mark.slow
def test_shipped_writer_on_real_encoder():
    from consona.extraction.fast import load_fast

    try:
        ex = load_fast()
    except ModelError as exc:
        pytest.skip(f"fast extractor not available: {exc}")
    if not isinstance(ex.writer, StatementWriter):
        pytest.skip("no statement writer shipped (the shipped statement model is the editor)")
    facts = ex.extract_batch([Turn(speaker="a", text=t) for t in [
        "i've been a nurse for ten years lol", "lol ok", "do you have any pets?",
        "I just got done watching a horror movie"]])  # fmt: skip
    assert any("nurse" in f.text.lower() for f in facts[0])
    assert facts[1] == [] and facts[2] == []
    assert any("horror" in f.text.lower() for f in facts[3])
    assert all(f.text[0].isupper() and f.text.endswith(".") for fs in facts for f in fs)
