"""Scale out: the same ``consona train sft`` under ``accelerate launch``.

``consona train accelerate-config`` prints an accelerate config file (DDP, or DeepSpeed
ZeRO stage 2/3) to pass as ``--config_file``::

    consona train accelerate-config --gpus 8 --zero 2 > zero2.yaml
    accelerate launch --config_file zero2.yaml -m consona.cli.main train sft DATA -o RUN

Every process runs the same command: each trains on its share of every batch
(``--batch-size`` is per device, so the global batch is ``batch × grad_accum × processes``),
every process writes its RNG state into the checkpoint being staged, and only the main
process commits checkpoints and writes the adapter, the merged folder and the report. A
killed multi-GPU run resumes like a single-process one (the same command again). DeepSpeed
needs ``pip install deepspeed`` on the GPU machines; ZeRO-2 shards optimizer state and
gradients (the LoRA parameters are small, so it mostly matters for full fine-tuning or big
bases), ZeRO-3 also shards the frozen base weights. Without CUDA, ``--multi_gpu`` runs the
DDP processes on CPU with the gloo backend (what the tests do).

>>> print(accelerate_config(gpus=2).splitlines()[0])
compute_environment: LOCAL_MACHINE
>>> "zero_stage: 3" in accelerate_config(gpus=8, zero=3)
True
"""

from __future__ import annotations

from consona.training.errors import TrainingError

__all__ = ["accelerate_config"]


def accelerate_config(*, gpus: int = 1, zero: int = 0, mixed_precision: str = "bf16") -> str:
    """An accelerate YAML config: plain DDP (``zero=0``) or DeepSpeed ZeRO stage 2 or 3."""
    if gpus < 1:
        raise TrainingError(f"--gpus must be at least 1, got {gpus}", hint="pass --gpus N")
    if zero not in (0, 2, 3):
        raise TrainingError(f"Unsupported ZeRO stage {zero}", hint="use --zero 0, 2 or 3")
    if mixed_precision not in ("no", "fp16", "bf16"):
        raise TrainingError(
            f"Unknown mixed precision {mixed_precision!r}", hint="use no, fp16 or bf16"
        )
    lines = [
        "compute_environment: LOCAL_MACHINE",
        f"distributed_type: {'DEEPSPEED' if zero else 'MULTI_GPU' if gpus > 1 else 'NO'}",
        "machine_rank: 0",
        "num_machines: 1",
        f"num_processes: {gpus}",
        f"mixed_precision: {mixed_precision}",
        "main_training_function: main",
        "rdzv_backend: static",
        "same_network: true",
        "use_cpu: false",
    ]
    if zero:
        lines += [
            "deepspeed_config:",
            "  gradient_accumulation_steps: auto",
            "  gradient_clipping: 1.0",
            f"  zero_stage: {zero}",
            "  offload_optimizer_device: none",
            "  offload_param_device: none",
            f"  zero3_init_flag: {'true' if zero == 3 else 'false'}",
        ]
        if zero == 3:
            lines.append("  zero3_save_16bit_model: true")
    return "\n".join(lines) + "\n"
