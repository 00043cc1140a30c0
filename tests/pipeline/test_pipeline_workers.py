"""Worker processes of ``consona build --workers 2`` never outlive the build: they exit when
the build is killed with ``kill -9``, and Ctrl-C (SIGINT to the whole process group, as a
terminal sends it) stops everything with one clear message and no traceback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from consona.testing.data import write_chat_jsonl

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process tree from /proc"
)

GRACE_S = 5.0  # how long a process of the build may outlive it


def start_build(tmp_path: Path, **popen) -> tuple[subprocess.Popen, Path]:
    """A real build on 2 local workers, long enough (600 shards) to be caught running."""
    src = write_chat_jsonl(tmp_path / "in.jsonl", 3000)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "consona.cli.main", "-q", "build", str(src), "-o", str(out),
           "--extractor", "fake", "--nli", "fake", "--workers", "2", "--shard-size", "5"]  # fmt: skip
    return subprocess.Popen(cmd, start_new_session=True, **popen), out


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, or None when there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """pid → start time of every live process below ``root``."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) and st[0] not in "ZX":
            children.setdefault(st[1], []).append(int(entry.name))
            starts[int(entry.name)] = st[2]
    found, todo = {}, [root]
    while todo:
        for pid in children.get(todo.pop(), []):
            found[pid] = starts[pid]
            todo.append(pid)
    return found


def alive(procs: dict[int, int]) -> list[int]:
    """The processes of ``procs`` still running (a zombie has exited)."""
    return [p for p, start in procs.items() if (st := _stat(p)) and st[2] == start and st[0] not in "ZX"]  # fmt: skip


def workers_of(procs: dict[int, int]) -> list[int]:
    out = []
    for pid in procs:
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(pid)
        except OSError:
            pass
    return out


def committed(out: Path) -> int:
    try:
        return len(json.loads((out / "manifest.json").read_text())["shards"])
    except (OSError, ValueError, KeyError):
        return 0


def wait_for(cond, proc: subprocess.Popen, what: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        if proc.poll() is not None:
            pytest.fail(f"the build ended (rc={proc.returncode}) before {what}")
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def gone_within(procs: dict[int, int], seconds: float) -> float:
    """Seconds until none of ``procs`` runs; fails (after killing them) past ``seconds``."""
    start = time.monotonic()
    while alive(procs):
        if time.monotonic() - start > seconds:
            left = alive(procs)
            for pid in left:  # leave nothing behind for the next test
                os.kill(pid, signal.SIGKILL)
            pytest.fail(f"{len(left)} process(es) of the build outlived it by {seconds}s: {left}")
        time.sleep(0.05)
    return time.monotonic() - start


def _cleanup(proc: subprocess.Popen, procs: dict[int, int]) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)
    for pid in alive(procs):
        os.kill(pid, signal.SIGKILL)


def test_kill_9_of_the_build_takes_its_workers_with_it(tmp_path):
    proc, out = start_build(tmp_path, stderr=subprocess.DEVNULL)
    procs: dict[int, int] = {}
    try:

        def running() -> bool:
            procs.update(descendants(proc.pid))
            return committed(out) >= 1 and len(workers_of(procs)) == 2

        wait_for(running, proc, "two workers processed a shard")
        procs.update(descendants(proc.pid))  # the workers and multiprocessing's helper
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert committed(out) < 600  # it really was killed mid-run
        gone_within(procs, GRACE_S)
    finally:
        _cleanup(proc, procs)


@pytest.mark.parametrize("early", [False, True], ids=["ctrl-c", "ctrl-c-during-worker-start"])
def test_ctrl_c_stops_the_build_and_its_workers_without_a_traceback(tmp_path, early):
    proc, out = start_build(tmp_path, stderr=subprocess.PIPE, text=True)
    procs: dict[int, int] = {}
    try:

        def running() -> bool:
            procs.update(descendants(proc.pid))
            workers = workers_of(procs)
            if early:  # Ctrl-C at any moment of a worker's start-up must not disturb it
                for pid in workers:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGINT)
            return committed(out) >= 1 and len(workers) == 2

        wait_for(running, proc, "two workers processed a shard")
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        assert " ".join(err.split()).startswith("interrupted — committed shards are kept in")
        assert "re-run the same command to resume" in err
        gone_within(procs, GRACE_S)
        assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    finally:
        _cleanup(proc, procs)


WATCHED = """
import os, sys, threading, time
from consona.pipeline.executors import _watch_parent
threading.Thread(target=_watch_parent, args=(os.getppid(), 0.05), daemon=True).start()
print(os.getpid(), flush=True)
time.sleep(120)
"""
PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=subprocess.PIPE, text=True)
print(child.stdout.readline().strip(), flush=True)
child.wait()
"""


def test_the_portable_fallback_notices_a_dead_parent_without_prctl():
    """The watchdog thread alone (no PR_SET_PDEATHSIG, as on macOS) ends an orphan."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, WATCHED], stdout=subprocess.PIPE, text=True
    )
    procs: dict[int, int] = {}
    try:
        pid = int(parent.stdout.readline())
        procs = {pid: _stat(pid)[2]}
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        gone_within(procs, GRACE_S)
    finally:
        _cleanup(parent, procs)
