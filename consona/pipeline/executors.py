"""Executors run ``process_shard`` over shards: ``local`` (worker processes, or in-process
with ``workers=0``) and ``ray`` (Ray Data; locally via ``ray.init()`` or on a cluster).
Both call the same function per shard, so they give the same rows.

>>> from consona.testing import FakeNLI
>>> from consona.types import Fact
>>> class NoFacts:
...     name = "none"
...     def extract_batch(self, turns, *, contexts=None):
...         return [[] for _ in turns]
>>> ex = LocalExecutor(BuildConfig(extractor="none", nli="fake"), workers=0,
...                    extractor=NoFacts(), nli=FakeNLI())
>>> [r.shard_id for r in ex.run(iter([ShardInput("shard-00000", [])]))]
['shard-00000']
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Protocol

from consona.errors import ConsonaError, require
from consona.pipeline.config import EXECUTORS, BuildConfig
from consona.pipeline.stages import (
    Components,
    ShardInput,
    ShardResult,
    load_components,
    model_ids,
    process_shard,
)

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "RayExecutor", "make_executor"]

logger = logging.getLogger("consona.pipeline")


class Executor(Protocol):
    """Runs ``process_shard`` over shards. ``run`` is the main method: it yields each
    shard's result as the shard finishes (closing the generator stops the workers)."""

    def run(self, shards: Iterator[ShardInput]) -> Generator[ShardResult, None, None]: ...


_WORKER: dict[str, Any] = {}
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_WATCH_PARENT_S = 1.0  # how often a worker checks that its parent is still there
_STOP_GRACE_S = 5.0  # how long stopped workers get to exit before they are killed


def _run_shard(parts: Components, config: BuildConfig, shard: ShardInput) -> dict[str, Any]:
    """Process a shard; errors come back as data (so they cross process boundaries)."""
    try:
        result = process_shard(shard, parts, config)
    except ConsonaError as exc:
        return {"shard_id": shard.shard_id, "error": str(exc), "exit_code": exc.exit_code}
    except Exception as exc:
        logger.debug("shard %s failed:\n%s", shard.shard_id, traceback.format_exc())
        return {"shard_id": shard.shard_id, "error": f"{type(exc).__name__}: {exc}", "exit_code": 1}
    return {"shard_id": result.shard_id, "rows": result.rows, "stats": result.stats,
            "models": model_ids(parts)}  # fmt: skip


def _to_result(data: dict[str, Any]) -> ShardResult:
    if "error" in data:
        err = ConsonaError(
            f"{data['shard_id']} failed: {data['error']}",
            hint="fix the cause and re-run the same command; committed shards are kept",
        )
        err.exit_code = int(data.get("exit_code", 1))
        raise err
    return ShardResult(data["shard_id"], data["rows"], data["stats"], data.get("models", {}))


def _load(config: BuildConfig, objs: tuple[Any, Any, Any]) -> Components | dict[str, Any]:
    """Components, or an error record (a failed load must not break the worker pool)."""
    extractor, nli, backend = objs
    try:
        return load_components(config, extractor=extractor, nli=nli, backend=backend)
    except ConsonaError as exc:
        return {"error": str(exc), "exit_code": exc.exit_code}
    except Exception as exc:
        logger.debug("loading models failed:\n%s", traceback.format_exc())
        return {"error": f"cannot load models: {type(exc).__name__}: {exc}", "exit_code": 3}


def _run_or_error(
    parts: Components | dict[str, Any], config: BuildConfig, shard: ShardInput
) -> dict[str, Any]:
    if isinstance(parts, dict):
        return {"shard_id": shard.shard_id, **parts}
    return _run_shard(parts, config, shard)


def _init_worker(
    config: BuildConfig, extractor: Any, nli: Any, backend: Any, threads: int = 0, parent: int = 0
) -> None:
    _ignore_sigint()
    if parent:
        _exit_with_parent(parent)
    if threads:  # share the cores between workers (read when torch/numpy BLAS start)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(var, str(threads))
    _WORKER["parts"] = _load(config, (extractor, nli, backend))
    _WORKER["config"] = config


def _ignore_sigint() -> None:
    """The parent handles Ctrl-C. A worker is started with SIGINT blocked (see
    ``_sigint_held``), so a Ctrl-C while it boots stays pending; ignoring it, then
    unblocking, drops it without a KeyboardInterrupt traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold SIGINT back in this thread while it may spawn workers: they inherit the blocked
    signal (so a Ctrl-C cannot interrupt their start-up), and this process gets a Ctrl-C
    that came meanwhile as soon as the block ends (as ``multiprocessing.resource_tracker``
    does for its own process)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _exit_with_parent(parent: int) -> None:
    """End this worker when ``parent`` (the build) dies, ``kill -9`` included: on Linux the
    kernel sends SIGKILL (``PR_SET_PDEATHSIG``); everywhere a daemon thread sees the worker
    re-parented and exits (so no worker outlives its build by more than a second or so)."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            failed = libc.prctl(
                ctypes.c_int(_PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGKILL),
                ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0),
            )  # fmt: skip
            if failed:
                logger.debug("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
        except (OSError, AttributeError) as exc:
            logger.debug("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)
    threading.Thread(
        target=_watch_parent, args=(parent,), name="consona-watch-parent", daemon=True
    ).start()


def _watch_parent(parent: int, interval: float = _WATCH_PARENT_S) -> None:
    """Exit the process once it is no longer a child of ``parent``."""
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(1)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's processes and wait for them (killing any that linger)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for proc in procs:
        proc.terminate()
    deadline = time.monotonic() + _STOP_GRACE_S
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.exitcode is None:
            proc.kill()
            proc.join(1.0)


def _worker_task(shard: ShardInput) -> dict[str, Any]:
    return _run_or_error(_WORKER["parts"], _WORKER["config"], shard)


class LocalExecutor:
    """Shards on ``workers`` processes (spawned; models load once per worker), or in this
    process with ``workers=0``. Results come back as shards finish, not in order."""

    def __init__(
        self,
        config: BuildConfig,
        *,
        workers: int | None = None,
        extractor: Any = None,
        nli: Any = None,
        backend: Any = None,
    ) -> None:
        self.config = config
        self.workers = config.workers if workers is None else workers
        self._objs = (extractor, nli, backend)

    @classmethod
    def from_config(
        cls, config: BuildConfig, *, address: str | None = None, **objs: Any
    ) -> LocalExecutor:
        """Registry factory (``address`` is Ray's; a local build has none to join)."""
        return cls(config, **objs)

    def run(self, shards: Iterator[ShardInput]) -> Generator[ShardResult, None, None]:
        extractor, nli, backend = self._objs
        if self.workers == 0:
            parts = _load(self.config, self._objs)
            for shard in shards:
                yield _to_result(_run_or_error(parts, self.config, shard))
            return
        ctx = multiprocessing.get_context("spawn")
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=ctx,
            initializer=_init_worker,
            initargs=(self.config, extractor, nli, backend, threads, os.getpid()),
        )
        pending: set[Future[dict[str, Any]]] = set()
        finished = False
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < 2 * self.workers:
                    nxt = next(shards, None)
                    if nxt is None:
                        exhausted = True
                    else:
                        with _sigint_held():  # submit() starts the worker processes
                            pending.add(pool.submit(_worker_task, nxt))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: f.result()["shard_id"]):
                    yield _to_result(fut.result())
            finished = True
        finally:
            if finished:
                pool.shutdown(wait=True)
            else:  # Ctrl-C or an error: in-flight shards are discarded anyway
                # (the pool's own thread drops the queued shards: a future cancelled here
                # would make it fail with InvalidStateError on Python < 3.12)
                pool.shutdown(wait=False, cancel_futures=True)
                _stop_workers(pool)


class _RayShardWorker:
    """A Ray Data actor: loads the models once, then processes shard rows."""

    def __init__(self, config: BuildConfig, extractor: Any, nli: Any, backend: Any) -> None:
        self.config = config
        self.parts = _load(config, (extractor, nli, backend))

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        shard = ShardInput(row["shard_id"], json.loads(row["records"]))
        result = _run_or_error(self.parts, self.config, shard)
        return {"shard_id": row["shard_id"], "result": json.dumps(result)}


class RayExecutor:
    """Shards as rows of a Ray Data dataset, mapped by an actor pool of ``workers`` actors.
    ``address`` joins a running cluster; without it a local Ray is started (and stopped at
    the end). Shards go in windows so the input never has to fit in memory at once."""

    def __init__(
        self,
        config: BuildConfig,
        *,
        workers: int | None = None,
        address: str | None = None,
        window: int = 64,
        extractor: Any = None,
        nli: Any = None,
        backend: Any = None,
    ) -> None:
        self.config = config
        self.workers = max(1, config.workers if workers is None else workers)
        self.address = address
        self.window = max(window, 2 * self.workers)
        self._objs = (extractor, nli, backend)

    @classmethod
    def from_config(
        cls, config: BuildConfig, *, address: str | None = None, **objs: Any
    ) -> RayExecutor:
        """Registry factory: ``make_executor(BuildConfig(executor="ray"), address=...)``."""
        return cls(config, address=address, **objs)

    def run(self, shards: Iterator[ShardInput]) -> Generator[ShardResult, None, None]:
        ray = require("ray", package="ray[data]", extra="ray", purpose="--executor ray")
        require("ray.data", package="ray[data]", extra="ray", purpose="--executor ray")
        started = False
        if not ray.is_initialized():
            quiet = not logger.isEnabledFor(logging.DEBUG)
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": not quiet}
            if quiet:
                kwargs["logging_level"] = logging.ERROR
                logging.getLogger("ray").setLevel(logging.ERROR)
            if self.address:
                kwargs["address"] = self.address
            else:
                kwargs["num_cpus"] = self.workers
            ray.init(**kwargs)
            started = True
        try:
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = False
            batch: list[ShardInput] = []
            for shard in shards:
                batch.append(shard)
                if len(batch) >= self.window:
                    yield from self._run_window(ray, batch)
                    batch = []
            if batch:
                yield from self._run_window(ray, batch)
        finally:
            if started:
                ray.shutdown()

    def _run_window(self, ray: Any, batch: list[ShardInput]) -> Generator[ShardResult, None, None]:
        items = [{"shard_id": s.shard_id, "records": json.dumps(s.records)} for s in batch]
        extractor, nli, backend = self._objs
        ds = ray.data.from_items(items, override_num_blocks=len(items)).map(
            _RayShardWorker,
            fn_constructor_kwargs={
                "config": self.config, "extractor": extractor, "nli": nli, "backend": backend,
            },
            compute=ray.data.ActorPoolStrategy(size=min(self.workers, len(items))),
            num_cpus=1,
        )  # fmt: skip
        for row in ds.iter_rows():
            yield _to_result(json.loads(row["result"]))


def make_executor(
    config: BuildConfig,
    *,
    address: str | None = None,
    extractor: Any = None,
    nli: Any = None,
    backend: Any = None,
) -> Executor:
    """The executor ``config.executor`` names (``EXECUTORS``: ``local``, ``ray``); unknown
    names raise ``UnknownNameError`` listing the valid ones. ``address``: the Ray cluster
    to join (``ray`` only).

    >>> type(make_executor(BuildConfig(extractor="none", nli="fake", workers=0))).__name__
    'LocalExecutor'
    >>> EXECUTORS.create("spark", BuildConfig())
    Traceback (most recent call last):
    ...
    consona.errors.UnknownNameError: Unknown executor 'spark'. Valid executors: local, ray
    """
    return EXECUTORS.create(
        config.executor, config, address=address, extractor=extractor, nli=nli, backend=backend
    )
