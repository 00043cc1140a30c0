"""``build()``: inputs → sharded, resumable persona dialogue dataset.

>>> import json, pathlib, tempfile
>>> from consona.testing import FakeNLI
>>> from consona.types import Fact
>>> class IFacts:
...     name = "i-facts"
...     def extract_batch(self, turns, *, contexts=None):
...         return [[Fact(text=t.text)] if t.text.startswith("I ") else [] for t in turns]
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> d = {"id": "d1", "turns": [{"speaker": "a", "text": "hi"},
...                            {"speaker": "b", "text": "I have a cat."}]}
>>> _ = (tmp / "in.jsonl").write_text(json.dumps(d) + "\\n")
>>> cfg = BuildConfig(extractor="i-facts", nli="fake", workers=0)
>>> res = build([tmp / "in.jsonl"], tmp / "out", cfg, extractor=IFacts(), nli=FakeNLI(),
...             show_progress=False)
>>> (res.rows, res.shards_written, res.status)
(1, 1, 'complete')
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consona.errors import ConfigError, ConsonaError
from consona.io import atomic_write
from consona.pipeline.config import BuildConfig
from consona.pipeline.executors import make_executor
from consona.pipeline.output import MANIFEST, BuildOutput, shard_id
from consona.pipeline.report import render_report, summary
from consona.pipeline.sources import InputReader, fingerprint_inputs
from consona.pipeline.stages import ShardInput, model_id
from consona.progress import progress

__all__ = ["BuildResult", "build", "run_fingerprint"]

logger = logging.getLogger("consona.pipeline")


@dataclass
class BuildResult:
    """What a build did. ``summary`` holds the headline figures (see report.py)."""

    outdir: Path
    status: str
    rows: int
    shards_written: int
    shards_skipped: int
    dialogues_processed: int
    seconds: float
    manifest: dict[str, Any]

    @property
    def summary(self) -> dict[str, Any]:
        return summary(self.manifest)

    @property
    def dialogues_per_s(self) -> float:
        return self.dialogues_processed / self.seconds if self.seconds else 0.0


def run_fingerprint(
    paths: Sequence[str], config: BuildConfig, models: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The run fingerprint (inputs by content, row-shaping config, model ids, version)."""
    from consona import __version__

    inputs = fingerprint_inputs(paths)
    parts = {
        "inputs": inputs,
        "config": config.rows_config(),
        "models": models,
        "consona": __version__,
    }
    hashed = {**parts, "inputs": [{k: v for k, v in i.items() if k != "input"} for i in inputs]}
    digest = hashlib.sha256(json.dumps(hashed, sort_keys=True, default=str).encode()).hexdigest()
    return digest, parts


def _diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    keys = sorted(set(old) | set(new))
    out: list[str] = []
    for k in keys:
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _diff(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}")
    return out


def _open_manifest(
    out: BuildOutput, fingerprint: str, parts: dict[str, Any], config: BuildConfig, *, force: bool
) -> dict[str, Any]:
    manifest = None if force else out.load_manifest()
    if manifest is not None and not manifest["shards"]:
        manifest = None  # nothing committed: nothing to protect
    if manifest is not None and manifest.get("fingerprint") != fingerprint:
        changed = _diff(manifest.get("fingerprint_parts", {}), parts) or ["fingerprint"]
        raise ConfigError(
            f"{out.root} holds a build of another configuration (differs in: "
            f"{', '.join(changed[:6])})",
            hint="re-run with the same inputs and options to resume, pass --force to "
            "discard it, or choose another -o OUTDIR",
        )
    if manifest is None:
        if force and out.shard_dir.exists():
            shutil.rmtree(out.shard_dir)
            out.prepare()
        return out.new_manifest(fingerprint=fingerprint, parts=parts, config=config.to_dict())
    bad = set(out.verify(manifest))
    if bad:
        logger.warning("redoing %d shard(s) whose files are missing or changed", len(bad))
        manifest["shards"] = [s for s in manifest["shards"] if s["id"] not in bad]
    manifest["status"] = "running"
    out.save_manifest(manifest)
    return manifest


def build(
    inputs: Sequence[str | Path],
    outdir: str | Path,
    config: BuildConfig | None = None,
    *,
    force: bool = False,
    address: str | None = None,
    extractor: Any = None,
    nli: Any = None,
    backend: Any = None,
    show_progress: bool = True,
) -> BuildResult:
    """Build (or resume) the dataset in ``outdir``. Models are loaded by the names in
    ``config`` unless instances are passed (they are shipped to the workers)."""
    config = config or BuildConfig()
    start = time.perf_counter()
    reader = InputReader(inputs, on_error=config.on_error, limit=config.limit)
    models = {
        "extractor": model_id(extractor) or config.extractor,
        "nli": model_id(nli) or config.nli,
        "paraphrase": config.paraphrase_backend if config.augment.paraphrase_prob else None,
    }
    fingerprint, parts = run_fingerprint(reader.paths, config, models)
    out = BuildOutput(outdir)
    out.prepare()
    manifest = _open_manifest(out, fingerprint, parts, config, force=force)
    committed = {s["id"] for s in manifest["shards"]}
    counts = {"written": 0, "skipped": 0, "dialogues": 0}
    total = reader.estimate_total()
    bar_options: dict[str, Any] = {} if show_progress else {"disable": True}
    bar = progress(None, total=total, desc="build", unit="dlg", **bar_options)

    def shards() -> Iterator[ShardInput]:
        records: list[dict[str, Any]] = []
        index = 0

        def flush() -> ShardInput | None:
            nonlocal index, records
            sid, batch = shard_id(index), records
            index, records = index + 1, []
            if sid in committed:
                counts["skipped"] += 1
                if bar.total is not None:
                    bar.total = max(bar.n, bar.total - len(batch))
                    bar.refresh()
                return None
            return ShardInput(sid, batch)

        for rec in reader:
            records.append({"dialogue": rec.dialogue.to_dict(), "file": rec.file,
                            "line": rec.line, "index": rec.index})  # fmt: skip
            if len(records) >= config.shard_size:
                shard = flush()
                if shard is not None:
                    yield shard
        if records:
            shard = flush()
            if shard is not None:
                yield shard

    executor = make_executor(config, address=address, extractor=extractor, nli=nli, backend=backend)
    status = "failed"
    results = executor.run(shards())
    try:
        for result in results:
            first = manifest.setdefault("models", result.models)
            if first != result.models:
                raise ConsonaError(
                    f"{result.shard_id} was built with models {result.models}, "
                    f"the build so far with {first}",
                    hint="keep one model setup per output dir (or pass --force)",
                )
            out.commit_shard(manifest, result.shard_id, result.rows, result.stats)
            counts["written"] += 1
            counts["dialogues"] += result.stats.get("dialogues", 0)
            bar.set_postfix(shards=len(manifest["shards"]), rows=manifest["statistics"]["rows"])
            bar.update(result.stats.get("dialogues", 0))
        status = "complete"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except ConsonaError as exc:
        manifest["error"] = str(exc)
        raise
    finally:
        results.close()  # stops the workers
        bar.close()
        manifest["status"] = status
        if status == "complete":
            manifest.pop("error", None)
        manifest["input"] = {
            "paths": reader.paths,
            "dialogues_read": reader.read,
            "errors": reader.errors,
            "error_samples": reader.error_samples,
            "complete": status == "complete",
        }
        try:
            out.save_manifest(manifest)
            if status == "complete":
                out.remove_strays(manifest)
                with atomic_write(out.root / "report.md") as f:
                    f.write(render_report(manifest))
        except ConsonaError as exc:
            if status == "complete":
                raise
            logger.error("could not update %s: %s", out.root / MANIFEST, exc)
    return BuildResult(
        outdir=out.root,
        status=status,
        rows=manifest["statistics"].get("rows", 0),
        shards_written=counts["written"],
        shards_skipped=counts["skipped"],
        dialogues_processed=counts["dialogues"],
        seconds=time.perf_counter() - start,
        manifest=manifest,
    )
