"""``PersonaMemory``: the store, the write path and the read path for one (user, character).

>>> from consona.memory.store import MemoryStore
>>> from consona.testing import FakeEmbedder, FakeExtractor, FakeNLI
>>> mem = PersonaMemory(MemoryStore("sqlite://"), user="ana", character="Mira",
...                     nli=FakeNLI(), embedder=FakeEmbedder(), extractor=FakeExtractor())
>>> print(mem.observe("i live in lisbon. do you like fado?", "i have a cat named pip").render())
+ user #1: I live in lisbon.
+ bot #2: I have a cat named pip.
>>> [f.text for f in mem.recall("tell me about pip").bot]
['I have a cat named pip.']

``PersonaAgent(..., memory=mem)`` recalls before each reply and observes after it.
Without an ``extractor`` the fast extractor is loaded with its rule-based statement writer
(:func:`default_extractor`); without an ``embedder``, consona's MiniLM embedder.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from consona.memory.index import EmbeddingIndex
from consona.memory.recall import Recall, approx_tokens, recall
from consona.memory.store import MemoryFact, MemoryStore
from consona.memory.update import MemoryDiff, MemoryWriter, own_facts
from consona.nli.base import NLIModel
from consona.types import Turn

__all__ = ["PersonaMemory", "default_extractor"]


# memory keeps more clauses than the extractor's own threshold (0.3): the first-person
# filter and the NLI gate stand behind it ("I know some people who were doubles in it.",
# "I am loving this cooler weather." fall between); see README "Long-term memory"
CLAUSE_THRESHOLD = 0.2


def default_extractor(*, threshold: float | None = None, settings: Any = None) -> Any:
    """The fast extractor with its rule-based statement writer (``writer="off"``): memory
    keeps the speaker's own wording. (The statement editor reads better but can drop a
    negation — "I have never heard of the Libby app." became "I have heard of the Libby
    app." on MSC — and a memory that supersedes on contradictions must not invert facts.)
    ``threshold``: the clause threshold (default :data:`CLAUSE_THRESHOLD`). Answers to
    questions are read once, by :func:`~consona.memory.update.own_facts` (for any
    extractor), so the extractor's own reading of them is off. The extractor model and the
    triple tagger follow ``settings`` (default: the config file's), as in ``consona
    extract``: ``fast_extractor_model`` and ``fast_extractor_triples``."""
    from consona.extraction.fast import fast_options, load_fast

    options = fast_options(settings)
    ex = load_fast(
        options["path"],
        writer="off",
        triples=options["triples"],
        threshold=CLAUSE_THRESHOLD if threshold is None else threshold,
    )
    ex.answers = False
    return ex


class PersonaMemory:
    """Long-term memory of one user with one character (see the module docstring).

    >>> from consona.testing import FakeEmbedder, FakeExtractor, FakeNLI
    >>> mem = PersonaMemory(MemoryStore("sqlite://"), user="ana", character="Mira",
    ...                     nli=FakeNLI(), embedder=FakeEmbedder(), extractor=FakeExtractor())
    >>> print(mem.remember("user", ["I am a nurse."], dry_run=True).render())
    + user: I am a nurse.

    ``budget_tokens``: the prompt room for recalled facts; ``session``: the id recorded
    with each new fact (default: a fresh one per instance); the other keyword arguments
    tune :class:`~consona.memory.update.MemoryWriter`.
    """

    def __init__(
        self,
        store: MemoryStore,
        *,
        user: str,
        character: str,
        nli: NLIModel | None = None,
        embedder: Any = None,
        extractor: Any = None,
        session: str | None = None,
        budget_tokens: int = 160,
        recency_weight: float = 0.2,
        count_tokens: Callable[[str], int] = approx_tokens,
        settings: Any = None,
        **writer_options: Any,
    ) -> None:
        from consona.memory.schema import check_name

        self.store = store
        self.user = check_name(user, "user")
        self.character = check_name(character, "character")
        self._nli = nli
        self._embedder = embedder
        self._extractor = extractor
        self._settings = settings  # the extractor's model and tagger (default: config file)
        self.session = session or uuid.uuid4().hex[:12]
        self.budget_tokens = budget_tokens
        self.recency_weight = recency_weight
        self.count_tokens = count_tokens
        self.writer_options = writer_options
        self.indexes: dict[tuple[str, str, str], EmbeddingIndex] = {}
        self._writer: MemoryWriter | None = None
        self.turn = 0
        self.last_diff: MemoryDiff | None = None
        # the character's reply of the last exchange: the context of the user's next turn
        # (kept in this object only; a caller that rewrites or regenerates the history sets
        # it, or None, before the next observe)
        self.last_reply: Turn | None = None

    # -- lazily loaded parts ------------------------------------------------------------

    @property
    def nli(self) -> NLIModel:
        if self._nli is None:
            from consona.nli.models import load_nli_model

            self._nli = load_nli_model()
        return self._nli

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            from consona.models.embedder import load_embedder

            self._embedder = load_embedder()
        return self._embedder

    @property
    def extractor(self) -> Any:
        if self._extractor is None:
            self._extractor = default_extractor(settings=self._settings)
        return self._extractor

    @property
    def writer(self) -> MemoryWriter:
        if self._writer is None:
            self._writer = MemoryWriter(
                self.store,
                nli=self.nli,
                embedder=self.embedder,
                index=self.indexes,
                **self.writer_options,
            )
        return self._writer

    # -- read path ----------------------------------------------------------------------

    def recall(self, query: str, *, budget_tokens: int | None = None) -> Recall:
        """The facts of both roles relevant to ``query`` within the token budget."""
        return recall(
            self.store,
            self.user,
            self.character,
            query,
            embedder=self.embedder,
            indexes=self.indexes,
            budget_tokens=self.budget_tokens if budget_tokens is None else budget_tokens,
            recency_weight=self.recency_weight,
            count_tokens=self.count_tokens,
        )

    # -- write path ---------------------------------------------------------------------

    def extract(self, text: str, *, role: str, context: list[Turn] | None = None) -> list[Any]:
        """The speaker's own facts in ``text`` (``role``: ``user`` or ``bot``)."""
        if not text or not text.strip():
            return []
        turn = Turn(speaker=role, text=text)
        facts = self.extractor.extract(turn, context=context or [])
        return own_facts(turn, facts, context=context or ())

    def observe(
        self,
        user_text: str | None,
        bot_text: str | None,
        *,
        turn: int | None = None,
        dry_run: bool = False,
    ) -> MemoryDiff:
        """The write path for one exchange: facts the user said about themselves and facts
        the character said about itself, each gated against the same role's memory."""
        t = self.turn if turn is None else turn
        start = time.perf_counter()
        turns = [
            Turn(speaker=role, text=text)
            for role, text in (("user", user_text), ("bot", bot_text))
            if text and text.strip()
        ]
        # each turn's context is the turn before it: the user's is the character's last reply
        # (a yes or a no to its question is a fact), the character's is the user's turn
        contexts = [
            ([self.last_reply] if self.last_reply is not None else []) if i == 0 else turns[:i]
            for i in range(len(turns))
        ]
        found = self.extractor.extract_batch(turns, contexts=contexts)  # one batched pass
        by_role = {
            t.speaker: own_facts(t, fs, context=c)
            for t, fs, c in zip(turns, found, contexts, strict=True)
        }
        user_facts, bot_facts = by_role.get("user", []), by_role.get("bot", [])
        extracted = time.perf_counter()
        diff = MemoryDiff(dry_run=dry_run)
        for role, facts in (("user", user_facts), ("bot", bot_facts)):
            if facts:
                part = self.writer.apply(
                    self.user,
                    self.character,
                    role,
                    facts,
                    session=self.session,
                    turn=t,
                    dry_run=dry_run,
                )
                diff.changes.extend(part.changes)
        diff.extract_seconds = extracted - start
        diff.seconds = time.perf_counter() - extracted
        if not dry_run:
            self.turn = t + 1
            if turns:
                self.last_reply = turns[-1] if turns[-1].speaker == "bot" else None
        self.last_diff = diff
        return diff

    def remember(self, role: str, texts: list[str], *, dry_run: bool = False) -> MemoryDiff:
        """Write facts given as text (no extraction), through the same NLI gate."""
        return self.writer.apply(
            self.user, self.character, role, texts, session=self.session, dry_run=dry_run
        )

    # -- management ---------------------------------------------------------------------

    def facts(self, role: str | None = None, *, include_retired: bool = False) -> list[MemoryFact]:
        return self.store.facts(self.user, self.character, role, include_retired=include_retired)

    def _own(self, fact_id: int) -> MemoryFact:
        fact = self.store.get(fact_id)
        if (fact.user, fact.character) != (self.user, self.character):
            from consona.memory.schema import MemoryStoreError

            raise MemoryStoreError(
                f"Memory fact #{fact_id} is not one of {self.user!r} with {self.character!r}",
                hint="see the ids with /memory",
            )
        return fact

    def forget(self, fact_id: int) -> MemoryFact:
        self._own(fact_id)
        return self.store.forget(fact_id)

    def restore(self, fact_id: int) -> MemoryFact:
        self._own(fact_id)
        return self.store.restore(fact_id)
