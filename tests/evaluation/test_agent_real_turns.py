"""bench/agent_real_turns.py end to end on tiny fixture dialogues (fake backend and judge)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from consona.evaluation.real_turns import case_of, pushback_for, select_cases, split_of
from consona.testing import FakeBackend
from consona.types import Dialogue, Persona, Turn

BENCH = Path(__file__).resolve().parents[2] / "bench" / "agent_real_turns.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("agent_real_turns_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dialogs(n: int) -> list[dict]:
    return [
        {
            "persona": ["i have two dogs .", "i am a nurse .", f"i like color {k} ."],
            "turns": [
                {
                    "text": "hi , sittin on the beach <script>x</script>",
                    "label": "hi ! sounds fun .",
                },
                {"text": "i studied abroad . do you have pets ?", "label": "yes , i have dogs ."},
                {"text": "cool . i like rain .", "label": "me too , i am a nurse ."},
            ],
        }
        for k in ["red", "blue", "green", "pink", "gray", "teal"][:n]
    ]


def _replier(messages):
    user = [m["content"].lower() for m in messages if m["role"] == "user"][-1]
    if "beach" in user:
        return "As an AI model, I don't have personal preferences."
    if "abroad" in user:
        return "I studied abroad. I have two dogs."
    if "told me" in user or "are you sure" in user:
        return "You're right, I don't have dogs."
    return "I have two dogs."


def test_select_cases_is_persona_disjoint():
    dialogues = [
        Dialogue(
            id=f"d{i}",
            personas={"self": Persona(facts=[f"i like thing {i % 7} ."])},
            turns=[Turn(speaker="partner", text="hi"), Turn(speaker="self", text="hey")],
        )
        for i in range(40)
    ]
    test = select_cases(dialogues, source="x", split="test", count=100)
    dev = select_cases(dialogues, source="x", split="dev", count=100)
    assert test and dev and len(test) + len(dev) == 40
    assert not {tuple(c.facts) for c in test} & {tuple(c.facts) for c in dev}
    assert all(split_of(c.facts) == "test" for c in test)


def test_case_skips_an_opening_by_the_persona_speaker():
    d = Dialogue(
        id="spc",
        personas={"User 2": Persona(facts=["I bake."])},
        turns=[
            Turn(speaker="User 1", text="Hi!"),
            Turn(speaker="User 2", text="Hello!"),
            Turn(speaker="User 1", text="What do you do?"),
            Turn(speaker="User 2", text="I bake."),
        ],
    )
    assert case_of(d, source="spc", turns=5).exchanges == [
        ("Hi!", "Hello!"),
        ("What do you do?", "I bake."),
    ]


def test_pushbacks():
    assert pushback_for("i have two dogs .") == "no, you told me you don't have two dogs ."
    assert pushback_for("my dad is a cop .") == "no, you told me your dad isn't a cop ."
    assert pushback_for("i do not eat meat .") == "no, you told me you eat meat ."
    assert pushback_for("i am a nurse .", "doubt").startswith("are you sure?")


def test_bench_end_to_end_on_fakes(bench, tmp_path):
    data = tmp_path / "valid_dialogs.json"
    data.write_text(json.dumps(_dialogs(6)))
    out, page = tmp_path / "r.json", tmp_path / "r.html"
    result = bench.main(
        [
            "--data",
            str(data),
            "--split",
            "all",
            "--dialogues",
            "3",
            "--turns",
            "3",
            "--candidates",
            "1,2",
            "--judges",
            "fake-judge",
            "--embedder",
            "fake",
            "--coherence",
            "lexical",
            "--out",
            str(out),
            "--html",
            str(page),
        ],
        backend=FakeBackend(_replier, latency_s=0.005),
    )
    assert json.loads(out.read_text())["benchmark"] == "agent_real_turns"
    agent = result["settings"]["agent_n1"]
    s = agent["summary"]
    assert s["replies"] == 9
    # turn 1 of every dialogue speaks as an AI; the human never does
    assert s["out_of_character"] == pytest.approx(1 / 3, abs=1e-3)
    assert result["settings"]["human"]["summary"]["out_of_character"] == 0.0
    j = s["judges"]["fake-judge"]
    assert j["echo"] == pytest.approx(1 / 3, abs=1e-3)  # "I studied abroad."
    # "I have two dogs." after "cool . i like rain ." (not after "do you have pets ?")
    assert j["forced_persona"] == pytest.approx(1 / 3, abs=1e-3)
    assert j["persona_contradiction"] == 0.0
    assert s["pushbacks"] == 3 and j["caved"] == 1.0 and j["conceded"] == 1.0
    assert agent["pushbacks"][0]["user"].startswith(("no, you told me", "are you sure?"))
    assert set(result["settings"]) == {"agent_n1", "agent_n2", "human"}
    assert result["latency_ratio"]["agent_n1"] == 1.0 and result["latency_ratio"]["agent_n2"] > 0
    assert s["relevance_mean"] is not None and s["length_mean"] > 0
    text = page.read_text()
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "out_of_character" in text and "As an AI model" in text


def test_ablate_adds_one_setting_per_term_in_the_same_run(bench, tmp_path):
    from consona.errors import UnknownNameError

    data = tmp_path / "valid_dialogs.json"
    data.write_text(json.dumps(_dialogs(4)))
    common = ["--data", str(data), "--split", "all", "--dialogues", "2", "--turns", "2",
              "--candidates", "1,2", "--judges", "fake-judge", "--embedder", "fake",
              "--coherence", "lexical", "--no-human", "--out", str(tmp_path / "a.json"),
              "--html", str(tmp_path / "a.html")]  # fmt: skip
    wrapped = "As an AI model, I don't have preferences. I love the beach though!"

    def replier(messages):
        user = [m["content"].lower() for m in messages if m["role"] == "user"][-1]
        return wrapped if "beach" in user else _replier(messages)

    backend = FakeBackend(replier, latency_s=0.001)
    result = bench.main([*common, "--ablate", "in_character,echo,trim"], backend=backend)
    assert set(result["settings"]) == {
        "agent_n1", "agent_n2", "agent_n2_no_in_character", "agent_n2_no_echo", "agent_n2_no_trim"
    }  # fmt: skip
    assert result["config"]["ablate"] == "in_character,echo,trim"
    # the trimmed candidate is in the agent's settings and not where trimming is off
    replies = {k: [r["reply"] for r in v["rows"]] for k, v in result["settings"].items()}
    assert "I love the beach though!" in replies["agent_n2"]
    trimmed = [r for r in result["settings"]["agent_n2"]["rows"] if r["trimmed"]]
    assert trimmed and all(r["reply"] == "I love the beach though!" for r in trimmed)
    assert not any(r["trimmed"] for r in result["settings"]["agent_n2_no_trim"]["rows"])
    assert "I love the beach though!" not in replies["agent_n2_no_trim"]
    assert wrapped in replies["agent_n2_no_trim"]
    assert result["settings"]["agent_n2_no_echo"]["summary"]["replies"] == 4
    with pytest.raises(UnknownNameError):
        bench.main([*common, "--ablate", "charm"], backend=backend)


def test_two_models_in_one_run(bench, tmp_path):
    data = tmp_path / "valid_dialogs.json"
    data.write_text(json.dumps(_dialogs(4)))
    slow = FakeBackend(lambda m: "I have two dogs.", latency_s=0.08)
    fast = FakeBackend(_replier, latency_s=0.001)
    result = bench.main(
        ["--data", str(data), "--split", "all", "--dialogues", "2", "--turns", "2",
         "--candidates", "1", "--judges", "fake-judge", "--embedder", "fake",
         "--coherence", "lexical", "--no-human", "--out", str(tmp_path / "m.json"),
         "--html", str(tmp_path / "m.html")],
        backends={"big": slow, "small": fast},
    )  # fmt: skip
    assert set(result["settings"]) == {"big/agent_n1", "small/agent_n1"}
    assert result["latency_ratio"]["big/agent_n1"] == 1.0
    assert result["latency_ratio"]["small/agent_n1"] < 0.5
    # each model wrote its own replies: only the small one speaks as an AI
    assert result["settings"]["big/agent_n1"]["summary"]["out_of_character"] == 0.0
    assert result["settings"]["small/agent_n1"]["summary"]["out_of_character"] > 0
    assert set(result["models"]) == {"big", "small"}


def test_model_label(bench):
    assert bench.model_label("/m/Qwen2.5-1.5B-Q4_K_M.gguf") == "qwen2.5-1.5b-q4_k_m"
    assert bench.model_label("Qwen/Qwen2.5-1.5B-Instruct") == "qwen2.5-1.5b-instruct"
    assert bench.model_label(None) == "default"
    # labels that come out the same stay apart: every model runs
    assert bench.model_labels(["a/model.gguf", "b/model.gguf", "llama-3.1-8b"]) == [
        "model", "model-2", "llama-3.1-8b"
    ]  # fmt: skip


def test_rescore_adds_a_judge_and_keeps_the_others(bench, tmp_path):
    from consona.testing import ScriptedNLI

    data = tmp_path / "valid_dialogs.json"
    data.write_text(json.dumps(_dialogs(2)))
    run = tmp_path / "run.json"
    common = ["--embedder", "fake", "--coherence", "lexical", "--html", str(tmp_path / "r.html")]
    bench.main(
        ["--data", str(data), "--split", "all", "--candidates", "1", "--judges", "fake-judge",
         "--out", str(run), *common],
        backend=FakeBackend(_replier),
    )  # fmt: skip
    before = json.loads(run.read_text())
    out = tmp_path / "again.json"
    result = bench.main(
        ["--rescore", str(run), "--out", str(out), *common], judges={"scripted": ScriptedNLI()}
    )
    s = result["settings"]["agent_n1"]["summary"]
    assert set(s["judges"]) == {"fake-judge", "scripted"}
    assert (
        s["judges"]["fake-judge"]
        == before["settings"]["agent_n1"]["summary"]["judges"]["fake-judge"]
    )
    assert s["judges"]["scripted"]["persona_contradiction"] == 0.0  # scripted: no pairs listed
    assert json.loads(out.read_text())["judges"]["scripted"] == "scripted"


def test_bench_needs_data(bench, tmp_path):
    from consona.errors import ConfigError

    with pytest.raises(ConfigError, match="--data"):
        bench.main(["--backend", "fake", "--out", str(tmp_path / "x.json")])


def test_llm_judge_uses_the_chat_backend(bench):
    from consona.evaluation.character import persona_contradiction

    judges = bench.load_judges("fake-judge, llm", FakeBackend(['{"label": "contradiction"}']))
    assert list(judges) == ["fake-judge", "llm"] and judges["llm"].name == "llm:fake"
    assert persona_contradiction(["i have two dogs ."], "i like cats .", judges["llm"])
