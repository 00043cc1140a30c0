"""``consona train sft|export|get-converter`` — persona dialogue models from consona data.

Multi-GPU: the same entry point under accelerate (DDP, or DeepSpeed ZeRO with the config
that ``consona train accelerate-config --zero 2`` prints)::

    accelerate launch [--config_file FILE] -m consona.cli.main train sft DATA -o RUN
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from consona.cli._common import emit_json, out_console, status

train_app = typer.Typer(
    name="train",
    help="Train persona dialogue models (TRL SFT + LoRA) on consona builds; export them.",
    no_args_is_help=True,
)


def _main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


@train_app.command("sft")
def sft_cmd(
    data: Path = typer.Argument(
        ..., help="A 'consona build' output folder, or a chat-messages JSONL file."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="RUN folder (re-running on it resumes)."
    ),
    base: str | None = typer.Option(
        None,
        help="Base model: Hugging Face folder or id (default: the offline SmolLM2-135M base "
        "of 'consona models setup').",
    ),
    limit: int | None = typer.Option(None, help="Train on the first N examples only."),
    max_steps: int | None = typer.Option(None, help="Stop after N optimizer steps."),
    epochs: float = typer.Option(1.0, help="Epochs when --max-steps is not given."),
    batch_size: int = typer.Option(8, help="Examples per device per step."),
    grad_accum: int = typer.Option(1, help="Gradient accumulation steps."),
    lr: float = typer.Option(2e-4, "--lr", help="Learning rate."),
    lora_r: int = typer.Option(16, help="LoRA rank."),
    lora_alpha: int = typer.Option(32, help="LoRA alpha."),
    lora_dropout: float = typer.Option(
        0.0,
        help="Dropout on the LoRA inputs (PEFT's default, 0, skips its copies of every "
        "adapted layer's input: on 1,000 PersonaChat chats at --max-length 512, 22.5 min "
        "instead of 27.2 at 0.05, and 10.8 instead of 14.1 GB peak memory). 0.05-0.1 adds "
        "dropout's regularisation.",
    ),
    target_modules: str = typer.Option(
        "all-linear", help="LoRA target modules: all-linear or a comma list (q_proj,v_proj)."
    ),
    max_length: int = typer.Option(512, help="Tokens per example (older turns are dropped)."),
    train_on: str = typer.Option(
        "last", help="Assistant replies with loss: last (the example's reply) | all."
    ),
    save_steps: int = typer.Option(50, help="Checkpoint every N steps (atomic)."),
    keep: int = typer.Option(2, help="Checkpoints kept."),
    seed: int = typer.Option(42, help="Seed of initialisation and data order."),
    threads: int | None = typer.Option(None, help="torch CPU threads (default: torch's)."),
    gradient_checkpointing: bool = typer.Option(
        False, "--gradient-checkpointing", help="Trade compute for memory (long chats)."
    ),
    group_by_length: bool = typer.Option(
        True,
        "--group-by-length/--random-batches",
        help="Batch examples of similar length (less padding, faster); --random-batches: "
        "uniformly random batches, as in plain SFT.",
    ),
    precision: str = typer.Option(
        "auto",
        help="auto: bf16 autocast on a GPU with bf16, else fp32 | bf16: also on CPU (with "
        "AVX512-BF16/AMX: measured 0.71 vs 0.96 CPU-s per example, loss 0.8-2.4% above fp32's "
        "over the first 12 steps) | fp32. Weights and LoRA stay fp32.",
    ),
    omp_wait: str = typer.Option(
        "passive",
        help="OpenMP threads between parallel regions: passive (sleep, unless "
        "OMP_WAIT_POLICY is set; steps ran 4.8x faster on a 2-core CPU at load 14) | inherit "
        "(OpenMP's default: spin a while, which starves a busy CPU).",
    ),
    lm_head: str = typer.Option(
        "compact",
        help="compact: the LM head sees only the trained positions; full: TRL's stock head, "
        "every position (same loss, slower on CPU: for comparison).",
    ),
    merge: bool = typer.Option(
        True, "--merge/--no-merge", help="Also write RUN/merged (base + adapter)."
    ),
    gguf: str | None = typer.Option(
        None, help="Also write RUN/model-TYPE.gguf (f32, f16, bf16, q8_0) for llama.cpp."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print train_report.json."),
) -> None:
    """Fine-tune a chat model with LoRA on DATA (loss on assistant replies only)."""
    _omp_wait(omp_wait)  # before torch is imported: OpenMP reads it once, when it loads
    from consona.training import TrainConfig, train_sft
    from consona.training.export import export_gguf, find_converter, merge_adapter

    config = TrainConfig(
        base=base,
        max_length=max_length,
        train_on=train_on,
        lora_r=lora_r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=target_modules,
        learning_rate=lr,
        batch_size=batch_size,
        grad_accum=grad_accum,
        epochs=epochs,
        max_steps=max_steps,
        save_steps=save_steps,
        keep_checkpoints=keep,
        seed=seed,
        limit=limit,
        gradient_checkpointing=gradient_checkpointing,
        threads=threads,
        group_by_length=group_by_length,
        compact_head=_lm_head(lm_head),
        precision=precision,
    )
    if gguf:
        find_converter()  # fail before training, not after
    result = train_sft(data, output, config=config, report=status)
    if not _main_process():
        return
    if merge or gguf:
        status(f"merging the adapter into {result.run.merged}")
        merge_adapter(result.run)
    if gguf:
        status(f"writing the GGUF ({gguf})")
        path = export_gguf(result.run, outtype=gguf)
        result.report["gguf"] = path.name
    if json_out:
        emit_json(result.report)
        return
    r = result.report
    t = r["time"]
    out_console.print(
        f"{output}: step {r['steps']}/{r['max_steps']}, final loss {r['final_loss']:.4f}, "
        f"{t['examples_per_s']} examples/s, {t['wall_s']:.0f} s"
        if r.get("final_loss") is not None
        else f"{output}: step {r['steps']}/{r['max_steps']}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _omp_wait(value: str) -> None:
    if value not in ("passive", "inherit"):
        raise typer.BadParameter(f"{value!r}: use passive or inherit", param_hint="--omp-wait")
    if value == "passive":
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _lm_head(value: str) -> bool:
    if value not in ("compact", "full"):
        raise typer.BadParameter(f"{value!r}: use compact or full", param_hint="--lm-head")
    return value == "compact"


@train_app.command("export")
def export_cmd(
    run: Path = typer.Argument(..., help="A RUN folder of 'consona train sft'."),
    merge: bool = typer.Option(True, "--merge/--no-merge", help="Write RUN/merged."),
    gguf: str | None = typer.Option(None, help="Write RUN/model-TYPE.gguf (e.g. q8_0)."),
    converter: Path | None = typer.Option(
        None, help="llama.cpp's convert_hf_to_gguf.py (default: 'get-converter' install)."
    ),
    base: str | None = typer.Option(None, help="The base, if it moved since training."),
) -> None:
    """Merge the adapter into its base and/or write a GGUF for llama.cpp."""
    from consona.training import RunDir
    from consona.training.export import export_gguf, find_converter, merge_adapter

    r = RunDir(run)
    if gguf:
        find_converter(converter)  # fail before the slow part
    if merge or (gguf and not (r.merged / "config.json").is_file()):
        status(f"merging the adapter into {r.merged}")
        merge_adapter(r, base=base)
        typer.echo(str(r.merged))
    if gguf:
        status(f"writing the GGUF ({gguf})")
        typer.echo(str(export_gguf(r, outtype=gguf, converter=converter)))


@train_app.command("get-converter")
def get_converter_cmd(
    sdist: Path | None = typer.Option(
        None, help="A llama-cpp-python .tar.gz (default: pip downloads it)."
    ),
) -> None:
    """Unpack llama.cpp's HF→GGUF converter from the llama-cpp-python sdist into the cache."""
    from consona.training.export import install_converter

    typer.echo(str(install_converter(sdist=sdist, report=status)))


@train_app.command("accelerate-config")
def accelerate_config_cmd(
    gpus: int = typer.Option(1, help="Processes (GPUs) on this machine."),
    zero: int = typer.Option(0, help="DeepSpeed ZeRO stage: 0 (plain DDP), 2 or 3."),
    mixed_precision: str = typer.Option("bf16", help="no | fp16 | bf16."),
) -> None:
    """Print an accelerate config (DDP or DeepSpeed ZeRO) for `accelerate launch --config_file`.

    Then: accelerate launch --config_file FILE -m consona.cli.main train sft DATA -o RUN
    """
    from consona.training.launch import accelerate_config

    typer.echo(accelerate_config(gpus=gpus, zero=zero, mixed_precision=mixed_precision), nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(train_app, name="train")
