"""Loading NLI models by name, and the one wrapper that adds batching + an LRU pair cache.

Names: ``"consona"`` (the default judge: the shipped persona-NLI cross-encoder on the
utterance's statements + the triple check, :mod:`consona.nli.judge`), ``"consona:<dir>"``
(the same judge around a part trained with ``consona nli train``), ``"consona-nli"`` /
``"consona-int8"`` (the cross-encoder alone), ``"llm"`` (the chat backend as judge),
``"hf:<id or dir>"`` (any Hugging Face sequence-classification NLI model), ``"fake"``
(:class:`consona.testing.FakeNLI`), and anything registered in ``NLI_MODELS``.

>>> nli = load_nli_model("fake")
>>> nli.predict([("I have two dogs.", "I have dogs.")]).argmax(axis=1).tolist()
[0]
>>> nli.cache_info()["misses"]
1
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from consona.errors import ConfigError, UnknownNameError
from consona.nli.base import NLI_MODELS, NLIModel, Pair

DEFAULT_CACHE_SIZE = 20_000


class CachedNLI:
    """Wrap any NLIModel with de-duplication, batching and an LRU cache of pairs.

    >>> from consona.testing import FakeNLI
    >>> inner = FakeNLI()
    >>> nli = CachedNLI(inner, cache_size=100)
    >>> _ = nli.predict([("I am tall.", "I am tall."), ("I am tall.", "I am tall.")])
    >>> _ = nli.predict([("I am tall.", "I am tall.")])
    >>> inner.pairs_seen, nli.cache_info()["hits"]
    (1, 2)
    """

    def __init__(
        self, model: NLIModel, *, cache_size: int = DEFAULT_CACHE_SIZE, batch_size: int = 64
    ) -> None:
        self.model = model
        self.name: str = getattr(model, "name", type(model).__name__)
        self.cache_size = max(0, int(cache_size))
        self.batch_size = batch_size
        self._cache: OrderedDict[Pair, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @property
    def contradiction_threshold(self) -> float | None:
        """The calibrated threshold of the wrapped model, if it has one."""
        value = getattr(self.model, "contradiction_threshold", None)
        return float(value) if value is not None else None

    def cache_info(self) -> dict[str, int]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "size": len(self._cache),
            "maxsize": self.cache_size,
        }

    def clear_cache(self) -> None:
        self._cache.clear()
        self.hits = self.misses = 0

    def predict(self, pairs: Sequence[Pair], *, batch_size: int | None = None) -> np.ndarray:
        bs = max(1, int(batch_size or self.batch_size))
        keys = [(str(p), str(h)) for p, h in pairs]
        out = np.zeros((len(keys), 3), dtype=np.float32)
        todo: dict[Pair, list[int]] = {}
        for i, key in enumerate(keys):
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                out[i] = cached
                self.hits += 1
            elif key in todo:
                todo[key].append(i)
                self.hits += 1
            else:
                todo[key] = [i]
                self.misses += 1
        unique = list(todo)
        for start in range(0, len(unique), bs):
            chunk = unique[start : start + bs]
            probs = np.asarray(self.model.predict(chunk, batch_size=bs), dtype=np.float32)
            if probs.shape != (len(chunk), 3):
                raise ConfigError(
                    f"NLI model {self.name!r} returned shape {probs.shape} for {len(chunk)} pairs",
                    hint="an NLIModel must return one row of 3 probabilities per pair",
                )
            for key, row in zip(chunk, probs, strict=True):
                for i in todo[key]:
                    out[i] = row
                if self.cache_size:
                    self._cache[key] = row.copy()
                    if len(self._cache) > self.cache_size:
                        self._cache.popitem(last=False)
        return out

    def __repr__(self) -> str:
        return f"CachedNLI({self.model!r}, cache_size={self.cache_size})"


NEUTRAL_ROW = np.array([0.0, 1.0, 0.0], dtype=np.float32)


def predict_unique(
    nli: NLIModel, pairs: Sequence[Pair], *, prefilter: bool = False
) -> dict[Pair, np.ndarray]:
    """NLI probabilities per distinct pair, in one batched call. With ``prefilter``, a pair
    whose sides share no content word is taken as neutral without asking the model (a
    build's cost is dominated by NLI; entailment and contradiction almost always share a
    content word).

    >>> from consona.testing import FakeNLI
    >>> got = predict_unique(FakeNLI(), [("i swim", "i bake"), ("i swim", "i bake")], prefilter=True)
    >>> len(got), got[("i swim", "i bake")].tolist()
    (1, [0.0, 1.0, 0.0])
    """
    from consona.text import shares_content_word

    unique = list(dict.fromkeys(pairs))
    out: dict[Pair, np.ndarray] = {}
    ask = []
    for pair in unique:
        if prefilter and not shares_content_word(*pair):
            out[pair] = NEUTRAL_ROW
        else:
            ask.append(pair)
    if ask:
        out.update(zip(ask, np.asarray(nli.predict(ask)), strict=True))
    return out


NO_NLI = ("none", "off", "")


def load_optional_nli(name: str | None, *, settings: Any = None, **kwargs: Any) -> CachedNLI | None:
    """:func:`load_nli_model`, or ``None`` for ``"none"`` / ``"off"`` (no NLI guard).

    >>> load_optional_nli("none") is None, load_optional_nli("fake").name
    (True, 'fake')
    """
    if name is not None and name.strip().lower() in NO_NLI:
        return None
    return load_nli_model(name, settings=settings, **kwargs)


def nli_model_names() -> list[str]:
    """Valid names for :func:`load_nli_model` (``hf:<id or dir>`` is a pattern)."""
    return [*NLI_MODELS.names(), "consona:<trained dir>", "hf:<id or dir>", "none"]


def load_nli_model(
    name: str | None = None,
    *,
    settings: Any = None,
    cache_size: int = DEFAULT_CACHE_SIZE,
    batch_size: int = 64,
    **kwargs: Any,
) -> CachedNLI:
    """Load an NLI model by name, wrapped in :class:`CachedNLI`.

    ``name`` defaults to ``settings.nli_model`` (env ``CONSONA_NLI_MODEL``), else ``"consona"``.
    Unknown names raise :class:`UnknownNameError` listing the valid ones.
    """
    if name is None:
        if settings is None:
            from consona.config import Settings

            settings = Settings.load()
        name = getattr(settings, "nli_model", None) or "consona"
    name = name.strip()
    if name.startswith("hf:"):
        target = name[3:].strip()
        if not target:
            raise ConfigError(
                "NLI model name 'hf:' has no model id or directory",
                hint="use hf:<model id or local directory>",
            )
        from consona.nli.hf import HFNLIModel

        model: NLIModel = HFNLIModel(target, **kwargs)
    elif name.startswith("consona:"):
        from consona.nli.judge import load_default_judge

        # the same judge as "consona" (int8, read with the part's judge_threshold)
        model = load_default_judge(part_dir=name[len("consona:") :].strip(), **kwargs)
    else:
        if name not in NLI_MODELS:
            raise UnknownNameError("NLI model", name, nli_model_names())
        model = NLI_MODELS.create(name, **kwargs)
    return CachedNLI(model, cache_size=cache_size, batch_size=batch_size)
