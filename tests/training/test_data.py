"""SFT data: readers (build folders, messages JSONL), fingerprint, assistant-only masks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consona.errors import FormatError
from consona.training import SFTExample, TrainingError, encode_example, fingerprint, read_examples
from consona.training.data import data_files
from tests.training.training_tiny import write_chats


def _build_folder(root: Path, rows: list[list[dict[str, str]]]) -> Path:
    """A real `consona build` output (BuildOutput's commit protocol) with the given chats."""
    from consona.pipeline.output import BuildOutput

    out = BuildOutput(root)
    m = out.new_manifest(fingerprint="f", parts={}, config={})
    full = []
    for i, msgs in enumerate(rows):
        full.append(
            {
                "id": f"e{i}", "dialogue_id": "d", "turn": i, "speaker": "b",
                "persona_facts": [], "context": [], "response": msgs[-1]["content"],
                "used_facts": [], "distractor_facts": [], "source_file": "x",
                "source_line": 0, "source_index": i, "augmentation": "", "messages": msgs,
                "facts": "",
            }
        )  # fmt: skip
    out.commit_shard(m, "shard-00000", full[: len(full) // 2], {})
    out.commit_shard(m, "shard-00001", full[len(full) // 2 :], {})
    return root


CHAT = [
    {"role": "system", "content": "Your persona:\n- I have a dog."},
    {"role": "user", "content": "do you have pets?"},
    {"role": "assistant", "content": "I have a dog."},
]


def test_reads_messages_jsonl_with_limit(tmp_path):
    path = write_chats(tmp_path / "d.jsonl", 5)
    ex = read_examples(path, limit=3)
    assert [e.id for e in ex] == ["c0", "c1", "c2"]
    assert ex[0].messages[-1]["role"] == "assistant"


def test_reads_build_folder_jsonl_and_parquet(tmp_path):
    rows = [[*CHAT[:2], {"role": "assistant", "content": f"reply {i}"}] for i in range(4)]
    root = _build_folder(tmp_path / "build", rows)
    from_jsonl = read_examples(root)
    assert [e.messages[-1]["content"] for e in from_jsonl] == [f"reply {i}" for i in range(4)]
    for p in (root / "shards").glob("*.messages.jsonl"):
        p.unlink()  # the Parquet shards alone are enough
    assert all(f.suffix == ".parquet" for f in data_files(root))
    assert fingerprint(read_examples(root)) == fingerprint(from_jsonl)


def test_empty_and_wrong_data_fail_clearly(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainingError, match="has no training data"):
        read_examples(tmp_path / "empty")
    with pytest.raises(TrainingError, match="No training data at"):
        read_examples(tmp_path / "missing")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"turns": []}\n')
    with pytest.raises(FormatError, match=r"line 1.*'messages'"):
        read_examples(bad)
    bad.write_text("not json\n")
    with pytest.raises(FormatError, match="not valid JSON"):
        read_examples(bad)
    no_reply = tmp_path / "noreply.jsonl"
    no_reply.write_text(json.dumps({"messages": CHAT[:2]}) + "\n")
    with pytest.raises(FormatError, match="no assistant message"):
        read_examples(no_reply)
    empty_build = _build_folder(tmp_path / "b0", [])
    with pytest.raises(TrainingError, match="No examples"):
        read_examples(empty_build)


def test_fingerprint_follows_content_and_order():
    a = SFTExample("1", CHAT)
    b = SFTExample("2", [*CHAT[:2], {"role": "assistant", "content": "No pets."}])
    assert fingerprint([a, b]) == fingerprint([a, b])
    assert fingerprint([a, b]) != fingerprint([b, a])
    assert fingerprint([a]) != fingerprint([b])


def test_loss_only_on_the_assistant_reply_and_eos(tiny_tokenizer):
    tok = tiny_tokenizer
    enc = encode_example(tok, SFTExample("1", CHAT), max_length=256)
    trained = [t for t in enc.labels if t != -100]
    assert tok.decode(trained) == "I have a dog.<|im_end|>"
    assert trained[-1] == tok.eos_token_id
    assert len(enc.labels) == len(enc.input_ids)
    # the untrained part is exactly the prompt the model sees at generation time
    n_prompt = enc.labels.index(trained[0])
    prompt = tok.apply_chat_template(CHAT[:2], tokenize=False, add_generation_prompt=True)
    assert tok.decode(enc.input_ids[:n_prompt]) == prompt
    assert all(t == -100 for t in enc.labels[:n_prompt])


def test_train_on_all_assistant_turns(tiny_tokenizer):
    chat = [*CHAT, {"role": "user", "content": "a cat?"}, {"role": "assistant", "content": "no"}]
    last = encode_example(tiny_tokenizer, SFTExample("1", chat), max_length=256)
    every = encode_example(tiny_tokenizer, SFTExample("1", chat), max_length=256, train_on="all")
    assert last.input_ids == every.input_ids
    eos = tiny_tokenizer.eos_token_id
    assert [t for t in last.labels if t != -100].count(eos) == 1
    assert [t for t in every.labels if t != -100].count(eos) == 2


def test_long_context_is_dropped_from_the_front(tiny_tokenizer):
    turns = []
    for i in range(30):
        turns += [
            {"role": "user", "content": f"question number {i} about pets"},
            {"role": "assistant", "content": f"answer number {i}"},
        ]
    ex = SFTExample("long", [CHAT[0], *turns])
    enc = encode_example(tiny_tokenizer, ex, max_length=120)
    assert len(enc.input_ids) <= 120
    text = tiny_tokenizer.decode(enc.input_ids)
    assert text.startswith("<|im_start|>system")  # the persona is kept
    assert "answer number 29<|im_end|>" in text and "question number 0 " not in text
    assert tiny_tokenizer.decode([t for t in enc.labels if t != -100]).startswith(
        "answer number 29"
    )


def test_no_trained_token_fails_loudly(tiny_tokenizer):
    long_reply = [CHAT[0], CHAT[1], {"role": "assistant", "content": ""}]
    ex = SFTExample("x", [{"role": "system", "content": "word " * 200}, *long_reply[1:]])
    with pytest.raises(TrainingError, match="'x' has no trained token"):
        encode_example(tiny_tokenizer, ex, max_length=32)
