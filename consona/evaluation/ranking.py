"""DNLI-style consistency ranking (Welleck et al. 2019): build a ranking set from ConvAI2
dialogues with (subject, relation, object) triples, and rank its candidates with a scorer,
with and without NLI re-ranking.

Each item holds a speaker's persona, the dialogue history, the gold next utterance (which
expresses one persona sentence, same triple) and candidates that entail the same persona
sentence (same triple, other dialogues), contradict it (same single-valued relation with
another object, or like/dislike and have/not_have swaps of the same object) or are
neutral (random utterances of unrelated relations).

>>> from consona.testing import FakeNLI
>>> item = RankingItem(id="x", persona=["I have two dogs."], history=["any pets?"],
...                    candidates=["yes , two dogs .", "i do not have dogs ."],
...                    kinds=["gold", "contradict"])
>>> scorers = make_scorers("agent", nli=FakeNLI())
>>> rank_items([item], scorers)["rerank"]["contradict@1"]
0.0
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from consona.errors import ConfigError, FormatError, UnknownNameError
from consona.evaluation.metrics import consistency_at_1, normalize_answer
from consona.formats.dnli import DNLI_FILE, read_dnli_dialogues
from consona.io import atomic_write
from consona.nli.base import NLIModel
from consona.nli.schema import SINGLE_VALUED, Triple, negations
from consona.progress import progress

__all__ = [
    "BASE_SCORERS",
    "DNLI_FILE",
    "AgentScorer",
    "EmbeddingScorer",
    "LexicalScorer",
    "NLIRerankScorer",
    "RankingItem",
    "Scorer",
    "build_dnli_ranking",
    "heldout_items",
    "make_scorers",
    "rank_items",
    "read_ranking_set",
    "write_ranking_set",
]

KINDS = ("gold", "entail", "contradict", "neutral")


@dataclass
class RankingItem:
    """One ranking problem. ``kinds[i]`` is the kind of ``candidates[i]`` (one "gold").

    >>> RankingItem(id="a", persona=["I am 30."], history=[], candidates=["i am 30 ."],
    ...             kinds=["gold"]).gold_index
    0
    """

    id: str
    persona: list[str]
    history: list[str]
    candidates: list[str]
    kinds: list[str]
    fact: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.candidates) != len(self.kinds):
            raise ConfigError(
                f"ranking item {self.id!r}: {len(self.candidates)} candidates but "
                f"{len(self.kinds)} kinds",
                hint="give one kind per candidate",
            )
        bad = sorted(set(self.kinds) - set(KINDS))
        if bad or self.kinds.count("gold") != 1:
            raise ConfigError(
                f"ranking item {self.id!r}: kinds must be {', '.join(KINDS)} with exactly one "
                f"'gold' (got {self.kinds})",
                hint="fix the ranking set or rebuild it with 'consona eval ranking --data-dir'",
            )

    @property
    def gold_index(self) -> int:
        return self.kinds.index("gold")


# --- building the set from convai2-dnli-triples --------------------------------------


@dataclass
class _Dialogue:
    personas: dict[str, list[tuple[str, Triple | None]]]  # speaker -> [(sentence, triple)]
    turns: list[tuple[str, list[Triple]]]  # (text, triples); even index: partner, odd: you


def _read_dnli_triples(path: Path) -> Iterator[_Dialogue]:
    """The dialogues of the one DNLI reader (:mod:`consona.formats.dnli`), each persona
    sentence with its first triple (or None)."""
    for d in read_dnli_dialogues(path):
        yield _Dialogue(
            personas={
                who: [(text, trips[0] if trips else None) for text, trips in d.persona(who)]
                for who in ("you", "partner")
            },
            turns=list(d.turns),
        )


def _speaker(turn_index: int) -> str:
    return "partner" if turn_index % 2 == 0 else "you"


def build_dnli_ranking(
    path: str | Path,
    *,
    n_entail: int = 10,
    n_contradict: int = 10,
    n_neutral: int = 10,
    seed: int = 0,
    limit: int | None = None,
) -> list[RankingItem]:
    """Build DNLI-style ranking items from a ConvAI2 DNLI triples file (or a data dir that
    holds ``convai2-dnli-triples/``). Deterministic for a given ``seed``. Items with no
    contradicting candidate are not built (a ranking needs at least one)."""
    p = Path(path)
    if p.is_dir():
        p = p / DNLI_FILE
    if not p.is_file():
        raise ConfigError(
            f"No DNLI triples file at {str(p)!r}",
            hint=f"pass --data-dir DIR where DIR/{DNLI_FILE} exists",
        )
    dialogues = list(_read_dnli_triples(p))
    # pools over the whole file: (dialogue index, text) by triple / relation
    by_triple: dict[Triple, list[tuple[int, str]]] = defaultdict(list)
    by_rel: dict[tuple[str, str], list[tuple[int, str, str]]] = defaultdict(list)
    all_utts: list[tuple[int, str, set[str]]] = []
    for d, dlg in enumerate(dialogues):
        for text, trips in dlg.turns:
            for t in trips:
                by_triple[t].append((d, text))
                by_rel[(t[0], t[1])].append((d, t[2], text))
            all_utts.append((d, text, {t[1] for t in trips}))
    rng = random.Random(seed)
    items: list[RankingItem] = []
    for d, dlg in enumerate(dialogues):
        for ti, (text, trips) in enumerate(dlg.turns):
            who = _speaker(ti)
            persona = dlg.personas[who]
            ptrips = [t for _, t in persona if t]
            for t in trips:
                match = [s for s, pt in persona if pt == t]
                if not match:
                    continue
                s, r, o = t
                own_objects = {pt[2] for pt in ptrips if pt[1] == r}
                contra: set[str] = set()
                if r in SINGLE_VALUED:
                    contra |= {
                        u for dd, oo, u in by_rel[(s, r)] if dd != d and oo not in own_objects
                    }
                for r2 in negations(r):
                    contra |= {u for dd, u in by_triple.get(Triple(s, r2, o), []) if dd != d}
                if not contra:
                    continue
                entail = sorted({u for dd, u in by_triple[t] if dd != d} - contra - {text})
                persona_rels = {pt[1] for pt in ptrips} | negations(r)
                neutral_pool = [u for dd, u, rels in all_utts if dd != d and rels
                                and not rels & persona_rels]  # fmt: skip
                cands = [text]
                kinds = ["gold"]
                for kind, pool, k in (
                    ("contradict", sorted(contra - {text}), n_contradict),
                    ("entail", entail, n_entail),
                    (
                        "neutral",
                        sorted(set(neutral_pool) - contra - set(entail) - {text}),
                        n_neutral,
                    ),
                ):
                    chosen = rng.sample(pool, min(k, len(pool)))
                    cands.extend(chosen)
                    kinds.extend([kind] * len(chosen))
                order = list(range(len(cands)))
                rng.shuffle(order)
                items.append(
                    RankingItem(
                        id=f"d{d}:t{ti}:{r}",
                        persona=[s_ for s_, _ in persona],
                        history=[u for u, _ in dlg.turns[:ti]],
                        candidates=[cands[i] for i in order],
                        kinds=[kinds[i] for i in order],
                        fact=match[0],
                        meta={"triple": list(t), "dialogue": d, "turn": ti},
                    )
                )
                break  # one item per gold utterance
            if limit is not None and len(items) >= limit:
                return items
    return items


def heldout_items(items: Sequence[RankingItem]) -> list[RankingItem]:
    """Items whose persona fact is outside the train split of consona's NLI recipe
    (``consona.nli.data.split_of``). The shipped NLI model learnt DNLI-style pairs from the
    same ConvAI2 dialogues, so only these items measure it without leakage."""
    from consona.nli.data import split_of

    return [it for it in items if split_of(it.fact) != "train"]


def write_ranking_set(items: Iterable[RankingItem], path: str | Path) -> int:
    """Write items as JSONL atomically; returns the count."""
    n = 0
    with atomic_write(path) as f:
        for it in items:
            f.write(json.dumps(asdict(it), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_ranking_set(path: str | Path) -> list[RankingItem]:
    """Read a ranking set written by :func:`write_ranking_set`; errors name the line."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"No ranking set at {str(p)!r}", hint="check the path")
    items = []
    with open(p, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                items.append(RankingItem(**data))
            except (json.JSONDecodeError, TypeError) as exc:
                raise FormatError(f"not a ranking item: {exc}", path=p, line=n) from None
            except ConfigError as exc:
                raise FormatError(exc.message, path=p, line=n, hint=exc.hint) from None
    return items


# --- scorers -------------------------------------------------------------------------


@runtime_checkable
class Scorer(Protocol):
    """``score(persona, history, candidates) -> one float per candidate`` (higher = better)."""

    name: str

    def score(
        self, persona: Sequence[str], history: Sequence[str], candidates: Sequence[str]
    ) -> list[float]: ...


class LexicalScorer:
    """Coherence without models: unigram overlap (F1) of each candidate with the last
    ``context`` history turns — the agent's cheap fallback.

    >>> LexicalScorer().score([], ["do you like dogs ?"], ["i like dogs", "hello"])[1]
    0.0
    """

    name = "lexical"

    def __init__(self, *, context: int = 1) -> None:
        self.context = context

    def score(
        self, persona: Sequence[str], history: Sequence[str], candidates: Sequence[str]
    ) -> list[float]:
        ctx = set(normalize_answer(" ".join(history[-self.context :])).split())
        out = []
        for c in candidates:
            toks = set(normalize_answer(c).split())
            same = len(toks & ctx)
            out.append(0.0 if not same else 2 * same / (len(toks) + len(ctx)))
        return out


class EmbeddingScorer:
    """Coherence by embedding: cosine similarity of each candidate with the last
    ``context`` history turns. ``embedder`` needs ``encode(list[str])`` (default: consona's
    MiniLM embedder).

    >>> class Toy:
    ...     def encode(self, texts): return [[len(t), 1.0] for t in texts]
    >>> s = EmbeddingScorer(embedder=Toy()).score([], ["abcd"], ["abcd", "a"])
    >>> s[0] > s[1]
    True
    """

    name = "embed"

    def __init__(self, *, embedder: Any = None, context: int = 1) -> None:
        self.embedder = embedder if embedder is not None else load_embedder()
        self.context = context

    def score(
        self, persona: Sequence[str], history: Sequence[str], candidates: Sequence[str]
    ) -> list[float]:
        ctx = " ".join(history[-self.context :]) or " "
        v = np.asarray(self.embedder.encode([ctx, *candidates]), dtype=np.float64)
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        return [float(x) for x in v[1:] @ v[0]]


def load_embedder() -> Any:
    """consona's default sentence embedder (the one locator: :mod:`consona.models.embedder`)."""
    from consona.models import load_embedder as load

    return load()


class NLIRerankScorer:
    """NLI re-ranking on top of a base scorer, as the agent does: a candidate that
    contradicts a persona fact drops below every consistent one; entailing a fact adds
    ``entail_bonus``.

    >>> from consona.testing import FakeNLI
    >>> s = NLIRerankScorer(LexicalScorer(), nli=FakeNLI())
    >>> a, b = s.score(["I have dogs."], ["pets?"], ["i have dogs", "i do not have dogs"])
    >>> a > b
    True
    """

    def __init__(
        self,
        base: Scorer,
        *,
        nli: NLIModel,
        threshold: float | None = None,
        entail_bonus: float = 0.5,
        contradiction_penalty: float = 100.0,
    ) -> None:
        self.base = base
        self.nli = nli
        self.threshold = threshold
        self.entail_bonus = entail_bonus
        self.contradiction_penalty = contradiction_penalty
        self.name = f"{base.name}+nli"

    def score(
        self, persona: Sequence[str], history: Sequence[str], candidates: Sequence[str]
    ) -> list[float]:
        from consona.nli.consistency import check_many

        base = self.base.score(persona, history, candidates)
        results = check_many(list(persona), list(candidates), nli=self.nli,
                             threshold=self.threshold)  # fmt: skip
        out = []
        for b, res in zip(base, results, strict=True):
            s = b + (self.entail_bonus if res.entailed else 0.0)
            if res.contradiction:
                s -= self.contradiction_penalty * (1.0 + res.max_contradiction)
            out.append(s)
        return out


class AgentScorer:
    """The agent's own candidate scorer (``consona.agent.rerank``): coherence with the last
    user turn, plus, with ``nli``, entailment of relevant facts as a bonus and any
    contradiction disqualifying. ``coherence``: "lexical" | "embedding" | "auto".

    >>> from consona.testing import FakeNLI
    >>> s = AgentScorer(nli=FakeNLI(), coherence="lexical")
    >>> a, b = s.score(["I have dogs."], ["pets?"], ["i have dogs", "i do not have dogs"])
    >>> a > b
    True
    """

    def __init__(
        self, *, nli: NLIModel | None = None, coherence: Any = "lexical",
        threshold: float | None = None,
    ) -> None:  # fmt: skip
        from consona.agent.rerank import make_coherence

        self.nli = nli
        self.coherence = make_coherence(coherence)
        self.threshold = threshold
        self.name = "agent" + ("+nli" if nli is not None else "")

    def score(
        self, persona: Sequence[str], history: Sequence[str], candidates: Sequence[str]
    ) -> list[float]:
        from consona.agent.rerank import score_candidates

        cands = score_candidates(
            list(candidates), facts=list(persona), user=history[-1] if history else "",
            nli=self.nli, coherence=self.coherence, threshold=self.threshold,
        )  # fmt: skip
        # the agent's rank(): qualified first by score; disqualified by least contradiction
        return [-10.0 - c.contradiction if c.disqualified else c.score for c in cands]


BASE_SCORERS = ("agent", "agent-embed", "lexical", "embed")


class _LastCallMemo:
    """Remembers the last call of a coherence function, so the base and the re-ranked
    scorer share one embedding pass per item."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.name = getattr(fn, "name", "coherence")
        self._key: tuple[str, tuple[str, ...]] | None = None
        self._value: list[float] = []

    def __call__(self, context: str, candidates: Sequence[str]) -> list[float]:
        key = (context, tuple(candidates))
        if key != self._key:
            self._value = list(self.fn(context, candidates))
            self._key = key
        return list(self._value)


def make_scorers(
    name: str, *, nli: NLIModel | None, threshold: float | None = None
) -> dict[str, Scorer]:
    """The scorer ``name`` without NLI ("base") and with NLI re-ranking ("rerank", when
    ``nli`` is given). Names: ``agent`` (the agent's scorer, lexical coherence),
    ``agent-embed`` (the agent's scorer, embedding coherence), ``lexical``, ``embed``."""
    if name in ("agent", "agent-embed"):
        from consona.agent.rerank import make_coherence

        coh = _LastCallMemo(make_coherence("lexical" if name == "agent" else "embedding"))
        out: dict[str, Scorer] = {"base": AgentScorer(nli=None, coherence=coh)}
        if nli is not None:
            out["rerank"] = AgentScorer(nli=nli, coherence=out["base"].coherence,  # type: ignore[attr-defined]
                                        threshold=threshold)  # fmt: skip
        return out
    if name == "lexical":
        base: Scorer = LexicalScorer()
    elif name == "embed":
        base = EmbeddingScorer()
    else:
        raise UnknownNameError("scorer", name, BASE_SCORERS)
    out = {"base": base}
    if nli is not None:
        out["rerank"] = NLIRerankScorer(base, nli=nli, threshold=threshold)
    return out


def rank_items(
    items: Sequence[RankingItem],
    scorers: dict[str, Scorer],
    *,
    show_progress: bool = False,
) -> dict[str, dict[str, float]]:
    """Rank every item with each scorer; returns {scorer key: metrics}, metrics as
    :func:`consona.evaluation.metrics.consistency_at_1`."""
    if not items:
        raise ConfigError("The ranking set is empty", hint="build it with --data-dir DIR")
    if not scorers:
        raise ConfigError("No scorer to rank with", hint="pass at least one scorer")
    rows: dict[str, list[tuple[list[float], list[str]]]] = {k: [] for k in scorers}
    it: Iterable[RankingItem] = (
        progress(items, total=len(items), desc="ranking") if show_progress else items
    )
    for item in it:
        for key, scorer in scorers.items():
            scores = scorer.score(item.persona, item.history, item.candidates)
            rows[key].append((scores, item.kinds))
    return {key: consistency_at_1(r) for key, r in rows.items()}
