"""Per-call sampling overrides of PersonaAgent.reply / stream_reply / areply."""

from __future__ import annotations

import asyncio

from consona.agent import PersonaAgent
from consona.backends.base import Sampling
from consona.testing import FakeBackend, FakeNLI
from consona.types import Persona

DOGS = "I have two dogs."
KEYS = ("temperature", "max_tokens", "seed", "stop", "top_p", "presence_penalty",
        "frequency_penalty")  # fmt: skip


def make(replies, **kw):
    backend = FakeBackend(replies)
    kw.setdefault("nli", FakeNLI())
    agent = PersonaAgent(
        Persona(name="Ada", facts=[DOGS]),
        backend=backend,
        coherence="lexical",
        temperature=0.8,
        max_tokens=40,
        seed=7,
        **kw,
    )
    return agent, backend


def got(backend, i=-1):
    return tuple(backend.requests[i][k] for k in KEYS)


def test_without_overrides_the_constructor_settings_apply():
    agent, backend = make(["I have two dogs!"], candidates=2)
    agent.reply([], user="Dogs?")
    assert got(backend) == (0.8, 40, 7, None, None, None, None)


def test_overrides_reach_every_candidate_round():
    agent, backend = make(["I do not have dogs.", "I have two dogs."], candidates=1)
    s = Sampling(temperature=0.3, max_tokens=12, seed=100, stop=["\nUser:"], top_p=0.9,
                 presence_penalty=0.5, frequency_penalty=-0.5)  # fmt: skip
    r = agent.reply([], user="No dogs, right?", sampling=s)
    assert r.repaired and len(backend.requests) == 2  # the first draw contradicted: repair
    assert got(backend, 0) == (0.3, 12, 100, ["\nUser:"], 0.9, 0.5, -0.5)
    assert got(backend, 1) == (0.3, 12, 200, ["\nUser:"], 0.9, 0.5, -0.5)  # seed + 100
    assert backend.requests[0]["n"] == 1
    # the next call without overrides is back on the agent's own settings
    agent.reply([], user="Dogs?")
    assert got(backend, 2)[:4] == (0.8, 40, 7 + 1000 * 1, None)


def test_stream_reply_and_areply_take_overrides():
    agent, backend = make(["tea, always."], candidates=1, nli=None)
    s = Sampling(temperature=0.0, top_p=0.5, max_tokens=9)
    stream = agent.stream_reply([], user="tea?", sampling=s)  # the direct token stream
    assert "".join(stream) == "tea, always."
    assert got(backend)[:2] == (0.0, 9) and backend.requests[-1]["top_p"] == 0.5
    agent, backend = make(["I have two dogs."], candidates=2)
    stream = agent.stream_reply([], user="Dogs?", sampling=Sampling(frequency_penalty=1.0))
    assert "".join(stream) == "I have two dogs."  # re-ranked, then streamed
    assert backend.requests[-1]["frequency_penalty"] == 1.0
    asyncio.run(agent.areply([], user="Dogs?", sampling=Sampling(presence_penalty=-1.0)))
    assert backend.requests[-1]["presence_penalty"] == -1.0
