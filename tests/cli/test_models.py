"""`consona models list|setup|path` through Typer's runner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from consona.cli.main import app
from consona.models import MODEL_ROLES, ChatRole

runner = CliRunner()


@pytest.fixture
def fake_chat_role(fake_chunks):
    """Registers a chat role on the fake chunk packages (public registry seam), restoring
    the real one afterwards."""
    original = MODEL_ROLES.get("chat")
    MODEL_ROLES.register(
        "chat", lambda: ChatRole(spec=fake_chunks.spec, search_path=[fake_chunks.site])
    )
    yield fake_chunks
    MODEL_ROLES.register("chat", original)


def test_list_json_lists_every_role():
    result = runner.invoke(app, ["models", "list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["role"] for d in data] == ["chat", "embedder", "nli", "trainable"]
    assert {"model", "source", "installed", "path", "size", "licence"} <= set(data[0])


def test_list_table_shows_status(fake_chat_role):
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    assert "Fake model" in result.stdout
    assert "missing" in result.stdout


def test_setup_then_path_chat(fake_chat_role, _isolated_home):
    result = runner.invoke(app, ["models", "setup", "--role", "chat"])
    assert result.exit_code == 0, result.output
    assert "chat: ready" in result.stderr
    expected = _isolated_home / "models" / "fake.gguf"
    assert expected.read_bytes() == fake_chat_role.joined
    result = runner.invoke(app, ["models", "path", "chat"])
    assert result.exit_code == 0
    assert result.stdout.strip() == str(expected)
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)
    assert listed[0]["installed"] is True


def test_setup_json(fake_chat_role):
    result = runner.invoke(app, ["models", "setup", "--role", "chat", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["chat"]["installed"] is True


def test_setup_bad_hash_is_a_clean_error(chunk_factory, _isolated_home):
    import dataclasses

    fake = chunk_factory()
    spec = dataclasses.replace(fake.spec, sha256="f" * 64)
    original = MODEL_ROLES.get("chat")
    MODEL_ROLES.register("chat", lambda: ChatRole(spec=spec, search_path=[fake.site]))
    try:
        result = runner.invoke(app, ["models", "setup", "--role", "chat"])
    finally:
        MODEL_ROLES.register("chat", original)
    assert result.exit_code == 3
    assert "error: sha256 mismatch" in result.stderr
    assert "Traceback" not in result.output
    assert not (_isolated_home / "models" / "fake.gguf").exists()


def test_setup_missing_part_names_it(chunk_factory):
    fake = chunk_factory(skip=(3,))
    original = MODEL_ROLES.get("chat")
    MODEL_ROLES.register("chat", lambda: ChatRole(spec=fake.spec, search_path=[fake.site]))
    try:
        result = runner.invoke(app, ["models", "setup", "--role", "chat"])
    finally:
        MODEL_ROLES.register("chat", original)
    assert result.exit_code == 3
    assert "pip install fake-model-part3" in result.stderr


def test_path_chat_missing_default(fake_chat_role):
    result = runner.invoke(app, ["models", "path", "chat"])
    assert result.exit_code == 3
    assert "No model at" in result.stderr
    assert "consona models setup" in result.stderr
    assert result.stdout == ""


def test_path_chat_env_override(tmp_path, monkeypatch):
    gguf = tmp_path / "my.gguf"
    gguf.write_bytes(b"GGUF")
    monkeypatch.setenv("CONSONA_CHAT_MODEL", str(gguf))
    result = runner.invoke(app, ["models", "path", "chat"])
    assert result.exit_code == 0
    assert result.stdout.strip() == str(gguf)


def test_unknown_role_lists_valid_roles():
    for args in (["models", "path", "vision"], ["models", "setup", "--role", "vision"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        assert "Valid model roles: chat, embedder, nli" in result.stderr


def test_help_lists_models_group():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "models" in result.stdout
