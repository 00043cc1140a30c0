"""HF sequence-classification models: label order, truncation, and the consona part format,
on tiny randomly initialised BERTs built in tmp_path."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from consona.errors import ModelError  # noqa: E402
from consona.nli.consistency import load_nli_model  # noqa: E402
from consona.nli.hf import HFNLIModel, SequenceClassifierNLI, label_permutation  # noqa: E402

WORDS = [
    "i",
    "have",
    "two",
    "dogs",
    "a",
    "cat",
    "like",
    "jazz",
    "do",
    "not",
    "am",
    "tall",
    "short",
    "my",
    "is",
    "the",
]


def _tiny(tmp_path, id2label, name="tiny"):
    d = tmp_path / name
    d.mkdir()
    (d / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]))
    tok = transformers.BertTokenizerFast(vocab_file=str(d / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=len(WORDS) + 5,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    model = transformers.BertForSequenceClassification(cfg)
    model.save_pretrained(d)
    tok.save_pretrained(d)
    return d, tok, model


def test_label_permutation_from_id2label():
    assert label_permutation({0: "entailment", 1: "neutral", 2: "contradiction"}) == [0, 1, 2]
    assert label_permutation({0: "CONTRADICTION", 1: "Entailment", 2: "neutral"}) == [1, 2, 0]
    with pytest.raises(ModelError):
        label_permutation({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})
    with pytest.raises(ModelError):
        label_permutation({0: "entailment", 1: "not_entailment"})


def test_hf_model_maps_permuted_labels(tmp_path):
    id2label = {0: "contradiction", 1: "entailment", 2: "neutral"}
    d, tok, model = _tiny(tmp_path, id2label)
    nli = load_nli_model(f"hf:{d}")
    pairs = [("i have two dogs", "i do not have a cat"), ("i am tall", "i am short")]
    probs = nli.predict(pairs)
    enc = tok([p for p, _ in pairs], [h for _, h in pairs], padding=True, return_tensors="pt")
    with torch.inference_mode():
        raw = torch.softmax(model.eval()(**enc).logits, -1).numpy()
    # consona order (entailment, neutral, contradiction) = model columns (1, 2, 0)
    np.testing.assert_allclose(probs, raw[:, [1, 2, 0]], atol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_hf_model_missing_dir_is_a_model_error(tmp_path):
    with pytest.raises(ModelError) as err:
        HFNLIModel(tmp_path / "nothing-here")
    assert "hf:<local directory>" in str(err.value)


class _RecordingTokenizer:
    def __init__(self, tok):
        self.tok = tok
        self.calls = []

    def __call__(self, *args, **kwargs):
        enc = self.tok(*args, **kwargs)
        self.calls.append(enc)
        return enc


def test_truncation_keeps_both_sides(tmp_path):
    _d, tok, model = _tiny(tmp_path, {0: "entailment", 1: "neutral", 2: "contradiction"})
    rec = _RecordingTokenizer(tok)
    nli = SequenceClassifierNLI(rec, model, name="tiny", max_length=16)
    long_p = " ".join(["my dogs"] * 200)
    long_h = " ".join(["the cat"] * 300)
    probs = nli.predict([(long_p, long_h), ("", ""), ("i am tall", "私は背が高い")])
    assert probs.shape == (3, 3) and np.isfinite(probs).all()
    enc = rec.calls[0]
    assert enc["input_ids"].shape[1] <= 16
    types = enc["token_type_ids"][-1].tolist()  # the long pair sorts last
    ids = enc["input_ids"][-1].tolist()
    sep = tok.sep_token_id
    assert ids.count(sep) == 2  # both segments present and closed
    assert types.count(0) >= 5 and types.count(1) >= 5  # each side kept a fair share


@pytest.mark.slow  # two parts saved, int8-quantised and reloaded: ~9 s
def test_consona_part_roundtrip_lora_and_full(tmp_path):
    """A trained part saved by save_part loads (merged / int8) and predicts like the
    in-memory model — the shipped format, on a tiny base."""
    from consona.nli.crossencoder import (
        inject_lora,
        load_consona_nli,
        mark_full_trainable,
        new_classifier,
        save_part,
    )

    base, tok, _ = _tiny(tmp_path, {0: "entailment", 1: "neutral", 2: "contradiction"}, "base")
    pairs = [("i have two dogs", "i do not have a cat"), ("i am tall", "my cat is short")]
    for mode in ("lora", "full"):
        torch.manual_seed(1)
        model = new_classifier(base, dropout=0.0)
        if mode == "lora":
            inject_lora(model, r=4, alpha=8)
        else:
            mark_full_trainable(model)
        with torch.no_grad():  # make the trained part differ from the base
            for _n, p in model.named_parameters():
                if p.requires_grad:
                    p.add_(torch.randn_like(p) * 0.2)
        part = tmp_path / f"part-{mode}"
        cfg = {"mode": mode, "lora_r": 4, "lora_alpha": 8, "max_length": 32}
        save_part(model, part, config=cfg)
        (part / "calibration.json").write_text(json.dumps({"contradiction_threshold": 0.42}))
        enc = tok([p for p, _ in pairs], [h for _, h in pairs], padding=True, return_tensors="pt")
        with torch.inference_mode():
            want = torch.softmax(model.eval()(**enc).logits, -1).numpy()
        nli = load_consona_nli(part, base_dir=base)
        got = nli.predict(pairs)
        tol = 1e-4 if mode == "lora" else 2e-2  # int8 weights in full mode
        np.testing.assert_allclose(got, want, atol=tol)
        assert nli.contradiction_threshold == 0.42
        named = load_nli_model(f"consona:{part}", base_dir=base, backend="torch", quantize=False)
        np.testing.assert_allclose(named.predict(pairs), got, atol=1e-6)
        assert named.contradiction_threshold == 0.42  # through the cache wrapper
    with pytest.raises(ModelError):
        load_consona_nli(tmp_path / "no-part", base_dir=base)


@pytest.mark.slow
def test_onnx_backend_matches_torch(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from consona.nli.onnx import OnnxSequenceClassifierNLI, export_onnx

    _d, tok, model = _tiny(tmp_path, {0: "neutral", 1: "contradiction", 2: "entailment"})
    torch_nli = SequenceClassifierNLI(tok, model, name="tiny", max_length=24)
    path = export_onnx(model, tok, tmp_path / "tiny.onnx")
    onnx_nli = OnnxSequenceClassifierNLI(
        tok, model, onnx_path=path, threads=1, name="tiny", max_length=24
    )
    pairs = [("i have two dogs", "i do not have a cat"), ("", ""), ("my cat " * 50, "is tall")]
    np.testing.assert_allclose(onnx_nli.predict(pairs), torch_nli.predict(pairs), atol=1e-5)


@pytest.mark.slow
def test_int8_pairs_run_side_by_side_with_the_same_outputs_in_any_order(tmp_path):
    """Dynamic int8 runs one pair at a time (two threads side by side): a pair's
    probabilities never depend on its neighbours, the order or the batch size."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from consona.nli.onnx import OnnxSequenceClassifierNLI, export_onnx, quantize_onnx

    _d, tok, model = _tiny(tmp_path, {0: "neutral", 1: "contradiction", 2: "entailment"})
    path = quantize_onnx(export_onnx(model, tok, tmp_path / "t.onnx"), tmp_path / "q.onnx")
    nli = OnnxSequenceClassifierNLI(
        tok, model, onnx_path=path, threads=2, name="q", max_length=24, per_pair=True
    )
    words = WORDS * 3
    pairs = [
        (" ".join(words[i : i + 1 + i % 7]), " ".join(words[i + 2 : i + 4])) for i in range(40)
    ]
    probs = nli.predict(pairs, batch_size=64)
    np.testing.assert_array_equal(nli.predict(pairs[::-1], batch_size=5)[::-1], probs)
    np.testing.assert_array_equal(np.stack([nli.predict([p])[0] for p in pairs[:6]]), probs[:6])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert nli.predict([]).shape == (0, 3)


def test_pick_threads_honours_omp_num_threads(monkeypatch):
    from consona.nli.hf import pick_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = pick_threads()
    assert cores >= 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert pick_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", str(cores + 5))
    assert pick_threads() == cores  # never more than the cores
    monkeypatch.setenv("OMP_NUM_THREADS", "lots")
    assert pick_threads() == cores


def test_train_continues_from_a_part_and_saves_every_weight(tmp_path):
    """--init starts from a trained part; --freeze-layers leaves the bottom layers as they
    were, and the saved part still holds them (so it loads on its own)."""
    from consona.nli.crossencoder import load_merged, mark_full_trainable, new_classifier, save_part
    from consona.nli.train import TrainConfig, train

    base, _, _ = _tiny(tmp_path, {0: "entailment", 1: "neutral", 2: "contradiction"}, "base")
    torch.manual_seed(2)
    start = mark_full_trainable(new_classifier(base, dropout=0.0))
    with torch.no_grad():
        for _n, p in start.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.2)
    init = save_part(start, tmp_path / "init", config={"mode": "full", "max_length": 32})
    data = tmp_path / "data"
    data.mkdir()
    rows = [
        {"premise": "i have two dogs", "hypothesis": "i do not have a cat", "label": "neutral"},
        {"premise": "i am tall", "hypothesis": "i am short", "label": "contradiction"},
        {"premise": "i like jazz", "hypothesis": "i like jazz", "label": "entailment"},
    ] * 8
    for name in ("train", "dev"):
        (data / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out"
    cfg = TrainConfig(
        data=str(data), out=str(out), base=str(base), mode="full", init=str(init),
        freeze_layers=1, epochs=1, batch_size=8, lr=1e-2, max_length=32, threads=1,
    )  # fmt: skip
    train(cfg)
    before, _ = load_merged(base, init)
    after, _ = load_merged(base, out)
    b, a = dict(before.named_parameters()), dict(after.named_parameters())
    frozen = "bert.encoder.layer.0.attention.self.query.weight"
    trained = "bert.encoder.layer.1.attention.self.query.weight"
    torch.testing.assert_close(a[frozen], b[frozen], atol=0.02, rtol=0)  # int8 round trip
    assert (a[trained] - b[trained]).abs().max() > 0.02
    from consona.errors import ConfigError

    with pytest.raises(ConfigError, match="--mode full"):
        train(
            TrainConfig(data=str(data), out=str(out), base=str(base), mode="lora", init=str(init))
        )
