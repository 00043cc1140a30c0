"""Reads and writes inside one :meth:`MemoryStore.transaction` — one (user, character),
one database transaction (SQLite ``BEGIN IMMEDIATE``; PostgreSQL advisory lock).

>>> from consona.memory.store import MemoryStore
>>> s = MemoryStore("sqlite://")
>>> with s.transaction("ana", "Mira") as tx:
...     a = tx.add("user", "I live in Lisbon.")
...     b = tx.add("user", "I moved to Oslo.", supersedes=[a.id])
...     [f.text for f in tx.active("user")]
['I moved to Oslo.']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from consona.memory.schema import (
    MemoryFact,
    MemoryStoreError,
    check_role,
    check_text,
    conn_insert,
    utcnow,
)
from consona.memory.store import MemoryStore

__all__ = ["MemoryTransaction"]


class MemoryTransaction:
    """Reads and writes inside one :meth:`MemoryStore.transaction` (one owner)."""

    def __init__(self, store: MemoryStore, conn: Any, user: str, character: str) -> None:
        self.store, self.conn, self.user, self.character = store, conn, user, character

    def active(self, role: str, *, with_embeddings: bool = False) -> list[MemoryFact]:
        return self.store.facts(
            self.user, self.character, role, with_embeddings=with_embeddings, conn=self.conn
        )

    def active_ids(self, role: str) -> list[int]:
        return self.store.active_ids(self.user, self.character, role, conn=self.conn)

    def embeddings(self, ids: Sequence[int]) -> dict[int, bytes | None]:
        return self.store.embeddings(ids, conn=self.conn)

    def texts(self, ids: Sequence[int]) -> dict[int, str]:
        return self.store.texts(ids, conn=self.conn)

    def get(self, fact_id: int) -> MemoryFact:
        return self._own(fact_id)

    def _own(self, fact_id: int) -> MemoryFact:
        fact = self.store.get(fact_id, conn=self.conn)
        if (fact.user, fact.character) != (self.user, self.character):
            raise MemoryStoreError(
                f"Memory fact #{fact_id} belongs to user {fact.user!r} with character "
                f"{fact.character!r}, not {self.user!r} with {self.character!r}"
            )
        return fact

    def add(
        self,
        role: str,
        text: str,
        *,
        triple: Sequence[str | None] | None = None,
        session: str | None = None,
        turn: int | None = None,
        supersedes: Sequence[int] = (),
        embedding: bytes | None = None,
        now: dt.datetime | None = None,
        reason: str = "superseded",
        times_seen: int = 1,
    ) -> MemoryFact:
        """A new active fact; ``supersedes`` are retired in its favour, as ``reason``
        (``"superseded"``: contradicted; ``"refined"``: a more specific fact replaced it)."""
        check_role(role)
        text = check_text(text)
        if triple is not None and len(triple) != 3:
            raise MemoryStoreError(f"A triple has 3 parts (subject, relation, object): {triple!r}")
        subject, relation, obj = (
            (str(x)[:200] if x is not None else None for x in triple) if triple else (None,) * 3
        )
        now = now or utcnow()
        olds = [self._own(i) for i in supersedes]
        for old in olds:
            if old.role != role:
                raise MemoryStoreError(
                    f"A {role} fact cannot supersede #{old.id}, a {old.role} fact"
                )
        values: dict[str, Any] = {
            "user": self.user,
            "character": self.character,
            "role": role,
            "text": text,
            "subject": subject,
            "relation": relation,
            "object": obj,
            "session": session,
            "turn": turn,
            "valid_from": now,
            "times_seen": max(1, int(times_seen)),
            "last_seen": now,
            "embedding": embedding,
        }
        new_id = conn_insert(self.conn, self.store._facts, values)
        for old in olds:
            if old.active:
                self._set(old.id, invalid_at=now, superseded_by=new_id, retired=reason)
        values.pop("embedding")
        return MemoryFact(id=new_id, **values)

    def _set(self, fact_id: int, **values: Any) -> None:
        t = self.store._facts
        self.conn.execute(self.store.sa.update(t).where(t.c.id == fact_id).values(**values))

    def touch(self, fact_id: int, *, now: dt.datetime | None = None) -> MemoryFact:
        fact = self._own(fact_id)
        t = self.store._facts
        self.conn.execute(
            self.store.sa.update(t)
            .where(t.c.id == fact_id)
            .values(times_seen=t.c.times_seen + 1, last_seen=now or utcnow())
        )
        return self.store.get(fact.id, conn=self.conn)

    def retire(
        self, fact_id: int, *, reason: str = "forgotten", now: dt.datetime | None = None
    ) -> MemoryFact:
        fact = self._own(fact_id)
        if not fact.active:
            raise MemoryStoreError(
                f"Memory fact #{fact_id} is already retired ({fact.retired})",
                hint=f"'consona memory restore {fact_id}' makes it active again",
            )
        self._set(fact_id, invalid_at=now or utcnow(), retired=reason)
        return self.store.get(fact_id, conn=self.conn)

    def restore(self, fact_id: int) -> MemoryFact:
        fact = self._own(fact_id)
        if fact.active:
            raise MemoryStoreError(f"Memory fact #{fact_id} is active; nothing to undo")
        if fact.superseded_by is not None:
            newer = self.store.get(fact.superseded_by, conn=self.conn)
            if newer.active:
                t = self.store._facts
                others = self.conn.execute(
                    self.store.sa.select(self.store.sa.func.count())
                    .select_from(t)
                    .where(
                        t.c.superseded_by == newer.id,
                        t.c.id != fact_id,
                        t.c.invalid_at.is_not(None),
                    )
                ).scalar_one()
                if not others:  # it existed only to replace this fact
                    self._set(newer.id, invalid_at=utcnow(), retired="undone")
        self._set(fact_id, invalid_at=None, superseded_by=None, retired=None)
        return self.store.get(fact_id, conn=self.conn)
