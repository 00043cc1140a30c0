"""Self-contained HTML reports (tables + matplotlib plots as base64 PNG) and the
side-by-side comparison of runs.

>>> html = render_report({"n": 1, "c_score": 1.0}, [], title="demo")
>>> "<h1>demo</h1>" in html
True
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consona.errors import ConfigError

__all__ = ["MAIN_METRICS", "compare_runs", "load_run", "render_report"]

# (key, label, higher is better)
MAIN_METRICS: tuple[tuple[str, str, bool], ...] = (
    ("c_score", "C-score", True),
    ("contradiction_rate", "Contradiction rate", False),
    ("entailment_rate", "Persona-entailment rate", True),
    ("f1", "Unigram F1", True),
    ("bleu", "BLEU", True),
    ("rouge_l", "ROUGE-L", True),
    ("distinct_1", "Distinct-1", True),
    ("distinct_2", "Distinct-2", True),
    ("avg_words", "Avg. words", True),
    ("perplexity", "Perplexity", False),
    ("judge_score", "LLM judge (1-5)", True),
)

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f3f3f3}td.num{text-align:right}
.bad{color:#b00}.small{font-size:90%;color:#555}img{max-width:100%}
"""


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "—" if math.isnan(v) else f"{v:.4g}"
    if v is None:
        return "—"
    return str(v)


def _esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _plots(metrics: dict[str, Any], rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(caption, base64 PNG) pairs; empty when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    out: list[tuple[str, str]] = []

    def save(fig: Any, caption: str) -> None:
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        out.append((caption, base64.b64encode(buf.getvalue()).decode("ascii")))

    keys = [(k, lab) for k, lab, _ in MAIN_METRICS
            if isinstance(metrics.get(k), int | float) and k in (
                "c_score", "contradiction_rate", "entailment_rate", "f1", "rouge_l",
                "distinct_1", "distinct_2") and not math.isnan(float(metrics[k]))]  # fmt: skip
    if keys:
        fig, ax = plt.subplots(figsize=(7, 3))
        ax.bar([lab for _, lab in keys], [float(metrics[k]) for k, _ in keys], color="#4878a8")
        ax.tick_params(axis="x", labelrotation=30)
        ax.axhline(0, color="#888", linewidth=0.8)
        save(fig, "Main metrics")
    if rows:
        scores = [float(r["c_score"]) for r in rows]
        fig, ax = plt.subplots(figsize=(6, 3))
        lo, hi = math.floor(min(scores)), math.ceil(max(scores))
        ax.hist(scores, bins=[x - 0.5 for x in range(lo, hi + 2)], color="#6a9f58", rwidth=0.8)
        ax.set_xticks(list(range(lo, hi + 1)))
        ax.set_xlabel("C-score of a reply (entailed − contradicted facts)")
        ax.set_ylabel("replies")
        save(fig, "C-score per reply")
        probs = [float(r.get("max_contradiction") or 0.0) for r in rows]
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(probs, bins=20, range=(0, 1), color="#c0504d")
        ax.set_xlabel("highest contradiction probability over persona facts")
        ax.set_ylabel("replies")
        save(fig, "Contradiction probability per reply")
    return out


def _metrics_table(metrics: dict[str, Any]) -> str:
    known = {k for k, _, _ in MAIN_METRICS}
    lines = ["<table><tr><th>metric</th><th>value</th></tr>"]
    for k, lab, better in MAIN_METRICS:
        if k in metrics:
            arrow = "↑" if better else "↓"
            lines.append(
                f"<tr><td>{_esc(lab)} {arrow}</td><td class=num>{_fmt(metrics[k])}</td></tr>"
            )
    for k, v in metrics.items():
        if k not in known and isinstance(v, int | float | str) and k != "skipped":
            lines.append(f"<tr><td>{_esc(k)}</td><td class=num>{_esc(_fmt(v))}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _skipped(metrics: dict[str, Any]) -> str:
    sk = metrics.get("skipped") or {}
    counts = sk.get("counts") or {}
    if not counts:
        return "<p>No example was skipped.</p>"
    items = "".join(
        f"<li>{_esc(k)}: {v}"
        + (
            f" <span class=small>(first: {_esc(', '.join(sk.get('first_ids', {}).get(k, [])))})</span>"
            if sk.get("first_ids", {}).get(k)
            else ""
        )
        + "</li>"
        for k, v in counts.items()
    )
    return f"<ul>{items}</ul><p class=small>no_context = opening turns with nothing to reply to (not errors).</p>"


def _worst(rows: Sequence[dict[str, Any]], k: int) -> str:
    bad = [r for r in rows if r.get("contradicted")]
    bad.sort(key=lambda r: (-(r.get("max_contradiction") or 0.0), r["c_score"]))
    if not bad:
        return "<p>No reply contradicts its persona.</p>"
    lines = [
        "<table><tr><th>example</th><th>persona facts</th><th>last user turn</th>"
        "<th>reply</th><th>p(contradiction)</th></tr>"
    ]
    for r in bad[:k]:
        contra = set(r["contradicted"])
        facts = "<br>".join(
            f"<span class=bad><b>{_esc(f)}</b></span>" if f in contra else _esc(f)
            for f in r.get("facts", [])
        )
        lines.append(
            f"<tr><td>{_esc(r['id'])}</td><td>{facts}</td><td>{_esc(r.get('context', ''))}</td>"
            f"<td>{_esc(r['response'])}</td><td class=num>{_fmt(r.get('max_contradiction'))}</td></tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def render_report(
    metrics: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    *,
    title: str = "consona eval",
    worst: int = 15,
) -> str:
    """A self-contained HTML page: metrics table, skipped counts, plots, the worst
    contradictions with their persona facts, and the LLM judge section when present."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{_esc(title)}</h1>",
        f"<p class=small>{_esc(metrics.get('n', len(rows)))} replies scored; NLI model "
        f"{_esc(metrics.get('nli_model', '?'))}</p>",
        "<h2>Metrics</h2>",
        _metrics_table({k: v for k, v in metrics.items() if k != "judge"}),
        "<h2>Skipped examples</h2>",
        _skipped(metrics),
    ]
    plots = _plots(metrics, rows)
    if plots:
        parts.append("<h2>Plots</h2>")
        for cap, b64 in plots:
            parts.append(f"<figure><img alt='{_esc(cap)}' src='data:image/png;base64,{b64}'>"
                         f"<figcaption>{_esc(cap)}</figcaption></figure>")  # fmt: skip
    else:
        parts.append("<p class=small>Plots need matplotlib: pip install 'consona[eval]'.</p>")
    parts += ["<h2>Worst contradictions</h2>", _worst(rows, worst)]
    judge = metrics.get("judge")
    if isinstance(judge, dict):
        parts += [
            "<h2>LLM judge (separate from the NLI metrics)</h2>",
            _metrics_table({k: v for k, v in judge.items() if not isinstance(v, dict | list)}),
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


# --- comparing runs --------------------------------------------------------------------


def load_run(path: str | Path) -> dict[str, Any]:
    """metrics.json of a run directory (or the file itself)."""
    p = Path(path)
    f = p / "metrics.json" if p.is_dir() else p
    if not f.is_file():
        raise ConfigError(
            f"No metrics.json in {str(p)!r}",
            hint="pass run directories written by 'consona eval dialogue/responses'",
        )
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{str(f)!r} is not valid JSON ({exc.msg})", hint="re-run the eval"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{str(f)!r} is not a metrics object", hint="re-run the eval")
    return data


def compare_runs(paths: Sequence[str | Path]) -> dict[str, Any]:
    """Runs side by side: {"runs": [names], "metrics": {key: [value per run]}, "best": {key:
    index of the best run}} over the metrics any run has."""
    if not paths:
        raise ConfigError("Nothing to compare", hint="pass two or more run directories")
    runs = [load_run(p) for p in paths]
    names = [Path(p).name or str(p) for p in paths]
    table: dict[str, list[Any]] = {}
    best: dict[str, int] = {}
    for key, _, higher in (*MAIN_METRICS, ("n", "n", True), ("n_skipped", "skipped", False)):
        vals = [r.get(key) if key != "judge_score" else (r.get("judge") or {}).get("judge_score")
                for r in runs]  # fmt: skip
        if all(v is None for v in vals):
            continue
        table[key] = vals
        nums = [(float(v), i) for i, v in enumerate(vals) if isinstance(v, int | float)]
        if len(nums) > 1 and key not in ("n", "n_skipped", "avg_words"):
            best[key] = (max(nums) if higher else min(nums))[1]
    return {"runs": names, "paths": [str(p) for p in paths], "metrics": table, "best": best}
