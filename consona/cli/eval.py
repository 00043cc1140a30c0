"""``consona eval``: persona-consistency and response-quality evaluation.

Commands: ``dialogue`` (run an agent over dialogues and score it), ``responses`` (score
replies generated elsewhere), ``ranking`` (DNLI-style consistency ranking), ``compare``
(runs side by side). Other modules may add commands to ``eval_app``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from consona.cli._common import emit_json, out_console, status
from consona.errors import ConfigError

eval_app = typer.Typer(
    name="eval",
    help="Measure persona consistency and response quality (C-score, contradiction rate, "
    "F1, BLEU, Distinct, DNLI ranking) and write reports.",
    no_args_is_help=True,
)

_SPEED_ONLY_OPTIONS = ("n_threads",)  # backend options left out of the reply-cache fingerprint
_NLI_HELP = "NLI model for scoring: consona (default), fake, hf:<dir>."


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")


def _load_nli(name: str | None) -> Any:
    """The named NLI model (default: the configured one), or None for ``none``."""
    from consona.config import Settings
    from consona.nli.models import load_optional_nli

    return load_optional_nli(name or Settings.load().nli_model)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "—" if math.isnan(v) else f"{v:.4f}"
    return "—" if v is None else str(v)


def _print_metrics(metrics: dict[str, Any], title: str) -> None:
    from rich.table import Table

    from consona.evaluation.report import MAIN_METRICS

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("replies scored", str(metrics.get("n")))
    for key, label, _ in MAIN_METRICS:
        if key in metrics:
            table.add_row(label, _fmt(metrics[key]))
    judge = metrics.get("judge") or {}
    if "judge_score" in judge:
        table.add_row("LLM judge (separate)", _fmt(judge["judge_score"]))
    out_console.print(table)


def _skipped_line(metrics: dict[str, Any]) -> None:
    counts = (metrics.get("skipped") or {}).get("counts") or {}
    parts = [f"{k}={v}" for k, v in counts.items() if v]
    status("skipped: " + (", ".join(parts) if parts else "none"))


def _judge(metrics: dict[str, Any], rows: list[dict[str, Any]], judge: str | None,
           judge_model: str | None) -> None:  # fmt: skip
    if not judge:
        return
    from consona.backends.base import load_backend
    from consona.evaluation.judge import LLMJudge, judge_rows

    status(f"LLM judge on {judge}{' ' + judge_model if judge_model else ''} (reported apart)")
    metrics["judge"] = judge_rows(LLMJudge(load_backend(judge, model=judge_model)), rows,
                                  show_progress=True)  # fmt: skip


def _finish(out: Path, metrics: dict[str, Any], rows: list[dict[str, Any]], title: str,
            as_json: bool) -> None:  # fmt: skip
    from consona.evaluation.harness import json_safe, write_run

    paths = write_run(out, metrics, rows, title=title)
    _skipped_line(metrics)
    status(f"wrote {paths['metrics']}, {paths['report']}")
    if as_json:
        emit_json(json_safe(metrics))
    else:
        _print_metrics(metrics, title)


@eval_app.command("responses")
def responses_cmd(
    data: Path = typer.Argument(
        ..., help="Dialogues: PersonaChat/ConvAI2 text, consona JSONL, MSC…"
    ),
    responses: Path = typer.Argument(
        ..., help="JSONL replies: {'id', 'response'} or one per example in order."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Run directory (default: eval-<RESPONSES stem>)."
    ),
    fmt: str = typer.Option(None, "--format", help="Format of DATA (default: detected)."),
    speaker: str = typer.Option(
        None,
        "--speaker",
        help="Evaluate this speaker's turns (default: every speaker with a persona).",
    ),
    limit: int = typer.Option(None, "--limit", min=1, help="Use only the first N dialogues."),
    nli: str = typer.Option(None, "--nli", help=_NLI_HELP),
    threshold: float = typer.Option(
        None, "--threshold", help="Contradiction probability threshold (default: the model's)."
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Skip (and count) examples without persona or reply."
    ),
    judge: str = typer.Option(
        None, "--judge", help="Also grade with an LLM judge on this backend (off by default)."
    ),
    judge_model: str = typer.Option(None, "--judge-model", help="Model for --judge."),
    as_json: bool = typer.Option(False, "--json", help="Print metrics as JSON."),
) -> None:
    """Score replies generated elsewhere against DATA's personas and references."""
    from consona.evaluation.harness import build_examples, read_data, read_responses, score_examples

    dialogues = read_data(data, fmt=fmt)
    examples, skipped = build_examples(dialogues, speaker=speaker, skip_invalid=skip_invalid,
                                       limit=limit)  # fmt: skip
    replies, reply_skips = read_responses(responses, examples, skip_invalid=skip_invalid)
    for k, v in reply_skips.items():
        skipped["counts"][k] = skipped["counts"].get(k, 0) + v
    status(
        f"{len(examples)} examples from {len(dialogues) if limit is None else min(limit, len(dialogues))} dialogues"
    )
    model = _load_nli(nli)
    if model is None:
        raise ConfigError(
            "scoring replies needs a judge", hint="drop --nli none, or pass --nli consona"
        )
    metrics, rows = score_examples(examples, replies, nli=model, threshold=threshold,
                                   skipped=skipped, show_progress=True)  # fmt: skip
    metrics["source"] = {"data": str(data), "responses": str(responses)}
    _judge(metrics, rows, judge, judge_model)
    _finish(out or Path(f"eval-{responses.stem}"), metrics, rows,
            f"consona eval responses: {responses.name}", as_json)  # fmt: skip


@eval_app.command("dialogue")
def dialogue_cmd(
    data: Path = typer.Argument(
        ..., help="Dialogues: PersonaChat/ConvAI2 text, consona JSONL, MSC…"
    ),
    agent: Path = typer.Option(
        ..., "--agent", help="Agent config (TOML/JSON): backend, model, candidates, nli…"
    ),
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="Run directory; holds the reply cache (default: eval-<CONFIG stem>).",
    ),
    candidates: int = typer.Option(
        None, "--candidates", "-n", min=1, help="Override the config's candidates (N)."
    ),
    fmt: str = typer.Option(None, "--format", help="Format of DATA (default: detected)."),
    speaker: str = typer.Option(
        None,
        "--speaker",
        help="Evaluate this speaker's turns (default: every speaker with a persona).",
    ),
    limit: int = typer.Option(None, "--limit", min=1, help="Use only the first N dialogues."),
    max_turns: int = typer.Option(
        None, "--max-turns", min=1, help="Evaluate at most N turns per dialogue (the first ones)."
    ),
    nli: str = typer.Option(None, "--nli", help=_NLI_HELP),
    threshold: float = typer.Option(
        None, "--threshold", help="Contradiction probability threshold (default: the model's)."
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Skip (and count) dialogues without persona."
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Discard a reply cache made with another configuration."
    ),
    with_ppl: bool = typer.Option(
        False, "--perplexity", help="Also the references' perplexity (transformers backend)."
    ),
    judge: str = typer.Option(
        None, "--judge", help="Also grade with an LLM judge on this backend (off by default)."
    ),
    judge_model: str = typer.Option(None, "--judge-model", help="Model for --judge."),
    as_json: bool = typer.Option(False, "--json", help="Print metrics as JSON."),
) -> None:
    """Run an agent over DATA, cache its replies (an interrupted run resumes), and score them."""
    from consona.evaluation.harness import (
        ReplyCache,
        build_examples,
        fingerprint,
        generate_replies,
        read_data,
        score_examples,
    )
    from consona.evaluation.responders import AgentResponder, load_agent_config

    cfg = load_agent_config(agent, candidates=candidates)
    dialogues = read_data(data, fmt=fmt)
    examples, skipped = build_examples(dialogues, speaker=speaker, skip_invalid=skip_invalid,
                                       limit=limit)  # fmt: skip
    if max_turns is not None:
        per: dict[str, int] = {}
        kept = []
        for e in examples:
            per[e.dialogue_id] = per.get(e.dialogue_id, 0) + 1
            if per[e.dialogue_id] <= max_turns:
                kept.append(e)
        skipped["counts"]["over_max_turns"] = len(examples) - len(kept)
        examples = kept
    if not examples:
        raise ConfigError("No example to evaluate", hint="check DATA, --speaker and --limit")
    out = out or Path(f"eval-{agent.stem}")
    run_cfg = {
        "agent": cfg.to_dict(),
        "data": str(data.resolve()),
        "format": fmt,
        "speaker": speaker,
    }
    # CPU threads change speed, not replies: a resumed run may use another count
    key_cfg = json.loads(json.dumps(run_cfg))
    for opt in _SPEED_ONLY_OPTIONS:
        key_cfg["agent"].get("backend_options", {}).pop(opt, None)
    cache = ReplyCache(out, fingerprint=fingerprint(key_cfg), config=run_cfg, overwrite=overwrite)
    cached = sum(1 for e in examples if cache.get(e.id) is not None)
    if cached:
        status(f"resuming: {cached} cached replies in {out / 'replies.jsonl'}")
    status(f"{len(examples)} examples; agent: {cfg.backend} N={cfg.candidates} nli={cfg.nli}")
    responder = AgentResponder(cfg)
    replies = generate_replies(examples, responder, cache)
    from consona.config import Settings

    scoring = nli or Settings.load().nli_model
    model = (
        responder.nli if responder.nli is not None and scoring == cfg.nli else _load_nli(scoring)
    )
    metrics, rows = score_examples(examples, list(replies), nli=model, threshold=threshold,
                                   skipped=skipped, show_progress=True)  # fmt: skip
    infos = [cache.get(e.id) or {} for e in examples]
    flagged = [1.0 for i in infos if i.get("flagged")]
    lat = [float(i["latency_s"]) for i in infos if isinstance(i.get("latency_s"), int | float)]
    metrics["flagged_rate"] = len(flagged) / len(infos) if infos else float("nan")
    metrics["avg_latency_s"] = sum(lat) / len(lat) if lat else float("nan")
    metrics["candidates"] = cfg.candidates
    if with_ppl:
        metrics["perplexity"] = _perplexity(responder, examples)
    metrics["agent"] = cfg.to_dict()
    metrics["source"] = {"data": str(data)}
    _judge(metrics, rows, judge, judge_model)
    _finish(out, metrics, rows, f"consona eval dialogue: {agent.stem} (N={cfg.candidates})",
            as_json)  # fmt: skip


def _perplexity(responder: Any, examples: list[Any]) -> float:
    from consona.agent import PersonaAgent
    from consona.evaluation.harness import responder_context
    from consona.evaluation.perplexity import reference_perplexity

    def messages(e: Any) -> list[dict[str, str]]:
        agent = PersonaAgent(e.persona, backend=responder.backend, nli=None, candidates=1,
                             max_tokens=responder.config.max_tokens, coherence="lexical")  # fmt: skip
        return agent.prompt(responder_context(e)).messages

    return reference_perplexity(responder.backend, examples, messages=messages, show_progress=True)


@eval_app.command("ranking")
def ranking_cmd(
    data_dir: Path = typer.Option(
        None, "--data-dir", help="Folder holding convai2-dnli-triples/ (builds the set)."
    ),
    ranking_set: Path = typer.Option(
        None, "--set", help="A ranking set JSONL saved with --save-set."
    ),
    save_set: Path = typer.Option(None, "--save-set", help="Write the built set here (JSONL)."),
    scorer: str = typer.Option("agent", "--scorer", help="agent | agent-embed | lexical | embed"),
    nli: str = typer.Option(None, "--nli", help=_NLI_HELP + " 'none' for no re-ranking."),
    threshold: float = typer.Option(
        None, "--threshold", help="Contradiction probability threshold."
    ),
    limit: int = typer.Option(None, "--limit", min=1, help="Use only the first N items."),
    n_each: int = typer.Option(
        10, "--n-each", min=1, help="Candidates per kind (entail / contradict / neutral)."
    ),
    seed: int = typer.Option(0, "--seed", help="Sampling seed of the set builder."),
    heldout: bool = typer.Option(
        False,
        "--heldout",
        help="Keep only items whose persona fact is outside the consona NLI model's train split.",
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Write the result JSON here."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """DNLI-style ranking (Welleck et al. 2019): Hits@1, Entail@1, Contradict@1, with and without NLI re-ranking."""
    from consona.evaluation.harness import json_safe
    from consona.evaluation.ranking import (
        build_dnli_ranking,
        heldout_items,
        make_scorers,
        rank_items,
        read_ranking_set,
        write_ranking_set,
    )
    from consona.io import atomic_write

    if (data_dir is None) == (ranking_set is None):
        raise ConfigError("Pass exactly one of --data-dir and --set",
                          hint="--data-dir builds the set from convai2-dnli-triples")  # fmt: skip
    if ranking_set is not None:
        items = read_ranking_set(ranking_set)
    else:
        items = build_dnli_ranking(data_dir, n_entail=n_each, n_contradict=n_each,
                                   n_neutral=n_each, seed=seed)  # fmt: skip
    if heldout:
        items = heldout_items(items)
    items = items[:limit]
    if save_set is not None:
        write_ranking_set(items, save_set)
        status(f"wrote {len(items)} items to {save_set}")
    model = _load_nli(nli)
    scorers = make_scorers(scorer, nli=model, threshold=threshold)
    n_cands = sum(len(i.candidates) for i in items)
    status(f"{len(items)} items, {n_cands / max(1, len(items)):.1f} candidates each; scorer "
           f"{scorer}; NLI {getattr(model, 'name', 'none')}")  # fmt: skip
    results = rank_items(items, scorers, show_progress=True)
    result: dict[str, Any] = {
        "items": len(items),
        "scorer": scorer,
        "heldout": heldout,
        "nli_model": getattr(model, "name", None),
        "results": results,
    }
    if out is not None:
        with atomic_write(out) as f:
            json.dump(json_safe(result), f, indent=2)
            f.write("\n")
        status(f"wrote {out}")
    if as_json:
        emit_json(json_safe(result))
        return
    from rich.table import Table

    table = Table(title=f"DNLI-style ranking ({len(items)} items)")
    for col in ("ranker", "Hits@1", "Entail@1", "Contradict@1", "Neutral@1", "MRR"):
        table.add_column(col, justify="left" if col == "ranker" else "right")
    for key, m in results.items():
        name = scorer if key == "base" else f"{scorer} + NLI re-rank"
        table.add_row(
            name, *(_fmt(m[k]) for k in ("hits@1", "entail@1", "contradict@1", "neutral@1", "mrr"))
        )
    out_console.print(table)


@eval_app.command("compare")
def compare_cmd(
    runs: list[Path] = typer.Argument(..., help="Run directories (or metrics.json files)."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:
    """Put runs side by side (best value per metric in bold)."""
    from consona.evaluation.harness import json_safe
    from consona.evaluation.report import MAIN_METRICS, compare_runs

    cmp = compare_runs(runs)
    if as_json:
        emit_json(json_safe(cmp))
        return
    from rich.table import Table

    labels = {k: lab for k, lab, _ in MAIN_METRICS} | {"n": "replies", "n_skipped": "skipped"}
    table = Table(title="consona eval compare")
    table.add_column("metric")
    for name in cmp["runs"]:
        table.add_column(name, justify="right")
    for key, vals in cmp["metrics"].items():
        cells = []
        for i, v in enumerate(vals):
            text = _fmt(v)
            cells.append(f"[bold]{text}[/bold]" if cmp["best"].get(key) == i else text)
        table.add_row(labels.get(key, key), *cells)
    out_console.print(table)


@eval_app.command("memory")
def memory_cmd(
    data_dir: Path = typer.Argument(
        ..., help="The shared data folder (with msc/), or an MSC file."
    ),
    episodes: int = typer.Option(20, "--episodes", min=1, help="MSC episodes to feed."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the results JSON here."),
    nli: str = typer.Option(None, "--nli", help=_NLI_HELP),
    scaling: bool = typer.Option(
        True, "--scaling/--no-scaling", help="Measure add at 100 vs 10,000 facts."
    ),
    probes: int = typer.Option(
        0, "--probes", min=0, help="Episodes whose next-session question the chat model answers."
    ),
    backend: str = typer.Option(None, "--backend", help="Chat backend for --probes."),
    model: str = typer.Option(None, "--model", help="Chat model for --probes."),
    budget: int = typer.Option(80, "--budget", min=8, help="Memory prompt budget (tokens)."),
    probe_candidates: int = typer.Option(
        1,
        "--probe-candidates",
        min=1,
        help="Candidates per probe reply; above 1 the guard re-ranks them, as in chat.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Long-term memory on MSC: recall of gold persona facts, duplicates, injected updates,
    write-path latency and, with --probes, answers with memory vs no memory vs the truncated
    full context."""
    from consona.evaluation.harness import json_safe
    from consona.evaluation.memory import run_memory_eval
    from consona.memory.memory import default_extractor
    from consona.models.embedder import load_embedder

    judge = _load_nli(nli)
    if judge is None:
        raise ConfigError("eval memory needs a judge", hint="drop --nli none")
    result = run_memory_eval(
        data_dir,
        nli=judge,
        embedder=load_embedder(),
        extractor=default_extractor(),
        episodes=episodes,
        scaling=scaling,
        on_episode=lambda i, r: status(f"episode {i + 1}/{episodes}: recall {r['recall']}"),
    )
    if probes:
        from consona.backends.base import load_backend
        from consona.evaluation.memory import probe_answers

        result["probes"] = probe_answers(
            data_dir,
            backend=load_backend(backend, model=model),
            nli=judge,
            embedder=load_embedder(),
            extractor=default_extractor(),
            episodes=probes,
            budget_tokens=budget,
            candidates=probe_candidates,
            on_episode=lambda i, r: status(f"probe {i + 1}/{probes}: {r['id']}"),
        )
    if out is not None:
        out.write_text(json.dumps(json_safe(result), indent=2) + "\n")
        status(f"wrote {out}")
    summary = {k: v for k, v in result.items() if k != "rows"}
    summary["updates"] = {k: v for k, v in result["updates"].items() if k != "rows"}
    if "probes" in result:
        summary["probes"] = {k: v for k, v in result["probes"].items() if k != "rows"}
    if as_json:
        emit_json(json_safe(summary))
        return
    for key, value in summary.items():
        out_console.print(f"{key}: {json.dumps(json_safe(value))}")
