"""The memory store, run on SQLite and on a real PostgreSQL (see conftest.py)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from consona.memory import schema as schema_mod
from consona.memory.store import MAX_FACT_CHARS, MemoryStore, MemoryStoreError


def test_add_and_list_per_owner_and_role(store_url):
    s = MemoryStore(store_url)
    a = s.add("ana", "Mira", "user", "I am a nurse.", session="s1", turn=3)
    s.add("ana", "Mira", "bot", "I have a cat named Pip.", triple=("i", "have_pet", "cat"))
    s.add("bob", "Mira", "user", "I am a pilot.")
    s.add("ana", "Kai", "user", "I am a chef.")
    assert [f.text for f in s.active("ana", "Mira", "user")] == ["I am a nurse."]
    bot = s.active("ana", "Mira", "bot")
    assert [f.triple for f in bot] == [("i", "have_pet", "cat")]
    got = s.get(a.id)
    assert (got.session, got.turn, got.times_seen, got.active) == ("s1", 3, 1, True)
    assert isinstance(got.valid_from, dt.datetime) and got.invalid_at is None
    assert {o for o in s.owners()} == {("ana", "Mira"), ("bob", "Mira"), ("ana", "Kai")}
    assert s.schema_version() == schema_mod.SCHEMA_VERSION


def test_supersede_keeps_history_and_undo_restores(store_url):
    s = MemoryStore(store_url)
    old = s.add("ana", "Mira", "user", "I live in Lisbon.")
    keep = s.add("ana", "Mira", "user", "I have two dogs.")
    new = s.add("ana", "Mira", "user", "I moved to Oslo.", supersedes=[old.id])
    active = [f.text for f in s.active("ana", "Mira", "user")]
    assert active == ["I have two dogs.", "I moved to Oslo."]
    hist = s.get(old.id)
    assert (hist.superseded_by, hist.retired) == (new.id, "superseded")
    assert hist.invalid_at is not None and hist.invalid_at >= hist.valid_from
    assert s.get(keep.id).active
    assert s.count("ana", "Mira") == 3  # never deleted
    s.restore(old.id)
    assert [f.text for f in s.active("ana", "Mira", "user")] == [
        "I live in Lisbon.",
        "I have two dogs.",
    ]
    assert s.get(new.id).retired == "undone"
    assert s.count("ana", "Mira") == 3


def test_forget_and_restore_and_touch(store_url):
    s = MemoryStore(store_url)
    f = s.add("ana", "Mira", "bot", "I was born in Porto.")
    assert s.touch(f.id).times_seen == 2
    s.forget(f.id)
    assert s.active("ana", "Mira") == []
    assert s.get(f.id).retired == "forgotten"
    with pytest.raises(MemoryStoreError, match="already retired"):
        s.forget(f.id)
    s.restore(f.id)
    assert [x.id for x in s.active("ana", "Mira")] == [f.id]
    with pytest.raises(MemoryStoreError, match="nothing to undo"):
        s.restore(f.id)


def test_bad_values_are_refused_and_nothing_is_lost(store_url):
    s = MemoryStore(store_url)
    s.add("ana", "Mira", "user", "I am a nurse.")
    with pytest.raises(MemoryStoreError, match=r"2,001 characters.*limit is 2,000"):
        s.add("ana", "Mira", "user", "x" * (MAX_FACT_CHARS + 1))
    with pytest.raises(MemoryStoreError, match="Unknown memory role 'partner'"):
        s.add("ana", "Mira", "partner", "I am tall.")
    with pytest.raises(MemoryStoreError, match="must not be empty"):
        s.add("ana", "Mira", "user", "   ")
    with pytest.raises(MemoryStoreError, match="No memory fact #999"):
        s.forget(999)
    with pytest.raises(MemoryStoreError, match="cannot supersede"):
        bot = s.add("ana", "Mira", "bot", "I am a baker.")
        s.add("ana", "Mira", "user", "I am a cook.", supersedes=[bot.id])
    # the failed transaction left nothing behind
    assert [f.text for f in s.facts("ana", "Mira", include_retired=True)] == [
        "I am a nurse.",
        "I am a baker.",
    ]
    with pytest.raises(MemoryStoreError, match=r"No memory for user 'zoe'.*Known users: ana"):
        s.require_owner("zoe", "Mira")


def test_reopen_keeps_facts(store_url):
    MemoryStore(store_url).add("ana", "Mira", "user", "I am a nurse.")
    assert [f.text for f in MemoryStore(store_url).active("ana", "Mira")] == ["I am a nurse."]


def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path):
    s = MemoryStore(tmp_path / "m.db", busy_timeout_ms=1234)
    with s.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234


def test_corrupt_file_is_refused_untouched(tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    before = path.read_bytes()
    with pytest.raises(MemoryStoreError, match="not a readable database"):
        MemoryStore(path)
    assert path.read_bytes() == before


def test_foreign_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        c.execute("INSERT INTO invoices VALUES (1, 9.5)")
    with pytest.raises(MemoryStoreError, match=r"another program's database.*invoices"):
        MemoryStore(path)
    with sqlite3.connect(path) as c:
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"invoices"}
        assert c.execute("SELECT total FROM invoices").fetchall() == [(9.5,)]


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "m.db"
    MemoryStore(path).add("ana", "Mira", "user", "I am a nurse.")
    with sqlite3.connect(path) as c:
        c.execute("UPDATE consona_memory_meta SET value='99' WHERE key='schema_version'")
    with pytest.raises(MemoryStoreError, match=r"schema 99.*upgrade consona"):
        MemoryStore(path)


def test_migration_path_upgrades_in_place(tmp_path, monkeypatch):
    path = tmp_path / "m.db"
    MemoryStore(path).add("ana", "Mira", "user", "I am a nurse.")
    ran = []

    def step(conn):
        ran.append(True)
        conn.exec_driver_sql("CREATE TABLE consona_memory_extra (x INTEGER)")

    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(schema_mod.MIGRATIONS, 1, step)
    s = MemoryStore(path)
    assert ran == [True] and s.schema_version() == 2
    assert [f.text for f in s.active("ana", "Mira")] == ["I am a nurse."]
    MemoryStore(path)  # already migrated: the step does not run again
    assert ran == [True]
    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", 3)
    with pytest.raises(MemoryStoreError, match="No migration from memory schema 2"):
        MemoryStore(path)


def test_not_a_url_is_explained():
    with pytest.raises(MemoryStoreError):
        MemoryStore("nosuchdriver://x/y")


WRITER = textwrap.dedent(
    """
    import sys, time
    from consona.memory.store import MemoryStore
    url, name, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    s = MemoryStore(url, busy_timeout_ms=60000)
    end, i = time.time() + seconds, 0
    while time.time() < end:
        with s.transaction("ana", "Mira") as tx:
            n = len(tx.active_ids("user"))          # read, decide, write: one transaction
            tx.add("user", f"{name} fact {i} after {n}")
        i += 1
    print(i)
    """
)


def test_two_processes_writing_lose_nothing(store_url):
    MemoryStore(store_url)  # create the schema first
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, store_url, name, "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2")
    ]
    counts = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        counts.append(int(out.strip()))
    s = MemoryStore(store_url)
    texts = [f.text for f in s.active("ana", "Mira", "user")]
    assert len(texts) == sum(counts) and min(counts) > 0
    for name, n in zip(("p1", "p2"), counts, strict=True):
        mine = [t for t in texts if t.startswith(name + " ")]
        assert [int(t.split()[2]) for t in mine] == list(range(n))
    # serialised: each write saw every earlier write ("after n" is the row count before it)
    assert sorted(int(t.rsplit(" ", 1)[1]) for t in texts) == list(range(len(texts)))
