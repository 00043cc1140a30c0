"""Length-grouped batches: less padding than random batches, an order fixed by (seed, epoch),
and a resumed run that sees the same batches (and losses) as an uninterrupted one."""

from __future__ import annotations

import random
import shutil

import pytest

from consona.training import RunDir, TrainConfig, train_sft
from consona.training.sampler import SeededLengthGroupedSampler
from tests.training.training_tiny import write_chats


def _padding(order: list[int], lengths: list[int], batch: int) -> int:
    waste = 0
    for i in range(0, len(order), batch):
        chunk = [lengths[j] for j in order[i : i + batch]]
        waste += sum(max(chunk) - n for n in chunk)
    return waste


def test_batches_group_similar_lengths():
    rng = random.Random(0)
    lengths = [rng.randint(80, 512) for _ in range(400)]
    sampler = SeededLengthGroupedSampler(lengths, batch_size=8, seed=3)
    order = list(sampler)
    assert sorted(order) == list(range(400))
    shuffled = list(range(400))
    rng.shuffle(shuffled)
    assert _padding(order, lengths, 8) < 0.2 * _padding(shuffled, lengths, 8)


def test_order_depends_on_seed_and_epoch_only():
    lengths = list(range(100, 300))
    a = SeededLengthGroupedSampler(lengths, batch_size=4, seed=1)
    b = SeededLengthGroupedSampler(lengths, batch_size=4, seed=1)
    first = list(a)
    assert list(b) == first and list(a) == first  # fresh or re-iterated: the same order
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(b) == list(a)
    assert list(SeededLengthGroupedSampler(lengths, batch_size=4, seed=2)) != first


def test_resume_sees_the_same_batches(tmp_path, tiny_base):
    """A run "killed" after checkpoint 4 (its later checkpoints removed), in its second epoch,
    resumes with the batches, and so the losses, of the uninterrupted run. (transformers'
    LengthGroupedSampler draws the resumed epoch's order from the global RNG and fails this.)"""
    data = write_chats(tmp_path / "d.jsonl", 12)
    cfg = TrainConfig(base=str(tiny_base), batch_size=4, threads=1, learning_rate=1e-2,
                      save_steps=2, keep_checkpoints=5, max_steps=8, group_by_length=True)  # fmt: skip
    straight = train_sft(data, tmp_path / "run", config=cfg)
    run = RunDir(tmp_path / "run")
    assert [s for s, _ in run.committed()] == [2, 4, 6, 8]
    for _step, folder in run.committed()[2:]:
        shutil.rmtree(folder)
    shutil.rmtree(run.adapter)
    run.report_path.unlink()
    resumed = train_sft(data, tmp_path / "run", config=cfg)
    assert resumed.report["resumed_from_step"] == 4
    a = [x["loss"] for x in straight.report["losses"]]
    b = [x["loss"] for x in resumed.report["losses"]]
    assert len(b) == 8 and b == pytest.approx(a, rel=1e-5)  # 3 steps per epoch
