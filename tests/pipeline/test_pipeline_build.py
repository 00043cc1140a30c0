"""consona build: rows, manifest, resume, fingerprint, bad input, executors, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from consona.augmentation import AugmentConfig
from consona.cli.main import app
from consona.errors import ConfigError, ConsonaError, FormatError
from consona.pipeline import BuildConfig, build
from consona.testing import FakeNLI
from consona.testing.data import write_chat_jsonl
from consona.testing.extraction import FakeExtractor


def cfg(**kw) -> BuildConfig:
    base = {"extractor": "fake", "nli": "fake", "workers": 0, "shard_size": 5, "seed": 0}
    return BuildConfig(**{**base, **kw})


def run(inputs, out, config=None, **kw):
    return build(inputs, out, config or cfg(), extractor=FakeExtractor(), nli=FakeNLI(),
                 show_progress=False, **kw)  # fmt: skip


def rows_of(out: Path) -> list[dict]:
    manifest = json.loads((out / "manifest.json").read_text())
    rows = []
    for s in manifest["shards"]:
        rows += pq.read_table(out / s["parquet"]["path"]).to_pylist()
    return rows


def test_build_writes_rows_messages_manifest_report(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 12)
    res = run([src], tmp_path / "out")
    out = tmp_path / "out"
    m = json.loads((out / "manifest.json").read_text())
    assert res.status == m["status"] == "complete"
    assert [s["id"] for s in m["shards"]] == ["shard-00000", "shard-00001", "shard-00002"]
    rows = rows_of(out)
    # 12 dialogues x 3 turns with context
    assert len(rows) == m["statistics"]["rows"] == sum(s["rows"] for s in m["shards"]) == 36
    assert m["statistics"]["dialogues"] == 12 and m["statistics"]["turns"] == 48
    nli = FakeNLI()
    for r in rows:
        facts = r["persona_facts"]
        for i in r["used_facts"]:
            assert nli.label(r["response"], facts[i]) == "entailment"
        for i in r["distractor_facts"]:
            assert nli.label(r["response"], facts[i]) == "neutral"
        assert r["source_file"] == str(src) and r["source_line"] == r["source_index"] + 1
        aug = json.loads(r["augmentation"])
        assert set(aug) >= {"distractors", "dropped", "emptied", "shuffled", "paraphrased"}
        assert r["messages"][0]["role"] == "system" and r["messages"][-1]["role"] == "assistant"
        assert r["messages"][-1]["content"].endswith(r["response"])
        assert all(f in r["messages"][0]["content"] for f in facts)
    # messages JSONL mirrors the parquet rows
    jl = [
        json.loads(x)
        for s in m["shards"]
        for x in (out / s["messages"]["path"]).read_text().splitlines()
    ]
    assert [x["id"] for x in jl] == [r["id"] for r in rows]
    assert [x["messages"] for x in jl] == [r["messages"] for r in rows]
    aug = m["statistics"]["augmentation"]
    assert aug["with_unused_after"] > aug["with_unused_before"]
    report = (out / "report.md").read_text()
    assert "does not use" in report and f"{res.summary['unused_share_after']:.1%}" in report
    assert not list(out.rglob("*.tmp"))


def test_same_seed_same_rows_other_seed_differs(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 10)
    run([src], tmp_path / "a")
    run([src], tmp_path / "b")
    run([src], tmp_path / "c", cfg(seed=5))
    assert rows_of(tmp_path / "a") == rows_of(tmp_path / "b")
    assert rows_of(tmp_path / "a") != rows_of(tmp_path / "c")


def test_worker_processes_give_the_same_rows(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 16)
    run([src], tmp_path / "inproc")
    run([src], tmp_path / "procs", cfg(workers=2))
    assert rows_of(tmp_path / "procs") == rows_of(tmp_path / "inproc")


def test_resume_skips_committed_and_equals_full_run(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 22)
    full = tmp_path / "full"
    run([src], full)
    part = tmp_path / "part"
    shutil.copytree(full, part)
    # simulate a run killed after 2 committed shards: manifest lists 2, a third shard file
    # was renamed but not recorded, and a temp file was left behind
    m = json.loads((part / "manifest.json").read_text())
    m["shards"] = m["shards"][:2]
    m["status"] = "running"
    (part / "manifest.json").write_text(json.dumps(m))
    (part / "shards" / "shard-00003.parquet").write_bytes(b"garbage")
    (part / "shards" / ".shard-00004.parquet.x.tmp").write_bytes(b"partial")
    (part / "shards" / "shard-00004.parquet").unlink()
    res = run([src], part)
    assert (res.shards_skipped, res.shards_written) == (2, 3)
    assert rows_of(part) == rows_of(full)
    assert not list(part.rglob("*.tmp"))
    again = run([src], part)
    assert (again.shards_skipped, again.shards_written) == (5, 0)
    assert again.manifest["statistics"] == res.manifest["statistics"]


def test_fingerprint_refuses_other_config_unless_force(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 6)
    run([src], tmp_path / "o")
    with pytest.raises(ConfigError, match=r"another configuration.*seed") as err:
        run([src], tmp_path / "o", cfg(seed=1))
    assert "--force" in str(err.value)
    write_chat_jsonl(src, 6, seed=9)  # changed input content
    with pytest.raises(ConfigError, match="inputs"):
        run([src], tmp_path / "o")
    res = run([src], tmp_path / "o", cfg(seed=1), force=True)
    assert res.status == "complete" and res.shards_skipped == 0
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["config"]["seed"] == 1


def test_corrupt_line_skipped_counted_or_fatal(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 12, corrupt_at=7)
    res = run([src], tmp_path / "skip")
    m = res.manifest
    assert m["input"]["errors"] == 1 and m["input"]["error_samples"][0]["line"] == 8
    assert m["statistics"]["dialogues"] == 12
    with pytest.raises(FormatError, match=r"in\.jsonl, line 8") as err:
        run([src], tmp_path / "fail", cfg(on_error="fail"))
    assert "--on-error skip" in str(err.value)
    m = json.loads((tmp_path / "fail" / "manifest.json").read_text())
    assert m["status"] == "failed"
    # the first shard (lines 1-5) was committed before line 8 was read, nothing else
    assert [s["id"] for s in m["shards"]] == ["shard-00000"]
    assert sorted(p.name for p in (tmp_path / "fail" / "shards").iterdir()) == [
        "shard-00000.messages.jsonl", "shard-00000.parquet"]  # fmt: skip


def test_write_failure_leaves_an_exact_manifest(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 12)
    out = tmp_path / "o"
    (out / "shards" / "shard-00001.parquet").mkdir(parents=True)  # rename onto it fails
    with pytest.raises(ConsonaError, match=r"Cannot write .*shard-00001\.parquet") as err:
        run([src], out)
    assert "re-run" in str(err.value)
    m = json.loads((out / "manifest.json").read_text())
    assert [s["id"] for s in m["shards"]] == ["shard-00000"] and m["status"] == "failed"
    assert not list(out.rglob("*.tmp"))
    (out / "shards" / "shard-00001.parquet").rmdir()
    res = run([src], out)
    assert res.shards_skipped == 1
    run([src], tmp_path / "ref")
    assert rows_of(out) == rows_of(tmp_path / "ref")


def test_limit_and_glob_inputs(tmp_path):
    write_chat_jsonl(tmp_path / "a.jsonl", 4)
    write_chat_jsonl(tmp_path / "b.jsonl", 4, seed=3)
    res = run([str(tmp_path / "*.jsonl")], tmp_path / "o", cfg(limit=6))
    assert res.manifest["statistics"]["dialogues"] == 6
    files = {r["source_file"] for r in rows_of(tmp_path / "o")}
    assert files == {str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")}
    with pytest.raises(ConfigError, match="No file matches"):
        run([str(tmp_path / "*.nope")], tmp_path / "x")


def test_cli_build_json_summary_and_errors(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 6)
    runner = CliRunner()
    args = ["build", str(src), "-o", str(tmp_path / "o"), "--extractor", "fake", "--nli", "fake",
            "--workers", "0", "--shard-size", "4", "--json"]  # fmt: skip
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["dialogues"] == 6 and data["status"] == "complete" and data["shards"] == 2
    r = runner.invoke(app, [*args[:-1], "--seed", "3"])
    assert r.exit_code == 2 and "another configuration" in r.stderr and "Traceback" not in r.output
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = runner.invoke(app, ["build", str(src), "-o", str(blocker / "sub"), "--extractor", "fake",
                            "--nli", "fake", "--workers", "0"])  # fmt: skip
    assert r.exit_code != 0 and "Cannot write" in r.stderr and "Traceback" not in r.output
    r = runner.invoke(app, ["build", str(src), "-o", str(tmp_path / "e"), "--executor", "spark"])
    assert r.exit_code == 2 and "local, ray" in r.stderr


def test_executors_are_chosen_by_name_from_the_registry():
    from consona.errors import UnknownNameError
    from consona.pipeline.config import EXECUTORS as CONFIG_NAMES
    from consona.pipeline.executors import EXECUTORS, LocalExecutor, RayExecutor, make_executor

    assert EXECUTORS.names() == sorted(CONFIG_NAMES) == ["local", "ray"]
    local = make_executor(cfg(workers=3), address="ignored:1")
    assert isinstance(local, LocalExecutor) and local.workers == 3
    ray = make_executor(cfg(executor="ray", workers=2), address="ray://head:10001")
    assert isinstance(ray, RayExecutor) and ray.address == "ray://head:10001"
    with pytest.raises(UnknownNameError, match="Valid executors: local, ray"):
        EXECUTORS.create("spark", cfg())


@pytest.mark.slow
def test_ray_executor_gives_the_same_rows_as_local(tmp_path):
    pytest.importorskip("ray.data")
    src = write_chat_jsonl(tmp_path / "in.jsonl", 16)
    run([src], tmp_path / "local", cfg(workers=2))
    res = run([src], tmp_path / "ray", cfg(executor="ray", workers=2))
    assert res.status == "complete" and res.shards_written == 4
    assert rows_of(tmp_path / "ray") == rows_of(tmp_path / "local")
    m_local = json.loads((tmp_path / "local" / "manifest.json").read_text())
    m_ray = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert m_ray["fingerprint"] == m_local["fingerprint"]  # the executor is not in it
    assert [s["parquet"]["sha256"] for s in m_ray["shards"]] == [
        s["parquet"]["sha256"] for s in m_local["shards"]]  # fmt: skip


def test_llm_paraphrase_through_build_is_cached_and_recorded(tmp_path, _isolated_home):
    from consona.augmentation import AugmentConfig
    from consona.testing import FakeBackend

    src = write_chat_jsonl(tmp_path / "in.jsonl", 6)
    backend = FakeBackend(
        lambda msgs: "Honestly, " + msgs[-1]["content"][0].lower() + msgs[-1]["content"][1:]
    )
    aug = AugmentConfig(paraphrase_prob=1.0, drop_prob=0, empty_prob=0)
    config = cfg(augment=aug, paraphrase_backend="fake")
    res = build([src], tmp_path / "o", config, extractor=FakeExtractor(), nli=FakeNLI(),
                backend=backend, show_progress=False)  # fmt: skip
    rows = rows_of(tmp_path / "o")
    assert all(f.startswith("Honestly, ") for r in rows for f in r["persona_facts"])
    assert res.manifest["statistics"]["augmentation"]["paraphrased"] == sum(
        len(r["persona_facts"]) for r in rows)  # fmt: skip
    assert res.manifest["fingerprint_parts"]["models"]["paraphrase"] == "fake"
    calls = len(backend.calls)
    assert 0 < calls < res.manifest["statistics"]["augmentation"]["paraphrased"]  # cache hits
    assert list((_isolated_home / "paraphrase").rglob("*.json"))
    with pytest.raises(ConfigError, match="--paraphrase-backend"):
        cfg(augment=aug)


def test_other_formats_and_directories_are_read_through_consona_formats(tmp_path):
    from consona.formats import read_dialogues, write_dialogues

    src = write_chat_jsonl(tmp_path / "in.jsonl", 5)
    dialogues = list(read_dialogues(src))
    data = tmp_path / "data"
    data.mkdir()
    write_dialogues(dialogues, data / "chat.txt", fmt="parlai")
    res = run([str(data)], tmp_path / "o")
    assert res.manifest["statistics"]["dialogues"] == 5
    rows = rows_of(tmp_path / "o")
    assert rows and {r["source_file"] for r in rows} == {str(data / "chat.txt")}
    # the parlai reader sees the same turns: responses match the JSONL build's
    run([src], tmp_path / "ref")
    assert sorted(r["response"] for r in rows) == sorted(
        r["response"] for r in rows_of(tmp_path / "ref")
    )


def test_persona_scope_controls_which_facts_an_example_gets(tmp_path):
    src = write_chat_jsonl(tmp_path / "in.jsonl", 8)
    no_aug = AugmentConfig(distractors=0, shuffle=False, drop_prob=0, empty_prob=0)
    shares = {}
    for scope in ("dialogue", "past", "response"):
        res = run([src], tmp_path / scope, cfg(persona_scope=scope, augment=no_aug))
        rows = rows_of(tmp_path / scope)
        for r in rows:
            turns = [f.get("source_turn") for f in json.loads(r["facts"])]
            if scope == "past":
                assert all(t <= r["turn"] for t in turns)
            if scope == "response":
                assert all(t == r["turn"] for t in turns)
        shares[scope] = res.summary["unused_share_before"]
    # more of the dialogue in the persona → more facts the response does not use
    assert shares["response"] < shares["past"] <= shares["dialogue"]
    with pytest.raises(ConfigError, match="dialogue, past, response"):
        cfg(persona_scope="all")
