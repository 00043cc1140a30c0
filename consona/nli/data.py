"""The persona-NLI training data recipe (``consona nli build-data``): deterministic.

Every source has a licence entry. Only sources whose licence allows redistribution for
any use (CC BY, CC BY-SA, MIT, Apache, PersonaChat/ConvAI2) are used by default;
``allow_unlicensed=True`` adds NC / unstated sets for users training their own model.
Sources missing from the data directory are skipped and reported; big files that are not
staged here (Dialogue NLI's pair files, full SNLI/MNLI train) are used when present.

Splits: persona sentences are hashed (crc32) into train 80% / dev 10% / test 10%; a pair
goes to its persona premise's split, and persona–persona pairs need both in the same
split, so dev/test share no persona sentence with train. General NLI sets go to train
(5% hashed to dev for calibration); the test split is persona-only. Pairs are
deduplicated on normalised (premise, hypothesis); a pair seen in dev/test never stays
in train.

>>> rows = build_dataset("no/such/dir")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import random
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consona.nli.phenomena import (
    chatify,
    negate,
    read_antonym_pairs,
    read_chat_phenomena,
    read_hypernym_pairs,
    read_msc_negations,
    read_negation_forms,
    read_negation_neutral,
    read_persona_negations,
    varied_negations,
)
from consona.nli.sources import (
    LABEL_SET,
    Row,
    Source,
    jsonl_reader,
    norm_label,
    norm_text,
    read_anli,
    read_decode,
    read_dialogue_train,
    read_dnli_release,
    read_dnli_triples,
    read_gu_clasp,
    read_msc,
    read_nan_nli,
    read_near_misses,
    read_personachat_entailed,
    read_personaext,
    split_of,
    tsv_reader,
)

__all__ = [
    "GENERATED", "LABEL_SET", "PERSONA_CAPS", "SOURCES", "BuildReport", "Source",
    "build_dataset", "chatify", "finetune_mixture", "negate", "norm_label", "norm_text", "split_of",
    "varied_negations", "write_dataset",
]  # fmt: skip

PHEN_LICENCE = (
    "CC BY 4.0 (derived: rule-generated from PersonaChat/ConvAI2 train persona sentences)"
)
PHEN_PATHS = ("personachat/train_entailed_pairs.json",
              "convai2-dnli-triples/valid_both_original_dialogueNLI.txt")  # fmt: skip
SOURCES: list[Source] = [
    Source("dnli-triples", "CC BY 4.0 (ConvAI2) + DNLI annotations", True, True,
           read_dnli_triples, ("convai2-dnli-triples/valid_both_original_dialogueNLI.txt",)),
    Source("persona-negation", "CC BY 4.0 (ConvAI2 persona sentences, rule-negated)", True, True,
           read_persona_negations, ("convai2-dnli-triples/valid_both_original_dialogueNLI.txt",)),
    Source("dialogue-nli", "CC BY 4.0 (Dialogue NLI release, when present)", True, True,
           read_dnli_release, ("dialogue_nli",)),
    Source("personachat-entailed", "CC BY 4.0 (PersonaChat)", True, True,
           read_personachat_entailed, ("personachat/train_entailed_pairs.json",),
           note="entailments predicted by a RoBERTa DNLI model, not gold"),
    Source("msc-persona", "ParlAI release (MSC, built on PersonaChat)", True, True,
           read_msc, ("msc/msc_personasummary",)),
    Source("msc-negation", "ParlAI release (MSC persona summaries, rule-negated)", True, True,
           read_msc_negations, ("msc/msc_personasummary",)),
    Source("persona-negation-forms", PHEN_LICENCE, True, True, read_negation_forms, PHEN_PATHS),
    Source("persona-hypernym", PHEN_LICENCE, True, True, read_hypernym_pairs, PHEN_PATHS),
    Source("persona-antonym", PHEN_LICENCE, True, True, read_antonym_pairs, PHEN_PATHS),
    Source("persona-negation-neutral", PHEN_LICENCE, True, True, read_negation_neutral,
           PHEN_PATHS),
    Source("dialogue-train", "CC BY 4.0 (ConvAI2) + DNLI annotations", True, True,
           read_dialogue_train, ("convai2-dnli-triples/valid_both_original_dialogueNLI.txt",)),
    Source("chat-phenomena", PHEN_LICENCE, True, True, read_chat_phenomena, PHEN_PATHS),
    Source("near-misses", "generated; + CC BY 4.0 (ConvAI2) + DNLI annotations", True, True,
           read_near_misses, PHEN_PATHS),
    Source("snli-1pct", "CC BY-SA 4.0", True, False,
           jsonl_reader("nli/snli-train-1pct/*.jsonl", "sentence1", "sentence2", "gold_label"),
           ("nli/snli-train-1pct",)),
    Source("snli-full", "CC BY-SA 4.0 (when present)", True, False,
           jsonl_reader("nli/snli_1.0/snli_1.0_train.jsonl", "sentence1", "sentence2",
                         "gold_label"), ("nli/snli_1.0",)),
    Source("mnli-full", "OANC / CC BY-SA 3.0 (MultiNLI, when present)", True, False,
           jsonl_reader("nli/multinli_1.0/multinli_1.0_train.jsonl", "sentence1", "sentence2",
                         "gold_label"), ("nli/multinli_1.0",)),
    Source("snli-dev", "CC BY-SA 4.0 (SNLI dev; SNLI test stays for evaluation)", True, False,
           tsv_reader("nli/snli-becel/validation.tsv", "premise", "hypothesis", "label"),
           ("nli/snli-becel/validation.tsv",)),
    Source("snli-cad", "Apache-2.0", True, False,
           tsv_reader("nli/snli-cad-kaushik/all_combined/train.tsv", "sentence1", "sentence2",
                       "gold_label"), ("nli/snli-cad-kaushik",)),
    Source("conjnli", "MIT", True, False,
           tsv_reader("nli/conjnli/adversarial_train_15k.tsv", "Premise", "Hypothesis", "Label"),
           ("nli/conjnli",)),
    Source("breaking-nli", "CC BY-SA 4.0", True, False,
           jsonl_reader("nli/breaking-nli/dataset.jsonl", "sentence1", "sentence2",
                         "gold_label"), ("nli/breaking-nli",)),
    Source("negation-nli", "MIT", True, False,
           tsv_reader("nli/negation-nli-hossain/*.txt", "Text", "Hypothesis", "gold_label"),
           ("nli/negation-nli-hossain",)),
    Source("gu-clasp-dnli", "MIT", True, False, read_gu_clasp, ("nli/gu-clasp-dnli2024",)),
    Source("cannot-glue-diag", "CC BY-SA 4.0", True, False,
           tsv_reader("nli/cannot-negation/glue_diagnostic_full.tsv", "Premise", "Hypothesis",
                       "Label"), ("nli/cannot-negation/glue_diagnostic_full.tsv",)),
    Source("cannot-nan-nli", "CC BY-SA 4.0", True, False, read_nan_nli,
           ("nli/cannot-negation/nan_nli.csv",)),
    # not redistributable: only with allow_unlicensed
    Source("personaext", "none stated", False, True, read_personaext, ("personaext",)),
    Source("decode-prosecco", "unstated", False, False, read_decode,
           ("nli/decode-pairs-prosecco",)),
    Source("taxinli-mnli", "C-UDA", False, False,
           tsv_reader("nli/taxinli-mnli/taxinli10k.tsv", "prem", "hyp", "label"),
           ("nli/taxinli-mnli",)),
    Source("anli-dev", "CC BY-NC 4.0 (evaluation set)", False, False, read_anli,
           ("nli/anli-devtest",), note="never used even with allow_unlicensed: eval set"),
]  # fmt: skip
EVAL_ONLY = {"anli-dev"}
# predicted (not gold) entailments stay out of dev/test; big persona sources are sampled
PERSONA_CAPS: dict[str, dict[str, int]] = {
    "personachat-entailed": {"train": 24_000, "dev": 0, "test": 0},
    "msc-persona": {"train": 14_000, "dev": 600, "test": 800},
    "msc-negation": {"train": 6_000, "dev": 300, "test": 400},
    # generated phenomena: train persona sentences only, each capped so none drowns the rest
    "persona-negation-forms": {"train": 5_000, "dev": 0, "test": 0},
    "persona-hypernym": {"train": 2_500, "dev": 0, "test": 0},
    "persona-antonym": {"train": 4_000, "dev": 0, "test": 0},
    "persona-negation-neutral": {"train": 5_000, "dev": 0, "test": 0},
    "dialogue-train": {"train": 30_000, "dev": 0, "test": 0},
    "chat-phenomena": {"train": 12_000, "dev": 0, "test": 0},
    "near-misses": {"train": 8_000, "dev": 0, "test": 0},
}
# rule-generated sources: a row whose premise or hypothesis equals a dev/test persona-side
# sentence (e.g. the generated "i'm married" vs a test fact "i'm married.") is dropped
GENERATED = {"persona-negation-forms", "persona-hypernym", "persona-antonym",
             "persona-negation-neutral", "chat-phenomena", "near-misses"}  # fmt: skip


@dataclass
class BuildReport:
    counts: dict[str, dict[str, dict[str, int]]]  # source -> split -> label -> n
    used: list[str]
    skipped: dict[str, str]  # source -> why
    licences: dict[str, str]

    def totals(self) -> dict[str, dict[str, int]]:
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for per_split in self.counts.values():
            for split, labels in per_split.items():
                out[split].update(labels)
        return {s: dict(c) for s, c in out.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "used": self.used,
            "skipped": self.skipped,
            "licences": self.licences,
            "counts": self.counts,
            "totals": self.totals(),
        }


def build_dataset(
    data_dir: str | Path,
    *,
    allow_unlicensed: bool = False,
    seed: int = 13,
    general_cap: int | None = 12_000,
    general_dev_percent: int = 5,
    only: Iterable[str] | None = None,
    caps: dict[str, dict[str, int]] | None = None,
    heldout: bool = True,
) -> tuple[dict[str, list[Row]], BuildReport]:
    """Run the recipe; return {split: rows} (shuffled deterministically) and a report.

    ``general_cap``: at most this many pairs per general-NLI source (a deterministic
    sample), so persona data is not drowned out. ``only``: restrict to these sources.
    ``caps``: {source: {split: max pairs}} (default ``PERSONA_CAPS``). ``heldout``: drop
    from train every row that uses a text of the dialogue benchmark's dev/test dialogues
    or of the hand-read dev pairs (:func:`consona.nli.dialogue.heldout_texts`), so the
    judge can be measured on them.
    """
    from consona.nli.dialogue import heldout_texts

    barred = heldout_texts(data_dir) if heldout else set()
    caps = PERSONA_CAPS if caps is None else caps
    root = Path(data_dir)
    wanted = set(only) if only is not None else None
    splits: dict[str, list[Row]] = {"train": [], "dev": [], "test": []}
    seen: dict[tuple[str, str], str] = {}
    report = BuildReport(counts={}, used=[], skipped={}, licences={})
    # persona sources first so their dev/test pairs claim duplicates before train does
    ordered = sorted(SOURCES, key=lambda s: not s.persona)
    held_persona: set[str] = set()  # dev/test persona-source texts (before GENERATED run)
    for src in ordered:
        if src.name in GENERATED:
            held_persona |= {
                norm_text(r[side])
                for split in ("dev", "test")
                for r in splits[split]
                for side in ("premise", "hypothesis")
            }
        if wanted is not None and src.name not in wanted:
            continue
        if src.name in EVAL_ONLY:
            report.skipped[src.name] = "evaluation-only set"
            continue
        if not src.allowed and not allow_unlicensed:
            report.skipped[src.name] = f"licence {src.licence!r} (use --allow-unlicensed)"
            continue
        if not any((root / p).exists() for p in src.paths):
            report.skipped[src.name] = "not in the data directory"
            continue
        rng = random.Random(f"{seed}:{src.name}")
        rows = list(src.reader(root, rng))
        if not src.persona and general_cap is not None and len(rows) > general_cap:
            rows = rng.sample(rows, general_cap)
        by_split: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            if row.get("split"):
                split = row["split"]
            elif src.persona:
                split = split_of(row.get("split_key") or row["premise"])
            else:
                bucket = zlib.crc32(norm_text(row["premise"]).encode()) % 100
                split = "dev" if bucket < general_dev_percent else "train"
            by_split[split].append(row)
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for split in ("dev", "test", "train"):  # dev/test claim duplicates first
            part = by_split.get(split, [])
            cap = caps.get(src.name, {}).get(split)
            if cap is not None and len(part) > cap:
                part = rng.sample(part, cap)
            for row in part:
                key = (norm_text(row["premise"]), norm_text(row["hypothesis"]))
                if not key[0] or not key[1] or key in seen:
                    continue
                if src.name in GENERATED and (key[0] in held_persona or key[1] in held_persona):
                    continue
                if split == "train" and (key[0] in barred or key[1] in barred):
                    continue
                seen[key] = split
                splits[split].append(
                    {
                        "premise": row["premise"],
                        "hypothesis": row["hypothesis"],
                        "label": row["label"],
                        "source": src.name,
                    }
                )
                counts[split][row["label"]] += 1
        report.used.append(src.name)
        report.licences[src.name] = src.licence
        report.counts[src.name] = {s: dict(c) for s, c in sorted(counts.items())}
    for name, rows in splits.items():
        random.Random(f"{seed}:shuffle:{name}").shuffle(rows)
    return splits, report


def finetune_mixture(
    data_dir: str | Path,
    recipe_dir: str | Path,
    *,
    keep: Iterable[str] = ("dialogue-train", "chat-phenomena"),
    replay: int = 14_000,
    dev: int = 2_000,
    seed: int = 13,
) -> dict[str, list[Row]]:
    """A smaller mixture for continuing a trained part on CPU: every train row of the
    ``keep`` sources, a seeded sample of ``replay`` rows of the other sources (so the old
    skills stay), and as dev a sample of ``dev`` recipe dev rows plus the dialogue
    benchmark's dev split (source ``dialogue-dev``). ``recipe_dir`` holds the output of
    :func:`build_dataset` / ``consona nli build-data``."""
    from consona.nli.dialogue import build_dialogue_pairs

    rng = random.Random(seed)
    recipe = Path(recipe_dir)
    keep = list(dict.fromkeys(keep))
    by_source: dict[str, list[Row]] = defaultdict(list)
    for row in _read_jsonl(recipe / "train.jsonl"):
        by_source[row.get("source", "")].append(row)
    mix = [r for name in keep for r in by_source.get(name, [])]
    rest = [r for name, rows in by_source.items() if name not in keep for r in rows]
    rng.shuffle(rest)
    mix += rest[:replay]
    rng.shuffle(mix)
    dev_rows = list(_read_jsonl(recipe / "dev.jsonl"))
    rng.shuffle(dev_rows)
    dev_rows = dev_rows[:dev]
    dev_rows += [
        {"premise": r["premise"], "hypothesis": r["hypothesis"], "label": r["label"],
         "source": "dialogue-dev"}
        for r in build_dialogue_pairs(data_dir)["dev"]
    ]  # fmt: skip
    return {"train": mix, "dev": dev_rows}


def _read_jsonl(path: Path) -> Iterable[Row]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def write_dataset(
    splits: dict[str, list[Row]], report: BuildReport | None, out_dir: str | Path
) -> list[Path]:
    """Write train/dev/test JSONL + build_report.json atomically."""
    from consona.io import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in splits.items():
        path = out / f"{name}.jsonl"
        with atomic_write(path) as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        written.append(path)
    if report is not None:
        path = out / "build_report.json"
        with atomic_write(path) as fh:
            fh.write(json.dumps(report.to_dict(), indent=2) + "\n")
        written.append(path)
    return written
