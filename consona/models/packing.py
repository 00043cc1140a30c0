"""Compact storage of trained weights: 2-D weights as int8 with one fp16 scale per output row,
everything else fp16. Used for the parts consona ships (the NLI model, the fast extractor's
statement writer).

>>> import torch
>>> w = torch.tensor([[0.5, -1.0], [2.0, 0.0]])
>>> packed = pack_state({"w": w, "b": torch.ones(2)}, int8=lambda name, t: name == "w")
>>> sorted(packed)
['b', 'w.q8', 'w.scale']
>>> torch.allclose(unpack_state(packed)["w"], w, atol=0.01)
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["load_packed", "pack_state", "unpack_state"]


def pack_state(
    tensors: Mapping[str, Any], *, int8: Callable[[str, Any], bool] = lambda n, t: False
) -> dict[str, Any]:
    """``name → tensor`` as stored: ``name.q8`` (int8) + ``name.scale`` (fp16 per row) where
    ``int8(name, tensor)`` says so and the tensor is 2-D, else ``name`` in fp16."""
    import torch

    out: dict[str, Any] = {}
    for n, p in tensors.items():
        t = p.detach().to("cpu").float()
        if t.ndim == 2 and int8(n, t):
            scale = t.abs().amax(dim=1).clamp(min=1e-8) / 127.0
            out[n + ".q8"] = torch.round(t / scale[:, None]).clamp(-127, 127).to(torch.int8)
            out[n + ".scale"] = scale.half().contiguous()
        else:
            out[n] = t.half().contiguous()
    return out


def unpack_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`pack_state`: ``name → float32 tensor``."""
    tensors: dict[str, Any] = {}
    for n, t in state.items():
        if n.endswith(".scale"):
            continue
        if n.endswith(".q8"):
            base = n[: -len(".q8")]
            tensors[base] = t.float() * state[base + ".scale"].float()[:, None]
        else:
            tensors[n] = t.float()
    return tensors


def load_packed(module: Any, path: Any, *, what: str, hint: str) -> None:
    """Copy the packed tensors of the safetensors file ``path`` into ``module``'s
    parameters of the same names; a ModelError names ``what`` when a tensor has no place
    (unknown name or another shape)."""
    import torch
    from safetensors.torch import load_file

    from consona.errors import ModelError

    tensors = unpack_state(load_file(str(path)))
    params = dict(module.named_parameters())
    unknown = [n for n, t in tensors.items() if n not in params or params[n].shape != t.shape]
    if unknown:
        raise ModelError(f"{what} does not fit the base model (unknown {unknown[:3]})", hint=hint)
    with torch.no_grad():
        for n, t in tensors.items():
            params[n].copy_(t)
