"""``consona extract IN -o OUT``, ``consona extract train|train-editor|train-triples`` and
``consona eval extraction``.

``extract IN -o OUT`` reads any dialogue format, extracts persona facts per speaker (fast or
llm extractor, NLI-verified) and writes consona JSONL dialogues.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from consona.cli._common import emit_json, out_console, status
from consona.cli.eval import eval_app
from consona.errors import ConfigError
from consona.nli.models import load_optional_nli

__all__ = ["extract_app", "register"]


class _DefaultGroup(TyperGroup):
    """``consona extract IN ...`` runs the hidden ``run`` command; ``train`` is a subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in {"--help", "-h"}:
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        return [c for c in self.commands if c != "run"]


extract_app = typer.Typer(
    name="extract",
    cls=_DefaultGroup,
    help=(
        "Extract persona facts per speaker: 'consona extract IN -o OUT [--extractor fast|llm]'; "
        "'consona extract train' retrains the fast extractor."
    ),
    no_args_is_help=True,
)


_STATEMENTS_HELP = (
    "How the fast extractor writes statements: 'editor' (the shipped statement editor), "
    "'rules' (clause rewrite rules: more fluent, faster, lower ROUGE-L) or an editor folder. "
    "Default: fast_extractor_writer in the config file, else 'editor'."
)


def _load(
    extractor: str, backend: str | None, model: str | None, nli: Any, statements: str | None
) -> Any:
    from consona.config import Settings
    from consona.extraction import load_extractor

    backend_obj: Any = None
    if extractor == "llm":
        from consona.backends.base import load_backend

        backend_obj = load_backend(backend, model=model)
    settings = Settings.load()
    if statements is not None:
        choice = {"editor": "auto", "rules": "off"}.get(statements, statements)
        if choice not in ("auto", "off") and not Path(choice).is_dir():
            raise ConfigError(
                f"--statements {statements!r} is neither 'editor', 'rules' nor a folder"
            )
        settings.extra["fast_extractor_writer"] = choice
    return load_extractor(extractor, backend=backend_obj, nli=nli, settings=settings)


@extract_app.command("run", hidden=True)
def run(
    inp: Path = typer.Argument(..., metavar="IN", help="Dialogues in any supported format."),
    out: Path = typer.Option(..., "--output", "-o", help="Output consona JSONL file."),
    extractor: str = typer.Option("fast", "--extractor", "-e", help="fast | llm | fake"),
    backend: str | None = typer.Option(None, "--backend", help="Chat backend for --extractor llm."),
    model: str | None = typer.Option(None, "--model", help="Chat model for the backend."),
    statements: str | None = typer.Option(None, "--statements", help=_STATEMENTS_HELP),
    nli: str = typer.Option(
        "consona", "--nli", help="NLI model that verifies facts ('none' skips NLI)."
    ),
    fmt: str | None = typer.Option(None, "--format", "-f", help="Input format (auto-detected)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="First N dialogues only."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Extract per-speaker persona facts from dialogues into consona JSONL."""
    from consona.extraction.aggregate import extract_dialogue
    from consona.formats import read_dialogues, write_dialogues
    from consona.progress import progress

    if out.exists() and out.is_dir():
        raise ConfigError(f"--output {str(out)!r} is a folder", hint="pass a file path")
    dialogues = read_dialogues(inp, fmt=fmt)
    nli_model = load_optional_nli(nli)
    ex = _load(extractor, backend, model, nli_model, statements)
    counts = {"dialogues": 0, "turns": 0, "facts": 0, "contradictions": 0}
    start = time.perf_counter()

    def produce() -> Any:
        bar = progress(total=limit, desc="extracting", unit="dlg")
        try:
            for i, d in enumerate(dialogues):
                if limit is not None and i >= limit:
                    break
                done = extract_dialogue(d, ex, nli=nli_model, verify=nli_model is not None)
                counts["dialogues"] += 1
                counts["turns"] += len(d.turns)
                for p in done.personas.values():
                    counts["facts"] += len(p.facts)
                    counts["contradictions"] += len(
                        ((p.extensions or {}).get("consona") or {}).get("contradictions", [])
                    )
                bar.update(1)
                yield done
        finally:
            bar.close()

    write_dialogues(produce(), out, fmt="jsonl")
    counts_out: dict[str, Any] = {**counts, "seconds": round(time.perf_counter() - start, 2)}
    counts_out.update({"extractor": extractor, "nli": nli, "output": str(out)})
    status(
        f"{counts['dialogues']} dialogues, {counts['turns']} turns → {counts['facts']} facts "
        f"({counts['contradictions']} contradictions flagged) in {counts_out['seconds']} s → {out}"
    )
    if json_out:
        emit_json(counts_out)


@extract_app.command("train")
def train(
    data_dir: Path = typer.Option(
        ..., "--data-dir", help="Folder with msc/, personachat/, convai2-dnli-triples/."
    ),
    out: Path = typer.Option(..., "--output", "-o", help="Where to write the model (.npz)."),
    seed: int = typer.Option(0, "--seed"),
    no_msc: bool = typer.Option(False, "--no-msc", help="Do not train on MSC persona summaries."),
    max_pairs: int = typer.Option(
        6000, "--max-pairs", min=0, help="PersonaChat entailed pairs used."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the training report as JSON."),
) -> None:
    """Retrain the fast extractor's small model (a few minutes on 2 CPU cores)."""
    from consona.extraction.train import train_fast

    status(f"training the fast extractor from {data_dir} ...")
    report = train_fast(data_dir, out=out, use_msc=not no_msc, max_pairs=max_pairs, seed=seed)
    if json_out:
        emit_json(report)
        return
    status(f"saved {out} in {report['seconds']} s (threshold {report['threshold']:.2f})")
    if report.get("held_out"):
        out_console.print(_table("held-out MSC", report["held_out"]))


@extract_app.command("train-editor")
def train_editor_command(
    data_dir: Path = typer.Option(..., "--data-dir", help="Folder with msc/ and personachat/."),
    out: Path = typer.Option(..., "--output", "-o", help="Folder to write the editor to."),
    epochs: int = typer.Option(5, "--epochs", min=1, help="Passes over the training pairs."),
    max_pairs: int = typer.Option(
        0, "--max-pairs", min=0, help="PersonaChat entailed pairs added to MSC."
    ),
    layers: int = typer.Option(
        2, "--layers", min=1, max=6, help="Top MiniLM layers fine-tuned for the editor."
    ),
    phrases: int = typer.Option(
        500, "--phrases", min=1, help="Size of the insertion-phrase vocabulary."
    ),
    lr: float = typer.Option(1e-4, "--lr", help="Peak learning rate of the MiniLM layers."),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
    seed: int = typer.Option(0, "--seed"),
    json_out: bool = typer.Option(False, "--json", help="Print the training report as JSON."),
) -> None:
    """Train the fast extractor's statement editor (the shipped one came from the defaults):
    it keeps, deletes and inserts words of a persona-bearing utterance to write its "I ..."
    statements. The training pairs are the persona-bearing MSC utterances of the training
    episodes; the held-out episodes give the dev ROUGE-L. Five epochs took about 16 minutes
    on 2 CPU cores. Use the result with fast_extractor_writer = "OUT" in the config file, or
    copy it to consona/data/extraction/editor/ to ship it."""
    from consona.extraction.editor import train_editor
    from consona.extraction.train import statement_pairs

    train_set, dev = statement_pairs(data_dir, max_pairs=max_pairs, seed=seed)
    status(f"training the statement editor on {len(train_set)} pairs ({epochs} epochs) ...")
    report = train_editor(train_set, out=out, dev=dev, epochs=epochs, layers=layers,
                          phrases=phrases, lr=lr, batch_size=batch_size, seed=seed,
                          progress=status)  # fmt: skip
    if json_out:
        emit_json(report)
        return
    status(
        f"saved {out} in {report['seconds']} s (keep threshold {report['threshold']}); "
        f"held-out MSC ROUGE-L {report['dev_rouge_l']:.3f}"
    )


@extract_app.command("train-triples")
def train_triples_command(
    data: Path = typer.Argument(
        ...,
        help="A ConvAI2 Dialogue-NLI triples file (convai2-dnli-triples/"
        "valid_both_original_dialogueNLI.txt), or a folder holding one.",
    ),
    out: Path = typer.Option(..., "--output", "-o", help="Folder to write the tagger to."),
    epochs: int = typer.Option(6, "--epochs", min=1, help="Passes over the training items."),
    layers: int = typer.Option(
        2,
        "--layers",
        min=1,
        max=6,
        help="Top MiniLM layers fine-tuned; the fast extractor needs the editor's number (2), "
        "since both share one encoder pass.",
    ),
    lr: float = typer.Option(1e-4, "--lr", help="Peak learning rate of the MiniLM layers."),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
    seed: int = typer.Option(0, "--seed"),
    json_out: bool = typer.Option(False, "--json", help="Print the training report as JSON."),
) -> None:
    """Train the fast extractor's triple tagger (the shipped one came from the defaults):
    utterance → (subject, relation, object) in the Dialogue-NLI schema, or none. It trains
    on the utterances and persona lines of the file's train split (the judge benchmark's
    dialogue-disjoint split; a tenth of the train dialogues held back to choose the detect
    threshold) and reports PPDS's triple ROUGE-L, detection F1 and relation accuracy on the
    dev and test splits. An unknown relation in the file is an error naming its line. Use
    the result with fast_extractor_triples = "OUT" in the config file, or copy it to
    consona/data/extraction/triples/ to ship it."""
    from consona.extraction.triple_train import dnli_items, train_triples
    from consona.formats.dnli import DNLI_FILE

    path = data
    if data.is_dir():
        path = data / DNLI_FILE if (data / DNLI_FILE).is_file() else data / Path(DNLI_FILE).name
    items = dnli_items(path)
    n_train = sum(it.split == "train" for it in items)
    status(f"training the triple tagger on {n_train} items of {path} ({epochs} epochs) ...")
    report = train_triples(items, out=out, epochs=epochs, layers=layers, lr=lr,
                           batch_size=batch_size, seed=seed, progress=status)  # fmt: skip
    if json_out:
        emit_json(report)
        return
    status(f"saved {out} in {report['seconds']} s (detect threshold {report['threshold']})")
    for key in ("dev_utterance", "test_utterance"):
        if key in report:
            out_console.print(_table(f"{key.replace('_', ' ')}s", report[key]))


def _table(title: str, scores: dict[str, float]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in scores.items():
        table.add_row(
            k, f"{v:.0f}" if k in {"n", "gold_positive", "rouge_l_n", "triple_n"} else f"{v:.3f}"
        )
    return table


def eval_extraction(
    data: Path = typer.Argument(
        ...,
        help="MSC persona-summary file/folder, PersonaExt .jsonl, or a ConvAI2 DNLI-triples "
        ".txt (then PPDS's triple metric).",
    ),
    extractor: str = typer.Option("fast", "--extractor", "-e", help="fast | llm | fake"),
    backend: str | None = typer.Option(None, "--backend", help="Chat backend for --extractor llm."),
    model: str | None = typer.Option(None, "--model", help="Chat model for the backend."),
    statements: str | None = typer.Option(None, "--statements", help=_STATEMENTS_HELP),
    nli: str = typer.Option(
        "none", "--nli", help="Verify facts with this NLI model (default none)."
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="First N utterances only (DNLI: and first N persona lines)."
    ),
    split: str = typer.Option(
        "all",
        "--split",
        help="MSC/PersonaExt: all | test (the episodes the fast extractor held out). "
        "DNLI triples: all | train | dev | test (dialogue-disjoint, the judge benchmark's).",
    ),
    persona_lines: bool = typer.Option(
        True,
        "--persona-lines/--no-persona-lines",
        help="DNLI triples: also score the persona lines (a separate table).",
    ),
    max_seconds: float | None = typer.Option(
        None,
        "--max-seconds",
        min=1,
        help="Stop after this time and score what was done (DNLI: per table).",
    ),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    predictions: Path | None = typer.Option(
        None,
        "--predictions",
        help="DNLI triples: write each utterance's gold and predicted triple to this JSONL.",
    ),
    answers: bool = typer.Option(
        True,
        "--answers/--no-answers",
        help="Fast extractor: read answers to questions put to the speaker ('Ever been to "
        "Spain?' 'Yes!' -> 'I have been to spain.').",
    ),
    json_out: bool = typer.Option(False, "--json", help="Scores as JSON on stdout."),
) -> None:
    """Detection P/R/F1, ROUGE-L on true positives and triple accuracy of an extractor; on a
    ConvAI2 DNLI-triples file, PPDS's triple ROUGE-L, detection, relation and exact-triple
    accuracy for utterances and persona lines."""
    from consona.extraction.data import detect_kind, held_out, read_labeled
    from consona.extraction.evaluate import evaluate_extractor

    if data.is_file() and detect_kind(data) == "dnli":
        _eval_dnli(data, extractor=extractor, backend=backend, model=model,
                   statements=statements, nli=nli, limit=limit, split=split,
                   persona_lines=persona_lines, max_seconds=max_seconds,
                   batch_size=batch_size, predictions=predictions,
                   json_out=json_out)  # fmt: skip
        return
    if split not in {"all", "test"}:
        raise ConfigError(
            f"Unknown split {split!r}. Valid splits: all, test",
            hint="train and dev exist for DNLI-triples files only",
        )
    items = [x for x in read_labeled(data) if split == "all" or held_out(x.group)]
    items = items[:limit] if limit else items
    if not items:
        raise ConfigError(
            f"No labelled utterances in {str(data)!r}", hint="check the file and --split"
        )
    ex = _load(extractor, backend, model, load_optional_nli(nli), statements)
    inner = getattr(ex, "inner", ex)  # a VerifiedExtractor (--nli) wraps the extractor
    if hasattr(inner, "answers"):
        inner.answers = answers
    status(f"evaluating {extractor} on {len(items)} utterances from {data} ...")
    scores = evaluate_extractor(
        ex,
        items,
        show_progress=True,
        max_seconds=max_seconds,
        batch_size=1 if extractor == "llm" else batch_size,
    )
    result = {"data": str(data), "extractor": extractor, "nli": nli, "split": split, **scores}
    if json_out:
        emit_json(result)
    else:
        out_console.print(_table(f"extraction: {extractor} on {data.name}", scores))


_COUNTS = {"n", "gold_positive", "excluded", "dialogues"}


def _triple_table(title: str, scores: dict[str, float]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in scores.items():
        if isinstance(v, int | float):
            table.add_row(k, f"{v:.0f}" if k in _COUNTS else f"{v:.3f}")
    return table


def _eval_dnli(
    data: Path,
    *,
    extractor: str,
    backend: str | None,
    model: str | None,
    statements: str | None,
    nli: str,
    limit: int | None,
    split: str,
    persona_lines: bool,
    max_seconds: float | None,
    batch_size: int,
    predictions: Path | None,
    json_out: bool,
) -> None:
    """``eval extraction`` on a DNLI-triples file: utterances (the headline) and persona
    lines, scored by :mod:`consona.extraction.triple_eval`."""
    from consona.extraction.triple_eval import (
        evaluate_triples,
        prediction_records,
        read_dnli_gold,
    )
    from consona.io import atomic_write
    from consona.progress import progress

    gold = read_dnli_gold(data).split(split)
    sets = {"utterances": gold.utterances[:limit] if limit else gold.utterances}
    if persona_lines:
        sets["persona_lines"] = gold.persona_lines[:limit] if limit else gold.persona_lines
    if not sets["utterances"]:
        raise ConfigError(f"No utterances in {str(data)!r} for --split {split}")
    ex = _load(extractor, backend, model, load_optional_nli(nli), statements)
    bs = 1 if extractor == "llm" else batch_size
    result: dict[str, Any] = {"data": str(data), "format": "dnli", "extractor": extractor,
                              "nli": nli, "split": split,
                              "dialogues": len(gold.dialogues)}  # fmt: skip
    records: list[dict[str, Any]] = []
    for name, items in sets.items():
        status(f"evaluating {extractor} on {len(items)} {name.replace('_', ' ')} ({split}) ...")
        bar = progress(total=len(items), desc=name.replace("_", " "), unit="utt")
        preds: list[Any] = []
        try:
            done = [0]

            def tick(k: int, bar: Any = bar, done: list[int] = done) -> None:
                bar.update(k - done[0])
                done[0] = k

            scores = evaluate_triples(
                ex, items, batch_size=bs, max_seconds=max_seconds, on_batch=tick,
                use_context=name == "utterances", predictions=preds,
            )  # fmt: skip
        finally:
            bar.close()
        records += [{"set": name, **r} for r in prediction_records(items, preds)]
        if name == "utterances":
            result.update(scores)
        else:
            result[name] = scores
    if predictions is not None:
        with atomic_write(predictions) as fh:
            fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        status(f"wrote {len(records)} predictions to {predictions}")
    if json_out:
        emit_json(result)
        return
    out_console.print(_triple_table(f"triples: {extractor} on {data.name} ({split})", result))
    if "persona_lines" in result:
        out_console.print(_triple_table("persona lines", result["persona_lines"]))


def register(app: typer.Typer) -> None:
    app.add_typer(extract_app, name="extract")
    eval_app.command("extraction")(eval_extraction)
