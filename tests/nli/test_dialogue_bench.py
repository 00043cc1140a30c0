"""The dialogue contradiction benchmark: reader, dialogue-disjoint splits, labels, CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consona.cli.main import app
from consona.errors import FormatError
from consona.formats.dnli import DNLI_FILE, read_dnli_dialogues
from consona.nli.dialogue import (
    assign_splits,
    build_dialogue_pairs,
    credible_contradiction,
    heldout_texts,
)
from consona.nli.evaluate import contradiction_prf, evaluate_rows, read_named_set
from consona.nli.schema import Triple, pair_label_group, relation_group
from consona.testing import FakeNLI
from consona.text import normalize

JOBS = ["teacher", "nurse", "doctor", "baker", "pilot", "farmer", "chef", "lawyer"]
AGES = [13, 24, 40, 60, 75]
PETS = ["dog", "cat", "horse"]


def _persona_block(rng: random.Random, who: str, k: int) -> tuple[list[str], dict[str, object]]:
    job = JOBS[k % len(JOBS)]
    age = AGES[k % len(AGES)]
    pet = PETS[k % len(PETS)]
    lines = [
        f"{who} persona: i am a {job} in town {k}.\t['i', 'has_profession', '{job}']",
        f"{who} persona: i am {age} years old, says {k}.\t['i', 'has_age', '{age}']",
        f"{who} persona: i have a {pet} called pet {k}.\t['i', 'have_pet', '{pet}']",
        f"{who} persona: i like to read {k}.\t['i', 'like_read', 'book {k}']",
    ]
    return lines, {"job": job, "age": age, "pet": pet}


def make_dnli_file(path: Path, n_dialogues: int = 120, seed: int = 0) -> Path:
    """A small file in the ConvAI2 DNLI-triples format: 40 persona sets, each dialogue
    pairs two of them; utterances restate or vary the facts."""
    rng = random.Random(seed)
    out: list[str] = []
    for d in range(n_dialogues):
        a, b = rng.sample(range(40), 2)
        lines_a, fa = _persona_block(rng, "partner's", a)
        lines_b, fb = _persona_block(rng, "your", b)
        out += lines_a + lines_b
        turns = [
            (
                f"hi , i am a {fa['job']} . how about you ? dialogue {d}",
                ["i", "has_profession", fa["job"]],
            ),
            (f"i am {fb['age']} and i work as a {fb['job']} {d}", ["i", "has_age", str(fb["age"])]),
            (f"cool . i have a {fa['pet']} named spot {d}", ["i", "have_pet", fa["pet"]]),
            (f"lol what is your favorite food ? {d}", None),
        ]
        for i, (text, triple) in enumerate(turns, 1):
            cell = f"\t{triple!r}" if triple else ""
            out.append(f"{i}\t{text}{cell}")
    path.write_text("\n".join(out) + "\n")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / DNLI_FILE
    target.parent.mkdir(parents=True)
    make_dnli_file(target)
    return tmp_path


def test_reader_groups_lines_into_dialogues(data_dir: Path):
    dialogues = list(read_dnli_dialogues(data_dir / DNLI_FILE))
    assert len(dialogues) == 120
    d = dialogues[0]
    assert len(d.persona("partner")) == 4 and len(d.persona("you")) == 4
    assert d.turns[3] == (d.turns[3][0], [])  # an utterance without triples
    assert d.speaker(0) == "partner" and d.speaker(1) == "you"


def test_reader_errors_name_the_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.txt"
    bad.write_text("your persona: i am 3.\t['i', 'has_age'\n")
    with pytest.raises(FormatError, match="line 1"):
        list(read_dnli_dialogues(bad))
    bad.write_text("1\thello\n")
    with pytest.raises(FormatError, match="before any persona"):
        list(read_dnli_dialogues(bad))
    with pytest.raises(FormatError, match="no DNLI triples file"):
        list(read_dnli_dialogues(tmp_path / "missing.txt"))


def test_no_text_of_a_dev_or_test_dialogue_reaches_train(data_dir: Path):
    dialogues = list(read_dnli_dialogues(data_dir / DNLI_FILE))
    _, dialogue_of = assign_splits(dialogues)
    held = {s: set() for s in ("train", "dev", "test")}
    for d in dialogues:
        held[dialogue_of[d.index]] |= {normalize(t) for t in d.texts()}
    pairs = build_dialogue_pairs(data_dir)
    train_texts = {normalize(r[k]) for r in pairs["train"] for k in ("premise", "hypothesis")}
    assert pairs["test"] and pairs["dev"] and pairs["train"], {k: len(v) for k, v in pairs.items()}
    assert not train_texts & (held["test"] | held["dev"])
    test_dialogues = {r["dialogue"] for r in pairs["test"]}
    train_dialogues = {r["dialogue"] for r in pairs["train"]}
    assert not test_dialogues & train_dialogues
    assert heldout_texts(data_dir) >= held["test"] | held["dev"]


def test_labels_follow_the_rules_and_carry_groups(data_dir: Path):
    pairs = build_dialogue_pairs(data_dir)
    rows = [r for split in pairs.values() for r in split]
    labels = {r["label"] for r in rows}
    assert labels == {"entailment", "neutral", "contradiction"}
    for r in rows:
        assert r["group"] in ("have", "like", "attribute")
        assert r["premise"] != r["hypothesis"]
    contra = [r for r in rows if r["label"] == "contradiction"]
    # ages and jobs of different persona sets clash; the rows keep the text as written
    assert any("years old" in r["premise"] or " and i work as" in r["hypothesis"] for r in contra)
    assert pairs == build_dialogue_pairs(data_dir)  # deterministic


def test_schema_groups_and_labels():
    assert relation_group("have_pet") == "have" and relation_group("dislike") == "like"
    label, group = pair_label_group(
        [Triple("i", "like_music", "jazz")], [Triple("i", "dislike", "jazz")]
    )
    assert (label, group) == ("contradiction", "like")
    assert pair_label_group([Triple("i", "has_age", "3")], [Triple("i", "like_food", "x")]) == (
        "neutral",
        "like",
    )


def test_credible_contradiction_drops_what_reading_found_false():
    city = (
        Triple("i", "live_in_citystatecountry", "ohio"),
        Triple("i", "live_in_citystatecountry", "city"),
    )
    assert not credible_contradiction("i live in ohio .", "i love the city", *city)
    fav = (
        Triple("i", "favorite_music_artist", "the who"),
        Triple("i", "favorite_music_artist", "abba"),
    )
    assert not credible_contradiction("i love the who .", "i listen to abba a lot", *fav)
    assert credible_contradiction("my favorite band is the who .", "abba is my favorite band", *fav)
    job = (Triple("i", "has_profession", "teacher"), Triple("i", "has_profession", "nurse"))
    assert not credible_contradiction("i am a teacher .", "my mom is a nurse", *job)
    assert credible_contradiction("i am a teacher .", "i work as a nurse", *job)


def test_near_misses_are_rejected_contradictions_relabelled_neutral_in_train_only(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    import consona.nli.dialogue as dialogue

    plain = build_dialogue_pairs(data_dir)
    # reject every rule contradiction about jobs: they must come back as near misses
    monkeypatch.setattr(
        dialogue, "credible_contradiction", lambda p, h, a, b: a.relation != "has_profession"
    )
    rejected = build_dialogue_pairs(data_dir)
    with_misses = build_dialogue_pairs(data_dir, near_misses=True)
    misses = [r for s in with_misses.values() for r in s if r["kind"] == "near-miss"]
    assert misses and all(r["label"] == "neutral" for r in misses)
    assert {k: [r for r in v if r["kind"] != "near-miss"] for k, v in with_misses.items()} == (
        rejected
    )
    assert not any(r["kind"] == "near-miss" for s in plain.values() for r in s)


def test_eval_reports_contradiction_by_group(data_dir: Path):
    rows = list(read_named_set("dialogue", data_dir, split="test"))
    m = evaluate_rows(FakeNLI(), rows, threshold=0.5)
    assert set(m["by_group"]) <= {"have", "like", "attribute"}
    assert contradiction_prf(["contradiction", "neutral"], ["neutral", "neutral"])["recall"] == 0.0


def test_cli_eval_dialogue_set(data_dir: Path):
    res = CliRunner().invoke(
        app,
        [
            "nli",
            "eval",
            "--set",
            "dialogue",
            "--data-dir",
            str(data_dir),
            "--split",
            "dev",
            "-m",
            "fake",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["n"] > 0 and "by_group" in out
    res = CliRunner().invoke(
        app,
        [
            "nli",
            "eval",
            "--set",
            "dialogue",
            "--data-dir",
            str(data_dir),
            "--split",
            "nope",
            "-m",
            "fake",
        ],
    )
    assert res.exit_code != 0 and "train" in res.output


def test_cli_dev_read_set_leaves_ambiguous_pairs_out(tmp_path: Path):
    folder = tmp_path / "persona-contradictions-dev"
    folder.mkdir()
    rows = [
        {
            "premise": "i am 30.",
            "hypothesis": "i am 60 .",
            "label": "contradiction",
            "candidate_rule": "single_valued_conflict",
        },
        {
            "premise": "i am 30.",
            "hypothesis": "hi",
            "label": "ambiguous",
            "candidate_rule": "random",
        },
    ]
    (folder / "pairs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    res = CliRunner().invoke(
        app,
        ["nli", "eval", "--set", "dev-read", "--data-dir", str(tmp_path), "-m", "fake", "--json"],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["n"] == 1


def test_check_explain_shows_which_part_fired(tmp_path: Path):
    persona = tmp_path / "p.json"
    persona.write_text(json.dumps({"name": "Ann", "facts": ["I am a vegan.", "I like jazz."]}))
    res = CliRunner().invoke(
        app,
        [
            "check",
            "--persona",
            str(persona),
            "-m",
            "fake-judge",
            "--explain",
            "--json",
            "I am a carnivore.",
        ],
    )
    assert res.exit_code == 3, res.output
    out = json.loads(res.stdout)
    assert out["contradicted"] == ["I am a vegan."]
    vegan = next(e for e in out["explain"] if e["fact"] == "I am a vegan.")
    assert vegan["decided_by"] == "triples" and vegan["triples"]["reason"]
    res = CliRunner().invoke(
        app, ["check", "--persona", str(persona), "-m", "fake", "--explain", "hi"]
    )
    assert res.exit_code == 2 and "explain" in res.output
