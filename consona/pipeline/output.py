"""Build output: shard files (Parquet + chat-messages JSONL) committed atomically, the
``manifest.json`` that records exactly what is committed, and ``report.md``.

Commit protocol per shard: each file is written to a temp file, fsynced and renamed; only
then is the shard added to the manifest (itself written the same way). A shard file that
the manifest does not list is not part of the output; a re-run rewrites it.

>>> import tempfile
>>> out = BuildOutput(tempfile.mkdtemp())
>>> m = out.new_manifest(fingerprint="abc", parts={}, config={})
>>> entry = out.commit_shard(m, "shard-00000", [], {"dialogues": 0})
>>> [s["id"] for s in out.load_manifest()["shards"]], entry["rows"]
(['shard-00000'], 0)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from consona.errors import ConsonaError
from consona.io import atomic_write
from consona.pipeline.report import summary

__all__ = ["MANIFEST", "MANIFEST_FORMAT", "SHARD_DIR", "BuildOutput", "shard_id", "sum_stats"]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "consona-build/1"
SHARD_DIR = "shards"


def shard_id(index: int) -> str:
    return f"shard-{index:05d}"


def _schema() -> Any:
    import pyarrow as pa

    turn = pa.struct([("speaker", pa.string()), ("text", pa.string())])
    msg = pa.struct([("role", pa.string()), ("content", pa.string())])
    return pa.schema(
        [
            ("id", pa.string()),
            ("dialogue_id", pa.string()),
            ("turn", pa.int32()),
            ("speaker", pa.string()),
            ("persona_facts", pa.list_(pa.string())),
            ("context", pa.list_(turn)),
            ("response", pa.string()),
            ("used_facts", pa.list_(pa.int32())),
            ("distractor_facts", pa.list_(pa.int32())),
            ("source_file", pa.string()),
            ("source_line", pa.int64()),
            ("source_index", pa.int64()),
            ("augmentation", pa.string()),
            ("messages", pa.list_(msg)),
            ("facts", pa.string()),
        ]
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_error(what: Path, exc: OSError) -> ConsonaError:
    return ConsonaError(
        f"Cannot write {str(what)!r}: {exc.strerror or exc}",
        hint="free disk space or choose a writable output dir, then re-run the same command "
        "to resume (committed shards are kept)",
    )


def sum_stats(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum nested numeric statistics."""
    total: dict[str, Any] = {}
    for item in items:
        for k, v in item.items():
            if isinstance(v, dict):
                total[k] = sum_stats([total.get(k, {}), v])
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                total[k] = total.get(k, 0) + v
    return total


class BuildOutput:
    """The output directory of one build."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.shard_dir = self.root / SHARD_DIR
        self.manifest_path = self.root / MANIFEST

    def prepare(self) -> None:
        """Create the directories and remove temp files a killed run left behind."""
        try:
            self.shard_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _write_error(self.root, exc) from None
        if not os.access(self.root, os.W_OK) or not os.access(self.shard_dir, os.W_OK):
            raise ConsonaError(
                f"Output dir {str(self.root)!r} is not writable", hint="choose another -o OUTDIR"
            )
        for d in (self.root, self.shard_dir):
            for p in d.glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    p.unlink()

    def load_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConsonaError(
                f"{self.manifest_path} is unreadable ({exc})",
                hint="pass --force to start this output dir afresh",
            ) from None
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ConsonaError(
                f"{self.manifest_path} is not a consona build manifest",
                hint="choose another -o OUTDIR or pass --force",
            )
        return data

    def new_manifest(
        self, *, fingerprint: str, parts: dict[str, Any], config: dict[str, Any]
    ) -> dict[str, Any]:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        manifest: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "fingerprint": fingerprint,
            "fingerprint_parts": parts,
            "config": config,
            "status": "running",
            "created": now,
            "updated": now,
            "shards": [],
            "input": {},
            "statistics": {},
        }
        self.save_manifest(manifest)
        return manifest

    def save_manifest(self, manifest: dict[str, Any]) -> None:
        manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        manifest["shards"].sort(key=lambda s: s["id"])
        manifest["statistics"] = sum_stats(s.get("stats", {}) for s in manifest["shards"])
        manifest["statistics"]["rows"] = sum(s["rows"] for s in manifest["shards"])
        manifest["statistics"]["shards"] = len(manifest["shards"])
        manifest["summary"] = summary(manifest)
        try:
            with atomic_write(self.manifest_path) as f:
                os.fchmod(f.fileno(), 0o644)
                json.dump(manifest, f, indent=2, ensure_ascii=False, sort_keys=True)
                f.write("\n")
        except OSError as exc:
            raise _write_error(self.manifest_path, exc) from None

    def _write_file(self, path: Path, mode: str, write: Any) -> dict[str, Any]:
        try:
            with atomic_write(path, mode) as f:
                os.fchmod(f.fileno(), 0o644)
                write(f)
        except OSError as exc:
            raise _write_error(path, exc) from None
        return {"path": str(path.relative_to(self.root)), "bytes": path.stat().st_size,
                "sha256": _sha256(path)}  # fmt: skip

    def commit_shard(
        self, manifest: dict[str, Any], sid: str, rows: list[dict[str, Any]], stats: dict[str, Any]
    ) -> dict[str, Any]:
        """Write the shard's files atomically, then record it in the manifest."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows, schema=_schema())

        def write_parquet(f: Any) -> None:
            pq.write_table(table, f, compression="zstd")

        def write_jsonl(f: Any) -> None:
            for row in rows:
                f.write(
                    json.dumps({"id": row["id"], "messages": row["messages"]}, ensure_ascii=False)
                )
                f.write("\n")

        parquet = self._write_file(self.shard_dir / f"{sid}.parquet", "wb", write_parquet)
        jsonl = self._write_file(self.shard_dir / f"{sid}.messages.jsonl", "w", write_jsonl)
        entry = {"id": sid, "rows": len(rows), "parquet": parquet, "messages": jsonl,
                 "stats": stats}  # fmt: skip
        manifest["shards"] = [s for s in manifest["shards"] if s["id"] != sid] + [entry]
        self.save_manifest(manifest)
        return entry

    def verify(self, manifest: dict[str, Any]) -> list[str]:
        """Committed shards whose files are missing or changed (to redo)."""
        bad: list[str] = []
        for s in manifest["shards"]:
            for key in ("parquet", "messages"):
                p = self.root / s[key]["path"]
                if not p.is_file() or p.stat().st_size != s[key]["bytes"]:
                    bad.append(s["id"])
                    break
        return bad

    def committed_files(self, manifest: dict[str, Any]) -> list[Path]:
        return [
            self.root / s[k]["path"] for s in manifest["shards"] for k in ("parquet", "messages")
        ]

    def remove_strays(self, manifest: dict[str, Any]) -> list[str]:
        """Delete shard files the manifest does not list (left by a killed run)."""
        keep = {p.name for p in self.committed_files(manifest)}
        removed = []
        for p in self.shard_dir.iterdir():
            if p.is_file() and p.name not in keep:
                with contextlib.suppress(OSError):
                    p.unlink()
                    removed.append(p.name)
        return removed
