"""The build pipeline: read dialogues → extract per-speaker personas → make examples →
augment → write sharded Parquet + chat-messages JSONL, with a manifest that makes runs
resumable. Executors: ``local`` (worker processes) and ``ray`` (Ray Data).

>>> from consona.pipeline import BuildConfig
>>> BuildConfig(executor="local", workers=2).workers
2
"""

from consona.pipeline.build import BuildResult, build, run_fingerprint
from consona.pipeline.config import BuildConfig
from consona.pipeline.executors import LocalExecutor, RayExecutor, make_executor
from consona.pipeline.output import MANIFEST, BuildOutput
from consona.pipeline.report import render_report, summary
from consona.pipeline.sources import InputReader, expand_inputs
from consona.pipeline.stages import Components, ShardInput, ShardResult, process_shard

__all__ = [
    "MANIFEST",
    "BuildConfig",
    "BuildOutput",
    "BuildResult",
    "Components",
    "InputReader",
    "LocalExecutor",
    "RayExecutor",
    "ShardInput",
    "ShardResult",
    "build",
    "expand_inputs",
    "make_executor",
    "process_shard",
    "render_report",
    "run_fingerprint",
    "summary",
]
