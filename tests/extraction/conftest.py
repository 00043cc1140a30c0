"""Shared fixtures of the extraction tests."""

from __future__ import annotations

import numpy as np
import pytest

from consona.extraction.encoder import EncodedTurn
from consona.extraction.fast import FastModel
from consona.extraction.text import split_clauses
from consona.text import tokens

WORDS = ["i", "have", "two", "dogs", "cats", "a", "cat", "like", "to", "read", "books", "love", "hiking", "work", "as", "nurse", "teacher", "my", ".", ",", "lol", "yes", "no", "wow", "cool", "am", "job"]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A tiny 2-layer BERT + word-level tokenizer saved like a MiniLM folder (for the
    statement editor tests; no MiniLM needed)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    d = tmp_path_factory.mktemp("tinybert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(WORDS)]
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n")
    transformers.BertTokenizer(str(d / "vocab.txt"), do_lower_case=True).save_pretrained(str(d))
    config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64,
                                     max_position_embeddings=64, initializer_range=0.3)  # fmt: skip
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(str(d))
    return d


DIM = 8


class StubEncoder:
    """Deterministic clause vectors from a bag of hashed words (public seam: encoder=)."""

    def encode(self, texts):
        out = []
        for text in texts:
            clauses = split_clauses(text)
            vecs = np.zeros((len(clauses), DIM), np.float32)
            for i, c in enumerate(clauses):
                for w in tokens(c.text):
                    vecs[i, sum(map(ord, w)) % DIM] += 1.0
            norm = np.linalg.norm(vecs, axis=1, keepdims=True)
            vecs = vecs / np.maximum(norm, 1e-9)
            out.append(EncodedTurn(clauses, vecs, vecs.mean(0) if len(vecs) else np.zeros(DIM)))
        return out


def _model() -> FastModel:
    m = FastModel.random(dim=DIM, relations=["have_pet", "has_profession"], hidden=2)
    m.w1[:] = 0.0
    m.w1[2 * DIM + 4, 0] = 4.0  # first-person hand feature → persona-bearing
    m.w2[:] = [1.0, 0.0]
    m.b2 = np.array(-2.0, np.float32)
    m.u_w1[:] = 0.0
    m.u_b2 = np.array(3.0, np.float32)  # the utterance head always fires
    m.rel_w[:] = 0.0
    m.rel_b[:] = [3.0, 0.0]
    m.threshold = 0.5
    return m


@pytest.fixture
def stub_encoder() -> StubEncoder:
    """A deterministic clause encoder (no MiniLM) of ``DIM``-dimensional vectors."""
    return StubEncoder()


@pytest.fixture
def fast_model() -> FastModel:
    """A hand-set fast-extractor model on ``stub_encoder`` vectors: a first-person clause is
    persona-bearing, its relation ``have_pet``."""
    return _model()
