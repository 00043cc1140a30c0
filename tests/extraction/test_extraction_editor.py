"""The statement editor: edit labels, training, storage and its use by the fast extractor —
on a tiny BERT the test creates (no MiniLM); the shipped editor is exercised by the slow
test."""

from __future__ import annotations

import numpy as np
import pytest

from consona.errors import ModelError
from consona.extraction.editor import (
    StatementEditor,
    apply_edits,
    clause_marks,
    edit_labels,
    load_editor,
    target_tokens,
    train_editor,
    word_spans,
)
from consona.extraction.fast import FastExtractor, load_statement_model
from consona.text import rouge_l
from consona.types import Turn

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

PAIRS = [
    ("wow i have two dogs lol", "i have two dogs."),
    ("yes i work as a nurse", "i work as a nurse."),
    ("cool i love hiking", "i like hiking."),
    ("no i like to read books", "i like to read. i like books."),
]


@pytest.fixture(scope="module")
def tiny_encoder(tiny_base):
    from consona.extraction.encoder import ClauseEncoder

    return ClauseEncoder(path=tiny_base, quantize=False)


def test_edit_labels_rebuild_the_gold_statements():
    text = "I rather read, I've read about 20 books this year."
    words = [w for w, _, _ in word_spans(text)]
    keep, inserts = edit_labels(
        words, target_tokens("I've read 20 books this year. I like to read.")
    )
    assert len(keep) == len(words) and len(inserts) == len(words) + 1
    assert [w for w, k in zip(words, keep, strict=True) if k] == ["I've", "read", "20", "books",
                                                                   "this", "year"]  # fmt: skip
    assert inserts[-1] == ". i like to read"
    assert apply_edits(words, keep, inserts) == [
        "I have read 20 books this year.",
        "I like to read.",
    ]
    # no edits at all: no statement; a one-word sentence is not a statement
    assert apply_edits(words, [0] * len(words), [""] * (len(words) + 1)) == []
    assert apply_edits(["lol", "ok"], [1, 1], ["", "", ""]) == []


def test_clause_breaks_split_statements_and_skip_questions():
    text = "i swim a lot, so i run. do you swim? if i had a boat i would sail"
    n = len(word_spans(text))
    breaks, skip = clause_marks(text, n)
    assert breaks and min(breaks) > 0
    assert {w for j, (w, _, _) in enumerate(word_spans(text)) if j in skip} >= {"you", "boat"}
    # a clause break starts a new statement even when the clause's first word is deleted
    assert apply_edits(["i", "swim", "so", "i", "run"], [1, 1, 0, 1, 1], [""] * 6,
                       breaks={2}) == ["I swim.", "I run."]  # fmt: skip

    class KeepAll(StatementEditor):
        def __init__(self):
            self.threshold = 0.5

        def edits(self, turns):
            return [([w for w, _, _ in word_spans(t.text)],
                     [1.0] * len(word_spans(t.text)), [""] * (len(word_spans(t.text)) + 1))
                    for t in turns]  # fmt: skip

    turn = type("T", (), {"text": text})()
    out = KeepAll().statements([turn])[0]
    assert out[:2] == ["I swim.", "I run."]  # "a lot" goes, as in the rewrite rules
    assert not any("boat" in s or "you" in s.lower().split() for s in out)


def test_target_tokens_and_word_spans_edge_cases():
    assert target_tokens("") == [] and target_tokens("...") == []
    assert target_tokens("I like cats!! Dogs too?") == ["i", "like", "cats", ".", "dogs", "too"]
    assert word_spans("🙂🙂") == [] and word_spans("") == []
    assert edit_labels([], ["i", "am"]) == ([], ["i am"])


@pytest.mark.slow  # trains the editor for 30 epochs on a tiny BERT: ~6.5 s
def test_editor_learns_saves_and_reloads(tiny_base, tiny_encoder, tmp_path):
    out = tmp_path / "editor"
    report = train_editor(PAIRS * 8, out=out, dev=PAIRS, encoder=tiny_encoder, layers=1,
                          epochs=30, batch_size=4, lr=3e-3, head_lr=3e-2)  # fmt: skip
    assert report["loss"][-1] < report["loss"][0] / 3
    assert report["state_layer"] == 1 and 0.0 < report["threshold"] < 1.0
    assert report["dev_rouge_l"] > 0.8  # memorised, through an int8 save/load round trip
    assert (out / "train_report.json").is_file()
    editor = load_editor(out, base_dir=tiny_base, quantize=False)
    encs = tiny_encoder.encode([u for u, _ in PAIRS], keep_states=True, state_layer=1)
    statements = editor.statements(encs)
    scores = [rouge_l(" ".join(s), g) for s, (_, g) in zip(statements, PAIRS, strict=True)]
    assert np.mean(scores) > 0.8
    assert all(s[0].isupper() and s.endswith(".") for ss in statements for s in ss)
    # batched (padded) tagging gives what one-by-one tagging gives
    assert statements == [editor.statements([e])[0] for e in encs]


def test_load_editor_errors(tmp_path):
    with pytest.raises(ModelError, match="train-editor"):
        load_editor(tmp_path / "nothing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "editor.safetensors").write_bytes(b"")
    (bad / "editor.json").write_text('{"layers": 2}')
    with pytest.raises(ModelError, match="editor config"):
        load_editor(bad)
    # a folder with editor.json is loaded as an editor, "off" means the rewrite rules
    with pytest.raises(ModelError, match="editor config"):
        load_statement_model(bad)
    assert load_statement_model("off") is None


class FakeEditor:
    state_layer = 4

    def __init__(self, replies):
        self.replies = replies
        self.seen = 0

    def statements(self, turns):
        self.seen += len(turns)
        return [self.replies.get(t.text, []) for t in turns]


class LayerStub:
    """Records the state layer asked for; clause vectors from ``inner``."""

    def __init__(self, inner, sink):
        self.inner, self.sink = inner, sink

    def encode(self, texts, *, keep_states=False, state_layer=None):
        self.sink.append(state_layer)
        out = self.inner.encode(texts)
        for e, t in zip(out, texts, strict=True):
            e.text = t
            e.states = np.zeros((2, 3), np.float32) if keep_states else None
        return out


def test_fast_extractor_asks_for_the_editor_layer_and_keeps_grounded_statements(
    fast_model, stub_encoder
):
    text = "oh wow. i have a dog lol. do you have pets?"
    editor = FakeEditor({text: ["I have a dog.", "I have a dog.", "I am an astronaut."]})
    layers: list = []
    ex = FastExtractor(fast_model, encoder=LayerStub(stub_encoder, layers), writer=editor)
    facts = ex.extract_batch([Turn(speaker="a", text=t) for t in [text, "lol ok", "cool, you?"]])
    assert layers == [4]
    # the duplicate is merged; the invented topic (no shared content word) is dropped
    assert [f.text for f in facts[0]] == ["I have a dog."]
    assert facts[0][0].relation == "have_pet" and facts[0][0].confidence > 0.5
    assert facts[1] == [] and facts[2] == []
    assert editor.seen == 1  # only the persona-bearing utterance was edited


def test_broken_statements_are_dropped_and_the_rule_rewrite_stands_in(fast_model, stub_encoder):
    text = "oh wow. i have a dog lol. do you have pets?"
    editor = FakeEditor({text: ["Dog to.", "I have a dog."]})
    ex = FastExtractor(fast_model, encoder=LayerStub(stub_encoder, []), writer=editor)
    assert [f.text for f in ex.extract(Turn(speaker="a", text=text))] == ["I have a dog."]
    # only broken pieces: the clause's own rule rewrite instead of nothing
    ex.writer = FakeEditor({text: ["Dog to.", "Of a dog."]})
    assert [f.text for f in ex.extract(Turn(speaker="a", text=text))] == ["I have a dog."]


@pytest.mark.slow
def test_shipped_editor_on_real_encoder():
    from consona.extraction.fast import load_fast

    try:
        ex = load_fast()
    except ModelError as exc:
        pytest.skip(f"fast extractor not available: {exc}")
    if ex.writer is None or not hasattr(ex.writer, "state_layer"):
        pytest.skip("no statement editor shipped")
    facts = ex.extract_batch([Turn(speaker="a", text=t) for t in [
        "i've been a nurse for ten years lol", "lol ok", "do you have any pets?",
        "I live in seattle. There are many places to hike.", "", "🙂🙂🙂"]])  # fmt: skip
    assert any("nurse" in f.text.lower() for f in facts[0])
    assert facts[1] == [] and facts[2] == [] and facts[4] == [] and facts[5] == []
    assert any("seattle" in f.text.lower() for f in facts[3])
    assert all(f.text[0].isupper() and f.text.endswith(".") for fs in facts for f in fs)
