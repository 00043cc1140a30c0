"""The NLI protocol: every consistency judgement in consona goes through it.

Probabilities always come in the fixed label order ``LABELS`` =
(entailment, neutral, contradiction), whatever the underlying model's own ``id2label``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from consona.registry import Registry

LABELS: tuple[str, str, str] = ("entailment", "neutral", "contradiction")
ENTAILMENT, NEUTRAL, CONTRADICTION = 0, 1, 2

Pair = tuple[str, str]  # (premise, hypothesis)


@runtime_checkable
class NLIModel(Protocol):
    """``predict(pairs) -> float array (len(pairs), 3)``, rows summing to 1, in LABELS order."""

    name: str

    def predict(self, pairs: Sequence[Pair], *, batch_size: int = 64) -> np.ndarray: ...


NLI_MODELS: Registry[NLIModel] = Registry("NLI model")
