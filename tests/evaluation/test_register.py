"""The assistant-register check: model file, fitting, threshold, scorer, data split,
generation of positives, and the shipped model on the real embedder (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from consona.errors import ModelError
from consona.evaluation.register import (
    MAX_SENTENCES,
    PROBE_TEXT,
    RegisterModel,
    RegisterScorer,
    choose_threshold,
    fit_logistic,
    fit_register,
    generate_positives,
    register_data,
    reply_sentences,
    scorer_for,
)
from consona.testing import FakeBackend, FakeEmbedder

ASSISTANT = [
    "Remember, you're not alone in this.",
    "Let me know if there is anything else I can help you with.",
    "It's important to take care of yourself and seek support.",
    "Feel free to reach out whenever you need someone to talk to.",
]
HUMAN = [
    "i love hiking with my two dogs on weekends .",
    "my mom makes the best pasta in town .",
    "i work at the hardware store down the street .",
    "we watched a scary movie last night lol .",
    "i have three cats and a lizard .",
    "going fishing with my dad tomorrow morning .",
]


class WordEmbedder:
    """Two features: assistant words and chat words (a stand-in for sentence embeddings)."""

    ASSIST = frozenset(
        {"remember", "alone", "help", "important", "support", "reach", "feel", "free"}
    )

    def encode(self, texts):
        rows = []
        for t in texts:
            words = set(t.lower().replace(",", " ").replace(".", " ").split())
            a = len(words & self.ASSIST)
            rows.append([float(a), float(len(words) - a) / 10.0])
        return np.array(rows)


def _model(threshold: float = 0.5) -> RegisterModel:
    return RegisterModel(
        weights=np.array([3.0, -1.0]),
        bias=-1.0,
        mean=np.zeros(2),
        scale=np.ones(2),
        threshold=threshold,
        embedder="test",
    )


def test_reply_sentences_skips_short_ones_and_is_bounded() -> None:
    assert reply_sentences("Hi! Sure. Remember, you're not alone.") == [
        "Remember, you're not alone."
    ]
    long = " ".join(f"I have dog number {i}." for i in range(200))
    assert len(reply_sentences(long)) == MAX_SENTENCES
    assert reply_sentences("") == []


def test_fit_logistic_separates_and_rejects_bad_labels() -> None:
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(2, 1, (40, 4)), rng.normal(-2, 1, (400, 4))]
    y = np.r_[np.ones(40), np.zeros(400)]
    w, b, mean, scale = fit_logistic(x, y, l2=1.0)
    m = RegisterModel(weights=w, bias=b, mean=mean, scale=scale, threshold=0.5)
    p = m.probabilities(x)
    # class-balanced: the rare class is found although it is a tenth of the data
    assert (p[:40] > 0.5).mean() > 0.9 and (p[40:] < 0.5).mean() > 0.9
    with pytest.raises(ValueError, match="both classes"):
        fit_logistic(x, np.zeros(len(x)))
    with pytest.raises(ValueError, match="0/1"):
        fit_logistic(x, np.full(len(x), 2.0))
    with pytest.raises(ValueError, match="L2 penalty > 0"):
        fit_logistic(x, y, l2=0.0)


@pytest.mark.parametrize("rate", [0.0, 0.01, 0.1, 0.29, 0.3])
def test_choose_threshold_flags_at_most_the_rate_and_no_fewer_than_it_may(rate: float) -> None:
    scores = np.random.default_rng(0).random(100)
    t = choose_threshold(scores, rate)
    allowed = round(rate * 100)  # 0.29 * 100 is 28.999…: still 29 may be flagged
    assert (scores >= t).sum() == allowed


def test_choose_threshold_with_ties_never_flags_more_than_the_rate() -> None:
    scores = [0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    t = choose_threshold(scores, 0.2)  # two may be flagged, but three share the score
    assert sum(s >= t for s in scores) == 0
    with pytest.raises(ValueError, match="needs negative scores"):
        choose_threshold([], 0.1)


def test_model_round_trip_and_bad_files(tmp_path: Path) -> None:
    m = _model(0.7)
    path = m.save(tmp_path / "reg")
    back = RegisterModel.load(path.parent)
    assert back.threshold == 0.7 and back.embedder == "test"
    x = np.array([[1.0, 0.5], [-1.0, 2.0]])
    assert np.allclose(back.probabilities(x), m.probabilities(x), atol=1e-5)
    with pytest.raises(ModelError, match="No register model"):
        RegisterModel.load(tmp_path / "missing")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ModelError, match="Cannot read"):
        RegisterModel.load(bad)
    bad.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelError, match="is not a"):
        RegisterModel.load(bad)
    raw = m.to_dict()
    raw["scale"] = [1.0]
    bad.write_text(json.dumps(raw))
    with pytest.raises(ModelError, match="inconsistent shapes"):
        RegisterModel.load(bad)
    raw = m.to_dict()
    raw["weights"] = [float("nan"), 1.0]
    bad.write_text(json.dumps(raw))
    with pytest.raises(ModelError, match="out of range"):
        RegisterModel.load(bad)
    raw = m.to_dict()
    raw["threshold"] = 3.0
    bad.write_text(json.dumps(raw))
    with pytest.raises(ModelError, match="out of range"):
        RegisterModel.load(bad)
    del raw["weights"]
    bad.write_text(json.dumps(raw))
    with pytest.raises(ModelError, match="incomplete"):
        RegisterModel.load(bad)


def test_model_knows_its_embedder_by_the_probe() -> None:
    probe = np.asarray(WordEmbedder().encode([PROBE_TEXT]))[0]
    m = RegisterModel(weights=np.ones(2), bias=0.0, mean=np.zeros(2), scale=np.ones(2),
                      threshold=0.5, probe=probe)  # fmt: skip
    assert m.fits(WordEmbedder())
    assert not m.fits(FakeEmbedder())  # another size

    class Rotated(WordEmbedder):
        def encode(self, texts):
            return super().encode(texts)[:, ::-1]  # same size, another model

    assert not m.fits(Rotated())
    assert scorer_for(Rotated()) is None  # the shipped model does not fit it either


def test_shipped_model_refuses_another_embedder_of_its_size() -> None:
    shipped = RegisterModel.load()
    assert shipped.probe is not None and shipped.dim == 384

    class Other384:
        def encode(self, texts):
            rng = np.random.default_rng(len(texts[0]))
            return rng.normal(size=(len(texts), 384))

    other = Other384()
    assert not shipped.fits(other)
    assert scorer_for(other) is None and scorer_for(other) is None  # decided once


def test_torn_line_repair_keeps_whole_lines(tmp_path: Path) -> None:
    from consona.evaluation.register import _drop_torn_last_line

    f = tmp_path / "p.jsonl"
    f.write_text("")
    _drop_torn_last_line(f)
    assert f.read_text() == ""
    f.write_text('{"reply": "a"}\n{"reply": "b"}')  # whole, only the newline missing
    _drop_torn_last_line(f)
    assert f.read_text() == '{"reply": "a"}\n{"reply": "b"}\n'
    f.write_text('{"reply": "a"}\n{"reply": "b')
    _drop_torn_last_line(f)
    assert f.read_text() == '{"reply": "a"}\n'


def test_model_refuses_embeddings_of_another_size() -> None:
    with pytest.raises(ModelError, match="expects 2-dimensional"):
        _model().probabilities(np.zeros((3, 5)))


def test_scorer_returns_the_assistant_sentences_most_assistant_first() -> None:
    scorer = RegisterScorer(_model(0.5), WordEmbedder())
    reply = "i fish with my dad. Remember, you're not alone. Feel free to reach out for help."
    found = scorer.evidence(reply)
    assert found == ["Feel free to reach out for help.", "Remember, you're not alone."]
    assert scorer(reply) and not scorer("i fish with my dad every sunday.")
    assert RegisterScorer(_model(0.5), WordEmbedder(), threshold=1.01).evidence(reply) == []
    assert scorer.scores("ok") == []


def _dialogue_file(tmp_path: Path, n: int = 40, *, shared: bool = False) -> Path:
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": f"d{i}",
                "personas": {"self": {"facts": [f"i have {i % 20 if shared else i} dogs ."]}},
                "turns": [
                    {"speaker": "partner", "text": f"hi , how are you {i} ?"},
                    {"speaker": "self", "text": HUMAN[i % len(HUMAN)]},
                    {"speaker": "partner", "text": HUMAN[(i + 1) % len(HUMAN)]},
                    {"speaker": "self", "text": HUMAN[(i + 2) % len(HUMAN)]},
                ],
            }
        )
    path = tmp_path / "dialogues.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_register_data_keeps_the_benchmark_test_part_out(tmp_path: Path) -> None:
    from consona.evaluation.real_turns import split_of

    path = _dialogue_file(tmp_path)
    data = register_data([path])
    test_ids = {f"d{i}" for i in range(40) if split_of([f"i have {i} dogs ."]) == "test"}
    assert 0 < len(test_ids) < 40
    used = {did.split(":", 1)[1] for did, _ in data.turns}
    assert used and not used & test_ids  # no user turn of the test part is generated for
    assert data.held and data.held <= {did for did, _ in data.turns}
    assert len(data.test_negatives) == 4 * len(test_ids)
    assert len(data.negatives) + len(data.held_negatives) == 4 * (40 - len(test_ids))


def test_generate_positives_appends_and_resumes(tmp_path: Path) -> None:
    backend = FakeBackend(["Remember, you're not alone.", "Feel free to reach out."])
    turns = [(f"f:d{i}", f"hello {i}") for i in range(6)]
    out = tmp_path / "pos.jsonl"
    assert generate_positives(backend, turns, out, count=4) == 4
    assert generate_positives(backend, turns, out, count=4) == 2  # only the two left
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 and len({r["user"] for r in rows}) == 6
    # no persona: a system prompt of an assistant or none at all
    assert all("persona" not in json.dumps(call).lower() for call in backend.calls)
    assert {r["system"] for r in rows} >= {"You are a helpful assistant.", None}
    # a run stopped in the middle of a line: the torn line is cut, the rest kept
    out.write_text(out.read_text() + '{"dialogue": "f:d9", "us')
    more = [*turns, ("f:d9", "hello 9")]
    assert generate_positives(backend, more, out, count=5) == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 7 and rows[-1]["user"] == "hello 9"


def test_fit_register_calibrates_on_held_out_humans(tmp_path: Path) -> None:
    path = _dialogue_file(tmp_path)
    data = register_data([path])
    pos = tmp_path / "pos.jsonl"
    with pos.open("w") as f:
        for i, (did, user) in enumerate(data.turns):
            f.write(json.dumps({"dialogue": did, "user": user, "reply": ASSISTANT[i % 4]}) + "\n")
    with pos.open("a") as f:  # replies to a dialogue outside the dev part are not fitted
        f.write(json.dumps({"dialogue": "other.json:d1", "user": "x", "reply": "Sure."}) + "\n")
    model = fit_register(data, pos, WordEmbedder(), max_false_positive=0.0, l2=0.1)
    assert model.metrics["positives_outside_dev_part"] == 1
    scorer = RegisterScorer(model, WordEmbedder())
    assert not any(scorer(t) for t in data.held_negatives)  # the rate it was calibrated to
    assert scorer("Remember, it's important to seek support. Feel free to reach out.")
    m = model.metrics
    assert m["held_out"]["assistant_replies"] > 0
    assert m["held_out"]["assistant_replies_flagged"] == m["held_out"]["assistant_replies"]
    assert m["test_part_human_turns"] == len(data.test_negatives)
    assert m["test_part_human_turns_flagged"] == 0


def test_fit_register_threshold_is_the_calibration_rate(tmp_path: Path) -> None:
    path = _dialogue_file(tmp_path, n=80, shared=True)
    data = register_data([path])
    # personas shared by several dialogues stay on one side of the fit / calibration split
    persona = {f"dialogues.jsonl:d{i}": i % 20 for i in range(80)}
    assert not {persona[d] for d in data.fit} & {persona[d] for d in data.held}
    pos = tmp_path / "pos.jsonl"
    with pos.open("w") as f:
        for i, (did, user) in enumerate(data.turns):
            f.write(json.dumps({"dialogue": did, "user": user, "reply": ASSISTANT[i % 4]}) + "\n")
    model = fit_register(data, pos, WordEmbedder(), max_false_positive=0.2, l2=0.1)
    probs = model.probabilities(WordEmbedder().encode(_held_sentences(data)))
    assert 0 < (probs >= model.threshold).mean() <= 0.2


def _held_sentences(data):
    return [s for t in data.held_negatives for s in reply_sentences(t)]


def test_fit_register_errors_name_what_is_missing(tmp_path: Path) -> None:
    data = register_data([_dialogue_file(tmp_path)])
    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    with pytest.raises(ModelError, match="0 assistant sentences"):
        fit_register(data, empty, WordEmbedder())
    with pytest.raises(ModelError, match="No positives file"):
        fit_register(data, tmp_path / "missing.jsonl", WordEmbedder())
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"dialogue": "x", "reply": "ok"}\n{oops\n')
    with pytest.raises(ModelError, match="line 2 is not JSON"):
        fit_register(data, bad, WordEmbedder())
    bad.write_text('{"dialogue": "x"}\n')
    with pytest.raises(ModelError, match='line 1 has no "reply"'):
        fit_register(data, bad, WordEmbedder())


def test_fake_embedder_of_another_size_is_refused_by_the_shipped_model() -> None:
    assert scorer_for(FakeEmbedder()) is None
    assert scorer_for(None) is None


@pytest.mark.slow
def test_shipped_model_on_the_real_embedder() -> None:
    pytest.importorskip("sentence_transformers")
    from consona.evaluation.register import default_register

    try:
        scorer = default_register()
    except ModelError as exc:  # the embedder package is not installed
        pytest.skip(str(exc))
    assert scorer("It's important to take care of yourself and seek support.")
    assert scorer(
        "How about exploring other opportunities that might be more suitable for your interests?"
    )
    for human in (
        "i love hiking with my two dogs on weekends .",
        "Haha yeah, my brother is the same. We fight over the remote all the time.",
        "I'm a nurse, so I work a lot of night shifts.",
    ):
        assert not scorer(human), human


def test_reading_bench_counts_found_and_false_flags_per_check() -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "bench" / "register_reading.py"
    spec = importlib.util.spec_from_file_location("register_reading_bench", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = [
        {"model": "m", "setting": "s", "reply": "As an AI model, I have no pets.",
         "out_of_character": True},
        {"model": "m", "setting": "s", "reply": "Feel free to reach out for support.",
         "out_of_character": True},
        {"model": "m", "setting": "s", "reply": "Remember to feed the dogs, mom said.",
         "out_of_character": False},
        {"model": "m", "setting": "s", "reply": "i fish with my dad .",
         "out_of_character": False},
    ]  # fmt: skip
    got = bench.evaluate(rows, RegisterScorer(_model(0.5), WordEmbedder()))["m"]
    assert (got["replies"], got["read_ooc"]) == (4, 2)
    assert (got["lexical_found"], got["lexical_false"]) == (1, 0)
    assert (got["register_found"], got["register_false"]) == (1, 1)
    assert (got["either_found"], got["either_false"]) == (2, 1)
    assert [f["read_ooc"] for f in got["flags"]] == [True, False]
