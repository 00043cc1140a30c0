"""PPDS's triple metric on the ConvAI2 DNLI-triple format, the DNLI relation list, and
``consona eval extraction`` on a DNLI file (small fixtures, fakes only)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consona.cli.main import app
from consona.errors import FormatError
from consona.extraction.relations import DNLI_RELATIONS, SCHEMA_ONLY, check_relation
from consona.extraction.triple_eval import (
    GoldItem,
    evaluate_triples,
    linearize,
    predicted_triple,
    read_dnli_gold,
    score_triples,
)
from consona.formats.dnli import read_dnli_dialogues
from consona.nli import schema
from consona.nli.dialogue import assign_splits
from consona.text import rouge_l
from consona.types import Fact, Triple, Turn

runner = CliRunner()

DNLI = """\
your persona: i have two dogs.\t['i', 'have_pet', '2 dog']
your persona: i was raised by my mom.\t['i', 'other', '<blank>']
partner's persona: i like pizza.\t['i', 'like_food', 'pizza']
1\thi ! how are you ?
2\ti am great . just walked my two dogs .\t['i', 'have_pet', '2 dog']\t['i', 'like_activity', 'walking']
3\tmy mom raised me alone .\t['i', 'other', '<blank>']
4\tlol ok
5\ti eat pizza every day\t['i', 'like_food', 'pizza']\t['i', 'other', 'x']
partner's persona: i am a nurse.\t['i', 'has_profession', 'nurse']
your persona: i am 30.\t['i', 'has_age', '30']
1\ti am a nurse .\t['i', 'has_profession', 'nurse']
2\tcool
"""


def _file(tmp_path: Path, text: str = DNLI) -> Path:
    p = tmp_path / "dnli.txt"
    p.write_text(text, encoding="utf-8")
    return p


def _fact(rel: str | None, obj: str | None = None, subject: str | None = None) -> Fact:
    return Fact(text="I x.", subject=subject, relation=rel, object=obj)


class Scripted:
    """An extractor that answers from a dict: utterance → facts."""

    name = "scripted"

    def __init__(self, answers: dict[str, list[Fact]]) -> None:
        self.answers = answers
        self.contexts: list[list[Turn]] = []

    def extract_batch(
        self, turns: Sequence[Turn], *, contexts: Sequence[Sequence[Turn]] | None = None
    ) -> list[list[Fact]]:
        self.contexts.extend([list(c) for c in contexts or [[] for _ in turns]])
        return [list(self.answers.get(t.text, [])) for t in turns]


# -- reading -------------------------------------------------------------------------------


def test_reader_keeps_unusable_counts_and_matches_the_format_reader(tmp_path):
    path = _file(tmp_path)
    gold = read_dnli_gold(path)
    ref = list(read_dnli_dialogues(path))
    assert [(d.index, d.turns, d.persona_lines) for d in gold.dialogues] == [
        (d.index, d.turns, d.persona_lines) for d in ref
    ]
    kinds = [(u.text, u.gold, u.unusable) for u in gold.utterances]
    assert kinds[:5] == [
        ("hi ! how are you ?", "negative", 0),
        ("i am great . just walked my two dogs .", "positive", 0),
        ("my mom raised me alone .", "ambiguous", 1),
        ("lol ok", "negative", 0),
        ("i eat pizza every day", "positive", 1),  # a usable triple beside an unusable one
    ]
    assert gold.utterances[4].triples == (Triple("i", "like_food", "pizza"),)
    assert [u.speaker for u in gold.utterances[:3]] == ["partner", "you", "partner"]
    assert gold.utterances[2].context == (
        "hi ! how are you ?",
        "i am great . just walked my two dogs .",
    )
    assert gold.utterances[5].dialogue == 1 and gold.utterances[5].context == ()
    assert [p.gold for p in gold.persona_lines] == ["positive", "ambiguous"] + ["positive"] * 3


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("2\ti am 30 .\t['i', 'has_age']", "3 strings"),
        ("2\ti am 30 .\t['i', 'has_age', '30'", "bad triple"),
        ("what is this line", "unexpected line"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, line, needle):
    path = _file(tmp_path, f"your persona: i am 30.\n1\thi\n{line}\n")
    with pytest.raises(FormatError) as err:
        read_dnli_gold(path)
    assert err.value.line == 3 and err.value.path == str(path)
    assert needle in str(err.value) and f"{path}, line 3" in str(err.value)


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="no DNLI triples file"):
        read_dnli_gold(tmp_path / "nope.txt")


# -- the metric ----------------------------------------------------------------------------


def test_linearize_turns_underscores_into_spaces():
    assert linearize(Triple("i", "like_food", "pizza")) == "i like food pizza"
    assert linearize(Triple("my father", "has_profession", "police officer")) == (
        "my father has profession police officer"
    )
    # ROUGE-L sees the relation words: a wrong object still shares "i like food"
    g = GoldItem("x", (Triple("i", "like_food", "pizza"),))
    s = score_triples([g], [[_fact("like_food", "pasta")]])
    assert s["triple_rouge_l"] == pytest.approx(rouge_l("i like food pasta", "i like food pizza"))
    assert s["triple_rouge_l"] == pytest.approx(0.75)


def test_best_matching_gold_triple_is_chosen():
    g = GoldItem("x", (Triple("i", "have_pet", "2 dog"), Triple("i", "like_activity", "walking")))
    s = score_triples([g], [[_fact("like_activity", "walking")]])
    assert s["triple_rouge_l"] == 1.0 and s["exact_triple_accuracy"] == 1.0
    s = score_triples([g], [[_fact("like_activity", "walking dogs")]])
    best = max(
        rouge_l("i like activity walking dogs", "i have pet 2 dog"),
        rouge_l("i like activity walking dogs", "i like activity walking"),
    )
    assert s["triple_rouge_l"] == pytest.approx(best) and best < 1.0
    assert s["relation_accuracy"] == 1.0 and s["exact_triple_accuracy"] == 0.0


def test_predicted_triple_is_the_first_fact_with_a_relation():
    facts = [_fact(None), _fact("has_age", " 30 "), _fact("have_pet", "dog")]
    assert predicted_triple(facts) == Triple("i", "has_age", "30")  # subject None → "i"
    assert predicted_triple([_fact(None)]) is None
    assert predicted_triple([_fact("Have_Pet", "Two  Dogs", "My Father")]) == Triple(
        "my father", "have_pet", "two dogs"
    )


def test_exact_match_normalises_case_and_whitespace():
    g = GoldItem("x", (Triple("my father", "has_profession", "police officer"),))
    s = score_triples([g], [[_fact("has_profession", "Police  Officer", "My father")]])
    assert s["exact_triple_accuracy"] == 1.0


def test_no_prediction_scores_zero_and_counts_as_a_miss():
    pos = GoldItem("x", (Triple("i", "has_age", "30"),))
    s = score_triples([pos, pos], [[], [Fact(text="I am 30.")]])  # a fact without a relation
    assert s["triple_rouge_l"] == 0.0 and s["recall"] == 0.0 and s["gold_positive"] == 2
    s = score_triples([pos, pos], [[], [_fact("has_age", "30")]])
    assert s["triple_rouge_l"] == 0.5 and s["recall"] == 0.5


def test_unusable_gold_is_left_out_of_every_rate():
    amb = GoldItem("my mom raised me", (), unusable=1)
    neg = GoldItem("lol ok")
    pos = GoldItem("i am 30", (Triple("i", "has_age", "30"),))
    s = score_triples(
        [amb, neg, pos], [[_fact("have_family", "mom")], [], [_fact("has_age", "30")]]
    )
    assert s["excluded"] == 1 and s["n"] == 3 and s["gold_positive"] == 1
    assert s["precision"] == 1.0 and s["recall"] == 1.0 and s["triple_rouge_l"] == 1.0


def test_detection_counts():
    pos = GoldItem("p", (Triple("i", "has_age", "30"),))
    neg = GoldItem("n")
    preds = [[_fact("has_age", "30")], [_fact("has_age", "31")], [], [_fact("own", "car")], [], []]
    s = score_triples([pos, pos, pos, neg, neg, neg], preds)
    # tp 2, fn 1, fp 1, tn 2
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 / 3)
    assert s["relation_accuracy"] == pytest.approx(2 / 3)
    assert s["exact_triple_accuracy"] == pytest.approx(1 / 3)
    assert s["gold_positive"] == 3 and s["excluded"] == 0


def test_evaluate_triples_runs_an_extractor_with_context(tmp_path):
    gold = read_dnli_gold(_file(tmp_path))
    ex = Scripted(
        {
            "i am great . just walked my two dogs .": [_fact("have_pet", "2 dog")],
            "i eat pizza every day": [_fact("like_food", "pizza")],
            "lol ok": [],
            "my mom raised me alone .": [_fact("have_family", "mom")],
        }
    )
    s = evaluate_triples(ex, gold.utterances, batch_size=2)
    assert s["n"] == 7 and s["gold_positive"] == 3 and s["excluded"] == 1
    assert s["precision"] == 1.0 and s["recall"] == pytest.approx(2 / 3)
    assert s["triple_rouge_l"] == pytest.approx(2 / 3) and s["utterances_per_s"] > 0
    # the third utterance sees turns 1 (its own speaker) and 2 (the other speaker)
    ctx = ex.contexts[2]
    assert [c.text for c in ctx] == ["hi ! how are you ?", "i am great . just walked my two dogs ."]
    assert [c.speaker for c in ctx] == ["partner", "you"]


# -- splits --------------------------------------------------------------------------------


def _many_dialogues(n: int = 40) -> str:
    lines = []
    for k in range(n):
        lines.append(
            f"your persona: i collect stamps number {k}.\t['i', 'has_hobby', 'stamps {k}']"
        )
        lines.append(f"partner's persona: i collect stamps number {k}.")
        lines.append(f"1\thello number {k}")
        lines.append(f"2\ti collect stamps {k}\t['i', 'has_hobby', 'stamps {k}']")
    return "\n".join(lines) + "\n"


def test_splits_are_dialogue_disjoint_and_follow_assign_splits(tmp_path):
    gold = read_dnli_gold(_file(tmp_path, _many_dialogues()))
    _, by_dialogue = assign_splits(gold.dialogues)
    seen: dict[str, set[int]] = {}
    for name in ("train", "dev", "test"):
        part = gold.split(name)
        seen[name] = {u.dialogue for u in part.utterances}
        assert seen[name] == {i for i, s in by_dialogue.items() if s == name}
        assert seen[name], f"the fixture should fill the {name} split"
        assert {p.dialogue for p in part.persona_lines} <= seen[name]
    assert not (
        seen["train"] & seen["dev"] or seen["train"] & seen["test"] or seen["dev"] & seen["test"]
    )
    assert seen["train"] | seen["dev"] | seen["test"] == set(range(40))
    assert len(gold.split("all").utterances) == 80
    with pytest.raises(Exception, match="Valid splits: all, train, dev, test"):
        gold.split("valid")


def test_persona_lines_are_deduplicated_within_a_split(tmp_path):
    text = DNLI + DNLI.replace("i am 30.", "i am 31.").replace("'30']", "'31']", 1)
    gold = read_dnli_gold(_file(tmp_path, text)).split("all")
    texts = [p.text for p in gold.persona_lines]
    assert len(texts) == len(set(texts)) and "i am 31." in texts


# -- the relation list ---------------------------------------------------------------------


def test_dnli_relations_agree_with_the_judge_schema():
    assert list(DNLI_RELATIONS) == sorted(set(DNLI_RELATIONS))
    assert not {"other", "<blank>", ""} & set(DNLI_RELATIONS)
    named = schema.SINGLE_VALUED | schema.COUNTED | schema.HAVE | schema.LIKES
    named |= {schema.NEGATIVE_LIKE, schema.NEGATIVE_HAVE}
    assert named - set(DNLI_RELATIONS) <= SCHEMA_ONLY
    assert not SCHEMA_ONLY & set(DNLI_RELATIONS)
    # every relation falls in one of the DNLI evaluation groups
    assert {schema.relation_group(r) for r in DNLI_RELATIONS} == {"have", "like", "attribute"}


def test_check_relation_names_file_and_line():
    assert check_relation("have_chidren") == "have_chidren"
    with pytest.raises(FormatError) as err:
        check_relation("has_job", path="t.txt", line=7)
    assert err.value.line == 7 and "t.txt, line 7" in str(err.value)
    assert "has_profession" in str(err.value)  # a close valid name is suggested


# -- the command ---------------------------------------------------------------------------


def test_cli_eval_extraction_dnli_json(tmp_path):
    path = _file(tmp_path)
    r = runner.invoke(app, ["eval", "extraction", str(path), "-e", "fake", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    keys = {"n", "gold_positive", "excluded", "triple_rouge_l", "precision", "recall", "f1",
            "relation_accuracy", "exact_triple_accuracy", "utterances_per_s"}  # fmt: skip
    assert keys <= set(res) and keys <= set(res["persona_lines"])
    assert res["format"] == "dnli" and res["split"] == "all" and res["dialogues"] == 2
    assert res["n"] == 7 and res["gold_positive"] == 3 and res["excluded"] == 1
    assert res["persona_lines"]["n"] == 5 and res["persona_lines"]["excluded"] == 1
    # the fake extractor gives statements without relations: no triple anywhere
    assert res["triple_rouge_l"] == 0.0 and res["recall"] == 0.0


def test_cli_eval_extraction_dnli_table_limit_and_options(tmp_path):
    path = _file(tmp_path)
    r = runner.invoke(app, ["eval", "extraction", str(path), "-e", "fake", "--limit", "2"])
    assert r.exit_code == 0, r.output
    assert "triple_rouge_l" in r.stdout and "persona lines" in r.stdout
    r = runner.invoke(app, ["eval", "extraction", str(path), "-e", "fake", "--json",
                            "--no-persona-lines", "--limit", "3"])  # fmt: skip
    res = json.loads(r.stdout)
    assert res["n"] == 3 and "persona_lines" not in res
    r = runner.invoke(app, ["eval", "extraction", str(path), "-e", "fake", "--split", "valid"])
    assert r.exit_code != 0 and "train, dev, test" in r.output


def test_cli_eval_extraction_dnli_bad_line(tmp_path):
    path = _file(tmp_path, "your persona: i am 30.\n1\thi\n2\tyes\t['i', 'x']\n")
    r = runner.invoke(app, ["eval", "extraction", str(path), "-e", "fake"])
    assert r.exit_code == 2 and "line 3" in r.output and "Traceback" not in r.output


def test_cli_msc_keeps_its_splits(tmp_path):
    msc = tmp_path / "m.txt"
    ep = {"dialog": [{"text": "i have two dogs", "persona_text": "I have two dogs."}]}
    msc.write_text(json.dumps(ep) + "\n")
    r = runner.invoke(app, ["eval", "extraction", str(msc), "-e", "fake", "--split", "dev"])
    assert r.exit_code != 0 and "Valid splits: all, test" in r.output


def test_cli_writes_predictions_for_reading(tmp_path):
    path, out = _file(tmp_path), tmp_path / "preds.jsonl"
    r = runner.invoke(app, ["eval", "extraction", str(path), "-e", "fake", "--json",
                            "--predictions", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["set"] for x in recs].count("utterances") == 7
    assert [x["set"] for x in recs].count("persona_lines") == 5
    dogs = next(x for x in recs if x["text"].startswith("i am great"))
    assert dogs["line"] == 5 and dogs["gold"] == "positive" and dogs["predicted"] is None
    assert dogs["gold_triples"][0] == ["i", "have_pet", "2 dog"] and dogs["triple_rouge_l"] == 0.0
    assert dogs["facts"]  # the fake's statement, which has no relation
