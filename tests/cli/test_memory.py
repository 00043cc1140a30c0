"""``consona memory`` and ``consona chat --user`` (fakes only)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from consona.cli.main import app
from consona.memory import MemoryStore

runner = CliRunner()
CHAT = ["chat", "--backend", "fake", "--nli", "fake", "--coherence", "lexical", "--memory-fakes"]


def seeded(tmp_path):
    db = tmp_path / "m.db"
    s = MemoryStore(db)
    a = s.add("ana", "Mira", "user", "I live in Lisbon.", session="s1", turn=2)
    s.add("ana", "Mira", "user", "I moved to Oslo.", supersedes=[a.id])
    s.add("ana", "Mira", "bot", "I have a grey cat named Pepper.")
    return db


def test_list_export_import_roundtrip(tmp_path):
    db = seeded(tmp_path)
    r = runner.invoke(
        app, ["memory", "list", "--user", "ana", "--character", "Mira", "--db", str(db)]
    )
    assert r.exit_code == 0, r.output
    assert "[user] I moved to Oslo." in r.stdout and "Lisbon" not in r.stdout
    r = runner.invoke(
        app, ["memory", "list", "-u", "ana", "-c", "Mira", "--db", str(db), "--all", "--json"]
    )
    rows = json.loads(r.stdout)
    assert [x["retired"] for x in rows] == ["superseded", None, None]

    r = runner.invoke(app, ["memory", "export", "-u", "ana", "-c", "Mira", "--db", str(db)])
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(lines) == 3
    old = lines[0]
    assert old["role"] == "user" and old["superseded_by"] == lines[1]["id"]
    assert old["invalid_at"] and old["valid_from"].endswith("Z")
    assert (old["session"], old["turn"]) == ("s1", 2)
    out = tmp_path / "ana.jsonl"
    r = runner.invoke(
        app, ["memory", "export", "-u", "ana", "-c", "Mira", "--db", str(db), "-o", str(out)]
    )
    assert r.exit_code == 0 and len(out.read_text().splitlines()) == 3

    db2 = tmp_path / "copy.db"
    r = runner.invoke(
        app, ["memory", "import", str(out), "-u", "bo", "-c", "Kai", "--db", str(db2)]
    )
    assert r.exit_code == 0, r.output
    s2 = MemoryStore(db2)
    assert [f.text for f in s2.active("bo", "Kai")] == [
        "I moved to Oslo.",
        "I have a grey cat named Pepper.",
    ]
    hist = s2.facts("bo", "Kai", include_retired=True)
    assert hist[0].superseded_by == hist[1].id  # ids remapped
    # importing again adds nothing
    r = runner.invoke(
        app, ["memory", "import", str(out), "-u", "bo", "-c", "Kai", "--db", str(db2)]
    )
    assert "imported 0" in r.stderr and s2.count() == 3


def test_import_with_bad_lines_names_them_and_changes_nothing(tmp_path):
    db = seeded(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"role": "user", "text": "I am a nurse."}\n'
        "not json\n"
        '{"role": "partner", "text": "x"}\n'
        '{"role": "user", "text": "' + "y" * 2001 + '"}\n'
        '{"role": "user", "text": "ok", "valid_from": "yesterday"}\n'
    )
    r = runner.invoke(
        app, ["memory", "import", str(bad), "-u", "ana", "-c", "Mira", "--db", str(db)]
    )
    assert r.exit_code == 2
    for part in (
        "line 2: not JSON",
        "line 3: Unknown memory role 'partner'",
        "line 4: A fact is 2,001",
        "line 5: valid_from",
    ):
        assert part in r.stderr, r.stderr
    assert "nothing imported" in r.stderr
    assert MemoryStore(db).count() == 3


def test_unknown_user_forget_restore(tmp_path):
    db = seeded(tmp_path)
    r = runner.invoke(app, ["memory", "list", "-u", "zoe", "-c", "Mira", "--db", str(db)])
    assert r.exit_code == 2 and "No memory for user 'zoe'" in r.stderr and "ana" in r.stderr
    r = runner.invoke(app, ["memory", "forget", "2", "-u", "ana", "-c", "Mira", "--db", str(db)])
    assert r.exit_code == 0, r.output
    assert MemoryStore(db).get(2).retired == "forgotten"
    r = runner.invoke(app, ["memory", "restore", "2", "-u", "ana", "-c", "Mira", "--db", str(db)])
    assert r.exit_code == 0 and MemoryStore(db).get(2).active
    r = runner.invoke(app, ["memory", "restore", "1", "-u", "ana", "-c", "Mira", "--db", str(db)])
    assert r.exit_code == 0  # undo the supersede: Lisbon back, Oslo retired
    assert [f.text for f in MemoryStore(db).active("ana", "Mira", "user")] == ["I live in Lisbon."]


def test_corrupt_db_is_a_clear_error(tmp_path):
    db = tmp_path / "x.db"
    db.write_bytes(b"garbage" * 500)
    r = runner.invoke(app, ["memory", "list", "-u", "ana", "-c", "Mira", "--db", str(db)])
    assert r.exit_code == 2 and "not a readable database" in r.stderr
    assert db.read_bytes() == b"garbage" * 500


def test_add_dry_run_shows_the_diff(tmp_path):
    db = seeded(tmp_path)
    args = [
        "memory",
        "add",
        "I do not live in Oslo.",
        "-u",
        "ana",
        "-c",
        "Mira",
        "--db",
        str(db),
        "--nli",
        "fake",
        "--fakes",
    ]
    r = runner.invoke(app, [*args, "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "~ user: I do not live in Oslo.  (supersedes #2: I moved to Oslo.)" in r.stdout
    assert MemoryStore(db).count() == 3
    r = runner.invoke(app, args)
    assert [f.text for f in MemoryStore(db).active("ana", "Mira", "user")] == [
        "I do not live in Oslo."
    ]


def test_chat_with_user_remembers_across_runs(tmp_path):
    db = tmp_path / "chat.db"
    args = [*CHAT, "--user", "ana", "--memory-db", str(db)]
    r = runner.invoke(app, args, input="i am a nurse. do you like cats?\n/memory\n/quit\n")
    assert r.exit_code == 0, r.output
    assert "I am a nurse." in r.stdout  # /memory
    r = runner.invoke(app, args, input="/memory\n/forget 1\n/forget x\n/memory\n")
    assert r.exit_code == 0, r.output
    assert "memory of ana with Mira: 2 facts" in r.stderr
    assert "forgot #1: I am a nurse." in r.stderr
    assert "/forget needs a fact number" in r.stderr
    assert MemoryStore(db).get(1).retired == "forgotten"
    r = runner.invoke(app, [*CHAT], input="/memory\n")
    assert "start it with --user NAME" in r.stderr


@pytest.mark.slow
def test_eval_memory_on_real_models(tmp_path):
    pytest.importorskip("sentence_transformers")
    path = tmp_path / "msc" / "msc_dialogue" / "session_3" / "valid.txt"
    path.parent.mkdir(parents=True)
    ep = {
        "personas": [["I have a dog."], ["I am a baker."]],
        "dialog": [{"id": "Speaker 1", "text": "hi"}],
        "previous_dialogs": [
            {"dialog": [{"text": "hi! i have a dog named rex."}, {"text": "i am a baker."}]}
        ],
    }
    path.write_text(json.dumps(ep) + "\n")
    out = tmp_path / "r.json"
    r = runner.invoke(
        app,
        [
            "eval",
            "memory",
            str(tmp_path),
            "--episodes",
            "1",
            "--no-scaling",
            "-o",
            str(out),
            "--json",
        ],
    )
    if r.exit_code != 0 and "not installed" in r.stderr:
        pytest.skip(r.stderr)
    assert r.exit_code == 0, r.output
    result = json.loads(out.read_text())
    assert result["episodes"] == 1 and result["recall"]["user"] == 1.0
    from consona.evaluation.memory import N_UPDATES

    assert result["updates"]["n"] == N_UPDATES
