"""The write path: facts of a turn → NLI-gated update of the speaker's active facts.

For each new fact, the judge compares it with the ``k`` most similar active facts of the
same role (embedding search; facts with the same triple relation are always compared):

* an active fact entails it → **merge** (that fact's ``times_seen`` + 1, ``last_seen``) —
  unless the new fact says more: when the old fact's content words are a strict subset
  of its own it **refines** the old fact, which is retired in its favour (``"refined"``,
  kept as history, undoable); when it adds more than ``max_novel`` other content words
  it is a new fact (the judge's entailment is lenient: it calls "I volunteer." ⊨ "I have
  volunteered for 7 years." — a merge would lose the 7 years);
* it contradicts active facts *about the same subject* (same triple relation, a shared
  content word, or embedding similarity ≥ ``same_subject``) → **supersede** them (they
  are kept as history and :meth:`MemoryStore.restore` undoes it);
* otherwise → **add**.

Statements about the other speaker ("you …"), questions and hypotheticals are never stored
as the speaker's own facts. ``dry_run=True`` returns the same diff without writing.

>>> from consona.memory.store import MemoryStore
>>> from consona.testing import FakeEmbedder, FakeNLI
>>> w = MemoryWriter(MemoryStore("sqlite://"), nli=FakeNLI(), embedder=FakeEmbedder())
>>> print(w.apply("ana", "Mira", "user", ["I have a dog."]).render())
+ user #1: I have a dog.
>>> print(w.apply("ana", "Mira", "user", ["I do not have a dog.", "I like jazz."]).render())
~ user #2: I do not have a dog.  (supersedes #1: I have a dog.)
+ user #3: I like jazz.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from consona.memory.index import EmbeddingIndex, to_bytes
from consona.memory.store import MemoryStore, check_role, check_text
from consona.nli.base import CONTRADICTION, ENTAILMENT, NLIModel
from consona.text import STOP_WORDS, content_words, tokens
from consona.types import Fact, Turn

__all__ = ["Change", "MemoryDiff", "MemoryWriter", "own_facts"]


@dataclass
class Change:
    """One decision of the write path: ``action`` is ``add``, ``merge``, ``refine`` or
    ``supersede``; ``fact_id`` the new fact (add, refine, supersede) or the merged one
    (merge; ``None`` in a dry run for new facts); ``replaced``: (id, text) of the facts it
    retires (superseded or refined).

    >>> Change("add", "user", "I am a nurse.", fact_id=3).render()
    '+ user #3: I am a nurse.'
    """

    action: str
    role: str
    text: str
    fact_id: int | None = None
    merged_into: str | None = None
    replaced: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "role": self.role,
            "text": self.text,
            "fact_id": self.fact_id,
            "merged_into": self.merged_into,
            "replaced": [{"id": i, "text": t} for i, t in self.replaced],
        }

    def render(self) -> str:
        ref = f" #{self.fact_id}" if self.fact_id is not None else ""
        if self.action == "merge":
            return f"= {self.role}{ref}: {self.merged_into}  (seen again: {self.text})"
        if self.action == "refine":
            olds = "; ".join(f"#{i}: {t}" for i, t in self.replaced)
            return f"^ {self.role}{ref}: {self.text}  (refines {olds})"
        if self.action == "supersede":
            olds = "; ".join(f"#{i}: {t}" for i, t in self.replaced)
            return f"~ {self.role}{ref}: {self.text}  (supersedes {olds})"
        return f"+ {self.role}{ref}: {self.text}"


@dataclass
class MemoryDiff:
    """What a write did (or, ``dry_run``, would do).

    >>> MemoryDiff().render()
    '(no new facts)'
    """

    changes: list[Change] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0
    extract_seconds: float = 0.0

    def render(self) -> str:
        return "\n".join(c.render() for c in self.changes) or "(no new facts)"

    def count(self, action: str) -> int:
        return sum(c.action == action for c in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "changes": [c.to_dict() for c in self.changes],
            "seconds": round(self.seconds, 4),
            "extract_seconds": round(self.extract_seconds, 4),
        }


def own_facts(turn: Turn, facts: Sequence[Fact]) -> list[Fact]:
    """The facts that are the speaker's own: each fact is traced to the clause of the
    utterance it most likely came from (shared content words, then ROUGE-L), and facts from
    questions, hypotheticals or clauses about the other speaker ("you …") are dropped,
    never re-attributed.

    >>> t = Turn(speaker="a", text="You are a nurse. I am a pilot. Do you fly?")
    >>> [f.text for f in own_facts(t, [Fact(text="I am a nurse."), Fact(text="I am a pilot.")])]
    ['I am a pilot.']
    """
    from consona.extraction.text import about_other, is_hypothetical, is_question, split_clauses
    from consona.text import rouge_l

    clauses = split_clauses(turn.text) or []
    kept = []
    for f in facts:
        if f.speaker not in (None, turn.speaker) or _second_person(f.text):
            continue
        words = content_words(f.text, stop=STOP_WORDS)
        best, score = None, -1.0
        for c in clauses:
            s = len(words & content_words(c.text, stop=STOP_WORDS)) + rouge_l(c.text, f.text)
            if s > score:
                best, score = c.text, s
        if best is None or is_question(best) or is_hypothetical(best) or about_other(best):
            continue
        kept.append(f.model_copy(update={"speaker": turn.speaker}))
    return kept


def _second_person(text: str) -> bool:
    words = text.lower().replace("'", " ").split()
    return bool(words) and words[0] in {"you", "your", "yours", "u", "ur"}


_STATE_RULES = [
    (re.compile(r"\b(?:just |recently )?(?:moved|relocated) (?:back )?to\b", re.I), "live in"),
    (re.compile(r"\b(?:just |recently )?got (married|divorced|engaged)\b", re.I), r"am \1"),
    (re.compile(r"\b(?:just |recently )?turned (\d+)(?: years old)?\b", re.I), r"am \1 years old"),
    (re.compile(r",?\s*\b(?:now|these days|nowadays)\b", re.I), ""),
    # when it happened is not part of the state
    (
        re.compile(
            r",?\s*\b(?:(?:last|this|past) (?:week|month|year|summer|winter|spring|fall|"
            r"autumn|weekend)|yesterday|recently|lately|(?:a|an|one|two|three|few|\d+) "
            r"(?:days?|weeks?|months?|years?) ago)\b",
            re.I,
        ),
        "",
    ),
]


def state_form(text: str) -> str:
    """A change statement as the state it brings about, for the judge ("I moved to Oslo."
    → "I live in Oslo."): the judge has no notion of time, so "moved to X" is not by
    itself a contradiction of "I live in Y", but "I live in X" is.

    >>> state_form("I moved to Oslo."), state_form("I just turned 30."), state_form("I am a nurse.")
    ('I live in Oslo.', 'I am 30 years old.', 'I am a nurse.')
    >>> state_form("I got married last month."), state_form("I quit two years ago, now I cook.")
    ('I am married.', 'I quit I cook.')
    """
    out = text
    for pattern, repl in _STATE_RULES:
        out = pattern.sub(repl, out)
    out = re.sub(r"\s+([.!?])", r"\1", re.sub(r"\s{2,}", " ", out)).strip()
    return out or text


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> set[str]:
    """Content words, crudely stemmed ("volunteering" → "volunteer"), and numbers.

    >>> sorted(_stems("I have been volunteering for 7 years."))
    ['7', 'volunteer', 'year']
    """
    numbers = {t for t in tokens(text) if t.isdigit()}
    return {_stem(w) for w in content_words(text, stop=STOP_WORDS)} | numbers


def _same_subject(
    a: tuple[str, str | None], b: tuple[str, str | None], sim: float, cut: float
) -> bool:
    (ta, ra), (tb, rb) = a, b
    if ra and rb and ra == rb:
        return True
    if content_words(ta, stop=STOP_WORDS) & content_words(tb, stop=STOP_WORDS):
        return True
    return sim >= cut


class MemoryWriter:
    """The write path over a :class:`MemoryStore` (see the module docstring).

    >>> from consona.testing import FakeEmbedder, FakeNLI
    >>> w = MemoryWriter(MemoryStore("sqlite://"), nli=FakeNLI(), embedder=FakeEmbedder())
    >>> [c.action for c in w.apply("ana", "Mira", "bot", ["I bake.", "I bake."]).changes]
    ['add', 'merge']

    ``nli``: the judge (``consona.nli.load_nli_model()``; ``FakeNLI`` in tests);
    ``embedder``: ``encode(list[str])``; ``k``: active facts the judge compares a new fact
    with; ``same_subject``: embedding similarity above which a contradicted fact counts as
    being about the same subject; ``threshold``: contradiction probability (default: the
    judge's calibrated one); ``entail``: entailment probability for a merge;
    ``max_novel``: content words a new fact may add to the entailing one and still merge
    (the judge's entailment is lenient, so more means a new fact).
    """

    def __init__(
        self,
        store: MemoryStore,
        *,
        nli: NLIModel,
        embedder: Any,
        k: int = 8,
        same_subject: float = 0.4,
        threshold: float | None = None,
        entail: float = 0.5,
        max_novel: int = 2,
        index: dict[tuple[str, str, str], EmbeddingIndex] | None = None,
    ) -> None:
        from consona.nli.consistency import resolve_threshold

        self.store = store
        self.nli = nli
        self.embedder = embedder
        self.k = k
        self.same_subject = same_subject
        self.threshold = resolve_threshold(nli, threshold)
        self.entail = entail
        self.max_novel = max_novel
        self.indexes = index if index is not None else {}

    def index(self, user: str, character: str, role: str) -> EmbeddingIndex:
        key = (user, character, role)
        if key not in self.indexes:
            self.indexes[key] = EmbeddingIndex(self.embedder)
        return self.indexes[key]

    def apply(
        self,
        user: str,
        character: str,
        role: str,
        facts: Sequence[Fact | str],
        *,
        session: str | None = None,
        turn: int | None = None,
        dry_run: bool = False,
    ) -> MemoryDiff:
        """Update ``role``'s memory with ``facts`` (already the speaker's own)."""
        import time

        start = time.perf_counter()
        check_role(role)
        items = [f if isinstance(f, Fact) else Fact(text=f) for f in facts]
        for f in items:
            check_text(f.text)
        diff = MemoryDiff(dry_run=dry_run)
        if not items:
            return diff
        idx = self.index(user, character, role)
        new_vecs = idx.embed([f.text for f in items])
        with self.store.transaction(user, character) as tx:
            ids = tx.active_ids(role)
            idx.ensure(ids, load=tx.embeddings, texts=tx.texts)
            relations: dict[int, str | None] = {}
            texts: dict[int, str] = {}
            pending: list[tuple[Fact, np.ndarray]] = []  # dry run: facts "added" so far
            for fact, vec in zip(items, new_vecs, strict=True):
                near = idx.search(vec, ids, k=self.k)
                cand_ids = [i for i, _ in near]
                sims = dict(near)
                need = [i for i in cand_ids if i not in texts]
                if need:
                    for row in self.store.facts_by_id(need, conn=tx.conn):
                        texts[row.id], relations[row.id] = row.text, row.relation
                if fact.relation:
                    for row in self.store.facts_with_relation(
                        user, character, role, fact.relation, conn=tx.conn
                    ):
                        if row.id not in sims:
                            texts[row.id], relations[row.id] = row.text, row.relation
                            cand_ids.append(row.id)
                            known = idx.vectors.get(row.id)
                            sims[row.id] = float(known @ vec) if known is not None else 0.0
                for j, (pfact, pvec) in enumerate(pending):
                    key = -(j + 1)  # not stored: negative ids
                    cand_ids.append(key)
                    sims[key] = float(pvec @ vec)
                    texts[key], relations[key] = pfact.text, pfact.relation
                change = self._decide(role, fact, cand_ids, texts, relations, sims)
                if change.action == "merge":
                    target = change.fact_id
                    if target is not None and target > 0 and not dry_run:
                        tx.touch(target)
                    if target is not None and target < 0:
                        change.fact_id = None
                elif dry_run:
                    pending.append((fact, vec))
                    change.replaced = [(i, t) for i, t in change.replaced if i > 0]
                    ids = [i for i in ids if i not in {r for r, _ in change.replaced}]
                else:
                    refine = change.action == "refine"
                    seen = sum(tx.get(i).times_seen for i, _ in change.replaced) if refine else 0
                    new = tx.add(
                        role,
                        fact.text,
                        triple=fact.triple if fact.relation or fact.object else None,
                        session=session,
                        turn=turn if turn is not None else fact.source_turn,
                        supersedes=[i for i, _ in change.replaced],
                        embedding=to_bytes(vec),
                        reason="refined" if refine else "superseded",
                        times_seen=seen + 1,
                    )
                    change.fact_id = new.id
                    idx.put({new.id: vec})
                    retired = {i for i, _ in change.replaced}
                    ids = [i for i in ids if i not in retired] + [new.id]
                diff.changes.append(change)
        diff.seconds = time.perf_counter() - start
        return diff

    def _decide(
        self,
        role: str,
        fact: Fact,
        cand_ids: list[int],
        texts: dict[int, str],
        relations: dict[int, str | None],
        sims: dict[int, float],
    ) -> Change:
        if not cand_ids:
            return Change("add", role, fact.text)
        probs = np.asarray(
            self.nli.predict([(texts[i], fact.text) for i in cand_ids]), dtype=np.float64
        )
        state = state_form(fact.text)
        if state != fact.text:  # a change statement: judge the state it brings about too
            alt = np.asarray(
                self.nli.predict([(texts[i], state) for i in cand_ids]), dtype=np.float64
            )
            use_alt = alt[:, CONTRADICTION] > probs[:, CONTRADICTION]
            probs[use_alt] = alt[use_alt]
        best_ent = int(np.argmax(probs[:, ENTAILMENT]))
        pe, pc = probs[best_ent, ENTAILMENT], probs[best_ent, CONTRADICTION]
        if pe >= self.entail and pe > pc and probs[best_ent, CONTRADICTION] < self.threshold:
            i = cand_ids[best_ent]
            old_words, new_words = _stems(texts[i]), _stems(fact.text)
            if old_words < new_words:  # says more than the fact that entails it
                return Change("refine", role, fact.text, replaced=[(i, texts[i])])
            if len(new_words - old_words) <= self.max_novel:
                return Change("merge", role, fact.text, fact_id=i, merged_into=texts[i])
            # otherwise the judge's "entailment" is topical: the new fact says something
            # the old one does not ("I volunteer" ⊭ "I have volunteered for 7 years")
        replaced = [
            (i, texts[i])
            for i, row in zip(cand_ids, probs, strict=True)
            if row[CONTRADICTION] >= self.threshold
            and _same_subject(
                (state, fact.relation),
                (texts[i], relations.get(i)),
                sims.get(i, 0.0),
                self.same_subject,
            )
        ]
        if replaced:
            return Change("supersede", role, fact.text, replaced=replaced)
        return Change("add", role, fact.text)
