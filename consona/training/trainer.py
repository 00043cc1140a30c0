"""``consona train sft``: TRL's ``SFTTrainer`` + PEFT LoRA on chat-messages data, with the
loss on assistant replies only, atomic checkpoints every N steps, resume, and a
``train_report.json``.

>>> from consona.training import TrainConfig
>>> TrainConfig(max_steps=10).recipe()["lora_r"]
16

Speed on CPU (issue #14): the LM head projects only the trained positions
(:mod:`consona.training.loss`), batches group examples of similar length
(:mod:`consona.training.sampler`), and ``precision="bf16"`` is offered on CPUs with native
bf16 (:mod:`consona.training.precision`; the default stays fp32 there). The CLI also sets
``OMP_WAIT_POLICY=PASSIVE`` before torch loads (OpenMP threads that spin starve a shared CPU).

``train_sft(DATA, RUN)`` trains (or resumes) and writes the LoRA adapter into
``RUN/adapter``; :mod:`consona.training.export` merges it and writes the GGUF. The same
function runs under ``accelerate launch`` (DDP or DeepSpeed ZeRO: see
:mod:`consona.training.launch`): only the main process writes the run files.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import platform
import resource
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consona.errors import ModelError, require
from consona.io import atomic_write
from consona.training.data import (
    SFTExample,
    describe_source,
    encode_example,
    fingerprint,
    read_examples,
)
from consona.training.errors import TrainingError
from consona.training.precision import native_cpu_bf16, use_bf16
from consona.training.run import RunDir

__all__ = ["TrainConfig", "TrainResult", "pick_pad_token", "resolve_base", "train_sft"]

logger = logging.getLogger("consona.training")
Report = Callable[[str], None]


@dataclass
class TrainConfig:
    """How to train. ``recipe()`` is the part a resumed run must share with the first one;
    ``max_steps``, ``epochs``, ``save_steps`` and ``limit`` of the data may change."""

    base: str | None = None  # HF id or folder; None: the offline default (models setup)
    max_length: int = 512
    train_on: str = "last"  # "last" assistant reply of each example, or "all"
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0  # PEFT's default; 0.05 cost 21 % more time on CPU
    target_modules: str = "all-linear"
    learning_rate: float = 2e-4
    batch_size: int = 8
    grad_accum: int = 1
    warmup_ratio: float = 0.03
    epochs: float = 1.0
    max_steps: int | None = None
    save_steps: int = 50
    keep_checkpoints: int = 2
    seed: int = 42
    limit: int | None = None
    gradient_checkpointing: bool = False
    threads: int | None = None
    # batches of similar lengths (less padding); the batches' make-up is part of the recipe
    group_by_length: bool = True
    # the LM head on the labelled positions only (same loss); False: TRL's stock head, which
    # on CPU projects every position
    compact_head: bool = True
    # "auto": bf16 autocast on CUDA devices with bf16, fp32 elsewhere; "bf16" (faster on CPUs
    # with AVX512-BF16/AMX, trains a little differently) or "fp32". Weights and LoRA stay fp32.
    precision: str = "auto"

    def recipe(self) -> dict[str, Any]:
        keys = ("max_length", "train_on", "lora_r", "lora_alpha", "lora_dropout",
                "target_modules", "learning_rate", "batch_size", "grad_accum",
                "warmup_ratio", "seed", "group_by_length", "precision")  # fmt: skip
        return {k: getattr(self, k) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TrainResult:
    """What a (resumed) training run did; ``report`` is ``train_report.json``."""

    run: RunDir
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def adapter(self) -> Path:
        return self.run.adapter


def resolve_base(base: str | None) -> tuple[str, str]:
    """(where to load the base from, its name for the run identity). None: the offline
    default, dequantized first when needed."""
    if base is None:
        from consona.models.trainbase import SMOLLM2_135M_Q4_1, trainable_base_path

        return str(trainable_base_path(setup=True)), SMOLLM2_135M_Q4_1.dirname
    path = Path(base).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise TrainingError(
                f"{str(path)!r} is not a Hugging Face model folder (no config.json)",
                hint="pass --base with a causal-LM folder or id, or leave it out for the "
                "offline default",
            )
        return str(path), path.resolve().name
    return base, base


def pick_pad_token(tokenizer: Any) -> str:
    """A padding token distinct from EOS, chosen among the tokenizer's existing tokens (no
    new token is added): its pad token if it differs from EOS, else unk, ``<|endoftext|>``,
    ``<pad>``, then any other special token."""
    eos = tokenizer.eos_token
    vocab = tokenizer.get_vocab()
    candidates = [tokenizer.pad_token, tokenizer.unk_token, "<|endoftext|>", "<pad>", "<unk>"]
    candidates += list(getattr(tokenizer, "all_special_tokens", []))
    for tok in candidates:
        if tok and tok != eos and tok in vocab and tok != tokenizer.bos_token:
            return str(tok)
    raise TrainingError(
        "The tokenizer has no token to pad with other than EOS (the model would not learn to stop)",
        hint="use a base whose tokenizer has a pad or unk token",
    )


def _load(base_src: str, *, gradient_checkpointing: bool) -> tuple[Any, Any]:
    transformers = require("transformers", extra="ml", purpose="consona train")
    torch = require("torch", extra="ml", purpose="consona train")
    from consona.progress import quiet_transformers

    quiet_transformers()
    local = Path(base_src).exists()
    kwargs: dict[str, Any] = {"local_files_only": True} if local else {}
    try:
        config = transformers.AutoConfig.from_pretrained(base_src, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"Cannot load the base {base_src!r}: {str(exc).splitlines()[0][:300]}",
            hint="pass --base with a local Hugging Face folder (or an id on a machine with a "
            "network), or leave it out for the offline default",
        ) from None
    mapping = transformers.models.auto.modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    archs = list(getattr(config, "architectures", None) or [])
    causal = tuple(a for a in archs if a.endswith(("ForCausalLM", "LMHeadModel")))
    if config.model_type not in mapping or (archs and not causal):
        raise TrainingError(
            f"The base {base_src!r} is not a causal language model (model_type "
            f"{config.model_type!r})",
            hint="pass a chat/causal LM with --base (e.g. a Llama/Qwen/SmolLM folder)",
        )
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(base_src, **kwargs)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            base_src, dtype=torch.float32, **kwargs
        )
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"Cannot load the base {base_src!r}: {str(exc).splitlines()[0][:300]}",
            hint="check the folder holds weights and a tokenizer",
        ) from None
    if not getattr(tokenizer, "chat_template", None):
        raise TrainingError(
            f"The tokenizer of {base_src!r} has no chat template",
            hint="use an instruct/chat base, or add chat_template to tokenizer_config.json",
        )
    tokenizer.pad_token = pick_pad_token(tokenizer)
    model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.config.use_cache = False
    return model, tokenizer


def _dataset(tokenizer: Any, examples: list[SFTExample], config: TrainConfig) -> tuple[Any, int]:
    datasets = require("datasets", extra="train", purpose="consona train")
    ids, labels = [], []
    trained = 0
    for ex in examples:
        enc = encode_example(tokenizer, ex, max_length=config.max_length, train_on=config.train_on)
        ids.append(enc.input_ids)
        labels.append(enc.labels)
        trained += enc.trained_tokens
    return datasets.Dataset.from_dict({"input_ids": ids, "labels": labels}), trained


def _trainer_class() -> Any:
    from transformers import TrainerCallback
    from trl import SFTTrainer

    class AtomicSFTTrainer(SFTTrainer):
        """SFTTrainer whose checkpoints are written in staging and renamed when complete."""

        consona_run: RunDir
        consona_keep: int = 2
        consona_compact: bool = False
        consona_lengths: list[int] | None = None  # set: length-grouped batches
        consona_tokens: list[int]  # padded tokens of each micro-batch trained in this process
        _consona_out: str | None = None

        def _get_train_sampler(self, train_dataset: Any = None) -> Any:
            if self.consona_lengths is None:
                return super()._get_train_sampler(train_dataset)
            from consona.training.sampler import SeededLengthGroupedSampler

            return SeededLengthGroupedSampler(
                self.consona_lengths,
                batch_size=self.args.train_batch_size * self.args.gradient_accumulation_steps,
                seed=self.args.data_seed if self.args.data_seed is not None else self.args.seed,
            )

        def compute_loss(
            self,
            model: Any,
            inputs: Any,
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            """The loss through the compact LM head (labelled positions only, see
            :mod:`consona.training.loss`), scaled exactly as TRL's: by the batch's trained
            tokens over all accumulation steps (and devices); else TRL's own path."""
            if model.training:  # padded tokens per micro-batch, for the report
                self.consona_tokens.append(int(inputs["input_ids"].numel()))
            if not self.consona_compact or return_outputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            inputs = {k: v for k, v in inputs.items() if k != "labels"} | {
                "consona_labels": inputs["labels"],
                "use_cache": False,
            }
            out = model(**inputs)
            denom = num_items_in_batch if num_items_in_batch is not None else out.n_tokens
            loss = out.nll_sum / _at_least_one(denom)
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes
            metrics = getattr(self, "_metrics", None)
            if isinstance(metrics, dict) and "train" in metrics:
                n = self.accelerator.gather_for_metrics(out.n_tokens.detach()).sum()
                hits = self.accelerator.gather_for_metrics(out.n_correct.detach()).sum()
                if int(n) > 0:
                    metrics["train"]["mean_token_accuracy"].append(float(hits) / float(n))
            return loss

        def _get_output_dir(self, trial: Any) -> str:
            return self._consona_out or str(super()._get_output_dir(trial))

        def _save_checkpoint(self, model: Any, trial: Any) -> None:
            run = self.consona_run
            step = self.state.global_step

            def write(staging: Path) -> None:
                self.accelerator.wait_for_everyone()
                self._consona_out = str(staging)
                try:
                    SFTTrainer._save_checkpoint(self, model, trial)
                finally:
                    self._consona_out = None
                self.accelerator.wait_for_everyone()

            if self.args.should_save:
                run.commit_checkpoint(step, write, keep=self.consona_keep)
            else:
                write(run.staging)

    class FinalSave(TrainerCallback):
        """Checkpoint at the last step too, so a finished run resumes as finished; a
        resumed run takes its first step at the learning rate of this run's schedule."""

        def on_train_begin(
            self, args: Any, state: Any, control: Any, optimizer: Any = None,
            lr_scheduler: Any = None, **kw: Any,
        ) -> None:  # fmt: skip
            # the checkpoint's optimizer holds the lr its own schedule set after its last
            # step (0 at the end of a linear decay); with another --max-steps or --epochs
            # the restored scheduler (same step, this run's lambdas) gives another
            lambdas = getattr(lr_scheduler, "lr_lambdas", None)
            if not state.global_step or optimizer is None or not lambdas:
                return
            step = lr_scheduler.last_epoch
            lrs = [b * fn(step) for b, fn in zip(lr_scheduler.base_lrs, lambdas, strict=True)]
            for group, lr in zip(optimizer.param_groups, lrs, strict=True):
                group["lr"] = lr
            lr_scheduler._last_lr = lrs

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> Any:
            if state.max_steps and state.global_step >= state.max_steps:
                control.should_save = True
            return control

    return AtomicSFTTrainer, FinalSave


def _per_step(tokens: list[int], grad_accum: int) -> list[int]:
    """Padded tokens of each optimizer step (this process) from its micro-batches."""
    n = max(grad_accum, 1)
    return [sum(tokens[i : i + n]) for i in range(0, len(tokens), n)]


def _at_least_one(value: Any) -> Any:
    """``value`` (a count, tensor or int) clamped to at least 1."""
    import torch

    if torch.is_tensor(value):
        return value.clamp(min=1)
    return max(int(value), 1)


def _progress_callback(examples_per_step: int) -> Any:
    from transformers import TrainerCallback

    from consona.progress import progress

    class ProgressBar(TrainerCallback):
        """A consona progress bar (stderr, follows the log level): step, loss, examples/s."""

        def __init__(self) -> None:
            self.bar: Any = None
            self.start_step = 0
            self.started = 0.0
            self.loss: float | None = None
            self.step_s: list[float] = []  # wall time of each step of this process
            self._last = 0.0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if state.is_world_process_zero:
                self.bar = progress(total=state.max_steps, desc="training", unit="step")

        def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if not self.started:  # after a resume, global_step is the checkpoint's
                self.started = time.monotonic()
                self.start_step = state.global_step
                if self.bar is not None:
                    self.bar.n = state.global_step
                    self.bar.refresh()

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            now = time.monotonic()
            self.step_s.append(round(now - (self._last or self.started), 3))
            self._last = now
            if self.bar is None:
                return
            elapsed = max(time.monotonic() - self.started, 1e-9)
            rate = (state.global_step - self.start_step) * examples_per_step / elapsed
            post = {"ex/s": f"{rate:.2f}"}
            if self.loss is not None:
                post["loss"] = f"{self.loss:.4f}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                self.loss = float(logs["loss"])

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.close()

    return ProgressBar()


def _sft_config(cls: Any, config: TrainConfig, run: RunDir, *, cuda: bool, bf16: bool) -> Any:
    return cls(
        output_dir=str(run.checkpoints),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio of the total steps
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        logging_steps=1,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=None,
        seed=config.seed,
        data_seed=config.seed,
        report_to=[],
        disable_tqdm=True,
        bf16=bf16,
        fp16=False,
        use_cpu=not cuda,
        gradient_checkpointing=config.gradient_checkpointing,
        dataset_kwargs={"skip_prepare_dataset": True},
        remove_unused_columns=False,
        max_length=None,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
    )


def _quiet(_message: str) -> None:
    return None


def _is_main() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def train_sft(
    data: str | Path,
    run_dir: str | Path,
    *,
    config: TrainConfig | None = None,
    report: Report | None = None,
) -> TrainResult:
    """Train (or resume) a LoRA SFT run of ``config.base`` on DATA into ``run_dir``; write
    the final adapter into ``RUN/adapter`` and ``RUN/train_report.json``."""
    config = config or TrainConfig()
    say = report or logger.info
    torch = require("torch", extra="ml", purpose="consona train")
    require("trl", extra="train", purpose="consona train")
    require("peft", extra="train", purpose="consona train")
    from peft import LoraConfig
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig

    started = time.monotonic()
    if config.threads:
        torch.set_num_threads(config.threads)
    if config.max_steps is not None and config.max_steps < 1:
        raise TrainingError("--max-steps must be at least 1", hint="pass --max-steps N ≥ 1")
    cuda = torch.cuda.is_available()
    bf16 = use_bf16(config.precision, cuda=cuda)
    run = RunDir(run_dir)
    examples = read_examples(data, limit=config.limit)
    data_fp = fingerprint(examples)
    base_src, base_name = resolve_base(config.base)
    identity: dict[str, Any] = {
        "data_fingerprint": data_fp,
        "examples": len(examples),
        "data": describe_source(data),
        "base": base_name,
        "recipe": config.recipe(),
    }
    run.check_identity(identity)
    resume = run.last_checkpoint()
    if _is_main():
        run.write_identity(identity)
        run.clean_staging()
    if not _is_main():
        say = _quiet
    say(f"{len(examples)} examples (data {data_fp[:12]}), base {base_name}")
    model, tokenizer = _load(base_src, gradient_checkpointing=config.gradient_checkpointing)
    dataset, trained_tokens = _dataset(tokenizer, examples, config)
    with warnings.catch_warnings():  # transformers 5 renames: nothing a user can act on
        warnings.simplefilter("ignore", FutureWarning)
        args = _sft_config(SFTConfig, config, run, cuda=cuda, bf16=bf16)
    peft_config = LoraConfig(
        task_type="CAUSAL_LM",
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.target_modules
        if config.target_modules == "all-linear"
        else [m.strip() for m in config.target_modules.split(",") if m.strip()],
    )
    trainer_cls, final_save = _trainer_class()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_step = config.batch_size * config.grad_accum * world
    bar = _progress_callback(per_step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        trainer = trainer_cls(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[final_save(), bar],
        )
    trainer.remove_callback(PrinterCallback)  # library code never prints
    if config.compact_head:
        from consona.training.loss import install_compact_head

        unwrapped = (
            trainer.model.get_base_model()
            if hasattr(trainer.model, "get_base_model")
            else trainer.model
        )
        trainer.consona_compact = install_compact_head(unwrapped)
    trainer.consona_run = run
    trainer.consona_keep = config.keep_checkpoints
    trainer.consona_tokens = []
    if config.group_by_length:
        trainer.consona_lengths = [len(ids) for ids in dataset["input_ids"]]
    if resume is not None:
        say(f"resuming from {resume.name}")
    train_started = time.monotonic()
    train_cpu = time.process_time()
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    first_step = int(resume.name.split("-")[-1]) if resume is not None else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        trainer.train(resume_from_checkpoint=str(resume) if resume is not None else None)
    train_s = time.monotonic() - train_started
    train_cpu_s = time.process_time() - train_cpu
    steps_now = trainer.state.global_step - first_step
    result = TrainResult(run=run)
    if trainer.is_world_process_zero():
        _save_adapter(trainer, tokenizer, run)
        losses = [
            {
                "step": int(e["step"]),
                "loss": float(e["loss"]),
                "learning_rate": float(e.get("learning_rate", 0.0)),
            }
            for e in trainer.state.log_history
            if "loss" in e
        ]
        result.report = {
            "format": "consona-train-report/1",
            "data": {
                **identity["data"],
                "fingerprint": data_fp,
                "examples": len(examples),
                "trained_tokens": trained_tokens,
            },
            "base": base_name,
            "config": config.to_dict() | {"base": base_name},
            "steps": int(trainer.state.global_step),
            "max_steps": int(trainer.state.max_steps),
            "resumed_from_step": first_step if resume is not None else None,
            "losses": losses,
            "final_loss": losses[-1]["loss"] if losses else None,
            "time": {
                "wall_s": round(time.monotonic() - started, 2),
                "train_s": round(train_s, 2),
                "steps_this_run": steps_now,
                "train_cpu_s": round(train_cpu_s, 2),
                "step_s": bar.step_s,
                "padded_tokens": _per_step(trainer.consona_tokens, config.grad_accum),
                "examples_per_s": round(steps_now * per_step / train_s, 3) if train_s else None,
            },
            "machine": {
                "device": "cuda" if cuda else "cpu",
                "precision": "bf16" if bf16 else "fp32",
                "cpu_native_bf16": native_cpu_bf16(),
                "world_size": world,
                "torch_threads": torch.get_num_threads(),
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                "cpu_count": os.cpu_count(),
                "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                "load_avg_1m_at_start": load_start,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "python": platform.python_version(),
                "torch": torch.__version__,
            },
        }
        with atomic_write(run.report_path) as f:
            import json

            json.dump(result.report, f, indent=2)
            f.write("\n")
    return result


def _save_adapter(trainer: Any, tokenizer: Any, run: RunDir) -> None:
    """The final LoRA adapter (+ tokenizer) into RUN/adapter, written then renamed."""
    tmp = Path(tempfile.mkdtemp(prefix=".adapter.", dir=run.root))
    try:
        trainer.model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
        if run.adapter.exists():
            shutil.rmtree(run.adapter)
        os.replace(tmp, run.adapter)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise TrainingError(
            f"Cannot write the adapter into {str(run.adapter)!r}: {exc.strerror or exc}",
            hint="free disk space and run the same command again (it resumes)",
        ) from None
