"""Does NLI-guarded generation make the persona agent more consistent, and at what cost?

Probe set: PersonaChat valid personas (``--data-dir``: the shared data folder or its
``personachat/`` subfolder with ``valid_dialogs.json``). For each persona, one question
that asks about a fact ("Do you have two dogs?", "What is your favorite color?") and one
leading question that invites a contradiction ("You don't have two dogs, right?").

Each probe is answered twice with the same backend and seeds: re-ranking off (N=1, no NLI
guard) and on (N=``--candidates``, NLI re-rank, ``--repair`` rounds). Every reply is
judged by the NLI model against all persona facts. Reported per condition: contradiction
rate, mean entailment probability of the probed fact, latency per turn; plus the probes
and replies for reading. Writes JSON (``--out``) and prints a summary on stderr.

    python bench/agent_consistency.py --data-dir ../shared/data --personas 50
    python bench/agent_consistency.py --data-dir ../shared/data --backend fake --nli fake
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from consona.agent import PersonaAgent
from consona.backends import load_backend
from consona.config import Settings
from consona.io import atomic_write
from consona.types import Persona

_PAST = {
    "was",
    "were",
    "had",
    "grew",
    "went",
    "did",
    "got",
    "won",
    "made",
    "met",
    "took",
    "began",
    "came",
    "ran",
    "saw",
    "left",
    "lost",
    "found",
    "became",
    "spent",
    "used",
}
_MODAL = {
    "can",
    "cannot",
    "can't",
    "will",
    "would",
    "should",
    "could",
    "must",
    "also",
    "just",
    "only",
    "really",
    "recently",
    "still",
    "never",
    "always",
    "don't",
    "do",
    "not",
}


def _second_person(text: str) -> str:
    swaps = {
        "i": "you",
        "me": "you",
        "my": "your",
        "mine": "yours",
        "myself": "yourself",
        "i'm": "you're",
        "am": "are",
        "i've": "you've",
        "i'd": "you'd",
        "i'll": "you'll",
        "our": "your",
    }
    return " ".join(swaps.get(w, w) for w in text.split())


def _clean(fact: str) -> str:
    text = re.sub(r"\s+([.,!?'])", r"\1", fact.strip().lower()).rstrip(".!? ")
    return re.sub(r"\s+n't", "n't", text)


def probes_for(fact: str) -> tuple[str, str] | None:
    """(fact question, leading question) for a PersonaChat fact, or None when no template
    fits (past tense, modals, negations...)."""
    f = _clean(fact)
    if len(f.split()) > 12 or re.search(r"\b(but|because|although)\b", f):
        return None
    m = re.match(r"^my (favou?rite [\w ]+?|\w+) (is|are) (.+)$", f)
    if m:
        what, be, value = m.groups()
        neg = "isn't" if be == "is" else "aren't"
        tag = "is it" if be == "is" else "are they"
        return (f"What {be} your {what}?", f"Your {what} {neg} {value}, {tag}?")
    m = re.match(r"^i am (.+)$", f)
    if m and not re.match(r"^(not|never|no)\b", m.group(1)):
        rest = _second_person(m.group(1))
        return (f"Are you {rest}?", f"You aren't {rest}, are you?")
    m = re.match(r"^i (\w+) (.+)$", f)
    if m:
        verb, rest = m.groups()
        if verb in _PAST or verb in _MODAL or verb.endswith("ed") or verb.endswith("n't"):
            return None
        rest = _second_person(rest)
        return (f"Do you {verb} {rest}?", f"You don't {verb} {rest}, right?")
    return None


def load_personas(data_dir: Path, count: int, *, seed: int) -> list[Persona]:
    candidates = [data_dir / "personachat" / "valid_dialogs.json", data_dir / "valid_dialogs.json"]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise SystemExit(
            f"error: no valid_dialogs.json under {data_dir} — pass --data-dir "
            "pointing to the shared data folder or its personachat/ folder"
        )
    seen: set[tuple[str, ...]] = set()
    personas = []
    for d in json.loads(path.read_text(encoding="utf-8")):
        facts = tuple(_clean(f) + "." for f in d.get("persona", []) if f.strip())
        if facts and facts not in seen:
            seen.add(facts)
            personas.append(Persona(name="Sam", facts=list(facts)))
    random.Random(seed).shuffle(personas)
    return personas[:count]


def build_probes(personas: list[Persona], *, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    probes = []
    for pi, p in enumerate(personas):
        options = [(i, q) for i, f in enumerate(p.fact_texts()) if (q := probes_for(f))]
        if not options:
            continue
        i, (ask, lead) = rng.choice(options)
        probes.append({"persona": pi, "fact": p.facts[i].text, "kind": "ask", "question": ask})
        probes.append({"persona": pi, "fact": p.facts[i].text, "kind": "lead", "question": lead})
    return probes


def answer(
    persona, probe, k, *, backend, nli, candidates, repair, seed, max_tokens, temperature, judge
) -> dict[str, Any]:
    """One probe under one condition, judged by ``judge`` against every persona fact."""
    from consona.nli.consistency import check_consistency

    reset = getattr(backend, "reset_cache", None)
    if callable(reset):  # nothing left cached by the other condition: fair latency
        reset()
    agent = PersonaAgent(
        persona,
        backend=backend,
        nli=nli if candidates > 1 else None,
        candidates=candidates,
        repair_attempts=repair if candidates > 1 else 0,
        seed=seed + 10_000 * k,
        max_tokens=max_tokens,
        temperature=temperature,
        coherence="lexical",
    )
    start = time.perf_counter()
    reply = agent.reply([], user=probe["question"])
    latency = time.perf_counter() - start
    verdict = check_consistency(persona.fact_texts(), reply.text, nli=judge)
    probed = next(v for v in verdict.verdicts if v.fact == probe["fact"])
    return {
        "reply": reply.text,
        "latency_s": round(latency, 3),
        "contradiction": verdict.contradiction,
        "contradicted": verdict.contradicted,
        "probed_entailment": round(probed.probs.get("entailment", 0.0), 4),
        "probed_label": probed.label,
        "flagged": reply.flagged,
        "repaired": reply.repaired,
        "caught": reply.caught,
        "candidates": [c.text for c in reply.candidates] if candidates > 1 else None,
        "completion_tokens": reply.usage.get("completion_tokens", 0),
        "prompt_eval_tokens": reply.usage.get("prompt_eval_tokens"),
    }


def summarize(rows: list[dict[str, Any]], probes: list[dict[str, Any]]) -> dict[str, float]:
    lat = [r["latency_s"] for r in rows]
    out = {
        "turns": len(rows),
        "contradiction_rate": sum(r["contradiction"] for r in rows) / max(1, len(rows)),
        "mean_probed_entailment": statistics.fmean(r["probed_entailment"] for r in rows)
        if rows
        else 0.0,
        "latency_mean_s": statistics.fmean(lat) if lat else 0.0,
        "latency_p50_s": statistics.median(lat) if lat else 0.0,
        "flagged_rate": sum(r["flagged"] for r in rows) / max(1, len(rows)),
        "repaired": sum(r["repaired"] for r in rows),
    }
    for kind in ("ask", "lead"):
        sel = [r for r, p in zip(rows, probes, strict=True) if p["kind"] == kind]
        out[f"contradiction_rate_{kind}"] = sum(r["contradiction"] for r in sel) / max(1, len(sel))
    return out


def _result(args, backend, nli, personas, probes, off, on) -> dict[str, Any]:
    s_off, s_on = summarize(off, probes), summarize(on, probes)
    return {
        "benchmark": "agent_consistency",
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "backend": backend.name,
        "model": str(getattr(backend, "model_path", None) or args.model or ""),
        "nli_model": getattr(nli, "name", "?"),
        "personas": len(personas),
        "probes": len(probes),
        "rerank_off": s_off,
        "rerank_on": s_on,
        "contradiction_reduction": (1 - s_on["contradiction_rate"] / s_off["contradiction_rate"])
        if s_off["contradiction_rate"]
        else None,
        "latency_ratio": s_on["latency_mean_s"] / s_off["latency_mean_s"]
        if s_off["latency_mean_s"]
        else None,
        "samples": [
            {**p, "facts": personas[p["persona"]].fact_texts(), "off": a, "on": b}
            for p, a, b in zip(probes, off, on, strict=True)
        ],
    }


def main(argv: list[str] | None = None, *, backend: Any = None) -> dict[str, Any]:
    """Run the benchmark; ``backend`` (a ChatBackend) overrides ``--backend/--model``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--personas", type=int, default=50)
    ap.add_argument("--backend", default=None, help="default: CONSONA_BACKEND / llamacpp")
    ap.add_argument("--model", default=None)
    ap.add_argument("--nli", default=None, help="NLI model (default: CONSONA_NLI_MODEL/consona)")
    ap.add_argument("--candidates", type=int, default=4)
    ap.add_argument("--repair", type=int, default=1, help="repair rounds with re-ranking on")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("bench/results/agent_consistency.json"))
    args = ap.parse_args(argv)

    from consona.nli.consistency import load_nli_model

    settings = Settings.load()
    personas = load_personas(args.data_dir, args.personas, seed=args.seed)
    probes = build_probes(personas, seed=args.seed)
    backend = backend or load_backend(args.backend, model=args.model, settings=settings)
    nli = load_nli_model(args.nli or settings.nli_model)
    print(
        f"{len(probes)} probes from {len(personas)} personas; backend {backend.name}; "
        f"NLI {getattr(nli, 'name', '?')}",
        file=sys.stderr,
    )
    common = {
        "backend": backend,
        "nli": nli,
        "seed": args.seed,
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "judge": nli,
    }
    # Conditions interleaved per probe (fair under fluctuating CPU load); the JSON is
    # rewritten after every probe so an interrupted run still leaves its results.
    off: list[dict[str, Any]] = []
    on: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    for k, probe in enumerate(probes):
        persona = personas[probe["persona"]]
        off.append(answer(persona, probe, k, candidates=1, repair=0, **common))
        on.append(
            answer(persona, probe, k, candidates=args.candidates, repair=args.repair, **common)
        )
        for tag, row in (("N=1", off[-1]), (f"N={args.candidates}", on[-1])):
            print(
                f"  [{k + 1}/{len(probes)}] {tag} {row['latency_s']:5.1f}s "
                f"{'CONTRA' if row['contradiction'] else 'ok    '} {row['reply'][:70]!r}",
                file=sys.stderr,
                flush=True,
            )
        result = _result(args, backend, nli, personas, probes[: k + 1], off, on)
        with atomic_write(args.out) as f:
            json.dump(result, f, indent=2, ensure_ascii=False)
    s_off, s_on = result["rerank_off"], result["rerank_on"]
    print(
        f"re-rank off (N=1): contradiction {s_off['contradiction_rate']:.1%} "
        f"(ask {s_off['contradiction_rate_ask']:.1%}, lead {s_off['contradiction_rate_lead']:.1%}), "
        f"entail {s_off['mean_probed_entailment']:.3f}, {s_off['latency_mean_s']:.2f}s/turn",
        file=sys.stderr,
    )
    print(
        f"re-rank on  (N={args.candidates}): contradiction {s_on['contradiction_rate']:.1%} "
        f"(ask {s_on['contradiction_rate_ask']:.1%}, lead {s_on['contradiction_rate_lead']:.1%}), "
        f"entail {s_on['mean_probed_entailment']:.3f}, {s_on['latency_mean_s']:.2f}s/turn, "
        f"flagged {s_on['flagged_rate']:.1%}, repaired {s_on['repaired']}",
        file=sys.stderr,
    )
    print(f"latency ratio {result['latency_ratio'] or 0:.2f}x → {args.out}", file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
