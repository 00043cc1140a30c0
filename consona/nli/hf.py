"""Hugging Face sequence-classification NLI models (``"hf:<id or dir>"``).

The model's own ``id2label`` is mapped onto consona's fixed LABELS order (label orders
differ between public NLI models). Pairs are truncated ``longest_first`` so both premise
and hypothesis keep tokens, however long either is.

>>> nli = HFNLIModel("path/to/nli-model")  # doctest: +SKIP
>>> nli.predict([("A man sleeps.", "A man is awake.")]).argmax(1)  # doctest: +SKIP
array([2])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import ModelError, require
from consona.nli.base import LABELS, Pair
from consona.progress import quiet_transformers

_ALIASES = {
    "entailment": 0,
    "entail": 0,
    "entailed": 0,
    "neutral": 1,
    "contradiction": 2,
    "contradict": 2,
    "contradictory": 2,
    "contradicted": 2,
}


def label_permutation(id2label: dict[Any, str]) -> list[int]:
    """Model output index for each of LABELS, e.g. ``{0: 'contradiction', 1: 'entailment',
    2: 'neutral'}`` → ``[1, 2, 0]``.

    >>> label_permutation({0: "CONTRADICTION", 1: "entailment", 2: "Neutral"})
    [1, 2, 0]
    """
    found: dict[int, int] = {}
    for idx, name in id2label.items():
        key = re.sub(r"[^a-z]", "", str(name).lower())
        if key in _ALIASES:
            found[_ALIASES[key]] = int(idx)
    if len(id2label) != 3 or len(found) != 3:
        raise ModelError(
            f"Cannot map the model's labels {dict(id2label)} onto {list(LABELS)}",
            hint="use a 3-way NLI model whose config.id2label names entailment, neutral "
            "and contradiction (or pass label_order=[...] in that model's index order)",
        )
    return [found[i] for i in range(3)]


def pick_threads() -> int:
    """CPU threads for the NLI model: the cores this process may use, or fewer when
    ``OMP_NUM_THREADS`` says so (build workers and Ray actors set it to share the cores).

    >>> pick_threads() >= 1
    True
    """
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        cores = os.cpu_count() or 1
    try:
        wanted = int(os.environ.get("OMP_NUM_THREADS", "0"))
    except ValueError:
        wanted = 0
    return max(1, min(cores, wanted) if wanted > 0 else cores)


class SequenceClassifierNLI:
    """NLIModel over an already-loaded tokenizer + sequence-classification model.

    >>> nli = SequenceClassifierNLI(tokenizer, model, name="mine")  # doctest: +SKIP
    """

    def __init__(
        self,
        tokenizer: Any,
        model: Any,
        *,
        name: str,
        max_length: int = 256,
        label_order: Sequence[str] | None = None,
        contradiction_threshold: float | None = None,
        per_pair: bool = False,
    ) -> None:
        self.tokenizer = tokenizer
        self.model = model.eval()
        self.name = name
        self.max_length = max_length
        self.contradiction_threshold = contradiction_threshold
        # dynamic int8 quantises activations per batch: a pair's probabilities would depend
        # on the other pairs in its batch, so quantised models run one pair at a time
        self.per_pair = per_pair
        if label_order is not None:
            perm = label_permutation(dict(enumerate(label_order)))
        else:
            perm = label_permutation(dict(model.config.id2label))
        self.permutation = perm

    def logits(self, pairs: Sequence[Pair], *, batch_size: int = 64) -> np.ndarray:
        torch = require("torch", extra="ml", purpose="NLI models")
        out = np.zeros((len(pairs), 3), dtype=np.float32)
        if not pairs:
            return out
        # sort by length so padding stays small; restore the order afterwards
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        batch_size = 1 if self.per_pair else batch_size
        with torch.inference_mode():
            for start in range(0, len(order), max(1, batch_size)):
                idx = order[start : start + batch_size]
                enc = self.tokenizer(
                    [str(pairs[i][0]) for i in idx],
                    [str(pairs[i][1]) for i in idx],
                    truncation="longest_first",
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                )
                device = getattr(self.model, "device", None)
                if device is not None and str(device) != "cpu":
                    enc = {k: v.to(device) for k, v in enc.items()}
                logits = self.model(**enc).logits.float().cpu().numpy()
                out[idx] = logits[:, self.permutation]
        return out

    def predict(self, pairs: Sequence[Pair], *, batch_size: int = 64) -> np.ndarray:
        z = self.logits(pairs, batch_size=batch_size)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


class HFNLIModel(SequenceClassifierNLI):
    """Any Hugging Face NLI model by hub id or local directory (offline: a directory).

    >>> nli = HFNLIModel("cross-encoder/nli-deberta-v3-small")  # doctest: +SKIP
    """

    def __init__(
        self,
        model_id: str | Path,
        *,
        max_length: int = 256,
        label_order: Sequence[str] | None = None,
        threads: int | None = None,
        contradiction_threshold: float | None = None,
    ) -> None:
        torch = require("torch", extra="ml", purpose="NLI models")
        transformers = require("transformers", extra="ml", purpose="NLI models")
        torch.set_num_threads(threads or pick_threads())

        quiet_transformers()
        try:
            tok = transformers.AutoTokenizer.from_pretrained(str(model_id))
            model = transformers.AutoModelForSequenceClassification.from_pretrained(str(model_id))
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"Cannot load the NLI model {str(model_id)!r}: {exc}",
                hint="pass hf:<local directory> with config.json, weights and tokenizer "
                "(offline, hub ids only work when already cached)",
            ) from exc
        super().__init__(
            tok,
            model,
            name=f"hf:{model_id}",
            max_length=max_length,
            label_order=label_order,
            contradiction_threshold=contradiction_threshold,
        )
