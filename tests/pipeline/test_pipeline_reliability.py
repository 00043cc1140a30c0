"""Reliability: kill -9 the build at several points (one inside a shard write), resume,
and compare with an uninterrupted run — no row lost, none duplicated, no temp file left."""

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
from test_pipeline_build import write_input

from consona.pipeline.output import TEST_HOOK_ENV

ARGS = ["--extractor", "fake", "--nli", "fake", "--workers", "0", "--shard-size", "3"]


def _cmd(src: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "consona.cli.main",
        "-q",
        "build",
        str(src),
        "-o",
        str(out),
        *ARGS,
    ]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != TEST_HOOK_ENV}
    return {**env, **extra}


def _committed(out: Path) -> int:
    try:
        return len(json.loads((out / "manifest.json").read_text())["shards"])
    except (OSError, ValueError, KeyError):
        return 0


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
            pytest.fail(f"build ended (rc={proc.returncode}) before the kill point")
        time.sleep(0.02)
    pytest.fail("kill point never reached")


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL


def test_kill_9_at_several_points_then_resume_equals_uninterrupted(tmp_path):
    src = write_input(tmp_path / "in.jsonl", 18)  # 6 shards of 3 dialogues
    ref = tmp_path / "ref"
    subprocess.run(_cmd(src, ref), env=_env(), check=True, timeout=600)
    expected = _rows(ref)
    assert len({r["id"] for r in expected}) == len(expected) == 54

    out = tmp_path / "out"
    shards = out / "shards"
    slow = _env(**{TEST_HOOK_ENV: "0.25"})  # each shard file write sleeps before its rename
    # 1: during the very first shard write (a temp file exists, nothing committed)
    p = subprocess.Popen(_cmd(src, out), env=slow)
    _wait(lambda: shards.is_dir() and any(shards.glob(".*.tmp")), p)
    _kill(p)
    assert _committed(out) < 6  # (usually 0: killed inside the first shard's write)
    # 2: after two shards are committed, while the third is being written
    p = subprocess.Popen(_cmd(src, out), env=slow)
    _wait(lambda: _committed(out) >= 2 and any(shards.glob(".*.tmp")), p)
    _kill(p)
    assert 2 <= _committed(out) < 6
    # 3: between a shard's rename and its manifest entry is possible too; kill mid-run
    p = subprocess.Popen(_cmd(src, out), env=slow)
    before = _committed(out)
    _wait(lambda: _committed(out) > before, p)
    _kill(p)
    assert any(shards.glob(".*.tmp")) or _committed(out) < 6  # it really was interrupted

    subprocess.run(_cmd(src, out), env=_env(), check=True, timeout=600)
    got = _rows(out)
    assert got == expected  # same rows, same order: none lost, none duplicated
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    committed = {Path(s[k]["path"]).name for s in json.loads((out / "manifest.json").read_text())["shards"]
                 for k in ("parquet", "messages")}  # fmt: skip
    assert {p.name for p in shards.iterdir()} == committed


@pytest.mark.parametrize("workers", ["2"])
def test_ctrl_c_stops_cleanly_and_resumes(tmp_path, workers):
    src = write_input(tmp_path / "in.jsonl", 12)
    out = tmp_path / "out"
    cmd = [*_cmd(src, out), "--workers", workers]
    p = subprocess.Popen(
        cmd, env=_env(**{TEST_HOOK_ENV: "0.25"}), stderr=subprocess.PIPE, text=True
    )
    _wait(lambda: _committed(out) >= 1, p)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 130, err
    err = " ".join(err.split())
    assert "re-run the same command to resume" in err and "Traceback" not in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and 1 <= len(m["shards"]) < 4
    assert not list(out.rglob("*.tmp"))
    subprocess.run([*cmd], env=_env(), check=True, timeout=600)
    ref = tmp_path / "ref"
    subprocess.run([*_cmd(src, ref), "--workers", "0"], env=_env(), check=True, timeout=600)
    assert _rows(out) == _rows(ref)
