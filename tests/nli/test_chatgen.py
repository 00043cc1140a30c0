"""Generated chat-shaped persona phenomena: every kind gives contradicting, entailing or
same-topic neutral hypotheses in PersonaChat's surface form."""

from __future__ import annotations

import random
from collections import Counter

from consona.nli.chatgen import chat, generate_chat_pairs
from consona.nli.clash import check_triples
from consona.nli.triples import RuleTripleExtractor
from consona.text import normalize


def test_every_kind_has_contradictions_and_same_topic_neutrals():
    rows = list(
        generate_chat_pairs(["i love hiking .", "i hate cats ."], random.Random(1), per_kind=20)
    )
    by_kind = Counter((r["kind"], r["label"]) for r in rows)
    for kind in ("age", "job", "place", "gender", "looks", "diet", "favorite", "have", "like"):
        assert by_kind[(kind, "contradiction")] > 0, kind
        assert by_kind[(kind, "neutral")] > 0, kind
    assert all(r["hypothesis"] == r["hypothesis"].lower() for r in rows)
    assert all(normalize(r["premise"]) != normalize(r["hypothesis"]) for r in rows)


def test_generated_contradictions_are_contradictions_by_the_structured_rules():
    """The world-knowledge kinds must agree with the triple check where it reads both sides
    (the two are written independently of each other's templates)."""
    ex = RuleTripleExtractor()
    rows = list(generate_chat_pairs([], random.Random(3), per_kind=30))
    checked = agree = 0
    for r in rows:
        if r["kind"] not in ("age", "place", "job"):
            continue
        found = check_triples(ex, r["premise"], r["hypothesis"])
        if r["label"] == "neutral":
            assert not found.fired, (r, found.reason)
        elif r["label"] == "contradiction" and ex.extract(r["hypothesis"]):
            checked += 1
            agree += found.fired
    assert checked > 20 and agree / checked > 0.8


def test_chat_surface_is_tokenised_like_personachat():
    text = chat("i have two dogs, and a cat", random.Random(0))
    assert " , " in text and text == text.lower()
