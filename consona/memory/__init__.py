"""Long-term persona memory for both speakers (user and bot), contradiction-aware.

* :mod:`consona.memory.store` — the SQL store (SQLite by default, any SQLAlchemy URL), with
  :mod:`~consona.memory.schema` (tables, the fact record, checks on values),
  :mod:`~consona.memory.database` (engine, opening checks, migrations) and
  :mod:`~consona.memory.transaction` (one atomic read-decide-write);
* :mod:`consona.memory.update` — the write path: extract facts of a turn, NLI-gated
  merge / supersede / add, with a dry-run diff; :mod:`~consona.memory.slots` — its second
  signal, the facts' (subject, relation, object) triples;
* :mod:`consona.memory.recall` — the read path: relevant facts within a token budget;
* :class:`PersonaMemory` — the three together for one (user, character), as the agent uses it.
"""

from consona.memory.memory import PersonaMemory
from consona.memory.recall import Recall, recall
from consona.memory.store import (
    MAX_FACT_CHARS,
    ROLES,
    SCHEMA_VERSION,
    MemoryFact,
    MemoryStore,
    MemoryStoreError,
)
from consona.memory.update import Change, MemoryDiff, MemoryWriter, own_facts

__all__ = [
    "MAX_FACT_CHARS",
    "ROLES",
    "SCHEMA_VERSION",
    "Change",
    "MemoryDiff",
    "MemoryFact",
    "MemoryStore",
    "MemoryStoreError",
    "MemoryWriter",
    "PersonaMemory",
    "Recall",
    "own_facts",
    "recall",
]
