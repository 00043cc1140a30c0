"""Per-call sampling options (top_p, presence / frequency penalty) reach the backend."""

from __future__ import annotations

import pytest

from consona.backends import Request
from consona.backends.base import Sampling
from consona.errors import ConfigError
from consona.testing import FakeBackend

MSGS = [{"role": "user", "content": "hi there"}]


def test_fake_records_the_new_options_and_defaults_are_none():
    b = FakeBackend(["ok"])
    b.generate(MSGS, top_p=0.5, presence_penalty=0.3, frequency_penalty=-0.2)
    got = b.requests[-1]
    assert (got["top_p"], got["presence_penalty"], got["frequency_penalty"]) == (0.5, 0.3, -0.2)
    list(b.stream(MSGS, top_p=0.9))
    assert b.requests[-1]["top_p"] == 0.9 and b.requests[-1]["presence_penalty"] is None
    b.generate(MSGS)  # old calls keep working: the backend's defaults
    assert [b.requests[-1][k] for k in ("top_p", "presence_penalty", "frequency_penalty")] == [
        None,
        None,
        None,
    ]


def test_candidates_keep_the_options():
    r = Request(MSGS, n=2, seed=3, top_p=0.8, frequency_penalty=0.5)
    assert [(c.seed, c.top_p, c.frequency_penalty) for c in r.candidates()] == [
        (3, 0.8, 0.5),
        (4, 0.8, 0.5),
    ]


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"top_p": 0.0}, "top_p must be in"),
        ({"top_p": 1.5}, "top_p must be in"),
        ({"presence_penalty": 2.5}, "presence_penalty must be between -2 and 2"),
        ({"frequency_penalty": -3}, "frequency_penalty must be between -2 and 2"),
    ],
)
def test_bad_options_say_the_range(kw, match):
    with pytest.raises(ConfigError, match=match):
        FakeBackend(["ok"]).generate(MSGS, **kw)


def test_sampling_options_are_the_set_fields():
    s = Sampling(top_p=0.7, seed=0, stop=["\n"])
    assert s.options() == {"top_p": 0.7, "seed": 0, "stop": ["\n"]}
    assert Sampling().options() == {}
    assert s.or_default("temperature", 0.8) == 0.8 and s.or_default("seed", 5) == 0
