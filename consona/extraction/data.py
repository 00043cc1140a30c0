"""Readers for extraction data: MSC persona summaries, PersonaChat entailed pairs, ConvAI2
utterances with Dialogue NLI triples, PersonaExt. Each yields ``LabeledUtterance``s.

>>> u = LabeledUtterance(text="i have two dogs", persona_text="I have two dogs.", group="g1")
>>> u.positive
True
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from consona.errors import FormatError

__all__ = [
    "LabeledUtterance",
    "detect_kind",
    "held_out",
    "read_dnli_triples",
    "read_entailed_pairs",
    "read_labeled",
    "read_msc_summary",
    "read_personaext",
]


@dataclass
class LabeledUtterance:
    """An utterance with its gold persona statement (None: reveals nothing) and triples."""

    text: str
    persona_text: str | None = None
    triples: list[tuple[str, str, str]] = field(default_factory=list)
    group: str = ""  # episode key, for train/test splits
    source: str = ""
    context: list[str] = field(default_factory=list)

    @property
    def positive(self) -> bool:
        return bool(self.persona_text and self.persona_text.strip()) or bool(self.triples)


def held_out(group: str, *, test_fraction: float = 0.2) -> bool:
    """Stable episode-level split: True when ``group`` falls in the held-out part."""
    h = int(hashlib.sha1(group.encode()).hexdigest()[:8], 16)
    return (h % 1000) < test_fraction * 1000


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if line.strip():
                    yield n, line
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason})", path=path) from None


def read_msc_summary(path: str | Path) -> Iterator[LabeledUtterance]:
    """MSC ``msc_personasummary`` files: one JSON episode per line with ``dialog`` turns that
    carry ``persona_text`` when the utterance reveals a persona fact."""
    path = Path(path)
    for n, line in _lines(path):
        try:
            ep = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FormatError(f"invalid JSON ({exc.msg})", path=path, line=n) from None
        if not isinstance(ep, dict) or not isinstance(ep.get("dialog"), list):
            raise FormatError(
                "expected an MSC episode object with a 'dialog' list",
                path=path,
                line=n,
                hint="pass an msc_personasummary file or a PersonaExt .jsonl",
            )
        turns = ep["dialog"]
        group = str(ep.get("initial_data_id") or (turns[0].get("convai2_id") if turns else n))
        history: list[str] = []
        for t in turns:
            if not isinstance(t, dict) or not isinstance(t.get("text"), str):
                continue
            pt = t.get("persona_text")
            yield LabeledUtterance(
                text=t["text"],
                persona_text=pt if isinstance(pt, str) and pt.strip() else None,
                group=f"msc:{group}",
                source="msc",
                context=history[-2:],
            )
            history.append(t["text"])


def read_entailed_pairs(path: str | Path) -> Iterator[LabeledUtterance]:
    """PersonaChat entailed pairs: a JSON list of [persona sentence, utterance]."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"invalid JSON ({exc})", path=path) from None
    for pair in data:
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair):
            yield LabeledUtterance(
                text=pair[1], persona_text=pair[0], group=f"pc:{pair[0]}", source="pc"
            )


def read_dnli_triples(path: str | Path) -> Iterator[LabeledUtterance]:
    """ConvAI2 dialogues annotated with Dialogue NLI triples (tab-separated lines
    ``N<TAB>utterance<TAB>['s', 'rel', 'obj']...``). Persona lines are skipped."""
    path = Path(path)
    episode, last_numbered = 0, True
    for _, line in _lines(path):
        parts = line.rstrip("\n").split("\t")
        head, rest = parts[0], parts[1:]
        if head.strip().isdigit():
            if not rest:
                continue
            text, raw, persona, last_numbered = rest[0], rest[1:], False, True
        elif "persona:" in head:
            if last_numbered:
                episode += 1
            text, raw, persona, last_numbered = (
                head.split("persona:", 1)[1].strip(),
                rest,
                True,
                False,
            )
        else:
            continue
        triples = []
        for p in raw:
            try:
                t = ast.literal_eval(p)
            except (ValueError, SyntaxError):
                continue
            if isinstance(t, list) and len(t) == 3:
                triples.append((str(t[0]), str(t[1]), str(t[2])))
        yield LabeledUtterance(
            text=text,
            persona_text=text if persona else None,
            triples=triples,
            group=f"dnli:{episode}",
            source="dnli-persona" if persona else "dnli",
        )


def read_personaext(path: str | Path) -> Iterator[LabeledUtterance]:
    """PersonaExt lines: ``{"triplets": [{"tokens": [...], "head": [i], "tail": [j, k],
    "label": rel}, ...]}``; every triplet of a line shares the utterance."""
    path = Path(path)
    for n, line in _lines(path):
        try:
            obj = json.loads(line)
            trips = obj["triplets"]
            toks = trips[0]["tokens"]
        except (json.JSONDecodeError, KeyError, IndexError, TypeError):
            raise FormatError(
                "expected a PersonaExt object with 'triplets'", path=path, line=n
            ) from None
        triples = []
        for t in trips:
            try:
                head = " ".join(t["tokens"][i] for i in t["head"])
                tail = " ".join(t["tokens"][i] for i in t["tail"])
                triples.append((head, str(t["label"]), tail))
            except (KeyError, IndexError, TypeError):
                continue
        yield LabeledUtterance(
            text=" ".join(toks), triples=triples, group=f"pext:{n}", source="personaext"
        )


def detect_kind(path: str | Path) -> str:
    """'msc', 'personaext', 'pairs' or 'dnli' from a file's first line."""
    path = Path(path)
    for _, line in _lines(path):
        s = line.lstrip()
        if s.startswith("[") or s.startswith("[["):
            return "pairs"
        if s.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                break
            if isinstance(obj, dict) and "dialog" in obj:
                return "msc"
            if isinstance(obj, dict) and "triplets" in obj:
                return "personaext"
            break
        if s[:1].isdigit() or "persona:" in s.split("\t")[0]:
            return "dnli"
        break
    raise FormatError(
        "cannot tell the extraction data format (MSC persona summary, PersonaExt, "
        "PersonaChat entailed pairs or ConvAI2 DNLI triples)",
        path=path,
        hint="pass an msc_personasummary valid.txt or a personaext .jsonl",
    )


def read_labeled(path: str | Path) -> Iterator[LabeledUtterance]:
    """Any of the supported files (or every such file under a folder)."""
    path = Path(path)
    if not path.exists():
        raise FormatError("no such file or folder", path=path)
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and p.suffix in {".txt", ".jsonl", ".json"}
        )
        for f in files:
            try:
                kind = detect_kind(f)
            except FormatError:
                continue
            yield from _READERS[kind](f)
        return
    yield from _READERS[detect_kind(path)](path)


_READERS = {
    "msc": read_msc_summary,
    "personaext": read_personaext,
    "pairs": read_entailed_pairs,
    "dnli": read_dnli_triples,
}
