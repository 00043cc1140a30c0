"""Source readers of the persona-NLI recipe: every corpus in the shared data folder turned
into (premise, hypothesis, label) rows, plus the labels, the text key and the persona-sentence
split that the recipe (:mod:`consona.nli.data`) uses.

>>> split_of("i have two dogs.") in ("train", "dev", "test")
True
>>> norm_label("E"), norm_label("2")
('entailment', 'contradiction')
"""

from __future__ import annotations

import csv
import gzip
import json
import random
import re
import sys
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consona.nli.dnli import dnli_pairs, read_triples_file

Row = dict[str, str]
LABEL_SET = ("entailment", "neutral", "contradiction")
_LABEL_ALIASES = {
    "entailment": "entailment", "e": "entailment", "0": "entailment", "positive": "entailment",
    "neutral": "neutral", "n": "neutral", "1": "neutral",
    "contradiction": "contradiction", "c": "contradiction", "2": "contradiction",
    "negative": "contradiction", "self-contradiction": "contradiction",
}  # fmt: skip


def norm_label(value: Any) -> str | None:
    return _LABEL_ALIASES.get(str(value).strip().lower())


def norm_text(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def split_of(sentence: str, *, dev: int = 10, test: int = 10) -> str:
    """Deterministic split of a persona sentence by crc32 of its normalised text."""
    bucket = zlib.crc32(norm_text(sentence).encode()) % 100
    return "test" if bucket < test else "dev" if bucket < test + dev else "train"


@dataclass(frozen=True)
class Source:
    name: str
    licence: str
    allowed: bool  # may train a model that consona redistributes
    persona: bool  # persona source (split by persona sentence) vs general NLI (train/dev)
    reader: Callable[[Path, random.Random], Iterable[Row]]
    paths: tuple[str, ...]  # relative paths that must exist (any one)
    note: str = ""


# ------------------------------------------------------------------ readers


def _tsv(path: Path, *, delimiter: str = "\t") -> Iterator[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE)


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        head = fh.read(1)
        fh.seek(0)
        if head == "[":  # Dialogue NLI ships JSON lists with a .jsonl name
            yield from json.load(fh)
            return
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _rows(pairs: Iterable[tuple[Any, Any, Any]]) -> Iterator[Row]:
    for p, h, lab in pairs:
        label = norm_label(lab)
        if label and isinstance(p, str) and isinstance(h, str) and p.strip() and h.strip():
            yield {"premise": p.strip(), "hypothesis": h.strip(), "label": label}


def read_dnli_triples(root: Path, rng: random.Random) -> Iterator[Row]:
    items = read_triples_file(root / "convai2-dnli-triples/valid_both_original_dialogueNLI.txt")
    yield from dnli_pairs(
        items,
        split_of=split_of,
        per_label={"entailment": 2, "neutral": 2, "contradiction": 5},
        seed=rng.randrange(1 << 30),
    )


def read_dnli_release(root: Path, rng: random.Random) -> Iterator[Row]:
    for name in ("train", "dev", "test", "verified_test", "extra_test"):
        for cand in (root / "dialogue_nli" / f"dialogue_nli_{name}.jsonl",
                     root / "dialogue_nli" / f"dialogue_nli_{name}.json"):  # fmt: skip
            if cand.is_file():
                for r in _jsonl(cand):
                    yield from _rows([(r.get("sentence1"), r.get("sentence2"), r.get("label"))])


def read_personachat_entailed(root: Path, rng: random.Random) -> Iterator[Row]:
    """[persona, utterance] pairs → entailment; the utterance against another dialogue's
    random persona sentence → neutral (one per pair)."""
    for name in ("train_entailed_pairs.json", "valid_entailed_pairs.json"):
        path = root / "personachat" / name
        if not path.is_file():
            continue
        pairs = [(p, u) for p, u in json.loads(path.read_text()) if p and u]
        personas = sorted({p for p, _ in pairs})
        linked = defaultdict(set)
        for p, u in pairs:
            linked[u].add(p)
        for p, u in pairs:
            yield {"premise": p, "hypothesis": u, "label": "entailment"}
            other = personas[rng.randrange(len(personas))]
            if other not in linked[u] and not (
                set(norm_text(other).split()) & msc_content_words(u)
            ):
                yield {"premise": other, "hypothesis": u, "label": "neutral"}


# the words read_msc ignores when it looks for shared content (data of the recipe: changing
# it changes the training file)
MSC_STOP_WORDS = frozenset(
    {"i", "a", "an", "the", "my", "me", "to", "and", "of", "in", "is", "am", "do", "it",
            "you", "have", "like", "are", "for", "on", "with", "that", "so", "but", "not"}
)  # fmt: skip


def msc_content_words(text: str) -> set[str]:
    return {w for w in norm_text(text).split() if w not in MSC_STOP_WORDS and len(w) > 2}


def read_msc(root: Path, rng: random.Random) -> Iterator[Row]:
    """MSC persona summaries: persona_text (premise) ⟶ the utterance that revealed it is
    entailment; an utterance that reveals nothing against another episode's persona_text
    → neutral."""
    facts: list[str] = []
    plain: list[str] = []
    for path in sorted((root / "msc" / "msc_personasummary").glob("session_*/*.txt")):
        for ep in _jsonl(path):
            for turn in ep.get("dialog", []):
                text = (turn.get("text") or "").strip()
                fact = (turn.get("persona_text") or "").strip()
                if not text:
                    continue
                if fact:
                    for sent in re.split(r"(?<=[.!?])\s+", fact):
                        if sent.strip():
                            facts.append(sent.strip())
                            yield {
                                "premise": sent.strip(),
                                "hypothesis": text,
                                "label": "entailment",
                            }
                else:
                    plain.append(text)
    if facts:
        for text in plain:
            fact = facts[rng.randrange(len(facts))]
            if not (msc_content_words(fact) & msc_content_words(text)):
                yield {"premise": fact, "hypothesis": text, "label": "neutral"}


def read_dialogue_train(root: Path, rng: random.Random) -> Iterator[Row]:
    """The train split of the dialogue contradiction benchmark (real utterances, split by
    dialogue; see :mod:`consona.nli.dialogue`), all to train."""
    from consona.nli.dialogue import build_dialogue_pairs

    for r in build_dialogue_pairs(root)["train"]:
        yield {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": r["label"],
               "split": "train"}  # fmt: skip


def read_near_misses(root: Path, rng: random.Random) -> Iterator[Row]:
    """Pairs that look like contradictions and are not (:mod:`consona.nli.nearmiss`):
    generated neutrals with their contrasting contradictions, and the dialogue benchmark's
    train-split rule contradictions the text does not support, relabelled neutral."""
    from consona.formats.dnli import DNLI_FILE
    from consona.nli.dialogue import build_dialogue_pairs
    from consona.nli.nearmiss import generate_near_misses

    for r in generate_near_misses(rng):
        yield {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": r["label"],
               "split": "train"}  # fmt: skip
    if not (root / DNLI_FILE).is_file():
        return  # the generated half only
    for r in build_dialogue_pairs(root, near_misses=True)["train"]:
        if r["kind"] == "near-miss":
            yield {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": "neutral",
                   "split": "train"}  # fmt: skip


def read_personaext(root: Path, rng: random.Random) -> Iterator[Row]:
    """PersonaExt (licence not stated): utterance triples → DNLI-style pairs among themselves."""
    from consona.nli.dnli import Annotated, Triple

    items = []
    for rec in _jsonl(root / "personaext" / "personaext_dev.jsonl"):
        for t in rec.get("triplets", []):
            toks = t.get("tokens") or []
            head = " ".join(toks[i] for i in t.get("head", []) if i < len(toks))
            tail = " ".join(toks[i] for i in t.get("tail", []) if i < len(toks))
            if toks and t.get("label"):
                triple = Triple(head.lower(), str(t["label"]).lower(), tail.lower())
                items.append(Annotated(" ".join(toks), [triple], True))
    yield from dnli_pairs(items, split_of=split_of, per_item=1, seed=rng.randrange(1 << 30))


def tsv_reader(rel: str, p: str, h: str, lab: str, *, delimiter: str = "\t") -> Any:
    def read(root: Path, rng: random.Random) -> Iterator[Row]:
        for path in sorted(root.glob(rel)):
            yield from _rows(
                (r.get(p), r.get(h), r.get(lab)) for r in _tsv(path, delimiter=delimiter)
            )

    return read


def jsonl_reader(rel: str, p: str, h: str, lab: str) -> Any:
    def read(root: Path, rng: random.Random) -> Iterator[Row]:
        for path in sorted(root.glob(rel)):
            yield from _rows((r.get(p), r.get(h), r.get(lab)) for r in _jsonl(path))

    return read


def read_gu_clasp(root: Path, rng: random.Random) -> Iterator[Row]:
    for path in sorted((root / "nli/gu-clasp-dnli2024").glob("train_3_data.csv")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                cells = line.rstrip("\n").split("\t")
                if len(cells) >= 3:
                    ctx = re.sub(r"<[A-Z]>\s*", "", cells[0]).strip()
                    yield from _rows([(ctx, cells[1], cells[2])])


def read_nan_nli(root: Path, rng: random.Random) -> Iterator[Row]:
    path = root / "nli/cannot-negation/nan_nli.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        yield from _rows((r.get("premise"), r.get("hypothesis"), r.get("label"))
                         for r in csv.DictReader(fh))  # fmt: skip


def read_anli(root: Path, rng: random.Random) -> Iterator[Row]:
    for path in sorted((root / "nli/anli-devtest").glob("R*/dev.jsonl")):
        yield from _rows(
            (r.get("context"), r.get("hypothesis"), r.get("label")) for r in _jsonl(path)
        )


def read_decode(root: Path, rng: random.Random) -> Iterator[Row]:
    path = root / "nli/decode-pairs-prosecco/contradiction_df.tsv"
    for r in _tsv(path):
        yield from _rows([(r.get("seg1"), r.get("seg2"), r.get("label"))])
