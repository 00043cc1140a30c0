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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consona.errors import ConsonaError, require

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
]

ROLES = ("user", "bot")
SCHEMA_VERSION = 1
MAX_FACT_CHARS = 2000
APP_ID = "consona-memory"
META_TABLE = "consona_memory_meta"
FACTS_TABLE = "consona_memory_facts"

# Upgrades from version v to v + 1, run in order inside one transaction: {v: fn(conn)}.
MIGRATIONS: dict[int, Callable[[Any], None]] = {}


class MemoryStoreError(ConsonaError):
    """The memory database or a value given to it is unusable; the message says why."""

    exit_code = 2


def utcnow() -> dt.datetime:
    """Now, in UTC, without tzinfo (how the store keeps times on every backend)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.isoformat() + "Z"


def parse_time(value: Any, *, what: str = "time") -> dt.datetime | None:
    """An ISO 8601 string (``Z`` or an offset allowed) as naive UTC; ``None`` stays."""
    if value is None or isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise MemoryStoreError(f"{what} must be an ISO 8601 string, got {value!r}")
    try:
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MemoryStoreError(
            f"{what} is not an ISO 8601 time: {value!r}", hint="write e.g. 2026-01-31T12:00:00Z"
        ) from None
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return t


@dataclass
class MemoryFact:
    """One remembered fact (a row of the store).

    >>> MemoryFact(id=1, user="ana", character="Mira", role="user", text="I am a nurse.").active
    True
    """

    id: int
    user: str
    character: str
    role: str
    text: str
    subject: str | None = None
    relation: str | None = None
    object: str | None = None
    session: str | None = None
    turn: int | None = None
    valid_from: dt.datetime = field(default_factory=utcnow)
    invalid_at: dt.datetime | None = None
    superseded_by: int | None = None
    retired: str | None = None
    times_seen: int = 1
    last_seen: dt.datetime = field(default_factory=utcnow)
    embedding: bytes | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.invalid_at is None

    @property
    def triple(self) -> tuple[str | None, str | None, str | None] | None:
        if self.subject is None and self.relation is None and self.object is None:
            return None
        return (self.subject, self.relation, self.object)

    def to_dict(self) -> dict[str, Any]:
        """The export form: one JSON object per fact (times in ISO 8601 UTC)."""
        return {
            "id": self.id,
            "user": self.user,
            "character": self.character,
            "role": self.role,
            "text": self.text,
            "triple": list(self.triple) if self.triple else None,
            "session": self.session,
            "turn": self.turn,
            "valid_from": _iso(self.valid_from),
            "invalid_at": _iso(self.invalid_at),
            "superseded_by": self.superseded_by,
            "retired": self.retired,
            "times_seen": self.times_seen,
            "last_seen": _iso(self.last_seen),
        }


def check_text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise MemoryStoreError("A fact's text must not be empty", hint="pass a sentence")
    text = text.strip()
    if len(text) > MAX_FACT_CHARS:
        raise MemoryStoreError(
            f"A fact is {len(text):,} characters long; the limit is {MAX_FACT_CHARS:,} "
            f"(it starts: {text[:60]!r})",
            hint="store one short statement per fact",
        )
    return text


def check_role(role: str) -> str:
    if role not in ROLES:
        raise MemoryStoreError(
            f"Unknown memory role {role!r}. Valid roles: {', '.join(ROLES)}",
            hint="'user' = what the user said about themselves, 'bot' = what the character said",
        )
    return role


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MemoryStoreError(f"The {what} name must not be empty", hint=f"pass --{what} NAME")
    if len(value) > 200:
        raise MemoryStoreError(f"The {what} name is longer than 200 characters")
    return value.strip()


def _url(target: str | Path) -> str:
    text = str(target)
    if "://" in text:
        return text
    path = Path(text).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _tables(sa: Any) -> tuple[Any, Any, Any]:
    md = sa.MetaData()
    meta = sa.Table(
        META_TABLE,
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    facts = sa.Table(
        FACTS_TABLE,
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("character", sa.String(200), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("subject", sa.String(200)),
        sa.Column("relation", sa.String(200)),
        sa.Column("object", sa.String(500)),
        sa.Column("session", sa.String(200)),
        sa.Column("turn", sa.Integer),
        sa.Column("valid_from", sa.DateTime, nullable=False),
        sa.Column("invalid_at", sa.DateTime),
        sa.Column("superseded_by", sa.Integer),
        sa.Column("retired", sa.String(16)),
        sa.Column("times_seen", sa.Integer, nullable=False, default=1),
        sa.Column("last_seen", sa.DateTime, nullable=False),
        sa.Column("embedding", sa.LargeBinary),
        sa.Index("ix_memory_owner", "user", "character", "role", "invalid_at"),
    )
    return md, meta, facts


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
        self.url = _url(target)
        self.busy_timeout_ms = busy_timeout_ms
        self._md, self._meta, self._facts = _tables(self.sa)
        self.engine = self._make_engine()
        self._lock = threading.Lock()
        self._open()

    # -- connection setup ---------------------------------------------------------------

    @property
    def dialect(self) -> str:
        return str(self.engine.dialect.name)

    def _make_engine(self) -> Any:
        sa = self.sa
        try:
            url = sa.engine.make_url(self.url)
        except Exception as exc:
            raise MemoryStoreError(
                f"Not a database URL or path: {self.url!r} ({exc})",
                hint="pass a file path or an SQLAlchemy URL such as postgresql+psycopg://...",
            ) from None
        kwargs: dict[str, Any] = {"future": True}
        if url.get_backend_name() == "sqlite":
            memory = url.database in (None, "", ":memory:")
            if memory:
                kwargs["poolclass"] = sa.pool.StaticPool
            kwargs["connect_args"] = {
                "timeout": self.busy_timeout_ms / 1000,
                "check_same_thread": False,
            }
        else:
            kwargs["pool_pre_ping"] = True
        try:
            engine = sa.create_engine(url, **kwargs)
        except Exception as exc:  # missing driver, bad options
            raise MemoryStoreError(
                f"Cannot open the memory database {self._safe_url()}: {exc}",
                hint="for PostgreSQL install psycopg: pip install 'consona[postgres]'",
            ) from None
        if engine.dialect.name == "sqlite":
            timeout = int(self.busy_timeout_ms)
            file_db = engine.url.database not in (None, "", ":memory:")

            @sa.event.listens_for(engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None  # SQLAlchemy's BEGIN below, not pysqlite's
                cur = dbapi_conn.cursor()
                cur.execute(f"PRAGMA busy_timeout = {timeout}")
                cur.execute("PRAGMA foreign_keys = ON")
                if file_db:
                    cur.execute("PRAGMA journal_mode = WAL")
                cur.close()

            @sa.event.listens_for(engine, "begin")
            def _on_begin(conn: Any) -> None:
                write = conn.get_execution_options().get("consona_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    def _safe_url(self) -> str:
        try:
            return str(self.sa.engine.make_url(self.url).render_as_string(hide_password=True))
        except Exception:
            return "(unparsable URL)"

    def _open(self) -> None:
        sa = self.sa
        where = self._safe_url()
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite" and self.engine.url.database not in (
                    None,
                    "",
                    ":memory:",
                ):
                    mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
                    if str(mode).lower() != "wal":  # pragma: no cover - exotic file systems
                        raise MemoryStoreError(f"{where}: SQLite refused WAL mode ({mode})")
                names = set(sa.inspect(conn).get_table_names())
        except MemoryStoreError:
            raise
        except sa.exc.DatabaseError as exc:
            raise MemoryStoreError(
                f"{where} is not a readable database ({_first_line(exc)})",
                hint="pass the path of a consona memory file, or a new path to create one",
            ) from None
        except Exception as exc:
            raise MemoryStoreError(f"Cannot open the memory database {where}: {exc}") from None
        if names and META_TABLE not in names:
            raise MemoryStoreError(
                f"{where} is another program's database (tables: {', '.join(sorted(names)[:6])})",
                hint="pass a new file for consona's memory; this one was left untouched",
            )
        with self._write() as conn:
            if META_TABLE not in sa.inspect(conn).get_table_names():
                self._md.create_all(conn)
                conn.execute(
                    self._meta.insert(),
                    [
                        {"key": "app", "value": APP_ID},
                        {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    ],
                )
                return
            meta = dict(conn.execute(sa.select(self._meta.c.key, self._meta.c.value)).all())
            if meta.get("app") != APP_ID:
                raise MemoryStoreError(
                    f"{where} has a {META_TABLE} table but is not a consona memory store",
                    hint="pass a new file for consona's memory",
                )
            version = int(meta.get("schema_version", "0"))
            if version > SCHEMA_VERSION:
                raise MemoryStoreError(
                    f"{where} uses memory schema {version}; this consona reads up to "
                    f"{SCHEMA_VERSION}",
                    hint="upgrade consona (pip install -U consona)",
                )
            self._migrate(conn, version)

    def _migrate(self, conn: Any, version: int) -> None:
        sa = self.sa
        while version < SCHEMA_VERSION:
            step = MIGRATIONS.get(version)
            if step is None:
                raise MemoryStoreError(
                    f"No migration from memory schema {version} to {version + 1}",
                    hint="export with the consona that wrote it, then import into a new file",
                )
            step(conn)
            version += 1
            conn.execute(
                sa.update(self._meta)
                .where(self._meta.c.key == "schema_version")
                .values(value=str(version))
            )

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

        user, character = _check_name(user, "user"), _check_name(character, "character")
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


def conn_insert(conn: Any, table: Any, values: dict[str, Any]) -> int:
    result = conn.execute(table.insert().values(**values))
    return int(result.inserted_primary_key[0])


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__
