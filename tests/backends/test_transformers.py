"""The transformers backend on a tiny randomly initialised causal LM built in tmp_path."""

from __future__ import annotations

import pytest

from consona.backends import load_backend
from consona.errors import BackendError, ConfigError, ModelError

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

WORDS = [
    "hello",
    "hi",
    "how",
    "are",
    "you",
    "i",
    "am",
    "fine",
    "dogs",
    "cats",
    "jazz",
    "tea",
    "coffee",
    "yes",
    "no",
    "what",
    "do",
    "like",
    "have",
    "two",
    "my",
    "the",
    "a",
    "is",
    "it",
]
TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    special = [
        "<pad>",
        "<unk>",
        "<s>",
        "</s>",
        "<|system|>",
        "<|user|>",
        "<|assistant|>",
        "<|end|>",
    ]
    vocab = {t: i for i, t in enumerate(special + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        additional_special_tokens=special[4:],
    )
    fast.chat_template = TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
    )
    model = LlamaForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-lm")
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return path


MSGS = [
    {"role": "system", "content": "you are my dogs"},
    {"role": "user", "content": "hello how are you"},
]


def test_generate_seeded_candidates_reproducible(tiny_model):
    b = load_backend("transformers", model=str(tiny_model))
    assert b.capabilities.max_context == 128
    g4 = b.generate(MSGS, n=4, seed=11, max_tokens=8)
    g1 = b.generate(MSGS, n=1, seed=11, max_tokens=8)
    assert len(g4.texts) == 4 and g4.texts[0] == g1.texts[0]
    assert len(set(g4.texts)) > 1  # random model, sampled: candidates differ
    assert all(set(t.split()) <= set(WORDS) for t in g4.texts)
    assert g4.usage["prompt_tokens"] == b.count_tokens(
        "<|system|> you are my dogs <|end|> <|user|> hello how are you <|end|> <|assistant|>"
    )
    assert 0 < g4.usage["completion_tokens"] <= 32


def test_batched_without_seed_and_greedy(tiny_model):
    b = load_backend("transformers", model=str(tiny_model))
    assert len(b.generate(MSGS, n=3, max_tokens=4).texts) == 3
    greedy = [b.generate(MSGS, temperature=0, max_tokens=6).text for _ in range(2)]
    assert greedy[0] == greedy[1]


def test_stream_matches_generate_with_same_seed(tiny_model):
    b = load_backend("transformers", model=str(tiny_model))
    pieces = list(b.stream(MSGS, seed=5, max_tokens=8))
    assert "".join(pieces).strip() == b.generate(MSGS, seed=5, max_tokens=8).text


def test_errors(tiny_model, tmp_path):
    b = load_backend("transformers", model=str(tiny_model))
    with pytest.raises(BackendError, match="exceeds the context"):
        b.generate([{"role": "user", "content": "hi " * 200}], max_tokens=8)
    with pytest.raises(BackendError, match="not supported"):
        b.generate(MSGS, json_schema={"type": "object"})
    with pytest.raises(ModelError, match="No model directory"):
        load_backend("transformers", model=str(tmp_path / "nope"))
    with pytest.raises(ModelError, match="cannot load"):
        load_backend("transformers", model=str(tmp_path))
    with pytest.raises(ConfigError, match="needs a model"):
        load_backend("transformers")


def test_top_p_reaches_generate(tiny_model):
    b = load_backend("transformers", model=str(tiny_model))
    assert b._gen_kwargs(1.0, 8, 0.3)["top_p"] == 0.3 and b._gen_kwargs(1.0, 8)["top_p"] == 0.95
    # a tiny top_p keeps only the likeliest token: sampling becomes greedy
    greedy = b.generate(MSGS, temperature=0, max_tokens=6).text
    assert b.generate(MSGS, temperature=1.5, top_p=1e-6, max_tokens=6, seed=3).text == greedy
    assert (
        "".join(b.stream(MSGS, temperature=1.5, top_p=1e-6, max_tokens=6, seed=4)).strip() == greedy
    )
