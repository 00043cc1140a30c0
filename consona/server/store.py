"""Sessions and their turns, stored with SQLAlchemy (SQLite by default, PostgreSQL by URL).

A turn pair (the user's message and the reply) is written in one transaction when the
reply is complete; once ``add_exchange`` returns the turns survive a crash of the server
(SQLite runs in WAL mode with ``synchronous=FULL``).

>>> store = SessionStore("sqlite://")
>>> store.add_exchange("s1", character="mira", user="bo", user_text="hi", reply="hello!")
2
>>> [(t["role"], t["content"]) for t in store.turns("s1")]
[('user', 'hi'), ('assistant', 'hello!')]

With API keys on, each session belongs to the key that created it (``owner``: a digest of
the key, never the key): ``get``, ``list``, ``delete`` and appending with another owner
see no such session.

>>> store.add_exchange("s2", character="mira", user="bo", user_text="hi", reply="yo",
...                    owner="key-a")
2
>>> store.get("s2", owner="key-b") is None, store.get("s2", owner="key-a")["id"]
(True, 's2')
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, NamedTuple

from consona.errors import ConsonaError, MissingDependencyError

__all__ = ["Exchange", "GroupCommitter", "SessionOwnerError", "SessionStore"]


class SessionOwnerError(ConsonaError):
    """The session belongs to another API key (the server answers 404, as if absent)."""


class Exchange(NamedTuple):
    """One user message and the reply to it, for ``SessionStore.add_exchanges``."""

    session: str
    character: str
    user: str
    user_text: str
    reply: str
    meta: dict[str, Any]
    owner: str = ""  # who may read and extend the session: a digest of the API key, or ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _tables() -> tuple[Any, Any, Any]:
    try:
        from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, MetaData, String, Table
        from sqlalchemy import Text as SAText
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "sqlalchemy", extra="server", purpose="the session store"
        ) from exc
    meta = MetaData()
    sessions = Table(
        "consona_sessions",
        meta,
        Column("id", String(64), primary_key=True),
        Column("character", String(64), nullable=False, index=True),
        Column("user", String(64), nullable=False, index=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("owner", String(64), nullable=False, server_default="", index=True),
    )
    turns = Table(
        "consona_turns",
        meta,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("session_id", String(64), ForeignKey("consona_sessions.id"), nullable=False),
        Column("idx", Integer, nullable=False),
        Column("role", String(16), nullable=False),
        Column("content", SAText, nullable=False),
        Column("meta", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )
    from sqlalchemy import Index

    Index("ix_consona_turns_session", turns.c.session_id, turns.c.idx, unique=True)
    return meta, sessions, turns


class SessionStore:
    """Sessions (character, user) and their turns.

    ``url``: an SQLAlchemy URL (``sqlite:///path.db``, ``postgresql+psycopg://...``) or a
    file path (an SQLite database there). Safe to call from several threads.
    """

    def __init__(self, url: str | Path) -> None:
        from sqlalchemy import create_engine, event

        url = str(url)
        if "://" not in url:
            path = Path(url).expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path}"
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if url in ("sqlite://", "sqlite:///:memory:"):
                from sqlalchemy.pool import StaticPool

                kwargs["poolclass"] = StaticPool
        self.engine = create_engine(url, **kwargs)
        if self.is_sqlite:

            @event.listens_for(self.engine, "connect")
            def _pragmas(conn: Any, _record: Any) -> None:
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=FULL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

        self._meta, self.sessions, self.turns_t = _tables()
        self._meta.create_all(self.engine)
        self._add_owner_column()
        # SQLite has one writer: serialize writes here instead of retrying on "locked".
        self._write_lock = threading.Lock() if self.is_sqlite else None

    def _add_owner_column(self) -> None:
        """Databases written before sessions had owners get the column (owner "")."""
        from sqlalchemy import inspect, text

        columns = {c["name"] for c in inspect(self.engine).get_columns("consona_sessions")}
        if "owner" not in columns:
            with self.engine.begin() as conn:
                conn.execute(
                    text(
                        "ALTER TABLE consona_sessions ADD COLUMN owner VARCHAR(64) "
                        "NOT NULL DEFAULT ''"
                    )
                )

    def add_exchange(
        self,
        session: str,
        *,
        character: str,
        user: str,
        user_text: str,
        reply: str,
        meta: dict[str, Any] | None = None,
        owner: str = "",
    ) -> int:
        """Store the user's message and the reply as the next two turns of ``session``
        (created on first use, owned by ``owner``), in one transaction; the session's turn
        count after it. ``SessionOwnerError`` when another owner holds the session."""
        ex = Exchange(session, character, user, user_text, reply, meta or {}, owner)
        return self.add_exchanges([ex])[0]

    def owner_of(self, session: str) -> str | None:
        """Who owns ``session`` ("" without API keys), or None when there is none."""
        from sqlalchemy import select

        s = self.sessions
        with self.engine.connect() as conn:
            row = conn.execute(select(s.c.owner).where(s.c.id == session)).first()
        return None if row is None else str(row.owner or "")

    def add_exchanges(self, exchanges: Sequence[Exchange]) -> list[int]:
        """Store several exchanges in one transaction (one disk sync for all: what the
        server's group commit uses); the turn count of each one's session after it."""
        from sqlalchemy import func, insert, select, update

        now = _now()
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        try:
            counts: list[int] = []
            with self.engine.begin() as conn:
                for ex in exchanges:
                    row = conn.execute(
                        select(self.sessions.c.id, self.sessions.c.owner).where(
                            self.sessions.c.id == ex.session
                        )
                    ).first()
                    if row is None:
                        conn.execute(
                            insert(self.sessions).values(
                                id=ex.session,
                                character=ex.character,
                                user=ex.user,
                                created_at=now,
                                updated_at=now,
                                owner=ex.owner,
                            )
                        )
                    elif (row.owner or "") != ex.owner:
                        raise SessionOwnerError(
                            f"No session {ex.session!r}",
                            hint="sessions belong to the API key that created them",
                        )
                    else:
                        conn.execute(
                            update(self.sessions)
                            .where(self.sessions.c.id == ex.session)
                            .values(updated_at=now)
                        )
                    count = int(
                        conn.execute(
                            select(func.count()).where(self.turns_t.c.session_id == ex.session)
                        ).scalar_one()
                    )
                    row_of = dict(session_id=ex.session, created_at=now)
                    conn.execute(
                        insert(self.turns_t),
                        [
                            {
                                **row_of,
                                "idx": count,
                                "role": "user",
                                "content": ex.user_text,
                                "meta": {},
                            },
                            {
                                **row_of,
                                "idx": count + 1,
                                "role": "assistant",
                                "content": ex.reply,
                                "meta": ex.meta,
                            },
                        ],
                    )
                    counts.append(count + 2)
            return counts
        finally:
            if lock is not None:
                lock.release()

    def turns(self, session: str) -> list[dict[str, Any]]:
        """The turns of ``session`` in order (empty for an unknown session)."""
        from sqlalchemy import select

        t = self.turns_t
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.idx, t.c.role, t.c.content, t.c.meta, t.c.created_at)
                .where(t.c.session_id == session)
                .order_by(t.c.idx)
            ).all()
        return [
            {
                "index": r.idx,
                "role": r.role,
                "content": r.content,
                "meta": r.meta or {},
                "created_at": r.created_at.isoformat() if r.created_at else None,
            }
            for r in rows
        ]

    def get(self, session: str, *, owner: str | None = None) -> dict[str, Any] | None:
        """The session's record with its turns, or ``None`` (also when ``owner`` is given
        and the session is another's)."""
        from sqlalchemy import select

        s = self.sessions
        with self.engine.connect() as conn:
            row = conn.execute(select(s).where(s.c.id == session)).first()
        if row is None or (owner is not None and (row.owner or "") != owner):
            return None
        return {**self._session_dict(row), "turns": self.turns(session)}

    def list(
        self,
        *,
        character: str | None = None,
        user: str | None = None,
        owner: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Sessions (of ``owner`` when given), most recently updated first, with their turn
        counts."""
        from sqlalchemy import func, select

        s, t = self.sessions, self.turns_t
        counts = select(t.c.session_id, func.count().label("n")).group_by(t.c.session_id).subquery()
        q = select(s, counts.c.n).outerjoin(counts, counts.c.session_id == s.c.id)
        if character:
            q = q.where(s.c.character == character)
        if user:
            q = q.where(s.c.user == user)
        if owner is not None:
            q = q.where(s.c.owner == owner)
        q = q.order_by(s.c.updated_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [{**self._session_dict(r), "turn_count": int(r.n or 0)} for r in rows]

    def delete(self, session: str, *, owner: str | None = None) -> bool:
        """Remove a session and its turns; False when there was none (or, with ``owner``,
        none of that owner's)."""
        from sqlalchemy import delete

        if owner is not None and self.owner_of(session) != owner:
            return False
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(self.turns_t).where(self.turns_t.c.session_id == session))
                n = conn.execute(delete(self.sessions).where(self.sessions.c.id == session))
            return bool(n.rowcount)
        finally:
            if lock is not None:
                lock.release()

    def close(self) -> None:
        self.engine.dispose()

    @staticmethod
    def _session_dict(row: Any) -> dict[str, Any]:
        return {
            "id": row.id,
            "character": row.character,
            "user": row.user,
            "created_at": row.created_at.isoformat() if row.created_at else None,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        }


class GroupCommitter:
    """Writes exchanges from many requests in shared transactions: one thread takes every
    exchange waiting and stores them together, so 200 replies finishing at once cost a
    few disk syncs, not 200. ``submit`` returns a future that is done once the exchange
    is durable (or failed).

    >>> store = SessionStore("sqlite://")
    >>> committer = GroupCommitter(store)
    >>> committer.submit(Exchange("s", "mira", "bo", "hi", "hello", {})).result(timeout=10)
    2
    >>> committer.close()
    """

    def __init__(self, store: SessionStore, *, max_batch: int = 256) -> None:
        import queue

        self.store = store
        self.max_batch = max_batch
        self._queue: queue.Queue[tuple[Exchange, Future[int]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="consona-commit", daemon=True)
        self._thread.start()

    def submit(self, exchange: Exchange) -> Future[int]:
        fut: Future[int] = Future()
        self._queue.put((exchange, fut))
        return fut

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        import queue

        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            try:
                counts = self.store.add_exchanges([ex for ex, _ in batch])
            except Exception:
                # one bad exchange must not fail the others: store them one by one
                for ex, fut in batch:
                    try:
                        _settle(fut, result=self.store.add_exchanges([ex])[0])
                    except Exception as exc:
                        _settle(fut, error=exc)
            else:
                for (_, fut), n in zip(batch, counts, strict=True):
                    _settle(fut, result=n)


def _settle(fut: Future[int], *, result: int = 0, error: BaseException | None = None) -> None:
    """Resolve a future whose waiter may have gone (a client that hung up cancels it;
    the exchange is stored all the same)."""
    if fut.done():
        return
    try:
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)
    except Exception:  # cancelled in between: nobody is waiting
        pass
