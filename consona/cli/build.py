"""``consona build INPUT... -o OUTDIR``: a persona dialogue dataset, resumable."""

from __future__ import annotations

from pathlib import Path

import typer

from consona.cli._common import emit_json, status


def register(app: typer.Typer) -> None:
    app.command("build")(build_command)


def build_command(
    inputs: list[str] = typer.Argument(
        ..., help="Dialogue files, globs, directories or 'chitchat:' (any consona format)."
    ),
    outdir: Path = typer.Option(..., "--output", "-o", help="Output directory (resumable)."),
    extractor: str = typer.Option("fast", help="Persona extractor: fast | llm | fake."),
    nli: str = typer.Option("consona", help="NLI model for used facts / distractor checks."),
    executor: str = typer.Option("local", help="local (worker processes) | ray (Ray Data)."),
    workers: int | None = typer.Option(
        None,
        help="Worker processes / Ray actors (default: one per two CPU cores; 0: in this process).",
    ),
    shard_size: int = typer.Option(1000, help="Dialogues per shard."),
    distractors: int = typer.Option(2, help="Distractor facts added per example."),
    seed: int = typer.Option(0, help="Seed of every random choice."),
    limit: int | None = typer.Option(None, help="Use only the first N dialogues."),
    on_error: str = typer.Option("skip", help="Bad input record: skip (counted) | fail."),
    shuffle: bool = typer.Option(True, "--shuffle/--no-shuffle", help="Shuffle fact order."),
    drop_prob: float = typer.Option(0.1, help="Chance to drop each unused fact."),
    empty_prob: float = typer.Option(0.05, help="Chance to empty an example's persona."),
    paraphrase_prob: float = typer.Option(0.0, help="Chance to LLM-paraphrase each fact."),
    paraphrase_backend: str | None = typer.Option(None, help="Chat backend for paraphrase."),
    context_turns: int = typer.Option(8, help="Earlier turns kept as context."),
    persona_scope: str = typer.Option(
        "dialogue", help="Persona facts per example: dialogue | past | response."
    ),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="NLI-verify extracted facts."),
    ray_address: str | None = typer.Option(None, help="Ray cluster address (default: local)."),
    force: bool = typer.Option(False, "--force", help="Discard an output of another config."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Build persona dialogue examples: extract → augment → sharded Parquet + messages JSONL."""
    from consona.augmentation import AugmentConfig
    from consona.pipeline import BuildConfig, build
    from consona.pipeline.config import default_workers

    config = BuildConfig(
        extractor=extractor,
        nli=nli,
        seed=seed,
        shard_size=shard_size,
        limit=limit,
        context_turns=context_turns,
        persona_scope=persona_scope,
        verify=verify,
        augment=AugmentConfig(
            distractors=distractors,
            shuffle=shuffle,
            drop_prob=drop_prob,
            empty_prob=empty_prob,
            paraphrase_prob=paraphrase_prob,
        ),
        paraphrase_backend=paraphrase_backend,
        executor=executor,
        workers=default_workers() if workers is None else workers,
        on_error=on_error,
    )
    try:
        result = build(inputs, outdir, config, force=force, address=ray_address)
    except KeyboardInterrupt:
        typer.echo(
            f"interrupted — committed shards are kept in {outdir}; "
            "re-run the same command to resume",
            err=True,
        )
        raise typer.Exit(code=130) from None
    s = result.summary
    data = {
        "outdir": str(result.outdir),
        "status": result.status,
        "shards_written": result.shards_written,
        "shards_skipped": result.shards_skipped,
        "seconds": round(result.seconds, 2),
        "dialogues_per_s": round(result.dialogues_per_s, 2),
        **s,
    }
    if json_out:
        emit_json(data)
        return
    status(
        f"built {s['rows']} examples from {s['dialogues']} dialogues in {s['shards']} shards "
        f"({result.shards_written} written, {result.shards_skipped} already committed) "
        f"in {result.seconds:.1f}s → {result.outdir}"
    )
    typer.echo(
        f"dialogues {s['dialogues']}  turns {s['turns']}  speakers {s['speakers']}  "
        f"examples {s['rows']}  input errors {s['input_errors']}\n"
        f"facts per speaker {s['facts_per_speaker']}  turns with facts {s['turns_with_facts']:.1%}\n"
        f"persona has an unused fact: {s['unused_share_before']:.1%} before → "
        f"{s['unused_share_after']:.1%} after augmentation\n"
        f"manifest: {result.outdir / 'manifest.json'}  report: {result.outdir / 'report.md'}"
    )
