"""``PersonaAgent(choose=...)``: "best" re-ranks every candidate; "first-clean" takes
candidate 0 when it is clean and draws the others only when needed; ``on_chosen``."""

from __future__ import annotations

import pytest

from consona.agent import PersonaAgent
from consona.errors import ConfigError
from consona.testing import FakeBackend, FakeNLI
from consona.types import Persona

DOGS = "I have two dogs."


def make(replies, **kw):
    backend = FakeBackend(replies)
    agent = PersonaAgent(
        Persona(name="Ada", facts=[DOGS]),
        backend=backend,
        nli=FakeNLI(),
        coherence="lexical",
        candidates=4,
        seed=7,
        **kw,
    )
    return agent, backend


def test_first_clean_returns_a_clean_first_candidate_without_drawing_the_rest():
    agent, backend = make(["yes, two dogs.", "I have two dogs and I walk them daily."],
                          choose="first-clean")  # fmt: skip
    seen: list[str] = []
    r = agent.reply([], user="Do you have dogs?", on_chosen=seen.append)
    assert r.text == "yes, two dogs." and r.chosen == 0 and len(r.candidates) == 1
    assert [q["n"] for q in backend.requests] == [1] and backend.requests[0]["seed"] == 7
    assert seen == [r.text]
    # "best" draws all four together and re-ranks: the one that states the fact wins
    best, b_backend = make(["yes, two dogs.", "I have two dogs and I walk them daily."])
    rb = best.reply([], user="Do you have dogs?")
    assert [q["n"] for q in b_backend.requests] == [4] and len(rb.candidates) == 4


def test_first_clean_draws_the_others_together_when_the_first_is_not_clean():
    agent, backend = make(["I do not have dogs.", "I have two dogs!"], choose="first-clean")
    r = agent.reply([], user="Dogs?")
    assert [(q["n"], q["seed"]) for q in backend.requests] == [(1, 7), (3, 8)]
    assert r.text == "I have two dogs!" and not r.flagged
    assert r.candidates[0].contradicted == [DOGS]  # the first one was caught
    assert r.caught == [DOGS]


def test_first_clean_still_draws_what_the_caller_returns_and_announces_first():
    events: list[str] = []

    def replies(messages):
        events.append("draw")
        return "yes, two dogs."

    agent, backend = make(replies, choose="first-clean")
    r = agent.reply([], user="Dogs?", choices=3, on_chosen=lambda t: events.append("chosen"))
    assert events == ["draw", "chosen", "draw", "draw"]  # sent before the others are drawn
    assert [(q["n"], q["seed"]) for q in backend.requests] == [(1, 7), (2, 8)]
    assert r.chosen == 0 and len(r.candidates) == 3


def test_best_announces_the_chosen_text_once_before_returning():
    agent, _ = make(["I do not have dogs.", "I have two dogs!"])
    seen: list[str] = []
    r = agent.reply([], user="Dogs?", on_chosen=seen.append)
    assert seen == [r.text] == ["I have two dogs!"]


def test_unknown_choose_is_refused():
    with pytest.raises(ConfigError, match="first-clean"):
        make(["hi"], choose="fastest")
