"""The compact LM head: the same loss and gradients as the model's own head over every
position, forward unchanged without labels, unsupported heads left alone, and a training run
whose loss curve matches TRL's stock head step for step."""

from __future__ import annotations

import pytest

from consona.training import TrainConfig, train_sft
from consona.training.loss import install_compact_head, supports_compact_head
from tests.training.training_tiny import write_chats


def _model(tiny_base):
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(tiny_base), dtype=torch.float32)
    model.config.use_cache = False
    return model


def _batch(vocab: int):
    import torch

    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, vocab, (3, 12), generator=g)
    labels = torch.full_like(ids, -100)
    labels[0, 8:] = ids[0, 8:]  # the replies: a few positions per row, some rows longer
    labels[1, 5:11] = ids[1, 5:11]
    labels[2, 11:] = ids[2, 11:]
    mask = torch.ones_like(ids)
    mask[1, 11:] = 0  # right padding
    return ids, labels, mask


def test_compact_loss_and_gradients_equal_the_full_head(tiny_base):
    import torch

    model = _model(tiny_base)
    ids, labels, mask = _batch(model.config.vocab_size)
    full = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    full.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()

    assert install_compact_head(model)
    out = model(input_ids=ids, attention_mask=mask, consona_labels=labels)
    assert int(out.n_tokens) == int((labels[:, 1:] != -100).sum())
    loss = out.nll_sum / out.n_tokens
    assert float(loss.detach()) == pytest.approx(float(full.detach()), rel=1e-5)
    loss.backward()
    for name, p in model.named_parameters():
        assert torch.allclose(p.grad, grads[name], rtol=1e-4, atol=1e-6), name


def test_forward_without_labels_is_unchanged(tiny_base):
    import torch

    model = _model(tiny_base)
    ids, _labels, mask = _batch(model.config.vocab_size)
    with torch.no_grad():
        before = model(input_ids=ids, attention_mask=mask).logits
        install_compact_head(model)
        after = model(input_ids=ids, attention_mask=mask).logits
    assert torch.equal(before, after)


def test_a_head_with_its_own_logit_scaling_is_left_alone(tiny_base):
    model = _model(tiny_base)
    model.config.logits_scaling = 8.0  # Granite-style: the compact head would get it wrong
    assert not supports_compact_head(model)
    forward = model.forward
    assert not install_compact_head(model)
    assert model.forward == forward


def test_training_loss_curve_matches_the_stock_head(tmp_path, tiny_base):
    data = write_chats(tmp_path / "d.jsonl", 12)
    common = {"base": str(tiny_base), "max_steps": 4, "batch_size": 4, "threads": 1,
              "learning_rate": 1e-2, "save_steps": 10, "precision": "fp32"}  # fmt: skip
    compact = train_sft(data, tmp_path / "a", config=TrainConfig(compact_head=True, **common))
    stock = train_sft(data, tmp_path / "b", config=TrainConfig(compact_head=False, **common))
    a = [x["loss"] for x in compact.report["losses"]]
    b = [x["loss"] for x in stock.report["losses"]]
    assert len(a) == len(b) == 4
    assert a == pytest.approx(b, rel=1e-4)
    assert compact.report["config"]["compact_head"] and not stock.report["config"]["compact_head"]
