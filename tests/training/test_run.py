"""RUN folders: identity checks, atomic checkpoints (disk full keeps the last good one),
and which backend serves a trained run."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from consona.backends import load_backend
from consona.errors import ModelError
from consona.training import CheckpointError, RunDir, RunMismatchError
from consona.training.run import backend_for_run

IDENTITY = {"data_fingerprint": "aaa", "examples": 3, "base": "b", "recipe": {"lora_r": 16}}


def _writer(step: int):
    def write(staging: Path) -> None:
        folder = staging / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        (folder / "adapter_model.safetensors").write_bytes(b"x" * step)

    return write


def test_identity_refuses_other_data_base_or_recipe(tmp_path):
    run = RunDir(tmp_path / "run")
    run.check_identity(IDENTITY)  # a new run: nothing to compare
    run.write_identity(IDENTITY)
    run.check_identity(dict(IDENTITY))
    with pytest.raises(RunMismatchError, match=r"trained on other data.*new -o RUN"):
        run.check_identity(IDENTITY | {"data_fingerprint": "bbb"})
    with pytest.raises(RunMismatchError, match="another base"):
        run.check_identity(IDENTITY | {"base": "other"})
    with pytest.raises(RunMismatchError, match="lora_r: 16 → 8"):
        run.check_identity(IDENTITY | {"recipe": {"lora_r": 8}})


def test_checkpoints_commit_atomically_and_rotate(tmp_path):
    run = RunDir(tmp_path / "run")
    for step in (2, 4, 6):
        run.commit_checkpoint(step, _writer(step), keep=2)
    assert [s for s, _ in run.committed()] == [4, 6]
    assert run.last_checkpoint() == run.checkpoints / "checkpoint-6"
    assert not run.staging.exists()


def test_disk_full_mid_checkpoint_keeps_the_last_good_one(tmp_path):
    run = RunDir(tmp_path / "run")
    run.commit_checkpoint(2, _writer(2))

    def full_disk(staging: Path) -> None:
        half = staging / "checkpoint-4"
        half.mkdir(parents=True)
        (half / "trainer_state.json").write_text("{")  # half written
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(CheckpointError, match=r"disk full.*checkpoint-2 and is intact"):
        run.commit_checkpoint(4, full_disk)
    assert [s for s, _ in run.committed()] == [2]
    assert (run.last_checkpoint() / "adapter_model.safetensors").read_bytes() == b"xx"
    assert not run.staging.exists()


def test_a_killed_save_leaves_only_staging(tmp_path):
    run = RunDir(tmp_path / "run")
    run.commit_checkpoint(2, _writer(2))
    half = run.staging / "checkpoint-4"  # what kill -9 during a save leaves
    half.mkdir(parents=True)
    (half / "trainer_state.json").write_text("{}")
    assert run.last_checkpoint().name == "checkpoint-2"
    run.clean_staging()
    assert not run.staging.exists()


def test_backend_for_run_picks_gguf_then_merged(tmp_path):
    run = RunDir(tmp_path / "run")
    run.write_identity(IDENTITY)
    with pytest.raises(ModelError, match="no trained model yet"):
        backend_for_run(run.root, None)
    run.adapter.mkdir()
    (run.adapter / "adapter_config.json").write_text("{}")
    assert backend_for_run(run.root, None) == ("transformers", str(run.adapter))
    run.merged.mkdir()
    (run.merged / "config.json").write_text("{}")
    assert backend_for_run(run.root, None) == ("transformers", str(run.merged))
    with pytest.raises(ModelError, match=r"no GGUF.*consona train export"):
        backend_for_run(run.root, "llamacpp")
    (run.root / "model-q8_0.gguf").write_bytes(b"GGUF")
    assert backend_for_run(run.root, None) == ("llamacpp", str(run.root / "model-q8_0.gguf"))
    assert backend_for_run(run.root, "transformers")[0] == "transformers"
    with pytest.raises(ModelError, match="cannot be served by the 'openai'"):
        backend_for_run(run.root, "openai")


def test_load_backend_resolves_a_run_folder(tmp_path):
    """load_backend(model=RUN) reaches the transformers backend with the run's merged
    folder: an unloadable folder fails there, naming it."""
    run = RunDir(tmp_path / "run")
    run.write_identity(IDENTITY)
    run.merged.mkdir()
    (run.merged / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="merged"):
        load_backend(model=str(run.root))


def test_torch_write_errors_are_checkpoint_errors_too(tmp_path):
    run = RunDir(tmp_path / "run")

    def torch_save_fails(staging: Path) -> None:
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: No space left")

    with pytest.raises(CheckpointError, match=r"disk full.*does not exist yet"):
        run.commit_checkpoint(2, torch_save_fails)
    assert run.committed() == []
