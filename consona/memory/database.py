"""How the memory store opens its database: the URL, the engine, the checks and migrations.

A path is SQLite (created when missing): WAL mode, a busy timeout, and write transactions
that take the lock up front (``BEGIN IMMEDIATE``), so several processes can write one
file. Any other SQLAlchemy URL works too (``postgresql+psycopg://...``). Opening checks
what is there first: an empty database gets the tables; a corrupt file, another
program's database or a newer schema is refused without being touched; an older schema
is upgraded in place by :data:`~consona.memory.schema.MIGRATIONS`.

>>> database_url("postgresql+psycopg://u:pw@host/db")
'postgresql+psycopg://u:pw@host/db'
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from consona.memory import schema
from consona.memory.schema import MemoryStoreError

if TYPE_CHECKING:
    from consona.memory.store import MemoryStore

__all__ = ["database_url", "make_engine", "migrate", "open_database", "safe_url"]


def database_url(target: str | Path) -> str:
    """A path (parent folders created) as an SQLite URL; a URL stays as it is."""
    text = str(target)
    if "://" in text:
        return text
    path = Path(text).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_engine(sa: Any, url_text: str, busy_timeout_ms: int) -> Any:
    """An SQLAlchemy engine for ``url_text``: SQLite gets a busy timeout, WAL (files) and
    ``BEGIN IMMEDIATE`` for write transactions; other databases a pre-ping pool."""
    try:
        url = sa.engine.make_url(url_text)
    except Exception as exc:
        raise MemoryStoreError(
            f"Not a database URL or path: {url_text!r} ({exc})",
            hint="pass a file path or an SQLAlchemy URL such as postgresql+psycopg://...",
        ) from None
    kwargs: dict[str, Any] = {"future": True}
    if url.get_backend_name() == "sqlite":
        memory = url.database in (None, "", ":memory:")
        if memory:
            kwargs["poolclass"] = sa.pool.StaticPool
        kwargs["connect_args"] = {
            "timeout": busy_timeout_ms / 1000,
            "check_same_thread": False,
        }
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = sa.create_engine(url, **kwargs)
    except Exception as exc:  # missing driver, bad options
        raise MemoryStoreError(
            f"Cannot open the memory database {safe_url(sa, url_text)}: {exc}",
            hint="for PostgreSQL install psycopg: pip install 'consona[postgres]'",
        ) from None
    if engine.dialect.name == "sqlite":
        timeout = int(busy_timeout_ms)
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


def safe_url(sa: Any, url_text: str) -> str:
    """The URL without its password, for messages."""
    try:
        return str(sa.engine.make_url(url_text).render_as_string(hide_password=True))
    except Exception:
        return "(unparsable URL)"


def open_database(store: MemoryStore) -> None:
    """Check what ``store`` points at and make it a memory store: create the tables in an
    empty database, refuse a corrupt file, another program's database or a newer schema
    (touching nothing), and run the migrations an older schema needs."""
    sa = store.sa
    where = safe_url(store.sa, store.url)
    try:
        with store.engine.connect() as conn:
            if store.dialect == "sqlite" and store.engine.url.database not in (
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
    if names and schema.META_TABLE not in names:
        raise MemoryStoreError(
            f"{where} is another program's database (tables: {', '.join(sorted(names)[:6])})",
            hint="pass a new file for consona's memory; this one was left untouched",
        )
    with store._write() as conn:
        if schema.META_TABLE not in sa.inspect(conn).get_table_names():
            store._md.create_all(conn)
            conn.execute(
                store._meta.insert(),
                [
                    {"key": "app", "value": schema.APP_ID},
                    {"key": "schema_version", "value": str(schema.SCHEMA_VERSION)},
                ],
            )
            return
        meta = dict(conn.execute(sa.select(store._meta.c.key, store._meta.c.value)).all())
        if meta.get("app") != schema.APP_ID:
            raise MemoryStoreError(
                f"{where} has a {schema.META_TABLE} table but is not a consona memory store",
                hint="pass a new file for consona's memory",
            )
        version = int(meta.get("schema_version", "0"))
        if version > schema.SCHEMA_VERSION:
            raise MemoryStoreError(
                f"{where} uses memory schema {version}; this consona reads up to "
                f"{schema.SCHEMA_VERSION}",
                hint="upgrade consona (pip install -U consona)",
            )
        migrate(store.sa, conn, store._meta, version)


def migrate(sa: Any, conn: Any, meta_table: Any, version: int) -> None:
    """Run :data:`~consona.memory.schema.MIGRATIONS` from ``version`` up to
    :data:`~consona.memory.schema.SCHEMA_VERSION`, recording each step."""
    while version < schema.SCHEMA_VERSION:
        step = schema.MIGRATIONS.get(version)
        if step is None:
            raise MemoryStoreError(
                f"No migration from memory schema {version} to {version + 1}",
                hint="export with the consona that wrote it, then import into a new file",
            )
        step(conn)
        version += 1
        conn.execute(
            sa.update(meta_table)
            .where(meta_table.c.key == "schema_version")
            .values(value=str(version))
        )


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__
