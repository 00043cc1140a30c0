"""Reliability: kill -9 the build at fixed points (inside a shard write, between a shard's
rename and its manifest entry), Ctrl-C it inside a write, resume, and compare with an
uninterrupted run — no row lost, none duplicated, no temp file left.

The build runs as ``consona build`` in a child process. To stop it at an exact point the
child runs through ``STALLING_BUILD``, which wraps ``atomic_write`` for shard files so
that one chosen write blocks (until the test kills or interrupts it) — the test's own
seam: nothing in consona waits for tests.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from consona.testing.data import write_chat_jsonl

pytestmark = pytest.mark.slow  # ~8 builds in child processes

ARGS = ["--extractor", "fake", "--nli", "fake", "--workers", "0", "--shard-size", "3"]

# `python -c STALLING_BUILD build ...`: consona's CLI, except that the STALL_AT-th shard
# file this process writes blocks, inside the write (temp file open, not yet renamed) or,
# with STALL_AFTER_RENAME=1, right after its rename (the manifest does not list it yet)
STALLING_BUILD = """
import contextlib, os, sys, time
from pathlib import Path
import consona.pipeline.output as output

real = output.atomic_write
stall_at = int(os.environ["STALL_AT"])
after_rename = os.environ.get("STALL_AFTER_RENAME") == "1"
writes = 0

@contextlib.contextmanager
def stalling(path, *args, **kwargs):
    global writes
    shard_file = Path(path).parent.name == "shards"
    writes += shard_file
    stall = shard_file and writes == stall_at
    with real(path, *args, **kwargs) as f:
        yield f
        if stall and not after_rename:
            time.sleep(3600)
    if stall and after_rename:
        time.sleep(3600)

output.atomic_write = stalling
from consona.cli.main import main
main()
"""


def _cmd(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "consona.cli.main", "-q", "build", str(src), "-o", str(out),
            *ARGS]  # fmt: skip


def _stalling(
    cmd: list[str], stall_at: int, *, after_rename: bool = False, **popen
) -> subprocess.Popen:
    """Start the build ``cmd`` (from ``_cmd``); its ``stall_at``-th shard file write blocks."""
    env = {**os.environ, "STALL_AT": str(stall_at),
           "STALL_AFTER_RENAME": "1" if after_rename else "0"}  # fmt: skip
    assert cmd[1:3] == ["-m", "consona.cli.main"]
    return subprocess.Popen([cmd[0], "-c", STALLING_BUILD, *cmd[3:]], env=env, **popen)


def _committed(out: Path) -> list[str]:
    try:
        return [s["id"] for s in json.loads((out / "manifest.json").read_text())["shards"]]
    except (OSError, ValueError, KeyError):
        return []


def _rows(out: Path) -> list[dict]:
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete"
    rows: list[dict] = []
    for s in m["shards"]:
        rows += pq.read_table(out / s["parquet"]["path"]).to_pylist()
    return rows


def _wait(cond, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        if proc.poll() is not None:
            pytest.fail(f"build ended (rc={proc.returncode}) before the stop point")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("stop point never reached")


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL


def test_kill_9_at_several_points_then_resume_equals_uninterrupted(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 18)  # 6 shards of 3 dialogues
    ref = tmp_path / "ref"
    subprocess.run(_cmd(src, ref), check=True, timeout=600)
    expected = _rows(ref)
    assert len({r["id"] for r in expected}) == len(expected) == 54

    out = tmp_path / "out"
    shards = out / "shards"
    # 1: inside the very first shard write (its temp file exists, nothing is committed)
    p = _stalling(_cmd(src, out), 1)
    _wait(lambda: any(shards.glob(".shard-00000.parquet.*.tmp")), p)
    _kill(p)
    assert _committed(out) == []
    assert not [f for f in shards.iterdir() if not f.name.endswith(".tmp")]
    # 2: resumed, killed inside the write of its third shard (files 5 and 6 are shard 2's)
    p = _stalling(_cmd(src, out), 5)
    _wait(lambda: any(shards.glob(".shard-00002.parquet.*.tmp")), p)
    _kill(p)
    assert _committed(out) == ["shard-00000", "shard-00001"]
    # 3: resumed, killed after shard 2's files were renamed, before the manifest lists them
    p = _stalling(_cmd(src, out), 2, after_rename=True)
    _wait(lambda: (shards / "shard-00002.messages.jsonl").is_file(), p)
    _kill(p)
    assert _committed(out) == ["shard-00000", "shard-00001"]
    assert (shards / "shard-00002.parquet").is_file()  # on disk, not (yet) part of the output

    subprocess.run(_cmd(src, out), check=True, timeout=600)
    assert _rows(out) == expected  # same rows, same order: none lost, none duplicated
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    committed = {Path(s[k]["path"]).name for s in json.loads((out / "manifest.json").read_text())["shards"]
                 for k in ("parquet", "messages")}  # fmt: skip
    assert {p.name for p in shards.iterdir()} == committed


def test_ctrl_c_inside_a_shard_write_stops_cleanly_and_resumes(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 12)
    out = tmp_path / "out"
    cmd = [*_cmd(src, out), "--workers", "2"]
    # the second shard's parquet write (file 3) blocks until the Ctrl-C
    p = _stalling(cmd, 3, stderr=subprocess.PIPE, text=True)
    _wait(lambda: len(_committed(out)) == 1 and any((out / "shards").glob(".*.tmp")), p)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 130, err
    err = " ".join(err.split())
    assert "re-run the same command to resume" in err and "Traceback" not in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and len(m["shards"]) == 1
    assert not list(out.rglob("*.tmp"))  # the interrupted write left nothing behind
    subprocess.run(cmd, check=True, timeout=600)
    ref = tmp_path / "ref"
    subprocess.run(_cmd(src, ref), check=True, timeout=600)
    assert _rows(out) == _rows(ref)
