"""Each reader on small hand-made fixtures that mirror the real file layouts."""

from __future__ import annotations

import csv
import importlib.util
import json

import pytest

from consona.formats import detect_format, read_dialogues

PERSONA_SELF = ["1 your persona: i read twenty books a year.", "2 your persona: i only eat kosher."]
PERSONA_PARTNER = ["partner's persona: horror movies are my favorites."]
TURNS = [
    "hello what are doing today ?\ti am good , i have two jobs .",
    "i just got done watching a horror movie\ti rather read .",
]


def _parlai(self_p: bool, partner_p: bool) -> str:
    """Two episodes in the ConvAI2 layout: persona lines first, then numbered turn pairs."""
    lines: list[str] = []
    for _ in range(2):
        body = (
            ([p.split(" ", 1)[1] for p in PERSONA_SELF] if self_p else [])
            + (PERSONA_PARTNER if partner_p else [])
            + TURNS
        )
        lines += [f"{i} {b}" for i, b in enumerate(body, start=1)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("variant", "self_p", "partner_p"),
    [("self", True, False), ("other", False, True), ("both", True, True), ("none", False, False)],
)
def test_parlai_variants(tmp_path, variant, self_p, partner_p):
    path = tmp_path / f"valid_{variant}_original_no_cands.txt"
    path.write_text(_parlai(self_p, partner_p))
    assert detect_format(path) == ("dialogue", "parlai")
    ds = list(read_dialogues(path))
    assert len(ds) == 2
    d = ds[0]
    assert [(t.speaker, t.text) for t in d.turns] == [
        ("partner", "hello what are doing today ?"),
        ("self", "i am good , i have two jobs ."),
        ("partner", "i just got done watching a horror movie"),
        ("self", "i rather read ."),
    ]
    assert ("self" in d.personas) is self_p and ("partner" in d.personas) is partner_p
    if self_p:
        assert d.personas["self"].fact_texts() == [
            "i read twenty books a year.",
            "i only eat kosher.",
        ]
    if partner_p:
        assert d.personas["partner"].fact_texts() == ["horror movies are my favorites."]
    assert ds[0].id != ds[1].id


def test_parlai_with_candidates(tmp_path):
    path = tmp_path / "train_self_original.txt"
    path.write_text(
        "1 your persona: i like tea.\n"
        "2 hi there\thello , tea ?\t\tcoffee ?|no|hello , tea ?\n"
        "3 sure\tgreat\t1\tgreat|bad\n"
    )
    d = next(iter(read_dialogues(path)))
    assert d.turns[1].meta == {"candidates": ["coffee ?", "no", "hello , tea ?"]}
    assert d.turns[3].meta == {"reward": 1.0, "candidates": ["great", "bad"]}


def test_personachat_json_layouts(tmp_path):
    valid = [
        {
            "persona": ["i read .", "i eat ."],
            "turns": [
                {"text": "hello", "label": "hi , i read .", "entailed_persona_idx": [0]},
                {"text": "cool", "label": "yes", "entailed_persona_idx": [-1]},
            ],
        }
    ]
    xpersona = [
        {
            "persona": ["i'm a nurse."],
            "dialogue": [
                ["__SILENCE__", "hey there !"],
                ["hi , what do you do ?", "i am a nurse ."],
            ],
        }
    ]
    (tmp_path / "valid_dialogs.json").write_text(json.dumps(valid))
    (tmp_path / "En_persona_valid.json").write_text(json.dumps(xpersona, indent=1))
    a = next(iter(read_dialogues(tmp_path / "valid_dialogs.json")))
    assert [t.speaker for t in a.turns] == ["partner", "self", "partner", "self"]
    assert a.turns[1].meta == {"entailed_persona_idx": [0]}
    assert a.personas["self"].fact_texts() == ["i read .", "i eat ."]
    b = next(iter(read_dialogues(tmp_path / "En_persona_valid.json")))
    assert [(t.speaker, t.text) for t in b.turns] == [
        ("self", "hey there !"),
        ("partner", "hi , what do you do ?"),
        ("self", "i am a nurse ."),
    ]


def test_msc_personasummary(tmp_path):
    episode = {
        "dialog": [
            {"id": "bot_0", "text": "Hello!", "convai2_id": "valid_0", "agg_persona_list": []},
            {
                "id": "bot_1",
                "text": "Hi, I read a lot.",
                "convai2_id": "valid_0",
                "persona_text": "I like to read. I read 20 books.",
                "problem_data": {"persona": "x"},
                "agg_persona_list": ["I like to read."],
            },
            {"id": "bot_0", "text": "I watch horror.", "persona_text": "I watch horror movies."},
            {"id": "bot_1", "text": "Me too, I read.", "persona_text": "I like to read."},
        ],
        "followup": "So, read more?",
        "newfact": "New book!",
        "initial_data_id": "valid_0",
        "init_personachat": {"init_personas": [["Horror is great."], ["I read books."]]},
    }
    d_path = tmp_path / "session_1" / "valid.txt"
    d_path.parent.mkdir()
    d_path.write_text(json.dumps(episode) + "\n")
    assert detect_format(d_path) == ("dialogue", "msc")
    d = next(iter(read_dialogues(d_path)))
    assert d.id == "valid_0-s1" and d.meta["session"] == 1
    assert d.turns[1].meta == {"persona_text": "I like to read. I read 20 books."}
    bot1 = d.personas["bot_1"]
    assert bot1.fact_texts() == ["I like to read.", "I read 20 books."]  # split, deduplicated
    assert [f.source_turn for f in bot1.facts] == [1, 1]
    assert d.personas["bot_0"].facts[0].source_turn == 2
    assert d.meta["init_personas"] == {"bot_0": ["Horror is great."], "bot_1": ["I read books."]}


def test_msc_dialogue(tmp_path):
    episode = {
        "personas": [["I watch horror movies."], ["I have two jobs.", "I like to read."]],
        "dialog": [
            {"text": "New Stephen King film!", "id": "Speaker 1", "convai2_id": "v0"},
            {"text": "I want to be in it.", "id": "Speaker 2", "convai2_id": "v0"},
        ],
        "metadata": {"initial_data_id": "valid_0", "session_id": 1},
        "previous_dialogs": [{"personas": [[], []], "dialog": [{"text": "hello"}]}],
        "init_personas": [["Horror."], ["Books."]],
    }
    path = tmp_path / "valid.jsonl"
    path.write_text(json.dumps(episode) + "\n")
    d = next(iter(read_dialogues(path)))
    assert [t.speaker for t in d.turns] == ["Speaker 1", "Speaker 2"]
    assert d.personas["Speaker 2"].fact_texts() == ["I have two jobs.", "I like to read."]
    assert d.meta["session_id"] == 1 and d.meta["previous_dialogs"][0]["dialog"]


def test_synthetic_persona_chat_messy_rows(tmp_path):
    path = tmp_path / "Synthetic-Persona-Chat_valid.csv"
    conv = (
        "User 1: Hi!\n* User 2: Hello!\n\n*User 1: What do you do?\n"
        "User 2: I move objects\nwith my mind.\n* * *\nUser 1 : Cool."
    )
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user 1 personas", "user 2 personas", "Best Generated Conversation"])
        w.writerow(["I bake.\nI knit.", "I am a boy.", conv])
    assert detect_format(path) == ("dialogue", "synthetic-persona-chat")
    d = next(iter(read_dialogues(path)))
    assert [(t.speaker, t.text) for t in d.turns] == [
        ("User 1", "Hi!"),
        ("User 2", "Hello!"),
        ("User 1", "What do you do?"),
        ("User 2", "I move objects\nwith my mind."),
        ("User 1", "Cool."),
    ]
    assert d.personas["User 1"].fact_texts() == ["I bake.", "I knit."]


def test_chatlog(tmp_path):
    path = tmp_path / "chat.log"
    path.write_text("# exported\nAda Lovelace: hello\nthere\nBob: hi: yes\n\n\nAda Lovelace: 2\n")
    ds = list(read_dialogues(path))
    assert [[(t.speaker, t.text) for t in d.turns] for d in ds] == [
        [("Ada Lovelace", "hello\nthere"), ("Bob", "hi: yes")],
        [("Ada Lovelace", "2")],
    ]


def test_sharegpt_json_array(tmp_path):
    path = tmp_path / "sharegpt.json"
    path.write_text(
        json.dumps(
            [
                {
                    "id": "c1",
                    "conversations": [
                        {"from": "system", "value": "You are Max.\nYour persona:\n- I am a chef."},
                        {"from": "human", "value": "hi"},
                        {"from": "gpt", "value": "hello!"},
                    ],
                }
            ]
        )
    )
    assert detect_format(path) == ("dialogue", "sharegpt")
    d = next(iter(read_dialogues(path)))
    assert d.id == "c1"
    assert [(t.speaker, t.text) for t in d.turns] == [("user", "hi"), ("assistant", "hello!")]
    assert d.personas["assistant"].name == "Max"
    assert d.personas["assistant"].fact_texts() == ["I am a chef."]


def _chitchat_json() -> dict:
    msg = lambda t, s: {"text": t, "timestamp": "2018-05-02T19:38:15Z", "sender": s}  # noqa: E731
    return {
        "conv-a": {
            "messages": [
                [msg("Hello", "u1"), msg("How are you?", "u1")],
                [msg("good", "u2")],
                [msg("nice", "u1")],
            ],
            "prompt": "hi",
            "ratings": {"u1": 5},
            "start": "2018-05-02",
        },
        "conv-b": {"messages": [[msg("yo", "u3")], [msg("hey", "u4")]], "start": "x"},
        "conv-c": {"messages": [[msg("z", "u5")]], "start": "y"},
    }


def test_chitchat_file_layout(tmp_path):
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(_chitchat_json(), indent=2))
    ds = list(read_dialogues(path, fmt="chitchat"))
    assert [d.id for d in ds] == ["conv-a", "conv-b", "conv-c"]
    a = ds[0]
    assert [(t.speaker, t.text) for t in a.turns] == [
        ("speaker_1", "Hello How are you?"),
        ("speaker_2", "good"),
        ("speaker_1", "nice"),
    ]
    assert a.meta["senders"] == {"speaker_1": "u1", "speaker_2": "u2"}
    assert a.meta["prompt"] == "hi" and a.meta["ratings"] == {"u1": 5}
    assert detect_format(path) == ("dialogue", "chitchat")


@pytest.mark.skipif(
    importlib.util.find_spec("chitchat_dataset") is None, reason="chitchat-dataset not installed"
)
def test_chitchat_installed_corpus_first_n():
    assert detect_format("chitchat:2") == ("dialogue", "chitchat")
    ds = list(read_dialogues("chitchat:2"))
    assert len(ds) == 2 and all(len(d.turns) > 1 for d in ds)
    assert ds[0].id != ds[1].id
