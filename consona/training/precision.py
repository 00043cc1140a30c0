"""Training precision: fp32, or bf16 autocast (weights, LoRA and optimizer state stay fp32).

``auto`` is bf16 on CUDA devices with bf16 (the usual GPU recipe) and fp32 on CPU. On a CPU
with native bf16 (AVX512-BF16/AMX) ``bf16`` is faster but trains differently: measured on
this project's AVX512-BF16 CPU (SmolLM2-135M LoRA, batch 8 x 128 tokens, the same batches,
``bench/results/train_speed_precision.json``) it used 0.71 CPU-s per example against 0.96
in fp32, and its loss stayed 0.8-2.4% above fp32's over the first 12 steps. Without native
bf16, autocast emulates it and is slower than fp32.

>>> use_bf16("fp32", cuda=False), use_bf16("bf16", cuda=False)
(False, True)
"""

from __future__ import annotations

from consona.training.errors import TrainingError

__all__ = ["native_cpu_bf16", "use_bf16"]


def native_cpu_bf16() -> bool:
    """True when this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16 in
    /proc/cpuinfo); elsewhere bf16 is emulated and slower than fp32."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def use_bf16(precision: str, *, cuda: bool) -> bool:
    """Whether to train under bf16 autocast for ``precision`` (auto | bf16 | fp32)."""
    if precision not in ("auto", "bf16", "fp32"):
        raise TrainingError(
            f"Unknown precision {precision!r}", hint="use --precision auto, bf16 or fp32"
        )
    if precision != "auto":
        return precision == "bf16"
    if cuda:
        import torch

        return bool(torch.cuda.is_bf16_supported())
    return False
