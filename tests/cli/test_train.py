"""`consona train sft|export` through Typer's runner, on a tiny model built in the test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consona.cli.main import app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from tests.training.training_tiny import make_tiny_model, write_chats

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny-cli") / "base")


def test_sft_json_report_then_resume_and_export(tmp_path, tiny):
    data = write_chats(tmp_path / "d.jsonl", 8)
    run = tmp_path / "run"
    args = ["train", "sft", str(data), "-o", str(run), "--base", str(tiny), "--max-steps", "2",
            "--batch-size", "4", "--save-steps", "1", "--threads", "1"]  # fmt: skip
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["steps"] == 2 and report["data"]["examples"] == 8
    assert (run / "merged" / "config.json").is_file()  # --merge is the default
    assert (run / "adapter" / "adapter_config.json").is_file()
    again = runner.invoke(app, [*args, "--max-steps", "3", "--no-merge"])
    assert again.exit_code == 0, again.output
    assert "step 3/3" in again.stdout and "final loss" in again.stdout
    assert json.loads((run / "train_report.json").read_text())["resumed_from_step"] == 2
    exported = runner.invoke(app, ["train", "export", str(run)])
    assert exported.exit_code == 0, exported.output
    assert exported.stdout.strip() == str(run / "merged")


def test_sft_bad_data_exits_with_the_fix(tmp_path, tiny):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(
        app,
        ["train", "sft", str(tmp_path / "empty"), "-o", str(tmp_path / "r"), "--base", str(tiny)],
    )
    assert result.exit_code == 2
    assert "has no training data" in result.stderr and "consona build" in result.stderr


def test_other_data_on_the_same_run_is_refused(tmp_path, tiny):
    run = tmp_path / "run"
    common = ["-o", str(run), "--base", str(tiny), "--max-steps", "1", "--batch-size", "2",
              "--no-merge", "--threads", "1"]  # fmt: skip
    first = write_chats(tmp_path / "a.jsonl", 4)
    assert runner.invoke(app, ["train", "sft", str(first), *common]).exit_code == 0
    other = write_chats(tmp_path / "b.jsonl", 4, offset=9)
    result = runner.invoke(app, ["train", "sft", str(other), *common])
    assert result.exit_code == 2
    assert "trained on other data" in result.stderr and "new -o RUN" in result.stderr


def test_export_without_a_trained_run_fails_clearly(tmp_path):
    result = runner.invoke(app, ["train", "export", str(tmp_path)])
    assert result.exit_code == 2
    assert "No trained adapter" in result.stderr


def test_gguf_export_without_converter_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("CONSONA_GGUF_CONVERTER", raising=False)
    result = runner.invoke(app, ["train", "export", str(tmp_path), "--no-merge", "--gguf", "q8_0"])
    assert result.exit_code == 2
    assert "No llama.cpp converter" in result.stderr and "get-converter" in result.stderr


def test_accelerate_config_prints_ddp_and_zero_configs():
    ddp = runner.invoke(app, ["train", "accelerate-config", "--gpus", "4"])
    assert ddp.exit_code == 0 and "distributed_type: MULTI_GPU" in ddp.stdout
    assert "num_processes: 4" in ddp.stdout
    zero = runner.invoke(app, ["train", "accelerate-config", "--gpus", "8", "--zero", "2"])
    assert "distributed_type: DEEPSPEED" in zero.stdout and "zero_stage: 2" in zero.stdout
    bad = runner.invoke(app, ["train", "accelerate-config", "--zero", "1"])
    assert bad.exit_code == 2 and "ZeRO stage 1" in bad.stderr


def _omp_run(tmp_path, tiny, name: str, *extra: str) -> dict:
    data = write_chats(tmp_path / "d.jsonl", 4)
    args = ["train", "sft", str(data), "-o", str(tmp_path / name), "--base", str(tiny),
            "--max-steps", "1", "--batch-size", "4", "--threads", "1", "--no-merge", "--json",
            *extra]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_omp_wait_policy_defaults_to_passive_unless_set(tmp_path, tiny, monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "x")  # restored (to absent or its value) at teardown
    monkeypatch.delenv("OMP_WAIT_POLICY")
    inherit = _omp_run(tmp_path, tiny, "a", "--omp-wait", "inherit")
    assert inherit["machine"]["omp_wait_policy"] is None
    passive = _omp_run(tmp_path, tiny, "b", "--lm-head", "full", "--random-batches")
    assert passive["machine"]["omp_wait_policy"] == "PASSIVE"
    assert passive["config"]["compact_head"] is False
    assert passive["config"]["group_by_length"] is False
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's own setting wins
    active = _omp_run(tmp_path, tiny, "c", "--lora-dropout", "0.05")
    assert active["machine"]["omp_wait_policy"] == "ACTIVE"
    assert active["config"]["lora_dropout"] == 0.05 and passive["config"]["lora_dropout"] == 0
    assert active["config"]["compact_head"] and active["config"]["group_by_length"]


@pytest.mark.parametrize(
    ("option", "value"), [("--omp-wait", "spin"), ("--lm-head", "half"), ("--precision", "fp8")]
)
def test_bad_speed_options_exit_with_the_choices(tmp_path, tiny, option, value):
    data = write_chats(tmp_path / "d.jsonl", 2)
    result = runner.invoke(
        app, ["train", "sft", str(data), "-o", str(tmp_path / "r"), "--base", str(tiny),
              option, value],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert value in result.stderr
