"""Shared fixtures of the extraction tests."""

from __future__ import annotations

import numpy as np
import pytest

from consona.extraction.fast import FastModel
from consona.testing.extraction import FakeEncoder

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
def stub_encoder() -> FakeEncoder:
    """A deterministic clause encoder (no MiniLM) of ``DIM``-dimensional vectors."""
    return FakeEncoder(dim=DIM)


@pytest.fixture
def fast_model() -> FastModel:
    """A hand-set fast-extractor model on ``stub_encoder`` vectors: a first-person clause is
    persona-bearing, its relation ``have_pet``."""
    return _model()
