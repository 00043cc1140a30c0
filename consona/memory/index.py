"""Embeddings of the active facts of one (user, character, role), cached in the process.

A fact's text never changes, so its vector (kept in the store as float32 bytes) is read
once per process; each lookup only asks the store which facts are active now. This keeps
``add`` and ``recall`` nearly flat in the number of stored facts.

>>> from consona.testing import FakeEmbedder
>>> idx = EmbeddingIndex(FakeEmbedder())
>>> v = idx.embed(["i like jazz", "dogs bark"])
>>> idx.put({1: v[0], 2: v[1]})
>>> idx.search(idx.embed(["jazz please"])[0], [1, 2], k=1)[0][0]
1
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["EmbeddingIndex", "from_bytes", "to_bytes"]


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (restored after). A sentence or two is
    encoded ~10× cheaper on one thread than on two on a busy 2-core machine (measured:
    14 ms vs 174 ms CPU per sentence with MiniLM), and loading the NLI model sets torch to
    every core."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    if before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if before > 1:
            torch.set_num_threads(before)


def to_bytes(vec: np.ndarray) -> bytes:
    return np.asarray(vec, dtype=np.float32).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float32)


class EmbeddingIndex:
    """Normalised sentence vectors by fact id, plus top-k search over a set of ids.

    >>> from consona.testing import FakeEmbedder
    >>> EmbeddingIndex(FakeEmbedder()).embed(["a b"]).shape
    (1, 64)

    ``embedder`` needs ``encode(list[str])`` (consona's MiniLM embedder, or
    ``consona.testing.FakeEmbedder``)."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.vectors: dict[int, np.ndarray] = {}
        self._matrix_ids: tuple[int, ...] = ()
        self._buf: np.ndarray | None = None  # rows of _matrix_ids, then spare capacity

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        with one_torch_thread() if len(texts) <= 16 else contextlib.nullcontext():
            vecs = np.asarray(self.embedder.encode(list(texts)), dtype=np.float32)
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)

    def put(self, vectors: Mapping[int, np.ndarray]) -> None:
        self.vectors.update(vectors)

    def ensure(
        self,
        ids: Sequence[int],
        *,
        load: Callable[[list[int]], Mapping[int, bytes | None]],
        texts: Callable[[list[int]], Mapping[int, str]],
    ) -> list[int]:
        """Make sure every id has a vector: read missing ones from the store (``load``),
        embed those stored without one (``texts``). Returns the ids embedded here."""
        missing = [i for i in ids if i not in self.vectors]
        if not missing:
            return []
        stored = load(missing)
        fresh = [i for i in missing if not stored.get(i)]
        for i in missing:
            data = stored.get(i)
            if data:
                self.vectors[i] = from_bytes(data)
        if fresh:
            by_id = texts(fresh)
            vecs = self.embed([by_id[i] for i in fresh])
            self.vectors.update(zip(fresh, vecs, strict=True))
        return fresh

    def matrix(self, ids: Sequence[int]) -> np.ndarray:
        """The vectors of ``ids`` as rows. Appending ids (the usual write) only copies the
        new rows into spare capacity; any other change rebuilds the matrix."""
        key = tuple(ids)
        old = self._matrix_ids
        if self._buf is not None and key == old:
            return self._buf[: len(key)]
        if not key:
            dim = len(next(iter(self.vectors.values()))) if self.vectors else 1
            self._buf, self._matrix_ids = np.zeros((0, dim), dtype=np.float32), key
            return self._buf
        if self._buf is not None and len(key) > len(old) and key[: len(old)] == old:
            rows = np.stack([self.vectors[i] for i in key[len(old) :]])
            if len(key) > len(self._buf):
                grown = np.empty((max(len(key), 2 * len(self._buf), 16), rows.shape[1]), np.float32)
                grown[: len(old)] = self._buf[: len(old)]
                self._buf = grown
            self._buf[len(old) : len(key)] = rows
        else:
            full = np.stack([self.vectors[i] for i in key]).astype(np.float32, copy=False)
            self._buf = np.empty((max(16, len(key) + len(key) // 2), full.shape[1]), np.float32)
            self._buf[: len(key)] = full
        self._matrix_ids = key
        return self._buf[: len(key)]

    def similarities(self, query: np.ndarray, ids: Sequence[int]) -> np.ndarray:
        if not ids:
            return np.zeros(0, dtype=np.float32)
        return self.matrix(ids) @ np.asarray(query, dtype=np.float32)

    def search(self, query: np.ndarray, ids: Sequence[int], *, k: int) -> list[tuple[int, float]]:
        """The ``k`` ids most similar to ``query`` (cosine), best first."""
        sims = self.similarities(query, ids)
        if not len(sims):
            return []
        k = min(k, len(sims))
        top = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(ids[j]), float(sims[j])) for j in top]
