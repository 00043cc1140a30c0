"""A tiny chat causal LM built in a test (no hub download): a 2-layer Llama with a byte-level
BPE tokenizer trained on a few sentences and the ChatML template of SmolLM2."""

from __future__ import annotations

import json
from pathlib import Path

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

CORPUS = [
    "I have two dogs and I love hiking.",
    "Do you have any pets? I work as a nurse.",
    "My favourite colour is blue. I live in Paris.",
    "hello how are you today? I am fine, thanks.",
    "user assistant system persona reply naturally and stay in character",
]


def make_tiny_model(folder: Path, *, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        pad_token="<|im_end|>",  # like SmolLM2: pad == eos, training must pick another
    )
    fast.chat_template = CHATML
    fast.save_pretrained(str(folder))
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return folder


def write_chats(path: Path, n: int, *, offset: int = 0) -> Path:
    """n chat-messages lines with a persona system message."""
    lines = []
    for i in range(offset, offset + n):
        lines.append(
            {
                "id": f"c{i}",
                "messages": [
                    {"role": "system", "content": f"Your persona:\n- I have {i % 5} dogs."},
                    {"role": "user", "content": f"hello {i}, do you have pets?"},
                    {"role": "assistant", "content": f"I have {i % 5} dogs and I love hiking."},
                ],
            }
        )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path
