"""The memory store: persona facts per (user, character) in two roles, never deleted.

>>> store = MemoryStore("sqlite://")          # in memory; a path or any SQLAlchemy URL works
>>> a = store.add("ana", "Mira", "user", "I live in Lisbon.", session="s1", turn=0)
>>> b = store.add("ana", "Mira", "user", "I moved to Oslo.", supersedes=[a.id])
>>> [f.text for f in store.active("ana", "Mira", "user")]
['I moved to Oslo.']
>>> store.get(a.id).superseded_by == b.id
True
>>> _ = store.restore(a.id)                   # undo the supersede
>>> [f.text for f in store.active("ana", "Mira", "user")]
['I live in Lisbon.']

Each fact keeps its text, its (subject, relation, object) triple when known, the session
and turn it came from, ``valid_from`` / ``invalid_at`` (bi-temporal: a retired fact keeps
its history), ``superseded_by`` and ``times_seen``. Rows are never deleted: superseding
and forgetting set ``invalid_at`` (and ``retired`` = ``"superseded"`` / ``"forgotten"``),
and :meth:`MemoryStore.restore` undoes either.

SQLite (the default, a file path) runs in WAL mode with a busy timeout and takes the
write lock up front (``BEGIN IMMEDIATE``), so several processes can write one file; any
other SQLAlchemy URL works too (``postgresql+psycopg://...`` for many server processes,
where writes to one (user, character) are serialised by an advisory lock). The schema is
versioned (table ``consona_memory_meta``); :data:`MIGRATIONS` upgrades older files in
place, and a file written by a newer consona, a corrupt file or another program's
database is refused without touching it.

This module holds the queries and writes; :mod:`consona.memory.schema` the tables, the
fact record and the checks on values; :mod:`consona.memory.database` how the database is
opened (engine, checks, migrations); :mod:`consona.memory.transaction` the reads and
writes of one atomic read-decide-write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consona.errors import require
from consona.memory.database import database_url, make_engine, open_database
from consona.memory.schema import (
    MAX_FACT_CHARS,
    MIGRATIONS,
    ROLES,
    SCHEMA_VERSION,
    MemoryFact,
    MemoryStoreError,
    check_name,
    check_role,
    check_text,
    conn_insert,
    make_tables,
    parse_time,
    utcnow,
)

if TYPE_CHECKING:
    from consona.memory.transaction import MemoryTransaction

__all__ = [
    "MAX_FACT_CHARS",
    "MIGRATIONS",
    "ROLES",
    "SCHEMA_VERSION",
    "MemoryFact",
    "MemoryStore",
    "MemoryStoreError",
    "check_name",
    "check_role",
    "check_text",
    "conn_insert",
    "parse_time",
    "utcnow",
]

_check_name = check_name  # the name other modules used before the split


class MemoryStore:
    """Persona facts of users and characters in a SQL database (see the module docstring).

    >>> s = MemoryStore("sqlite://")
    >>> f = s.add("ana", "Mira", "bot", "I have a cat named Pip.")
    >>> s.touch(f.id).times_seen
    2

    ``target``: a file path (SQLite, created when missing) or an SQLAlchemy URL;
    ``busy_timeout_ms``: how long a SQLite writer waits for another one.
    """

    def __init__(self, target: str | Path, *, busy_timeout_ms: int = 30_000) -> None:
        self.sa = require("sqlalchemy", package="SQLAlchemy", extra="memory", purpose="memory")
        self.url = database_url(target)
        self.busy_timeout_ms = busy_timeout_ms
        self._md, self._meta, self._facts = make_tables(self.sa)
        self.engine = make_engine(self.sa, self.url, busy_timeout_ms)
        self._lock = threading.Lock()
        open_database(self)

    # -- connection setup ---------------------------------------------------------------

    @property
    def dialect(self) -> str:
        return str(self.engine.dialect.name)

    def schema_version(self) -> int:
        sa = self.sa
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(self._meta.c.value).where(self._meta.c.key == "schema_version")
            ).scalar_one()
        return int(value)

    @contextlib.contextmanager
    def _write(self, lock_key: str | None = None) -> Iterator[Any]:
        """A write transaction: SQLite ``BEGIN IMMEDIATE``; PostgreSQL takes an advisory
        lock on ``lock_key`` (one (user, character)) so read-decide-write is serial."""
        with self._lock, self.engine.connect() as raw:
            conn = raw.execution_options(consona_write=True)
            with conn.begin():
                if lock_key is not None and self.dialect == "postgresql":
                    key = int.from_bytes(hashlib.sha1(lock_key.encode()).digest()[:8], "big")
                    key -= 1 << 63 if key >= 1 << 63 else 0
                    conn.execute(self.sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
                yield conn

    @contextlib.contextmanager
    def transaction(self, user: str, character: str) -> Iterator[MemoryTransaction]:
        """One atomic read-decide-write on a (user, character): no other writer of the
        same store runs in between (the write path uses this)."""
        from consona.memory.transaction import MemoryTransaction

        user, character = check_name(user, "user"), check_name(character, "character")
        with self._write(f"{user}\x00{character}") as conn:
            yield MemoryTransaction(self, conn, user, character)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads --------------------------------------------------------------------------

    def _row(self, row: Any) -> MemoryFact:
        m = row._mapping
        return MemoryFact(**{k: m[k] for k in m.keys()})  # noqa: SIM118 - RowMapping

    def facts(
        self,
        user: str,
        character: str,
        role: str | None = None,
        *,
        include_retired: bool = False,
        with_embeddings: bool = False,
        conn: Any = None,
    ) -> list[MemoryFact]:
        """Facts of a (user, character), oldest first; active only unless
        ``include_retired``."""
        sa, t = self.sa, self._facts
        cols = [c for c in t.c if with_embeddings or c.name != "embedding"]
        q = sa.select(*cols).where(t.c.user == user, t.c.character == character)
        if role is not None:
            q = q.where(t.c.role == check_role(role))
        if not include_retired:
            q = q.where(t.c.invalid_at.is_(None))
        q = q.order_by(t.c.id)
        if conn is not None:
            return [self._row(r) for r in conn.execute(q)]
        with self.engine.connect() as c:
            return [self._row(r) for r in c.execute(q)]

    def active(self, user: str, character: str, role: str | None = None) -> list[MemoryFact]:
        return self.facts(user, character, role)

    def active_ids(self, user: str, character: str, role: str, *, conn: Any = None) -> list[int]:
        sa, t = self.sa, self._facts
        q = (
            sa.select(t.c.id)
            .where(
                t.c.user == user,
                t.c.character == character,
                t.c.role == role,
                t.c.invalid_at.is_(None),
            )
            .order_by(t.c.id)
        )
        if conn is not None:
            return list(conn.execute(q).scalars())
        with self.engine.connect() as c:
            return list(c.execute(q).scalars())

    def last_seen(self, user: str, character: str, role: str) -> list[tuple[int, dt.datetime]]:
        """(id, last_seen) of the active facts of a role, oldest id first."""
        sa, t = self.sa, self._facts
        q = (
            sa.select(t.c.id, t.c.last_seen)
            .where(
                t.c.user == user,
                t.c.character == character,
                t.c.role == check_role(role),
                t.c.invalid_at.is_(None),
            )
            .order_by(t.c.id)
        )
        with self.engine.connect() as c:
            return [(int(r[0]), r[1]) for r in c.execute(q)]

    def embeddings(self, ids: Sequence[int], *, conn: Any = None) -> dict[int, bytes | None]:
        sa, t = self.sa, self._facts
        out: dict[int, bytes | None] = {}
        ids = list(ids)
        for i in range(0, len(ids), 900):
            q = sa.select(t.c.id, t.c.embedding).where(t.c.id.in_(ids[i : i + 900]))
            if conn is not None:
                out.update({r[0]: r[1] for r in conn.execute(q)})
            else:
                with self.engine.connect() as c:
                    out.update({r[0]: r[1] for r in c.execute(q)})
        return out

    def facts_by_id(self, ids: Sequence[int], *, conn: Any = None) -> list[MemoryFact]:
        sa, t = self.sa, self._facts
        cols = [c for c in t.c if c.name != "embedding"]
        out: list[MemoryFact] = []
        ids = list(ids)
        for i in range(0, len(ids), 900):
            q = sa.select(*cols).where(t.c.id.in_(ids[i : i + 900]))
            if conn is not None:
                out.extend(self._row(r) for r in conn.execute(q))
            else:
                with self.engine.connect() as c:
                    out.extend(self._row(r) for r in c.execute(q))
        return out

    def facts_with_relation(
        self, user: str, character: str, role: str, relation: str, *, conn: Any = None
    ) -> list[MemoryFact]:
        """Active facts of a role whose triple has ``relation``."""
        sa, t = self.sa, self._facts
        cols = [c for c in t.c if c.name != "embedding"]
        q = sa.select(*cols).where(
            t.c.user == user,
            t.c.character == character,
            t.c.role == role,
            t.c.relation == relation,
            t.c.invalid_at.is_(None),
        )
        if conn is not None:
            return [self._row(r) for r in conn.execute(q)]
        with self.engine.connect() as c:
            return [self._row(r) for r in c.execute(q)]

    def texts(self, ids: Sequence[int], *, conn: Any = None) -> dict[int, str]:
        sa, t = self.sa, self._facts
        out: dict[int, str] = {}
        ids = list(ids)
        for i in range(0, len(ids), 900):
            q = sa.select(t.c.id, t.c.text).where(t.c.id.in_(ids[i : i + 900]))
            if conn is not None:
                out.update({r[0]: r[1] for r in conn.execute(q)})
            else:
                with self.engine.connect() as c:
                    out.update({r[0]: r[1] for r in c.execute(q)})
        return out

    def get(self, fact_id: int, *, conn: Any = None) -> MemoryFact:
        sa, t = self.sa, self._facts
        cols = [c for c in t.c if c.name != "embedding"]
        q = sa.select(*cols).where(t.c.id == int(fact_id))
        if conn is not None:
            row = conn.execute(q).first()
        else:
            with self.engine.connect() as c:
                row = c.execute(q).first()
        if row is None:
            raise MemoryStoreError(
                f"No memory fact #{fact_id}", hint="see the ids with 'consona memory list'"
            )
        return self._row(row)

    def owners(self) -> list[tuple[str, str]]:
        """Every (user, character) with at least one fact."""
        sa, t = self.sa, self._facts
        with self.engine.connect() as c:
            return [
                (r[0], r[1])
                for r in c.execute(sa.select(t.c.user, t.c.character).distinct().order_by(t.c.user))
            ]

    def require_owner(self, user: str, character: str) -> None:
        """Raise a clear error when the store has nothing for (user, character)."""
        owners = self.owners()
        if (user, character) in owners:
            return
        known = sorted({u for u, c in owners if c == character}) or sorted({u for u, _ in owners})
        listing = ", ".join(known[:10]) if known else "(none yet)"
        raise MemoryStoreError(
            f"No memory for user {user!r} with character {character!r}. Known users: {listing}",
            hint="check --user and --character",
        )

    def count(self, user: str | None = None, character: str | None = None) -> int:
        sa, t = self.sa, self._facts
        q = sa.select(sa.func.count()).select_from(t)
        if user is not None:
            q = q.where(t.c.user == user)
        if character is not None:
            q = q.where(t.c.character == character)
        with self.engine.connect() as c:
            return int(c.execute(q).scalar_one())

    # -- writes -------------------------------------------------------------------------

    def add(
        self,
        user: str,
        character: str,
        role: str,
        text: str,
        *,
        triple: Sequence[str | None] | None = None,
        session: str | None = None,
        turn: int | None = None,
        supersedes: Sequence[int] = (),
        embedding: bytes | None = None,
        now: dt.datetime | None = None,
    ) -> MemoryFact:
        """Store a new active fact; the facts in ``supersedes`` are retired in its favour."""
        with self.transaction(user, character) as tx:
            return tx.add(
                role,
                text,
                triple=triple,
                session=session,
                turn=turn,
                supersedes=supersedes,
                embedding=embedding,
                now=now,
            )

    def touch(self, fact_id: int, *, now: dt.datetime | None = None) -> MemoryFact:
        """Seen again: ``times_seen`` + 1 and ``last_seen`` = now."""
        fact = self.get(fact_id)
        with self.transaction(fact.user, fact.character) as tx:
            return tx.touch(fact_id, now=now)

    def forget(self, fact_id: int, *, now: dt.datetime | None = None) -> MemoryFact:
        """Retire a fact (kept as history; :meth:`restore` undoes it)."""
        fact = self.get(fact_id)
        with self.transaction(fact.user, fact.character) as tx:
            return tx.retire(fact_id, reason="forgotten", now=now)

    def restore(self, fact_id: int) -> MemoryFact:
        """Undo a supersede or a forget: the fact is active again, and a fact that
        superseded it (if still active) is retired as ``"undone"``."""
        fact = self.get(fact_id)
        with self.transaction(fact.user, fact.character) as tx:
            return tx.restore(fact_id)

    def insert_rows(self, user: str, character: str, rows: Sequence[dict[str, Any]]) -> int:
        """Insert exported facts (dicts as :meth:`MemoryFact.to_dict` writes) in one
        transaction, remapping ``superseded_by`` ids; facts already stored (same role,
        text and ``valid_from``) are skipped. Returns how many were added."""
        sa, t = self.sa, self._facts
        with self.transaction(user, character) as tx:
            existing = {
                (f.role, f.text, f.valid_from.replace(microsecond=0))
                for f in self.facts(user, character, include_retired=True, conn=tx.conn)
            }
            new_ids: dict[Any, int] = {}
            links: list[tuple[int, Any]] = []
            added = 0
            for row in rows:
                key = (row["role"], row["text"], row["valid_from"].replace(microsecond=0))
                if key in existing:
                    continue
                existing.add(key)
                values = {k: v for k, v in row.items() if k not in ("id", "superseded_by")}
                values.update(user=user, character=character)
                new_id = conn_insert(tx.conn, t, values)
                added += 1
                if row.get("id") is not None:
                    new_ids[row["id"]] = new_id
                if row.get("superseded_by") is not None:
                    links.append((new_id, row["superseded_by"]))
            for fid, old_target in links:
                tx.conn.execute(
                    sa.update(t).where(t.c.id == fid).values(superseded_by=new_ids.get(old_target))
                )
        return added
