"""Compact storage of trained weights: 2-D weights as int8 with one fp16 scale per output row,
everything else fp16. Used for the parts consona ships (the NLI model, the fast extractor's
statement editor).

>>> import torch
>>> w = torch.tensor([[0.5, -1.0], [2.0, 0.0]])
>>> packed = pack_state({"w": w, "b": torch.ones(2)}, int8=lambda name, t: name == "w")
>>> sorted(packed)
['b', 'w.q8', 'w.scale']
>>> torch.allclose(unpack_state(packed)["w"], w, atol=0.01)
True
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["load_packed", "pack_state", "read_part_config", "save_part", "unpack_state"]


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


def read_part_config(
    folder: Path,
    *,
    part_file: str,
    config_file: str,
    what: str,
    command: str,
    required: bool,
    parse: Callable[[dict[str, Any]], Any],
) -> Any:
    """``parse(config)`` of a trained-part folder (``part_file`` + ``config_file``), or None
    when the part is missing and not ``required``. A missing required part, or a config
    that cannot be read or parsed, is a ModelError naming ``what`` and ``command``."""
    from consona.errors import ModelError

    if not (folder / part_file).is_file():
        if required:
            raise ModelError(
                f"No {what} at {str(folder)!r} (expected {part_file})",
                hint=f"train one with '{command}'",
            )
        return None
    try:
        return parse(json.loads((folder / config_file).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"Unreadable {what} config {str(folder / config_file)!r}: {exc}",
            hint=f"retrain it with '{command}'",
        ) from None


def save_part(
    tensors: Mapping[str, Any],
    folder: str | Path,
    *,
    part_file: str,
    config_file: str,
    config: dict[str, Any],
    int8: Callable[[str, Any], bool],
) -> Path:
    """Write a trained-part folder: ``tensors`` packed (``pack_state``) into ``part_file``
    and ``config`` as JSON into ``config_file``."""
    from safetensors.torch import save_file

    from consona.io import atomic_write

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    save_file(pack_state(tensors, int8=int8), str(out / part_file))
    with atomic_write(out / config_file) as fh:
        fh.write(json.dumps(config, indent=2) + "\n")
    return out
