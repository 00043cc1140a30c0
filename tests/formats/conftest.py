"""Fixtures for the format tests: small dialogues built in code (never ../shared)."""

from __future__ import annotations

import pytest

from consona.types import Dialogue, Fact, Persona, Turn


def two_speaker_dialogue(i: int = 0, *, a: str = "partner", b: str = "self") -> Dialogue:
    return Dialogue(
        id=f"d{i}",
        turns=[
            Turn(speaker=a, text=f"hi ! how are you {i} ?"),
            Turn(speaker=b, text="great , just walked my two dogs ."),
            Turn(speaker=a, text="i love dogs , i have a cat though ."),
            Turn(speaker=b, text="cats are nice too ."),
        ],
        personas={
            b: Persona(name=b, facts=[Fact(text="i have two dogs.", speaker=b)]),
            a: Persona(name=a, facts=[Fact(text="i have a cat.", speaker=a)]),
        },
    )


@pytest.fixture
def dialogues() -> list[Dialogue]:
    return [two_speaker_dialogue(i) for i in range(3)]


@pytest.fixture
def make_dialogue():
    return two_speaker_dialogue
