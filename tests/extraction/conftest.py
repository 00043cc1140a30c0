"""Shared fixtures of the extraction tests."""

from __future__ import annotations

import pytest

WORDS = ["i", "have", "two", "dogs", "cats", "a", "cat", "like", "to", "read", "books", "love", "hiking", "work", "as", "nurse", "teacher", "my", ".", ",", "lol", "yes", "no", "wow", "cool", "am", "job"]  # fmt: skip


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory):
    """A tiny 2-layer BERT + word-level tokenizer saved like a MiniLM folder (for the
    statement writer and editor tests; no MiniLM needed)."""
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
