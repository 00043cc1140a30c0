"""The SFT loss on the trained tokens only: the LM head projects just the positions whose
next-token label is not ``-100``.

A chat's loss is on its assistant reply (~13 tokens of a ~110-token PersonaChat example), but
a causal LM's own forward, and TRL's fused LM head on devices without Triton (CPU), project
*every* position through the ``hidden x vocabulary`` head (576 x 49,152 for SmolLM2) and fold
the whole ``[tokens, vocabulary]`` tile into the loss, the entropy and the top-1 metric, in
the forward and again in the backward. Here the backbone runs once, the hidden states of the
labelled positions are gathered, and only those rows meet the head (fp32 logits, then
cross-entropy): the same loss, ~1/8 of the head's work and memory on such data.

``install_compact_head(model)`` patches the model's ``forward`` the way TRL patches its fused
head (so the call still goes through DDP/PEFT wrappers and gradients are synchronised): a call
with ``consona_labels=LABELS`` returns a :class:`CompactLMOutput`; any other call runs the
previous forward (generation, TRL's own paths) unchanged.

>>> import torch
>>> from consona.training.loss import compact_nll
>>> h = torch.zeros(1, 3, 4); w = torch.zeros(5, 4)
>>> out = compact_nll(h, torch.tensor([[-100, 1, 2]]), lambda x: x @ w.t())
>>> round(float(out.nll_sum), 4), int(out.n_tokens)  # 2 tokens, uniform over 5: 2·ln 5
(3.2189, 2)
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CompactLMOutput", "compact_nll", "install_compact_head", "supports_compact_head"]

# config attributes that change the logits after the LM head: the compact head applies the
# first two (as the models do); a model with any other is left on the stock path
_APPLIED = ("final_logit_softcapping", "logit_scale")
_UNSUPPORTED = ("logits_scaling", "lm_head_multiplier", "output_multiplier")


@dataclass
class CompactLMOutput:
    """Summed negative log-likelihood over the labelled positions and their count; the
    number of top-1 hits (for the token-accuracy metric, no gradient)."""

    nll_sum: Any
    n_tokens: Any
    n_correct: Any


def compact_nll(
    hidden: Any,
    labels: Any,
    head: Callable[[Any], Any],
    *,
    softcap: float | None = None,
    logit_scale: float = 1.0,
) -> CompactLMOutput:
    """NLL of ``labels`` (``[batch, seq]``, ``-100`` = no loss; shifted here: position ``t``
    predicts label ``t+1``) from ``hidden`` (``[batch, seq, dim]``), projecting only the
    labelled positions through ``head``."""
    import torch

    targets = labels[:, 1:]
    mask = targets != -100
    picked = hidden[:, :-1][mask]
    if picked.shape[0] == 0:  # keep the graph connected (DDP) with a zero loss
        zero = hidden.sum() * 0.0
        return CompactLMOutput(zero, mask.sum(), mask.sum())
    weight = getattr(head, "weight", None)
    # the few picked rows meet the head in fp32 even under bf16 autocast (cheap, exact loss)
    with torch.autocast(device_type=picked.device.type, enabled=False):
        dtype = weight.dtype if weight is not None and weight.is_floating_point() else None
        logits = head(picked.to(dtype) if dtype is not None else picked).float()
    if logit_scale != 1.0:
        logits = logits * logit_scale
    if softcap:
        logits = softcap * torch.tanh(logits / softcap)
    wanted = targets[mask]
    nll = torch.nn.functional.cross_entropy(logits, wanted, reduction="sum")
    with torch.no_grad():
        correct = (logits.argmax(-1) == wanted).sum()
    return CompactLMOutput(nll, mask.sum(), correct)


def supports_compact_head(model: Any) -> bool:
    """True when the model's logits are ``lm_head(hidden)`` up to the transforms the compact
    head applies (softcapping, ``logit_scale``)."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else None
    config = config or model.config
    if any(getattr(config, a, None) not in (None, 1, 1.0) for a in _UNSUPPORTED):
        return False
    return model.get_output_embeddings() is not None and hasattr(model, "base_model")


def install_compact_head(model: Any) -> bool:
    """Patch ``model.forward`` (a causal LM, before or after PEFT wraps it) so that
    ``forward(..., consona_labels=L)`` returns a :class:`CompactLMOutput`. False (and nothing
    patched) when the model is not supported."""
    if not supports_compact_head(model):
        return False
    previous = model.forward
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else None
    config = config or model.config
    softcap = getattr(config, "final_logit_softcapping", None)
    scale = getattr(config, "logit_scale", None)
    scale = 1.0 if scale is None else float(scale)

    @functools.wraps(type(model).forward)
    def forward(self: Any, *args: Any, consona_labels: Any = None, **kwargs: Any) -> Any:
        if consona_labels is None:
            return previous(*args, **kwargs)
        kwargs.pop("labels", None)  # PEFT passes labels=None through
        kwargs["use_cache"] = False
        hidden = self.base_model(*args, **kwargs).last_hidden_state
        head = self.get_output_embeddings()
        return compact_nll(hidden, consona_labels.to(hidden.device), head, softcap=softcap,
                           logit_scale=scale)  # fmt: skip

    model.forward = types.MethodType(forward, model)
    return True
