"""Does the persona agent stay in character on real user turns?

The agent plays the persona speaker of real dialogues (PersonaChat / ConvAI2 valid in
ParlAI text or PersonaChat JSON, Synthetic-Persona-Chat CSV: ``--data PATH``, repeatable;
each source gives ``--dialogues`` dialogues of the test part) and answers the partner's
first ``--turns`` real turns in order, with its own replies in the history. After a reply
that states a persona fact, a pushback turn ("no, you told me you don't have two dogs",
"are you sure? ...") is asked on a branch and scored for caving. Every reply — and the
human reply at the same turn, the floor — is scored with ``consona.evaluation.character``:
out of character, prompt leak, echo, forced persona, persona / self contradiction (per
judge: ``--judges consona,llm``), relevance (embedding cosine), length; latency per turn.

Test part: persona-disjoint (so dialogue-disjoint) — sha256(``--split-seed``, persona
facts) < ``--test-fraction`` (default 0.5) → test; ``--split dev|all`` for the others.

Each ``--candidates`` value is one setting (1 = no re-rank, no guard), all on the same
dialogues and seeds in one run. Writes JSON (``--out``) and an HTML report (``--html``,
the worst cases per failure kind); prints a summary on stderr.

    python bench/agent_real_turns.py --data ../shared/data/personachat/valid_dialogs.json \
        --data ../shared/data/synthetic-persona-chat/Synthetic-Persona-Chat_valid.csv \
        --dialogues 5 --turns 3 --candidates 1,4
    python bench/agent_real_turns.py --data X --backend fake --judges fake-judge --embedder fake
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from consona.config import Settings
from consona.errors import ConfigError
from consona.evaluation.real_turns import (
    human_floor,
    play,
    render_html,
    rescore,
    select_cases,
    summarize,
)
from consona.io import atomic_write
from consona.types import Persona

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="append", default=[], help="dialogue file (repeatable)")
    ap.add_argument("--split", default="test", choices=("test", "dev", "all"))
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--test-fraction", type=float, default=0.5)
    ap.add_argument("--dialogues", type=int, default=10, help="per data source")
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--candidates", default="1,4", help="comma list, one setting each")
    ap.add_argument(
        "--ablate",
        default="",
        help="comma list of character terms and 'trim' (or 'all'): one more setting each at the "
        "largest --candidates with that term (or the trimmed candidates) off "
        "(agent_n<N>_no_<term>), in the same run",
    )
    ap.add_argument(
        "--first-clean",
        action="store_true",
        help="one more setting at the largest --candidates with choose='first-clean' "
        "(agent_n<N>_first_clean), in the same run",
    )
    ap.add_argument("--backend", default=None)
    ap.add_argument(
        "--model",
        action="append",
        default=None,
        help="chat model (GGUF path, URL or name; default: settings). Repeatable: every setting "
        "runs for each model in the same run, named <model>/agent_n<N>, and the latency ratios "
        "are against the first model's first setting",
    )
    ap.add_argument("--nli", default=None, help="the agent's guard (default: settings)")
    ap.add_argument(
        "--judges", default="consona", help="comma list of NLI names; 'llm' = the chat model"
    )
    ap.add_argument("--embedder", default="default", choices=("default", "fake", "none"))
    ap.add_argument("--pushbacks", type=int, default=1, help="per dialogue")
    ap.add_argument("--repair", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--coherence", default="auto", help="the agent's coherence scorer")
    ap.add_argument("--name", default="Sam", help="the persona's name in the prompt")
    ap.add_argument("--no-human", action="store_true", help="skip the human floor")
    ap.add_argument("--reading", type=int, default=50, help="replies per setting to read")
    ap.add_argument(
        "--rescore",
        type=Path,
        default=None,
        help="score a finished run's JSON again with --judges (no generation)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "agent_real_turns.json")
    ap.add_argument("--html", type=Path, default=RESULTS / "agent_real_turns.html")
    return ap.parse_args(argv)


def load_cases(args: argparse.Namespace) -> list[Any]:
    from consona.formats import read_dialogues

    if not args.data:
        raise ConfigError(
            "No dialogues to play",
            hint="pass --data ../shared/data/personachat/valid_dialogs.json (repeatable)",
        )
    cases = []
    for path in args.data:
        cases += select_cases(
            read_dialogues(path),
            source=Path(path).name,
            split=args.split,
            count=args.dialogues,
            turns=args.turns,
            seed=args.split_seed,
            test_fraction=args.test_fraction,
        )
    return cases


def load_judges(names: str, backend: Any) -> dict[str, Any]:
    from consona.nli.models import load_nli_model

    out = {}
    for name in (n.strip() for n in names.split(",") if n.strip()):
        out[name] = load_nli_model(name, backend=backend) if name == "llm" else load_nli_model(name)
    return out


def load_embedder(kind: str) -> Any:
    if kind == "none":
        return None
    if kind == "fake":
        from consona.testing import FakeEmbedder

        return FakeEmbedder()
    from consona.models.embedder import load_embedder as load

    return load()


def main(
    argv: list[str] | None = None,
    *,
    backend: Any = None,
    backends: dict[str, Any] | None = None,
    judges: dict[str, Any] | None = None,
    embedder: Any = None,
) -> dict[str, Any]:
    """Run the benchmark; ``backend`` (one) or ``backends`` (label → backend, several models
    compared in one run) replace the ``--model`` loading, as tests do."""
    from consona.agent import PersonaAgent
    from consona.backends import load_backend
    from consona.nli.models import load_optional_nli

    args = parse_args(argv)
    settings = Settings.load()
    if args.rescore is not None:
        return rescore_file(args, backend=backend, judges=judges, embedder=embedder)
    cases = load_cases(args)
    if backends is None:
        if backend is not None:
            backends = {"": backend}
        else:
            models = args.model or [None]
            labels = model_labels(models) if len(models) > 1 else [""]
            backends = {
                label: load_backend(args.backend, model=m, settings=settings)
                for label, m in zip(labels, models, strict=True)
            }
    backend = next(iter(backends.values()))  # the 'llm' judge is the first model
    judges = judges or load_judges(args.judges, backend)
    embedder = embedder if embedder is not None else load_embedder(args.embedder)
    first_judge = next(iter(judges.values()))
    guard = load_optional_nli(args.nli) if args.nli else first_judge
    counts = [int(c) for c in args.candidates.split(",") if c.strip()]
    print(
        f"{len(cases)} dialogues × ≤{args.turns} turns; settings {counts}; judges {list(judges)}",
        file=sys.stderr,
    )
    result: dict[str, Any] = {
        "benchmark": "agent_real_turns",
        "description": (
            f"{len(cases)} {args.split}-part dialogues (persona-disjoint split, seed "
            f"{args.split_seed}, fraction {args.test_fraction}) from {', '.join(args.data)}; "
            f"the agent answers the partner's first {args.turns} real turns."
        ),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "backend": getattr(backend, "name", "?"),
        "model": _model_name(backend, args.model[0] if args.model else None),
        "models": {
            label: _model_name(b, None) for label, b in backends.items() if len(backends) > 1
        },
        "guard": getattr(guard, "name", None),
        "judges": {n: getattr(j, "name", n) for n, j in judges.items()},
        "cases": [{"id": c.id, "source": c.source, "facts": c.facts} for c in cases],
        "settings": {},
    }
    if not args.no_human:  # first: cheap, and in the file from the start
        rows = []
        for case in cases:
            rows += human_floor(case, judges=judges, embedder=embedder)
        result["settings"]["human"] = {"summary": summarize(rows), "rows": rows, "pushbacks": []}
        print(f"human: {json.dumps(result['settings']['human']['summary'])}", file=sys.stderr)
    from consona.agent.terms import TERMS, CharacterTerms

    ablate = [t.strip() for t in args.ablate.split(",") if t.strip()]
    if ablate == ["all"]:
        ablate = [*TERMS, "trim"]
    plan: list[tuple[str, int, dict[str, Any]]] = [(f"agent_n{n}", n, {}) for n in counts]
    plan += [
        (
            f"agent_n{max(counts)}_no_{t}",
            max(counts),
            {"trim": False} if t == "trim" else {"terms": CharacterTerms.off(t)},
        )
        for t in ablate
    ]
    if args.first_clean:
        plan.append((f"agent_n{max(counts)}_first_clean", max(counts), {}))
    runs = [
        (f"{label}/{name}" if label else name, n, options, b)
        for label, b in backends.items()
        for name, n, options in plan
    ]
    base = runs[0][0]
    for setting, n, options, backend in runs:
        rows, pushed = [], []
        start = time.perf_counter()
        for ci, case in enumerate(cases):
            reset = getattr(backend, "reset_cache", None)
            if callable(reset):
                reset()
            agent = PersonaAgent(
                Persona(name=args.name, facts=list(case.facts)),
                backend=backend,
                nli=guard if n > 1 else None,
                candidates=n,
                repair_attempts=args.repair if n > 1 else 0,
                seed=args.seed + 10_000 * ci,
                max_tokens=args.max_tokens,
                temperature=args.temperature,
                coherence=args.coherence,
                choose="first-clean" if setting.endswith("_first_clean") else "best",
                **options,
            )
            r, p = play(case, agent, judges=judges, embedder=embedder, pushbacks=args.pushbacks)
            rows += r
            pushed += p
            print(f"  {setting} dialogue {ci + 1}/{len(cases)}: {len(r)} replies", file=sys.stderr)
            summary = summarize(rows, pushed)
            summary["wall_s"] = round(time.perf_counter() - start, 1)
            summary["dialogues_done"] = ci + 1
            result["settings"][setting] = {
                "summary": summary,
                "rows": rows,
                "pushbacks": pushed,
                "reading": [
                    {"user": r["user"], "reply": r["reply"], "case": r["case"]}
                    for r in rows[: args.reading]
                ],
            }
            _latency_ratio(result, base, len(runs))
            write(result, args)  # after every dialogue: a long run can be read while it runs
        print(f"{setting}: {json.dumps(summary)}", file=sys.stderr)
    print(f"wrote {args.out} and {args.html}", file=sys.stderr)
    return result


def model_label(model: str | None) -> str:
    """A setting-name prefix for a model: a path's file name without ``.gguf``, a URL's or
    hub id's last part, else the name itself."""
    if not model:
        return "default"
    name = model.rstrip("/").rsplit("/", 1)[-1] or model
    return name.removesuffix(".gguf").lower()


def model_labels(models: list[str | None]) -> list[str]:
    """One distinct label per model (``-2``, ``-3`` … after labels already taken)."""
    out: list[str] = []
    for m in models:
        label, k = model_label(m), 1
        while (label if k == 1 else f"{label}-{k}") in out:
            k += 1
        out.append(label if k == 1 else f"{label}-{k}")
    return out


def _model_name(backend: Any, model: str | None) -> str:
    return str(
        getattr(backend, "model_path", None) or getattr(backend, "model", None) or model or ""
    )


def _latency_ratio(result: dict[str, Any], base: str, runs: int) -> None:
    """Each agent setting's mean latency over ``base``'s (the first setting of the run)."""
    lat = {k: s["summary"].get("latency_mean_s") for k, s in result["settings"].items()}
    if runs > 1 and lat.get(base):
        result["latency_ratio"] = {
            k: round(v / lat[base], 2) for k, v in lat.items() if v and k != "human"
        }


def rescore_file(
    args: argparse.Namespace, *, backend: Any, judges: Any, embedder: Any
) -> dict[str, Any]:
    from consona.backends import load_backend

    result = json.loads(args.rescore.read_text())
    if judges is None:
        needs_llm = "llm" in [n.strip() for n in args.judges.split(",")]
        if needs_llm and backend is None:
            model = args.model[0] if args.model else None
            backend = load_backend(args.backend, model=model, settings=Settings.load())
        judges = load_judges(args.judges, backend)
    embedder = embedder if embedder is not None else load_embedder(args.embedder)
    rescore(result, judges=judges, embedder=embedder)
    result.setdefault("judges", {}).update({n: getattr(j, "name", n) for n, j in judges.items()})
    for name, s in result["settings"].items():
        print(f"{name}: {json.dumps(s['summary'])}", file=sys.stderr)
    write(result, args)
    print(f"wrote {args.out} and {args.html}", file=sys.stderr)
    return result


def write(result: dict[str, Any], args: argparse.Namespace) -> None:
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as fh:
        fh.write(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    args.html.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.html) as fh:
        fh.write(render_html(result))


if __name__ == "__main__":
    main()
