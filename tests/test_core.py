from __future__ import annotations

import os

import pytest

from consona.config import Settings
from consona.errors import ConfigError, DataValidationError, FormatError, UnknownNameError
from consona.io import atomic_write
from consona.registry import Registry
from consona.types import Dialogue, Example, Fact, Persona, Turn


def test_fact_validation_names_field():
    with pytest.raises(DataValidationError, match="text"):
        Fact(text="   ")
    with pytest.raises(DataValidationError, match="confidence"):
        Fact(text="I am tall.", confidence=1.5)


def test_persona_keeps_unknown_fields_and_extensions():
    p = Persona.from_dict(
        {
            "name": "Kai",
            "facts": ["I surf."],
            "weird_field": {"x": [1, 2]},
            "extensions": {"other_app": {"deep": True}},
        }
    )
    d = p.to_dict()
    assert d["weird_field"] == {"x": [1, 2]}
    assert d["extensions"] == {"other_app": {"deep": True}}
    assert Persona.from_dict(d) == p


def test_dialogue_roundtrip_and_speakers():
    d = Dialogue(
        id="d",
        turns=[Turn(speaker="b", text="hi"), Turn(speaker="a", text="yo")],
        personas={"a": Persona(facts=["I am a nurse."]), "c": Persona()},
    )
    assert d.speakers() == ["b", "a", "c"]
    assert Dialogue.from_dict(d.to_dict()) == d
    with pytest.raises(DataValidationError, match="speaker"):
        Turn(speaker=" ", text="x")


def test_example_requires_response():
    with pytest.raises(DataValidationError, match="response"):
        Example.from_dict({"id": "e", "speaker": "s"})


def test_registry_lists_valid_names():
    r: Registry[int] = Registry("widget")
    r.register("b", lambda: 2)
    r.register("a", "math:floor")
    with pytest.raises(UnknownNameError, match="Valid widgets: a, b"):
        r.get("zzz")
    assert r.create("a", 2.7) == 2


def test_settings_precedence(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('backend = "openai"\nnli_model = "hf:x"\n[openai]\nbase_url = "http://h/v1"\n')
    s = Settings.load(env={"CONSONA_CONFIG": str(cfg), "CONSONA_NLI_MODEL": "fake"})
    assert s.backend == "openai" and s.nli_model == "fake" and s.openai_base_url == "http://h/v1"
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(env={"CONSONA_CONFIG": str(tmp_path / "nope.toml")})


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_gives_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "report.md") as f:
            f.write("# report")
    finally:
        os.umask(old)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600


def test_format_error_names_file_and_line():
    e = FormatError("broken", path="x.txt", line=7, hint="fix it")
    assert str(e) == "x.txt, line 7: broken — fix it"
