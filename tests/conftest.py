"""Shared pytest fixtures. Tests never read ../shared; they build their own fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Each test gets its own CONSONA_HOME unless it sets one, so caches never leak."""
    home = tmp_path_factory.mktemp("consona-home")
    monkeypatch.setenv("CONSONA_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return home
