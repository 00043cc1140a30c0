"""``report.md`` and summary figures of a build, computed from its manifest.

>>> summary({"statistics": {"dialogues": 2, "speakers": 4, "facts": 6, "turns": 10,
...          "turns_with_facts": 5, "examples": 8, "augmentation": {"examples": 8,
...          "with_unused_before": 2, "with_unused_after": 6}}})["unused_share_after"]
0.75
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_report", "summary"]


def _ratio(a: float, b: float) -> float:
    return round(a / b, 4) if b else 0.0


def summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """Headline figures: counts, extractor rates, the unused-fact share before/after."""
    st = manifest.get("statistics", {})
    aug = st.get("augmentation", {})
    extract_s = st.get("extract_seconds", 0.0)
    return {
        "dialogues": st.get("dialogues", 0),
        "turns": st.get("turns", 0),
        "speakers": st.get("speakers", 0),
        "examples": st.get("examples", 0),
        "rows": st.get("rows", 0),
        "shards": st.get("shards", 0),
        "facts": st.get("facts", 0),
        "facts_per_speaker": _ratio(st.get("facts", 0), st.get("speakers", 0)),
        "speakers_with_facts": _ratio(st.get("speakers_with_facts", 0), st.get("speakers", 0)),
        "facts_per_turn": _ratio(st.get("facts", 0), st.get("turns", 0)),
        "turns_with_facts": _ratio(st.get("turns_with_facts", 0), st.get("turns", 0)),
        "extract_turns_per_s": round(st.get("turns", 0) / extract_s, 1) if extract_s else None,
        "used_facts_per_example": _ratio(st.get("used_fact_links", 0), st.get("examples", 0)),
        "unused_share_before": _ratio(aug.get("with_unused_before", 0), aug.get("examples", 0)),
        "unused_share_after": _ratio(aug.get("with_unused_after", 0), aug.get("examples", 0)),
        "empty_share_before": _ratio(aug.get("empty_before", 0), aug.get("examples", 0)),
        "empty_share_after": _ratio(aug.get("empty_after", 0), aug.get("examples", 0)),
        "input_errors": manifest.get("input", {}).get("errors", 0),
    }


def render_report(manifest: dict[str, Any]) -> str:
    s = summary(manifest)
    st = manifest.get("statistics", {})
    aug = st.get("augmentation", {})
    cfg = manifest.get("config", {})
    inp = manifest.get("input", {})
    buckets = st.get("facts_per_speaker", {})
    lines = [
        "# consona build report",
        "",
        f"- status: **{manifest.get('status')}**, fingerprint `{manifest.get('fingerprint', '')[:16]}`",
        f"- inputs: {', '.join(inp.get('paths', [])) or '?'}",
        f"- extractor `{cfg.get('extractor')}`, NLI `{cfg.get('nli')}`, seed {cfg.get('seed')}, "
        f"shard size {cfg.get('shard_size')}",
        "",
        "## Data",
        "",
        "| dialogues | turns | speakers | examples | shards | input errors |",
        "|---|---|---|---|---|---|",
        f"| {s['dialogues']} | {s['turns']} | {s['speakers']} | {s['examples']} | {s['shards']} "
        f"| {s['input_errors']} |",
        "",
        "## Extraction",
        "",
        f"- facts: {s['facts']} ({s['facts_per_speaker']} per speaker, {s['facts_per_turn']} per turn)",
        f"- speakers with at least one fact: {s['speakers_with_facts']:.1%}; turns that "
        f"yielded a fact: {s['turns_with_facts']:.1%}",
        "- facts per speaker: " + ", ".join(f"{k}: {v}" for k, v in buckets.items()),
        f"- extraction speed: {s['extract_turns_per_s']} turns/s (summed over workers)",
        f"- facts used by their response (NLI entailment): {s['used_facts_per_example']} per example",
        "",
        "## Persona augmentation",
        "",
        "| share of examples | before | after |",
        "|---|---|---|",
        f"| persona has a fact the response does not use | {s['unused_share_before']:.1%} "
        f"| {s['unused_share_after']:.1%} |",
        f"| persona is empty | {s['empty_share_before']:.1%} | {s['empty_share_after']:.1%} |",
        "",
        f"- distractors added: {aug.get('distractors_added', 0)} (rejected by NLI: "
        f"{aug.get('distractors_rejected_nli', 0)}; examples short of the target: "
        f"{aug.get('distractors_short', 0)})",
        f"- facts dropped: {aug.get('facts_dropped', 0)}; personas emptied: "
        f"{aug.get('personas_emptied', 0)}; shuffled: {aug.get('shuffled', 0)}; "
        f"paraphrased facts: {aug.get('paraphrased', 0)}",
    ]
    samples = inp.get("error_samples", [])
    if samples:
        lines += ["", "## Input errors (first ones)", ""]
        lines += [
            f"- {e.get('file')}, line {e.get('line')}: {e.get('error')}" for e in samples[:10]
        ]
    return "\n".join(lines) + "\n"
