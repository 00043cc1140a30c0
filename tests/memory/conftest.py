"""Fixtures of the memory tests: the same store tests run on SQLite and on a real
PostgreSQL server started here (initdb + pg_ctl into a temp dir on a free port).

The server needs Debian's ``postgresql`` (``make setup`` installs it); the binaries are
looked up in ``$CONSONA_PG_BIN``, ``/usr/lib/postgresql/*/bin`` and ``PATH``. Postgres
refuses to run as root, so as root the server runs as the ``postgres`` user (runuser).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    candidates = []
    if os.environ.get("CONSONA_PG_BIN"):
        candidates.append(os.environ["CONSONA_PG_BIN"])
    candidates.extend(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True))
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(str(Path(found).parent))
    for c in candidates:
        if (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    return None


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    import pwd

    runuser = shutil.which("runuser")
    try:
        pwd.getpwnam("postgres")
    except KeyError:  # pragma: no cover
        pytest.skip("running as root and there is no 'postgres' user to run the server as")
    if runuser is None:  # pragma: no cover
        pytest.skip("running as root without runuser: cannot start PostgreSQL as non-root")
    return [runuser, "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server for this test session; yields an SQLAlchemy URL."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install psycopg)")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    root = Path(tempfile.mkdtemp(prefix="consona-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        root.chmod(0o755)
    port = _free_port()
    log = root / "server.log"
    subprocess.run(
        _as_postgres(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        deadline = time.time() + 30
        import psycopg

        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres").close()
                break
            except psycopg.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


_DB_COUNTER = iter(range(1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """A fresh, empty store URL on each backend (a new database per test on PostgreSQL)."""
    if request.param == "sqlite":
        return str(tmp_path / "memory.db")
    base = request.getfixturevalue("postgres_url")
    import psycopg

    name = f"t{os.getpid()}_{next(_DB_COUNTER)}"
    port = base.rsplit(":", 1)[1].split("/")[0]
    with psycopg.connect(
        f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return base.rsplit("/", 1)[0] + "/" + name
