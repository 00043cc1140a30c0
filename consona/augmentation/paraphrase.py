"""LLM paraphrase of persona facts, through any chat backend, with an on-disk cache.

>>> from consona.testing import FakeBackend
>>> import tempfile
>>> p = LLMParaphraser(FakeBackend(["I own two dogs."]), cache_dir=tempfile.mkdtemp())
>>> p.paraphrase(["I have two dogs."])
['I own two dogs.']
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consona.io import atomic_write

__all__ = ["PROMPT_VERSION", "LLMParaphraser"]

PROMPT_VERSION = "paraphrase-v1"
_SYSTEM = (
    "Rewrite the persona statement in different words. Keep its meaning, keep it in the "
    "first person, one short sentence. Reply with the rewritten sentence only."
)


class LLMParaphraser:
    """Paraphrases persona facts with ``backend.generate``; each answer is cached on disk
    (one small JSON file per fact, written atomically, so several worker processes can
    share the cache). A reply that is empty, multi-line or too long keeps the original.

    >>> from consona.testing import FakeBackend
    >>> import tempfile
    >>> backend = FakeBackend(["Dogs: I have two of them."])
    >>> p = LLMParaphraser(backend, cache_dir=tempfile.mkdtemp(), model_id="fake")
    >>> p.paraphrase(["I have two dogs.", "I have two dogs."])
    ['Dogs: I have two of them.', 'Dogs: I have two of them.']
    >>> len(backend.calls)  # the second one came from the cache
    1
    """

    def __init__(
        self,
        backend: Any,
        *,
        cache_dir: str | Path,
        model_id: str | None = None,
        temperature: float = 0.0,
        seed: int = 0,
        max_tokens: int = 48,
    ) -> None:
        self.backend = backend
        self.model_id = model_id or str(getattr(backend, "model", "") or backend.name)
        self.temperature = temperature
        self.seed = seed
        self.max_tokens = max_tokens
        key = f"{PROMPT_VERSION}|{self.model_id}|{temperature}|{seed}|{max_tokens}"
        self.cache_dir = Path(cache_dir) / hashlib.sha256(key.encode()).hexdigest()[:16]
        self.hits = 0
        self.misses = 0

    def _path(self, text: str) -> Path:
        h = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return self.cache_dir / h[:2] / f"{h}.json"

    def _lookup(self, text: str) -> str | None:
        path = self._path(text)
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["source"] == text:
                return str(data["paraphrase"])
        return None

    def _generate(self, text: str) -> str:
        messages = [
            {"role": "system", "content": _SYSTEM},
            {"role": "user", "content": text},
        ]
        gen = self.backend.generate(
            messages, n=1, temperature=self.temperature, max_tokens=self.max_tokens, seed=self.seed
        )
        return _clean(gen.text, original=text)

    def paraphrase(self, texts: Sequence[str]) -> list[str]:
        out: list[str] = []
        for text in texts:
            cached = self._lookup(text)
            if cached is None:
                self.misses += 1
                cached = self._generate(text)
                with contextlib.suppress(Exception), atomic_write(self._path(text)) as f:
                    json.dump({"source": text, "paraphrase": cached}, f, ensure_ascii=False)
            else:
                self.hits += 1
            out.append(cached)
        return out


def _clean(reply: str, *, original: str) -> str:
    text = reply.strip().strip('"').strip("'").strip()
    if not text or "\n" in text or len(text) > max(200, 3 * len(original)):
        return original
    return text
