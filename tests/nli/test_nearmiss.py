"""Near misses: same-topic pairs that are not contradictions, each kind with its contrast."""

from __future__ import annotations

import random
from collections import Counter

from consona.nli.clash import check_triples
from consona.nli.nearmiss import KINDS, generate_near_misses
from consona.nli.triples import RuleTripleExtractor


def test_every_kind_gives_neutrals_and_their_contradiction():
    rows = list(generate_near_misses(random.Random(2), rounds=20))
    by = Counter((r["kind"], r["label"]) for r in rows)
    for kind in KINDS:
        assert by[(f"near-{kind}", "neutral")] > 0, kind
        assert by[(f"near-{kind}", "contradiction")] > 0, kind
    assert rows == list(generate_near_misses(random.Random(2), rounds=20))  # seeded


def test_the_structured_rules_agree_with_the_labels():
    """Written apart from the triple rules: where the rules read both sides, a neutral
    never clashes and most contradictions do."""
    ex = RuleTripleExtractor()
    checked = agree = 0
    for r in generate_near_misses(random.Random(5), rounds=40):
        found = check_triples(ex, r["premise"], r["hypothesis"])
        if r["label"] == "neutral":
            assert not found.fired, (r, found.reason)
        elif ex.extract(r["premise"]) and ex.extract(r["hypothesis"]):
            checked += 1
            agree += found.fired
    assert checked > 50 and agree / checked > 0.8, (agree, checked)
