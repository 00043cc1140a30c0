"""What the memory store keeps: the tables, one fact as a record, and the checks on values.

Two tables: ``consona_memory_meta`` (``app`` = ``consona-memory``, ``schema_version``)
and ``consona_memory_facts`` (one row per fact, never deleted). :data:`SCHEMA_VERSION` is
the version this consona writes; :data:`MIGRATIONS` upgrades an older file step by step
(:mod:`consona.memory.database` runs them when it opens one).

>>> check_role("user"), MemoryFact(id=1, user="ana", character="Mira", role="bot", text="I bake.").active
('user', True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from consona.errors import ConsonaError

__all__ = [
    "APP_ID",
    "FACTS_TABLE",
    "MAX_FACT_CHARS",
    "META_TABLE",
    "MIGRATIONS",
    "ROLES",
    "SCHEMA_VERSION",
    "MemoryFact",
    "MemoryStoreError",
    "check_name",
    "check_role",
    "check_text",
    "conn_insert",
    "make_tables",
    "parse_time",
    "utcnow",
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


def check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MemoryStoreError(f"The {what} name must not be empty", hint=f"pass --{what} NAME")
    if len(value) > 200:
        raise MemoryStoreError(f"The {what} name is longer than 200 characters")
    return value.strip()


def make_tables(sa: Any) -> tuple[Any, Any, Any]:
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


def conn_insert(conn: Any, table: Any, values: dict[str, Any]) -> int:
    result = conn.execute(table.insert().values(**values))
    return int(result.inserted_primary_key[0])
