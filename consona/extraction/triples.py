"""The triple tagger of the ``fast`` extractor: an utterance → one persona triple
``(subject, relation, object)`` in the Dialogue-NLI schema, or none.

It reads the same MiniLM pass as the statement editor (the hidden states at
``state_layer``), runs its own fine-tuned copy of MiniLM's last layers over them, and has
five small heads:

* **detect** ([CLS] + mean of the tokens): does the utterance carry a persona triple?
* **relation**: one of :data:`consona.extraction.relations.DNLI_RELATIONS`;
* **subject**: "i" or one of the frequent others ("my father", "my parents", …);
* **object source**: "a span of the utterance" or one of the frequent normalised objects
  that utterances seldom spell out ("employed", "children", "pet", "volunteer");
* **span** (per word, O / B / I): the object's words when the source is the span.

Span objects are normalised as the annotations write them: number words as digits
("two dogs" → "2 dogs") and plurals made singular where training showed the annotators do
so ("dogs" → "dog", never "video games"); see :func:`normalize_object`.

An extractor folder (``triples.safetensors`` + ``triples.json``) holds the layers int8 per
row and the heads; the package ships one in ``consona/data/extraction/triples/`` (see the
extraction model card), and ``consona extract train-triples`` retrains it.

>>> tagger = load_triple_tagger()                                  # doctest: +SKIP
>>> enc = ClauseEncoder().encode(["i just walked my two dogs ."], keep_states=True,
...                              state_layer=tagger.state_layer)   # doctest: +SKIP
>>> tagger.predict(enc)[0]                                         # doctest: +SKIP
TriplePrediction(subject='i', relation='have_pet', object='2 dog', confidence=0.97, ...)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from consona.errors import ModelError, require
from consona.extraction.editor import (
    _batch,
    _first_tokens,
    layer_weight_int8,
    new_editor_net,
    run_layers,
)

__all__ = [
    "NUMBER_WORDS",
    "TriplePrediction",
    "TripleTagger",
    "best_span",
    "default_triples_path",
    "load_triple_tagger",
    "new_triple_net",
    "normalize_object",
    "object_words",
    "save_triple_tagger",
    "triple_statement",
]

PART_FILE = "triples.safetensors"
CONFIG_FILE = "triples.json"
TRAIN_COMMAND = "consona extract train-triples"
MAX_SPAN = 8
SPAN = 0  # object-source class: a span of the utterance
O_TAG, B_TAG, I_TAG = 0, 1, 2
NUMBER_WORDS: Mapping[str, str] = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def default_triples_path() -> Path:
    """The shipped triple tagger: ``consona/data/extraction/triples/``."""
    return Path(str(resources.files("consona") / "data" / "extraction" / "triples"))


def object_words(text: str) -> list[str]:
    """Lower-cased words of an object or utterance, number words as digits.

    >>> object_words("Two Dogs, and a cat")
    ['2', 'dogs', 'and', 'a', 'cat']
    """
    return [NUMBER_WORDS.get(w, w) for w in _WORD.findall(text.lower().replace("’", "'"))]


def normalize_object(words: Sequence[str], singular: Mapping[str, str]) -> str:
    """An object as the annotations write it: :func:`object_words`, leading articles and
    possessives dropped, each word in ``singular`` made singular.

    >>> normalize_object(["my", "two", "dogs"], {"dogs": "dog"})
    '2 dog'
    """
    out = object_words(" ".join(words))
    while out and out[0] in {"a", "an", "the", "my", "some", "any"}:
        out = out[1:]
    return " ".join(singular.get(w, w) for w in out)


def best_span(
    tags: np.ndarray, *, max_len: int = MAX_SPAN, valid: np.ndarray | None = None
) -> tuple[int, int, float]:
    """The span ``[a, b)`` of words that best explains per-word O / B / I log-probabilities
    ``tags`` (``(W, 3)``) against "no span": B at ``a``, I after it, O elsewhere; with its
    score (the log-odds over all-O). ``valid`` (``(W,)`` bool) limits the words a span may
    use.

    >>> lp = np.log(np.array([[.9, .05, .05], [.1, .8, .1], [.1, .1, .8], [.9, .05, .05]]))
    >>> best_span(lp)[:2]
    (1, 3)
    """
    w = len(tags)
    if not w:
        return 0, 0, -math.inf
    gain_b = tags[:, B_TAG] - tags[:, O_TAG]
    gain_i = tags[:, I_TAG] - tags[:, O_TAG]
    ok = np.ones(w, bool) if valid is None else valid
    best = (0, 0, -math.inf)
    for a in range(w):
        if not ok[a]:
            continue
        score = float(gain_b[a])
        if score > best[2]:
            best = (a, a + 1, score)
        for b in range(a + 1, min(w, a + max_len)):
            if not ok[b]:
                break
            score += float(gain_i[b])
            if score > best[2]:
                best = (a, b + 1, score)
    return best


_NET: Any = None


def _net_class() -> Any:
    """``TripleNet`` (defined on first use so that importing consona needs no torch)."""
    global _NET
    if _NET is not None:
        return _NET
    torch = require("torch", extra="ml", purpose="the triple tagger")

    class TripleNet(torch.nn.Module):  # type: ignore[name-defined]
        """Top MiniLM layers + utterance heads (detect, relation, subject, object source)
        on [CLS] and the token mean, and an O / B / I head on each word's first sub-token."""

        def __init__(
            self, layers: Any, hidden: int, relations: int, subjects: int, objects: int
        ) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(layers)
            self.detect = torch.nn.Linear(2 * hidden, 1)
            self.relation = torch.nn.Linear(2 * hidden, relations)
            self.subject = torch.nn.Linear(2 * hidden, subjects)
            self.source = torch.nn.Linear(2 * hidden, objects + 1)
            self.tag = torch.nn.Linear(hidden, 3)

        def forward(self, states: Any, mask: Any, first: Any) -> dict[str, Any]:
            """``states`` (B, T, d) at the layer below ``layers``, ``mask`` (B, T) bool,
            ``first`` (B, W) the first sub-token of each word. Returns the logits."""
            h = run_layers(self.layers, states, mask)
            m = mask[..., None].to(h.dtype)
            pooled = torch.cat([h[:, 0], (h * m).sum(1) / m.sum(1).clamp(min=1)], dim=-1)
            words = torch.gather(h, 1, first[..., None].expand(-1, -1, h.shape[-1]))
            return {
                "detect": self.detect(pooled).squeeze(-1),
                "relation": self.relation(pooled),
                "subject": self.subject(pooled),
                "source": self.source(pooled),
                "tag": self.tag(words),
            }

    _NET = TripleNet
    return _NET


def new_triple_net(
    base_dir: str | Path, *, layers: int, relations: int, subjects: int, objects: int, init: bool
) -> Any:
    """A ``TripleNet`` over the last ``layers`` layers of the BERT model at ``base_dir``
    (its weights when ``init``, else fresh ones to load into)."""
    blocks = new_editor_net(base_dir, layers=layers, phrases=1, init=init).layers
    hidden = int(blocks[0].output.dense.out_features)
    return _net_class()(list(blocks), hidden, relations, subjects, objects)


@dataclass(frozen=True)
class TriplePrediction:
    """The triple of one utterance, ``confidence`` = P(it carries one) × P(relation)."""

    subject: str
    relation: str
    object: str
    confidence: float
    detect: float
    span: tuple[int, int] | None = None
    """The object's words (character offsets in the utterance) when it is a span."""


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


class TripleTagger:
    """Persona triples of encoded utterances (``EncodedTurn`` with ``states`` at
    ``state_layer``, ``offsets`` and ``text``: ``ClauseEncoder.encode(...,
    keep_states=True, state_layer=tagger.state_layer)``)."""

    def __init__(
        self,
        net: Any,
        *,
        relations: Sequence[str],
        subjects: Sequence[str],
        objects: Sequence[str],
        singular: Mapping[str, str],
        state_layer: int,
        threshold: float = 0.5,
        batch_size: int = 64,
    ) -> None:
        self.net = net.eval()
        self.relations = list(relations)
        self.subjects = list(subjects)
        self.objects = list(objects)
        self.singular = dict(singular)
        self.state_layer = state_layer
        self.threshold = threshold
        self.batch_size = batch_size
        self._torch = require("torch", extra="ml", purpose="the triple tagger")

    def logits(self, turns: Sequence[Any]) -> list[dict[str, np.ndarray]]:
        """Per turn: the heads' logits (``tag`` cut to the turn's words) and its words."""
        torch = self._torch
        out: list[Any] = [None] * len(turns)
        order = sorted(range(len(turns)), key=lambda i: len(turns[i].states))  # less padding
        for b in range(0, len(order), self.batch_size):
            idx = order[b : b + self.batch_size]
            chunk = [turns[i] for i in idx]
            tagged = [_first_tokens(x) for x in chunk]
            h, m, f, _ = _batch(chunk, [fi for _, fi in tagged])
            with torch.inference_mode():
                res = {k: v.float().numpy() for k, v in self.net(h, m, f).items()}
            for r, (words, _) in enumerate(tagged):
                one = {k: v[r] for k, v in res.items()}
                one["tag"] = one["tag"][: len(words)]
                one["words"] = np.array(words, dtype=object)
                out[idx[r]] = one
        return out

    def predict(self, turns: Sequence[Any], *, all_: bool = False) -> list[TriplePrediction | None]:
        """The triple of each turn, or None where the detect head says the turn has none
        (``all_``: the best triple of every turn, whatever the detect head says). Words of
        question, hypothetical, small-talk and second-person clauses never give the
        object, and a turn made only of such clauses has no triple (as for the
        statements: ``editor.clause_marks``)."""
        from consona.extraction.editor import clause_marks, word_spans

        valids = []
        for turn in turns:
            n_words = len(_first_tokens(turn)[0])
            _, skip = clause_marks(turn.text, n_words)
            valids.append(np.array([j not in skip for j in range(n_words)], bool))
        # turns made only of questions, small talk, ... are not run through the network
        todo = [i for i, v in enumerate(valids) if v.any()]
        found: dict[int, dict[str, np.ndarray]] = dict(
            zip(todo, self.logits([turns[i] for i in todo]), strict=True)
        )
        preds: list[TriplePrediction | None] = []
        for i, turn in enumerate(turns):
            lg, valid = found.get(i), valids[i]
            if lg is None:
                preds.append(None)
                continue
            p_det = float(1 / (1 + math.exp(-float(lg["detect"]))))
            words = list(lg["words"])
            if p_det < self.threshold and not all_:
                preds.append(None)
                continue
            rel_lp = _log_softmax(lg["relation"])
            r = int(rel_lp.argmax())
            subject = self.subjects[int(lg["subject"].argmax())]
            src = int(lg["source"].argmax())
            span: tuple[int, int] | None = None
            if src != SPAN:
                obj = self.objects[src - 1]
            else:
                a, e, _ = best_span(_log_softmax(lg["tag"]), valid=valid)
                obj = normalize_object(words[a:e], self.singular)
                spans = word_spans(turn.text)
                if e <= len(spans):
                    span = (spans[a][1], spans[e - 1][2])
            if not obj:
                preds.append(None)
                continue
            preds.append(
                TriplePrediction(
                    subject=subject,
                    relation=self.relations[r],
                    object=obj,
                    confidence=round(p_det * float(math.exp(rel_lp[r])), 4),
                    detect=round(p_det, 4),
                    span=span,
                )
            )
        return preds


def _parse(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "layers": int(c["layers"]),
        "state_layer": int(c["state_layer"]),
        "threshold": float(c["threshold"]),
        "relations": [str(x) for x in c["relations"]],
        "subjects": [str(x) for x in c["subjects"]],
        "objects": [str(x) for x in c["objects"]],
        "singular": {str(k): str(v) for k, v in c["singular"].items()},
    }


def load_triple_tagger(
    path: str | Path | None = None, *, base_dir: str | Path | None = None, quantize: bool = True
) -> TripleTagger | None:
    """The shipped triple tagger (or the one at ``path``); None when no tagger is there
    and no ``path`` was asked for. With ``quantize`` its Linear layers run int8 (dynamic
    quantization, as the clause encoder)."""
    from consona.extraction.encoder import minilm_path, quantize_linear
    from consona.extraction.relations import check_relation
    from consona.models.packing import load_packed, read_part_config

    part = Path(path) if path else default_triples_path()
    c = read_part_config(
        part,
        part_file=PART_FILE,
        config_file=CONFIG_FILE,
        what="triple tagger",
        command=TRAIN_COMMAND,
        required=bool(path),
        parse=_parse,
    )
    if c is None:
        return None
    for rel in c["relations"]:
        check_relation(rel)
    net = new_triple_net(
        base_dir or minilm_path(),
        layers=c["layers"],
        relations=len(c["relations"]),
        subjects=len(c["subjects"]),
        objects=len(c["objects"]),
        init=False,
    )
    load_packed(
        net,
        part / PART_FILE,
        what=f"The triple tagger in {part}",
        hint=f"retrain it with '{TRAIN_COMMAND}'",
    )
    if quantize:
        net = quantize_linear(net) or net
    return TripleTagger(
        net,
        relations=c["relations"],
        subjects=c["subjects"],
        objects=c["objects"],
        singular=c["singular"],
        state_layer=c["state_layer"],
        threshold=c["threshold"],
    )


def save_triple_tagger(net: Any, out: str | Path, *, config: dict[str, Any]) -> Path:
    """Write a tagger folder: the layers int8 per row, the heads fp16, ``config`` as JSON."""
    from consona.models.packing import save_part

    if not isinstance(net, _net_class()):
        raise ModelError("save_triple_tagger needs a TripleNet")
    return save_part(
        dict(net.named_parameters()),
        out,
        part_file=PART_FILE,
        config_file=CONFIG_FILE,
        config=config,
        int8=layer_weight_int8,
    )


# How a triple reads as a first-person statement (``{o}`` = the object); relations not
# listed read "I <relation words> <object>".
_TEMPLATES: Mapping[str, str] = {
    "attend_school": "I attend {o}.",
    "dislike": "I dislike {o}.",
    "employed_by_company": "I work for {o}.",
    "employed_by_general": "I work at {o}.",
    "favorite": "My favorite is {o}.",
    "gender": "I am {o}.",
    "has_ability": "I can {o}.",
    "has_age": "I am {o} years old.",
    "has_degree": "I have a degree in {o}.",
    "has_hobby": "My hobby is {o}.",
    "has_profession": "I am a {o}.",
    "job_status": "I am {o}.",
    "live_in_citystatecountry": "I live in {o}.",
    "live_in_general": "I live in {o}.",
    "marital_status": "I am {o}.",
    "member_of": "I am a member of {o}.",
    "misc_attribute": "I am {o}.",
    "not_have": "I do not have {o}.",
    "own": "I own {o}.",
    "physical_attribute": "I am {o}.",
    "place_origin": "I am from {o}.",
    "previous_profession": "I used to be a {o}.",
    "school_status": "I am {o}.",
    "teach": "I teach {o}.",
    "want": "I want {o}.",
    "want_do": "I want to {o}.",
    "want_job": "I want to be a {o}.",
}


def triple_statement(subject: str, relation: str, obj: str) -> str:
    """A triple as a readable statement (for an utterance whose triple the tagger found
    but whose statement the editor did not write).

    >>> triple_statement("i", "have_pet", "2 dog")
    'I have 2 dog.'
    >>> triple_statement("my father", "has_profession", "doctor")
    'My father: has profession doctor.'
    """
    if subject not in ("i", ""):
        return f"{subject[:1].upper()}{subject[1:]}: {relation.replace('_', ' ')} {obj}."
    if relation in _TEMPLATES:
        return _TEMPLATES[relation].format(o=obj)
    if relation.startswith("favorite_"):
        return f"My favorite {relation[len('favorite_') :].replace('_', ' ')} is {obj}."
    if relation.startswith(("like_", "have")):
        return f"I {relation.split('_')[0]} {obj}."
    return f"I {relation.replace('_', ' ')} {obj}."
