"""The assistant register: does a reply *sound* like an AI assistant or a counsellor
rather than a person chatting?

The lexical check (:func:`consona.evaluation.voice.out_of_character`) catches what an
assistant says about itself ("As an AI model, …", "How can I assist you today?"). It
misses the register that gives a small chat model away without naming itself: "How about
exploring other opportunities that might be more suitable for your interests?", "It's
important to remember that disability is just one aspect of who you are". Reading the
real-turn benchmark found such lines in 6 of 50 replies that the lexical check passed.

:class:`RegisterModel` is a logistic regression over sentence embeddings of the default
embedder (all-MiniLM-L6-v2): positives are the sentences of replies the chat model writes
to real user turns *as an assistant* (no persona), negatives the sentences of the human
turns of the same dialogues' part. Its threshold is set on held-out human sentences for a
fixed false-positive rate, so a sentence is flagged only when it is far into the
assistant's side. :class:`RegisterScorer` splits a reply into sentences and returns those
over the threshold (:meth:`RegisterScorer.evidence`); the agent's ``register`` re-rank
term uses it, and the real-turn benchmark reports it beside the lexical check.

The shipped model (``consona/data/register/``, about 20 KB) is retrained with
``consona models train-register`` (see its model card).

>>> import numpy as np
>>> m = RegisterModel(weights=np.array([1.0, 0.0]), bias=0.0, mean=np.zeros(2),
...                   scale=np.ones(2), threshold=0.5)
>>> m.probabilities(np.array([[3.0, 0.0], [-3.0, 1.0]])).round(2).tolist()
[0.95, 0.05]
"""

from __future__ import annotations

import json
import logging
import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import ModelError
from consona.text import split_sentences

__all__ = [
    "REGISTER_DIR",
    "RegisterModel",
    "RegisterScorer",
    "choose_threshold",
    "default_register",
    "fit_logistic",
    "reply_sentences",
    "scorer_for",
]

log = logging.getLogger(__name__)

REGISTER_DIR = Path(__file__).resolve().parent.parent / "data" / "register"
MODEL_FILE = "register.json"
FORMAT = "consona-register/1"
MIN_WORDS = 3  # shorter sentences ("Hi!", "Sure.") carry no register
MAX_SENTENCES = 16  # a reply's sentences judged at most (bounded time)
# embedded by the training embedder and stored with the model: another embedder of the
# same size gives another vector, and the model refuses it (RegisterModel.fits)
PROBE_TEXT = "I am fine, thanks for asking. How was your day?"
PROBE_MIN_COSINE = 0.99
_DECIMALS = 6  # the precision of the stored weights


def reply_sentences(reply: str) -> list[str]:
    """The sentences of ``reply`` worth judging: ``MIN_WORDS`` words or more, at most
    ``MAX_SENTENCES``.

    >>> reply_sentences("Hi! Remember, you're not alone. Ok.")
    ["Remember, you're not alone."]
    """
    out = [s for s in split_sentences(reply, lines=True) if len(s.split()) >= MIN_WORDS]
    return out[:MAX_SENTENCES]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


@dataclass(frozen=True, eq=False)
class RegisterModel:
    """Logistic regression on standardised embeddings: ``p = σ(w·(x − mean)/scale + b)``.

    ``threshold``: the probability at or over which a sentence is in the assistant
    register. ``embedder``: the name of the embedder the weights belong to; ``probe``:
    its embedding of ``PROBE_TEXT``, which :meth:`fits` compares with the embedder in use.
    ``metrics``: what training measured (kept in the file)."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float
    embedder: str = "sentence-transformers/all-MiniLM-L6-v2"
    metrics: dict[str, Any] = field(default_factory=dict)
    probe: np.ndarray | None = None

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def fits(self, embedder: Any) -> bool:
        """Whether ``embedder`` is the one the weights belong to: the right size and, when
        the model stores its probe, the same embedding of ``PROBE_TEXT``."""
        v = np.asarray(embedder.encode([PROBE_TEXT]), dtype=np.float64)
        if v.ndim != 2 or v.shape != (1, self.dim):
            return False
        if self.probe is None:
            return True
        denom = float(np.linalg.norm(v[0]) * np.linalg.norm(self.probe)) or 1.0
        return float(v[0] @ self.probe) / denom >= PROBE_MIN_COSINE

    def rounded(self) -> RegisterModel:
        """The model as its file stores it (weights to ``_DECIMALS`` decimals): training
        calibrates this one, so the saved threshold belongs to the saved weights."""

        def r(a: np.ndarray) -> np.ndarray:
            return np.round(np.asarray(a, dtype=np.float64), _DECIMALS)

        return RegisterModel(
            weights=r(self.weights),
            bias=round(float(self.bias), _DECIMALS),
            mean=r(self.mean),
            scale=np.maximum(r(self.scale), 10.0**-_DECIMALS),  # a tiny scale must not round to 0
            threshold=self.threshold,
            embedder=self.embedder,
            metrics=self.metrics,
            probe=None if self.probe is None else r(self.probe),
        )

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        x = np.asarray(embeddings, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ModelError(
                f"The register model expects {self.dim}-dimensional embeddings, got shape "
                f"{x.shape}",
                hint=f"use the embedder it was trained with ({self.embedder}), or retrain it: "
                "consona models train-register",
            )
        return _sigmoid(((x - self.mean) / self.scale) @ self.weights + self.bias)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "embedder": self.embedder,
            "threshold": self.threshold,
            "bias": round(float(self.bias), _DECIMALS),
            "weights": [round(float(v), _DECIMALS) for v in self.weights],
            "mean": [round(float(v), _DECIMALS) for v in self.mean],
            "scale": [round(float(v), _DECIMALS) for v in self.scale],
            "probe": None
            if self.probe is None
            else [round(float(v), _DECIMALS) for v in self.probe],
            "metrics": self.metrics,
        }

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / MODEL_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path | None = None) -> RegisterModel:
        """From a directory holding ``register.json`` or the file itself (default: the
        shipped model)."""
        p = Path(path) if path is not None else REGISTER_DIR
        if p.is_dir():
            p = p / MODEL_FILE
        hint = "retrain it: consona models train-register --help"
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"No register model at {str(p)!r}", hint=hint) from None
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"Cannot read the register model {str(p)!r}: {exc}", hint=hint
            ) from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ModelError(f"{str(p)!r} is not a {FORMAT} file", hint=hint)
        try:
            w = np.asarray(raw["weights"], dtype=np.float64)
            mean = np.asarray(raw["mean"], dtype=np.float64)
            scale = np.asarray(raw["scale"], dtype=np.float64)
            model = cls(
                weights=w,
                bias=float(raw["bias"]),
                mean=mean,
                scale=scale,
                threshold=float(raw["threshold"]),
                embedder=str(raw.get("embedder", "")),
                metrics=dict(raw.get("metrics") or {}),
                probe=None
                if raw.get("probe") is None
                else np.asarray(raw["probe"], dtype=np.float64),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"The register model {str(p)!r} is incomplete: {exc}", hint=hint
            ) from exc
        shapes = w.ndim == 1 and w.shape == mean.shape == scale.shape
        if not shapes or (model.probe is not None and model.probe.shape != w.shape):
            raise ModelError(f"The register model {str(p)!r} has inconsistent shapes", hint=hint)
        arrays = [w, mean, scale] + ([model.probe] if model.probe is not None else [])
        finite = all(np.isfinite(a).all() for a in arrays) and math.isfinite(model.bias)
        if not finite or not (scale > 0).all() or not 0.0 <= model.threshold <= 1.0 + 1e-6:
            raise ModelError(
                f"The register model {str(p)!r} has values out of range (non-finite weights, "
                "a scale ≤ 0 or a threshold outside [0, 1])",
                hint=hint,
            )
        return model


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, iterations: int = 30
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Class-balanced, L2-regularised logistic regression by Newton's method on
    standardised features. Returns (weights, bias, mean, scale).

    >>> rng = np.random.default_rng(0)
    >>> x = np.r_[rng.normal(1, 1, (50, 3)), rng.normal(-1, 1, (200, 3))]
    >>> y = np.r_[np.ones(50), np.zeros(200)]
    >>> w, b, mean, scale = fit_logistic(x, y)
    >>> bool((w > 0).all())
    True
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(y) or not ((y == 0) | (y == 1)).all():
        raise ValueError("fit_logistic needs a 2-D x and 0/1 labels of the same length")
    if y.min() == y.max():
        raise ValueError("fit_logistic needs both classes")
    if not l2 > 0:
        raise ValueError(f"fit_logistic needs an L2 penalty > 0, got {l2}")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-8] = 1.0
    z = np.c_[(x - mean) / scale, np.ones(len(x))]
    pos = y.sum()
    # each class weighs half of the total
    sample_w = np.where(y == 1, len(y) / (2 * pos), len(y) / (2 * (len(y) - pos)))
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0  # the bias is not shrunk
    beta = np.zeros(z.shape[1])
    for _ in range(iterations):
        p = _sigmoid(z @ beta)
        grad = z.T @ (sample_w * (p - y)) + reg * beta
        hess = (z * (sample_w * p * (1 - p))[:, None]).T @ z + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if not np.isfinite(beta).all():
            raise ValueError("fit_logistic diverged (non-finite weights): raise the L2 penalty")
        if np.abs(step).max() < 1e-6:
            break
    return beta[:-1], float(beta[-1]), mean, scale


def choose_threshold(
    negative_scores: Sequence[float] | np.ndarray, max_false_positive: float
) -> float:
    """The lowest probability that flags at most ``max_false_positive`` of the negatives
    (a sentence is flagged at or over it).

    >>> choose_threshold([0.1, 0.2, 0.3, 0.9], 0.25)
    0.3000001
    >>> choose_threshold([0.1, 0.2, 0.3, 0.9], 0.0)
    0.9000001
    """
    s = np.sort(np.asarray(negative_scores, dtype=np.float64))[::-1]
    if not len(s):
        raise ValueError("choose_threshold needs negative scores")
    allowed = math.floor(max_false_positive * len(s) + 1e-9)
    # flag fewer than allowed+1 negatives: just over the (allowed+1)-th highest score
    return round(float(s[min(allowed, len(s) - 1)]) + 1e-7, 7)


class RegisterScorer:
    """A reply's sentences in the assistant register, by a :class:`RegisterModel` over an
    embedder (anything with ``encode(list[str]) -> array``).

    >>> import numpy as np
    >>> class Emb:
    ...     def encode(self, texts, **kw):
    ...         return np.array([[1.0 if "remember" in t.lower() else -1.0] for t in texts])
    >>> m = RegisterModel(weights=np.array([4.0]), bias=0.0, mean=np.zeros(1),
    ...                   scale=np.ones(1), threshold=0.9)
    >>> RegisterScorer(m, Emb()).evidence("I fish a lot. Remember, you're not alone.")
    ["Remember, you're not alone."]
    """

    def __init__(self, model: RegisterModel, embedder: Any, *, threshold: float | None = None):
        self.model = model
        self.embedder = embedder
        self.threshold = float(threshold if threshold is not None else model.threshold)

    def scores(self, reply: str) -> list[tuple[str, float]]:
        """(sentence, probability of the assistant register) for each judged sentence."""
        sents = reply_sentences(reply)
        if not sents:
            return []
        emb = np.asarray(self.embedder.encode(sents))
        return list(zip(sents, self.model.probabilities(emb).tolist(), strict=True))

    def evidence(self, reply: str) -> list[str]:
        """The sentences at or over the threshold (most assistant-like first)."""
        hits = [(p, s) for s, p in self.scores(reply) if p >= self.threshold]
        return [s for _, s in sorted(hits, key=lambda h: -h[0])]

    def __call__(self, reply: str) -> bool:
        return bool(self.evidence(reply))


_shipped: list[RegisterModel] = []
# whether the shipped model fits an embedder, decided once per embedder object; the value
# holds no reference to the embedder, so the entry goes when the embedder does
_fits: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _shipped_model() -> RegisterModel:
    with _lock:
        if not _shipped:
            _shipped.append(RegisterModel.load())
        return _shipped[0]


def _cached_fit(embedder: Any) -> bool | None:
    try:
        with _lock:
            return _fits.get(embedder)
    except TypeError:  # not hashable or not weak-referenceable: decided each time
        return None


def scorer_for(embedder: Any) -> RegisterScorer | None:
    """The shipped model over ``embedder``, or None when there is no embedder, the model
    cannot be read, or it does not fit the embedder (another size or another model,
    :meth:`RegisterModel.fits`; logged once per embedder). Never raises."""
    if embedder is None:
        return None
    try:
        model = _shipped_model()
    except Exception as exc:  # a missing or broken file: the check is left out
        log.warning("register check off: %s", exc)
        return None
    fits = _cached_fit(embedder)
    if fits is None:
        try:
            fits = model.fits(embedder)
            if not fits:
                log.warning(
                    "register check off: the embedder in use is not the one the register "
                    "model was trained with (%s)",
                    model.embedder,
                )
        except Exception as exc:  # the embedder fails on the probe sentence
            log.warning("register check off: the embedder failed: %s", exc)
            fits = False
        try:
            with _lock:
                _fits[embedder] = fits
        except TypeError:
            pass
    return RegisterScorer(model, embedder) if fits else None


def default_register() -> RegisterScorer:
    """The shipped model over the default embedder (both loaded once per process).
    Raises ModelError when either is missing or they do not fit each other."""
    from consona.models.embedder import load_embedder

    embedder = load_embedder()
    scorer = scorer_for(embedder)
    if scorer is None:
        model = _shipped_model()  # raises ModelError when the file is the problem
        raise ModelError(
            f"The register model does not fit the embedder in use (it was trained with "
            f"{model.embedder})",
            hint="unset CONSONA_EMBEDDER, or retrain it: consona models train-register",
        )
    return scorer


# ---------------------------------------------------------------- training

ASSISTANT_SYSTEMS = (
    "You are a helpful assistant.",
    None,  # the chat model's own default
    "You are a friendly chatbot. Reply to the user.",
    "You are an AI assistant. Answer the user's message.",
)


@dataclass
class RegisterData:
    """Texts for :func:`fit_register`, by part of the persona-disjoint split.

    ``negatives`` / ``held_negatives``: human turns of the dev part's fit / calibration
    dialogues; ``test_negatives``: human turns of the test part (never used to fit or
    calibrate); ``turns``: (dialogue id, user turn) of the dev part, for generation;
    ``fit`` / ``held``: dialogue ids of the fit / calibration dialogues."""

    negatives: list[str] = field(default_factory=list)
    held_negatives: list[str] = field(default_factory=list)
    test_negatives: list[str] = field(default_factory=list)
    turns: list[tuple[str, str]] = field(default_factory=list)
    fit: set[str] = field(default_factory=set)
    held: set[str] = field(default_factory=set)


def register_data(
    paths: Sequence[str | Path],
    *,
    seed: int = 0,
    test_fraction: float = 0.5,
    held_fraction: float = 0.25,
    turns: int = 3,
) -> RegisterData:
    """Read dialogue files and split them the way the real-turn benchmark does
    (:func:`consona.evaluation.real_turns.split_of`): the test part is left to the
    benchmark (its human turns only measure false positives); the dev part is split again
    by persona into fit and calibration dialogues."""
    from consona.evaluation.real_turns import case_of, split_of
    from consona.formats import read_dialogues

    out = RegisterData()
    for path in paths:
        for d in read_dialogues(path):
            case = case_of(d, source=Path(path).name, turns=turns)
            if case is None:
                continue
            texts = [t.text for t in d.turns if t.text.strip()]
            if split_of(case.facts, seed=seed, test_fraction=test_fraction) == "test":
                out.test_negatives += texts
                continue
            did = f"{Path(path).name}:{case.id}"
            if split_of(case.facts, seed=seed + 1, test_fraction=held_fraction) == "test":
                out.held.add(did)
                out.held_negatives += texts
            else:
                out.fit.add(did)
                out.negatives += texts
            out.turns += [(did, user) for user, _ in case.exchanges]
    return out


def generate_positives(
    backend: Any,
    turns: Sequence[tuple[str, str]],
    out: str | Path,
    *,
    count: int,
    seed: int = 7,
    max_tokens: int = 80,
    progress: Any = None,
) -> int:
    """Write ``count`` replies of ``backend`` *as an assistant* (no persona; the system
    prompts of ``ASSISTANT_SYSTEMS`` in turn) to user turns drawn from ``turns``,
    appending one JSON line per reply to ``out`` as it goes (a stopped run keeps what it
    wrote; turns already in the file are skipped). Returns how many it wrote."""
    import random

    path = Path(out)
    done: set[tuple[str, str]] = set()
    if path.exists():
        _drop_torn_last_line(path)
        for row in _read_positives(path):
            done.add((row.get("dialogue", ""), row.get("user", "")))
    order = list(turns)
    random.Random(seed).shuffle(order)
    wrote = 0
    with path.open("a", encoding="utf-8") as f:
        for i, (did, user) in enumerate(order):
            if wrote >= count:
                break
            if (did, user) in done:
                continue
            system = ASSISTANT_SYSTEMS[i % len(ASSISTANT_SYSTEMS)]
            messages = [{"role": "system", "content": system}] if system else []
            messages.append({"role": "user", "content": user})
            g = backend.generate(messages, max_tokens=max_tokens, temperature=0.8, seed=seed + i)
            row = {"dialogue": did, "user": user, "system": system, "reply": g.text}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            wrote += 1
            if progress is not None:
                progress(wrote)
    return wrote


def _drop_torn_last_line(path: Path) -> None:
    """Cut a last line that a stopped run left unfinished (no newline, not JSON)."""
    data = path.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    try:
        json.loads(data[cut:])
    except ValueError:
        with path.open("r+b") as f:
            f.truncate(cut)
        return
    with path.open("ab") as f:  # a whole last line without its newline
        f.write(b"\n")


def _read_positives(path: Path) -> list[dict[str, Any]]:
    rows = []
    if not path.is_file():
        raise ModelError(
            f"No positives file at {str(path)!r}",
            hint="pass --generate N to write assistant replies into it first",
        )
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise ModelError(
                    f"{str(path)!r} line {n} is not JSON",
                    hint='each line: {"dialogue": ..., "user": ..., "reply": ...}',
                ) from None
            if not isinstance(row, dict) or not isinstance(row.get("reply"), str):
                raise ModelError(
                    f'{str(path)!r} line {n} has no "reply" text',
                    hint='each line: {"dialogue": ..., "user": ..., "reply": ...}',
                )
            rows.append(row)
    return rows


def _sentences(texts: Sequence[str]) -> list[str]:
    return [s for t in texts for s in reply_sentences(t)]


def fit_register(
    data: RegisterData,
    positives: str | Path,
    embedder: Any,
    *,
    max_false_positive: float = 0.002,
    l2: float = 10.0,
    embedder_name: str = "sentence-transformers/all-MiniLM-L6-v2",
    max_negatives: int = 40_000,
    seed: int = 0,
) -> RegisterModel:
    """Fit the register model: assistant replies in ``positives`` (JSONL from
    :func:`generate_positives`) against the human turns of ``data``; the threshold flags
    at most ``max_false_positive`` of the calibration dialogues' human sentences. The
    metrics (held-out recall, false positives on the test part's human turns) go into
    ``model.metrics``."""
    rows = _read_positives(Path(positives))
    # only replies to dev-part turns: a file written under another split (seed, fraction,
    # files) may hold replies to the benchmark's test part, which must not be fitted on
    fit_pos = [r["reply"] for r in rows if r.get("dialogue") in data.fit]
    held_pos = [r["reply"] for r in rows if r.get("dialogue") in data.held]
    outside = len(rows) - len(fit_pos) - len(held_pos)
    rng = np.random.default_rng(seed)
    neg = _sentences(data.negatives)
    if len(neg) > max_negatives:
        neg = [neg[i] for i in sorted(rng.choice(len(neg), max_negatives, replace=False))]
    pos = _sentences(fit_pos)
    held_neg = _sentences(data.held_negatives)
    if not pos or not neg or not held_neg:
        raise ModelError(
            "Not enough data to fit the register model "
            f"({len(pos)} assistant sentences from {len(fit_pos)} replies to fit dialogues, "
            f"{len(neg)} human sentences to fit, {len(held_neg)} to calibrate; {outside} "
            "replies are to dialogues outside the dev part)",
            hint="pass dialogue files with personas and --generate N assistant replies",
        )
    probe = np.asarray(embedder.encode([PROBE_TEXT]), dtype=np.float64)[0]
    dim = int(probe.shape[-1])

    def enc(texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, dim))
        return np.asarray(embedder.encode(list(texts)))

    x = np.r_[enc(pos), enc(neg)]
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    w, b, mean, scale = fit_logistic(x, y, l2=l2)
    # calibrated as stored: the saved threshold belongs to the saved (rounded) weights
    model = RegisterModel(
        weights=w, bias=b, mean=mean, scale=scale, threshold=1.0, probe=probe
    ).rounded()
    threshold = choose_threshold(model.probabilities(enc(held_neg)), max_false_positive)

    def flagged(texts: Sequence[str]) -> int:
        """How many of ``texts`` have a sentence at or over the threshold (one batch)."""
        index = [(i, s) for i, t in enumerate(texts) for s in reply_sentences(t)]
        if not index:
            return 0
        probs = model.probabilities(enc([s for _, s in index]))
        return len({i for (i, _), p in zip(index, probs, strict=True) if p >= threshold})

    test_flagged = flagged(data.test_negatives)
    held_pos_sents = _sentences(held_pos)
    held_pos_probs = model.probabilities(enc(held_pos_sents))
    metrics = {
        "fit": {"assistant_sentences": len(pos), "human_sentences": len(neg)},
        "calibration": {
            "human_sentences": len(held_neg),
            "max_false_positive": max_false_positive,
        },
        "held_out": {
            "assistant_replies": len(held_pos),
            "assistant_replies_flagged": flagged(held_pos),
            "assistant_sentences_flagged": int((held_pos_probs >= threshold).sum()),
            "assistant_sentences": len(held_pos_sents),
        },
        "test_part_human_turns": len(data.test_negatives),
        "test_part_human_turns_flagged": test_flagged,
        "positives_outside_dev_part": outside,
        "l2": l2,
    }
    return RegisterModel(
        weights=model.weights,
        bias=model.bias,
        mean=model.mean,
        scale=model.scale,
        threshold=threshold,
        embedder=embedder_name,
        metrics=metrics,
        probe=model.probe,
    )
