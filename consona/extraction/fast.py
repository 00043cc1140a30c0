"""The ``fast`` extractor: MiniLM clause vectors → persona utterance / clause classifiers →
first-person statements, and the triple of each utterance from the shipped triple tagger
(``triples.py``, on the same MiniLM pass; the old relation classifier when it is off).

The statements are written by the shipped statement editor (``editor.py``: a tagger that
keeps, deletes and inserts words of the utterance), or, with ``writer="off"``, by
rewriting the chosen clauses with rules (``text.rewrite_clause``).

One MiniLM pass per utterance (``ClauseEncoder``); the heads are a small numpy model
(``FastModel``, an ``.npz`` of a few hundred KB shipped in ``consona/data/extraction/``),
retrained by ``consona extract train``.

>>> ex = load_fast(writer="off")  # doctest: +SKIP
>>> [f.text for f in ex.extract(Turn(speaker="a", text="i've been a nurse"))]  # doctest: +SKIP
['I have been a nurse.']
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import FormatError, ModelError
from consona.extraction.editor import EDITOR_STOP_WORDS, StatementEditor, load_editor
from consona.extraction.encoder import ClauseEncoder, EncodedTurn
from consona.extraction.text import (
    FIRST_PERSON,
    about_other,
    answered,
    is_fragment,
    is_hypothetical,
    is_question,
    is_small_talk,
    possession_statement,
    rewrite_clause,
)
from consona.text import content_words, rouge_l, tokens
from consona.types import Fact, Turn

__all__ = [
    "OBJECT_SKIP_WORDS",
    "FastExtractor",
    "FastModel",
    "clause_features",
    "create_fast",
    "default_model_path",
    "fast_options",
    "guess_object",
    "load_fast",
    "load_statement_model",
    "load_triple_model",
    "utterance_features",
]

N_HAND = 10
_ACTIVITY = re.compile(r"^I (?:am|was) \w+ing\b")


def default_model_path() -> Path:
    """The shipped model: ``consona/data/extraction/fast_extractor.npz``."""
    return Path(str(resources.files("consona") / "data" / "extraction" / "fast_extractor.npz"))


def hand_features(clause: str, *, position: int, n_clauses: int, utterance: str) -> list[float]:
    toks = tokens(clause)
    return [
        float(is_question(clause)),
        float(is_hypothetical(clause)),
        float(about_other(clause)),
        float(is_small_talk(clause)),
        float(bool(set(toks) & FIRST_PERSON)),
        min(len(toks), 40) / 20.0,
        float(position == 0),
        float(position == n_clauses - 1),
        min(n_clauses, 8) / 4.0,
        float(utterance.strip().endswith("?")),
    ]


def clause_features(enc: EncodedTurn, utterance: str) -> np.ndarray:
    """``(n_clauses, 2*d + N_HAND)``: clause vector, utterance vector, hand features."""
    n = len(enc.clauses)
    if n == 0:
        return np.zeros((0, 2 * enc.utterance_vec.shape[0] + N_HAND), np.float32)
    hand = np.array(
        [
            hand_features(c.text, position=i, n_clauses=n, utterance=utterance)
            for i, c in enumerate(enc.clauses)
        ],
        np.float32,
    )
    utt = np.repeat(enc.utterance_vec[None], n, axis=0)
    return np.concatenate([enc.clause_vecs, utt, hand], axis=1).astype(np.float32)


def utterance_features(enc: EncodedTurn, utterance: str) -> np.ndarray:
    """``(2*d + 2*N_HAND,)``: utterance vector, mean clause vector, mean and max of the
    clauses' hand features."""
    d = enc.utterance_vec.shape[0]
    if not enc.clauses:
        return np.concatenate([enc.utterance_vec, np.zeros(d + 2 * N_HAND, np.float32)])
    n = len(enc.clauses)
    hand = np.array(
        [
            hand_features(c.text, position=i, n_clauses=n, utterance=utterance)
            for i, c in enumerate(enc.clauses)
        ],
        np.float32,
    )
    return np.concatenate(
        [enc.utterance_vec, enc.clause_vecs.mean(0), hand.mean(0), hand.max(0)]
    ).astype(np.float32)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_ARRAYS = ("w1", "b1", "w2", "b2", "u_w1", "u_b1", "u_w2", "u_b2", "rel_w", "rel_b")


@dataclass
class FastModel:
    """The trained part: an utterance MLP (does it reveal a persona fact), a clause MLP
    (which clauses carry it) and a linear relation classifier.

    >>> m = FastModel.random(dim=4, relations=["has_profession"])
    >>> m.clause_probs(np.zeros((2, 8 + N_HAND), np.float32)).shape
    (2,)
    """

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    u_w1: np.ndarray
    u_b1: np.ndarray
    u_w2: np.ndarray
    u_b2: np.ndarray
    rel_w: np.ndarray
    rel_b: np.ndarray
    relations: list[str]
    threshold: float = 0.5  # clause
    utt_threshold: float = 0.5
    rel_threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def random(
        cls, *, dim: int, relations: Sequence[str], hidden: int = 16, seed: int = 0
    ) -> FastModel:
        rng = np.random.default_rng(seed)
        f, u = 2 * dim + N_HAND, 2 * dim + 2 * N_HAND
        return cls(
            w1=rng.normal(0, 0.1, (f, hidden)).astype(np.float32),
            b1=np.zeros(hidden, np.float32),
            w2=rng.normal(0, 0.1, (hidden,)).astype(np.float32),
            b2=np.zeros((), np.float32),
            u_w1=rng.normal(0, 0.1, (u, hidden)).astype(np.float32),
            u_b1=np.zeros(hidden, np.float32),
            u_w2=rng.normal(0, 0.1, (hidden,)).astype(np.float32),
            u_b2=np.zeros((), np.float32),
            rel_w=rng.normal(0, 0.1, (dim, len(relations))).astype(np.float32),
            rel_b=np.zeros(len(relations), np.float32),
            relations=list(relations),
        )

    def clause_probs(self, feats: np.ndarray) -> np.ndarray:
        if len(feats) == 0:
            return np.zeros(0, np.float32)
        return _sigmoid(_relu(feats @ self.w1 + self.b1) @ self.w2 + self.b2)

    def utterance_prob(self, feats: np.ndarray) -> float:
        return float(_sigmoid(_relu(feats @ self.u_w1 + self.u_b1) @ self.u_w2 + self.u_b2))

    def relation_probs(self, clause_vecs: np.ndarray) -> np.ndarray:
        return _softmax(clause_vecs @ self.rel_w + self.rel_b)

    def save(self, path: str | Path) -> None:
        from consona.io import atomic_write

        arrays = {k: np.asarray(getattr(self, k)).astype(np.float16) for k in _ARRAYS}
        header = {
            "format": "consona-fast-extractor/1",
            "relations": self.relations,
            "threshold": self.threshold,
            "utt_threshold": self.utt_threshold,
            "rel_threshold": self.rel_threshold,
            "meta": self.meta,
        }
        arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
        with atomic_write(path, mode="wb") as fh:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> FastModel:
        path = Path(path)
        if not path.is_file():
            raise ModelError(
                f"No fast extractor model at {str(path)!r}",
                hint="run 'consona extract train --data-dir DIR -o OUT' or reinstall consona",
            )
        try:
            z = np.load(path, allow_pickle=False)
            header = json.loads(bytes(z["header"]).decode())
            arrs = {k: z[k].astype(np.float32) for k in _ARRAYS}
            return cls(
                **arrs,
                relations=list(header["relations"]),
                threshold=float(header["threshold"]),
                utt_threshold=float(header["utt_threshold"]),
                rel_threshold=float(header["rel_threshold"]),
                meta=dict(header.get("meta", {})),
            )
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise FormatError(
                f"not a fast extractor model ({exc})",
                path=path,
                hint="retrain with 'consona extract train'",
            ) from None


# Model data: the subject, auxiliary and verb words ``guess_object`` skips at the start of a
# statement to reach the triple's object (part of the shipped extractor's output).
OBJECT_SKIP_WORDS = frozenset(
    [
        "i",
        "my",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "we",
        "we're",
        "our",
        "me",
        "am",
        "is",
        "are",
        "was",
        "were",
        "have",
        "has",
        "had",
        "been",
        "do",
        "don't",
        "does",
        "doesn't",
        "did",
        "didn't",
        "never",
        "really",
        "just",
        "also",
        "still",
        "currently",
        "always",
        "usually",
        "actually",
        "like",
        "likes",
        "love",
        "loves",
        "enjoy",
        "enjoys",
        "hate",
        "hates",
        "dislike",
        "prefer",
        "adore",
        "own",
        "owns",
        "work",
        "works",
        "working",
        "worked",
        "as",
        "live",
        "lives",
        "living",
        "lived",
        "in",
        "at",
        "for",
        "to",
        "go",
        "going",
        "play",
        "playing",
        "watch",
        "watching",
        "eat",
        "eating",
        "drink",
        "drinking",
        "listen",
        "listening",
        "read",
        "reading",
        "collect",
        "collecting",
        "want",
        "wanted",
        "would",
        "got",
        "get",
        "a",
        "an",
        "the",
        "of",
        "on",
        "with",
        "from",
        "be",
        "being",
        "not",
        "favorite",
        "favourite",
        "name",
        "names",
        "called",
        "some",
        "lot",
        "lots",
        "so",
        "very",
        "too",
    ]
)


def guess_object(statement: str) -> str | None:
    """A best-effort object for the triple: the statement without its subject and verb.

    >>> guess_object("I work as a nurse.")
    'nurse'
    """
    words = statement.rstrip(".!").split()
    k = 0
    while k < len(words) and words[k].lower().strip(",") in OBJECT_SKIP_WORDS:
        k += 1
    obj = " ".join(words[k:]).strip(" ,").lower()
    return obj or None


class FastExtractor:
    """MiniLM utterance / clause classifiers + the statement editor or rewrite rules (see
    the module docstring).

    >>> from consona.extraction.fast import load_fast        # doctest: +SKIP
    >>> load_fast().extract(Turn(speaker="a", text="lol ok"))  # doctest: +SKIP
    []
    """

    name = "fast"

    def __init__(
        self,
        model: FastModel,
        *,
        encoder: ClauseEncoder | None = None,
        threshold: float | None = None,
        batch_size: int = 64,
        writer: Any = None,
        triples: Any = None,
    ) -> None:
        self.model = model
        self.encoder = encoder or ClauseEncoder(batch_size=batch_size)
        # with a statement editor (``writer``), persona-bearing utterances are written as
        # statements by it; without one, the chosen clauses are rewritten by rules
        self.writer = writer
        # with a triple tagger, each utterance's triple comes from it (see ``with_triples``)
        # instead of the relation head
        self.triples = triples
        if writer is not None and triples is not None and writer.state_layer != triples.state_layer:
            raise ModelError(
                f"The statement editor reads MiniLM layer {writer.state_layer} and the triple "
                f"tagger layer {triples.state_layer}: they must share the encoder pass",
                hint="retrain one of them with the other's number of layers",
            )
        self.threshold = model.threshold if threshold is None else threshold
        self.utt_threshold = model.utt_threshold
        # "add": a clause that mentions "my <family member / pet / thing>" also yields
        # "I have ..." (and only that when the clause is a passing "I am ...ing" activity);
        # "replace": only "I have ..." (ROUGE-L on MSC +0.004, but the clause is lost);
        # "off": clauses only.
        self.possession_mode = "add"
        # a yes or a no (a favourite, "I hate it.") to a question put to the speaker is a
        # fact too: "Ever been to Spain?" + "Yes!" → "I have been to spain." (``answered``)
        self.answers = True

    @classmethod
    def on_vectors(cls, model: FastModel) -> FastExtractor:
        """An extractor for ``facts_from`` on already-encoded utterances (no encoder)."""
        ex = cls.__new__(cls)
        ex.model, ex.encoder = model, None  # type: ignore[assignment]
        ex.threshold, ex.utt_threshold = model.threshold, model.utt_threshold
        ex.possession_mode = "add"
        ex.answers = False
        ex.writer = ex.triples = None
        return ex

    def extract(self, turn: Turn, *, context: Sequence[Turn] = ()) -> list[Fact]:
        return self.extract_batch([turn], contexts=[context])[0]

    def extract_batch(
        self, turns: Sequence[Turn], *, contexts: Sequence[Sequence[Turn]] | None = None
    ) -> list[list[Fact]]:
        texts = [t.text for t in turns]
        if self.writer is None and self.triples is None:
            encoded = self.encoder.encode(texts)
            facts = [self.facts_from(enc, text) for enc, text in zip(encoded, texts, strict=True)]
            return self.with_answers(turns, contexts, facts)
        layer = getattr(self.writer or self.triples, "state_layer", None)
        kw = {} if layer is None else {"state_layer": layer}
        encoded = self.encoder.encode(texts, keep_states=True, **kw)
        if self.writer is None:
            facts = [self.facts_from(enc, text) for enc, text in zip(encoded, texts, strict=True)]
        else:
            facts = self.facts_written(encoded, texts)
        facts = facts if self.triples is None else self.with_triples(encoded, facts)
        return self.with_answers(turns, contexts, facts)

    def with_answers(
        self,
        turns: Sequence[Turn],
        contexts: Sequence[Sequence[Turn]] | None,
        facts: list[list[Fact]],
    ) -> list[list[Fact]]:
        """``facts`` with each turn's answers to questions put to its speaker added
        (:func:`~consona.extraction.text.answered`; the turn before is its context)."""
        if not self.answers:
            return facts
        ctxs: Sequence[Sequence[Turn]] = contexts if contexts is not None else [()] * len(turns)
        out = []
        for turn, ctx, mine in zip(turns, ctxs, facts, strict=True):
            seen = {f.text.lower() for f in mine}
            extra = [t for t in answered(turn, ctx) if t.lower() not in seen]
            out.append(list(mine) + [Fact(text=t, subject="i") for t in extra])
        return out

    def with_triples(
        self, encoded: Sequence[EncodedTurn], facts: Sequence[list[Fact]]
    ) -> list[list[Fact]]:
        """The triple tagger's triple of each utterance on the fact that states it (the
        one sharing most words with the object), or, when the statements missed it, on a
        fact of its own (``triples.triple_statement``). Utterances where the tagger finds
        no triple keep their facts without one."""
        assert self.triples is not None
        from consona.extraction.triples import triple_statement

        out: list[list[Fact]] = []
        for pred, mine in zip(self.triples.predict(encoded), facts, strict=True):
            mine = list(mine)
            if pred is not None:
                update = {"subject": pred.subject, "relation": pred.relation, "object": pred.object}
                if mine:
                    k = max(range(len(mine)), key=lambda j: rouge_l(pred.object, mine[j].text))
                    mine[k] = mine[k].model_copy(update=update)
                else:
                    text = triple_statement(pred.subject, pred.relation, pred.object)
                    mine.append(Fact(text=text, confidence=pred.confidence, **update))
            out.append(mine)
        return out

    def facts_written(
        self, encoded: Sequence[EncodedTurn], texts: Sequence[str]
    ) -> list[list[Fact]]:
        """Facts by the statement editor (``writer``): the utterances the heads find
        persona-bearing (as in ``facts_from``) are edited into statements from their token
        vectors, one fact per statement that shares a content word with the utterance (no
        invented topics). A statement that is a broken piece (``is_fragment``) is dropped;
        when the editor wrote nothing else, the clauses' rule rewrites stand in."""
        assert self.writer is not None
        out: list[list[Fact]] = [[] for _ in texts]
        todo: list[tuple[int, float, list[tuple[int, float, str]]]] = []
        for i, (enc, text) in enumerate(zip(encoded, texts, strict=True)):
            p_utt, cands = self.candidates(enc, text)
            if p_utt >= self.utt_threshold and cands and enc.states is not None:
                todo.append((i, p_utt, cands))
        written = self.writer.statements([encoded[i] for i, _, _ in todo])
        m = self.model
        for (i, p_utt, cands), statements in zip(todo, written, strict=True):
            enc, words = encoded[i], content_words(texts[i], stop=EDITOR_STOP_WORDS)
            conf = round(min(1.0, (p_utt * max(max(c[1] for c in cands), 0.5)) ** 0.5), 4)
            rel_probs = (
                m.relation_probs(enc.clause_vecs) if m.relations and self.triples is None else None
            )
            seen: set[str] = set()
            whole = [t for t in statements if not is_fragment(t)]
            if statements and not whole:
                # the editor left only broken pieces ("Hard to."): the clauses' rule
                # rewrites say it instead
                whole = [st for _, _, st in cands if st and not is_fragment(st)]
            for text in whole:
                if text.lower() in seen or not words & content_words(text, stop=EDITOR_STOP_WORDS):
                    continue
                seen.add(text.lower())
                relation = obj = subject = None
                if rel_probs is not None:
                    k = max(
                        range(len(enc.clauses)), key=lambda j: rouge_l(text, enc.clauses[j].text)
                    )
                    r = int(rel_probs[k].argmax())
                    if rel_probs[k, r] >= m.rel_threshold:
                        relation, obj, subject = m.relations[r], guess_object(text), "i"
                out[i].append(
                    Fact(text=text, subject=subject, relation=relation, object=obj, confidence=conf)
                )
        return out

    def candidates(
        self, enc: EncodedTurn, utterance: str
    ) -> tuple[float, list[tuple[int, float, str]]]:
        """P(the utterance reveals a fact) and the rewritable clauses as
        ``(clause index, P(persona clause), statement)``."""
        if not enc.clauses:
            return 0.0, []
        m = self.model
        p_utt = m.utterance_prob(utterance_features(enc, utterance))
        probs = m.clause_probs(clause_features(enc, utterance))
        cands = []
        for k, (clause, p) in enumerate(zip(enc.clauses, probs, strict=True)):
            raw = clause.text
            if is_question(raw) or is_hypothetical(raw) or is_small_talk(raw) or about_other(raw):
                continue
            text = rewrite_clause(raw)
            if len(tokens(text)) >= 2:
                cands.append((k, float(p), text))
        return p_utt, cands

    def facts_from(self, enc: EncodedTurn, utterance: str) -> list[Fact]:
        """Facts from an encoded utterance: none unless the utterance head fires; then the
        clauses above the clause threshold (at least the best one), rewritten, with an
        "I have ..." statement for what a clause calls "my ..." (see ``possession_mode``)."""
        p_utt, cands = self.candidates(enc, utterance)
        if p_utt < self.utt_threshold or not cands:
            return []
        chosen = [c for c in cands if c[1] >= self.threshold] or [max(cands, key=lambda c: c[1])]
        m = self.model
        rel_probs = (
            m.relation_probs(enc.clause_vecs)
            if m.relations and getattr(self, "triples", None) is None
            else None
        )
        facts: list[Fact] = []
        seen: set[str] = set()
        for k, p, text in chosen:
            conf = round(min(1.0, (p_utt * max(p, 0.5)) ** 0.5), 4)
            # "my two dogs" -> "I have two dogs." (a separate fact, before the clause's own)
            own = possession_statement(text) if self.possession_mode != "off" else None
            if own is not None and own.lower() not in seen:
                seen.add(own.lower())
                facts.append(Fact(text=own, subject="i", confidence=conf))
            if own is not None and (
                self.possession_mode == "replace"
                or (self.possession_mode == "add" and _ACTIVITY.match(text))
            ):
                continue  # a passing activity ("I am relaxing with my dogs"): keep what lasts
            if text.lower() in seen:
                continue
            seen.add(text.lower())
            relation = obj = subject = None
            if rel_probs is not None:
                r = int(rel_probs[k].argmax())
                if rel_probs[k, r] >= m.rel_threshold:
                    relation, obj, subject = m.relations[r], guess_object(text), "i"
            facts.append(
                Fact(text=text, subject=subject, relation=relation, object=obj, confidence=conf)
            )
        return facts


def load_statement_model(writer: str | Path | None = "auto") -> StatementEditor | None:
    """What writes the statements: "auto" = the shipped statement editor (None when it is
    not there), "off"/None = the rewrite rules (returns None), or an editor folder
    (``editor.json`` + ``editor.safetensors``, from ``consona extract train-editor``)."""
    if writer in (None, "off"):
        return None
    if writer == "auto":
        return load_editor()
    return load_editor(Path(writer))


def load_triple_model(triples: str | Path | None = "auto") -> Any:
    """What finds the triples: "auto" = the shipped triple tagger (None when it is not
    there: the relation head then guesses), "off"/None = the relation head, or a tagger
    folder (``triples.json`` + ``triples.safetensors``, from ``consona extract
    train-triples``)."""
    from consona.extraction.triples import load_triple_tagger

    if triples in (None, "off"):
        return None
    if triples == "auto":
        return load_triple_tagger()
    return load_triple_tagger(Path(triples))


def load_fast(
    path: str | Path | None = None,
    *,
    encoder: ClauseEncoder | None = None,
    writer: str | Path | None = "auto",
    triples: str | Path | None = "auto",
    threshold: float | None = None,
) -> FastExtractor:
    """The fast extractor with the shipped model (or the model at ``path``), the shipped
    statement editor (``writer``: see ``load_statement_model``) and the shipped triple
    tagger (``triples``: see ``load_triple_model``); ``threshold``: the clause threshold
    (default: the model's own)."""
    return FastExtractor(
        FastModel.load(path or default_model_path()),
        encoder=encoder,
        writer=load_statement_model(writer),
        triples=load_triple_model(triples),
        threshold=threshold,
    )


def create_fast(*, backend: Any = None, nli: Any = None, settings: Any = None) -> FastExtractor:
    """Registry factory; ``settings.extra['fast_extractor_model']`` overrides the model path,
    ``settings.extra['fast_extractor_writer']`` the statement model ("off" for the rewrite
    rules; see ``load_statement_model``), ``settings.extra['fast_extractor_triples']`` the
    triple tagger ("off" for the relation head; see ``load_triple_model``). Without
    ``settings``, the config file's."""
    options = fast_options(settings)
    return load_fast(options.pop("path"), **options)


def fast_options(settings: Any = None) -> dict[str, Any]:
    """The fast extractor's model ``path``, ``writer`` and ``triples`` from
    ``settings.extra`` (``fast_extractor_model`` / ``_writer`` / ``_triples``; without
    ``settings``, the config file's), as :func:`load_fast` takes them.

    >>> from consona.config import Settings
    >>> fast_options(Settings.load(env={"CONSONA_HOME": "/nonexistent"}))
    {'path': None, 'writer': 'auto', 'triples': 'auto'}
    """
    if settings is None:
        from consona.config import Settings

        settings = Settings.load()
    extra = getattr(settings, "extra", None) or {}
    return {
        "path": extra.get("fast_extractor_model"),
        "writer": extra.get("fast_extractor_writer", "auto"),
        "triples": extra.get("fast_extractor_triples", "auto"),
    }
