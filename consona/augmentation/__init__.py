"""Persona augmentation (PPDS): distractor facts, shuffle, drop, optional LLM paraphrase.

A dataset whose personas were all extracted from the responses they accompany teaches a
model that every persona line must appear in every reply ("invalid persona bias");
augmentation makes unused persona lines normal. See ``augment_examples``.
"""

from consona.augmentation.augment import (
    STAT_KEYS,
    DistractorPool,
    augment_examples,
    has_unused_fact,
)
from consona.augmentation.config import AugmentConfig
from consona.augmentation.paraphrase import LLMParaphraser

__all__ = [
    "STAT_KEYS",
    "AugmentConfig",
    "DistractorPool",
    "LLMParaphraser",
    "augment_examples",
    "has_unused_fact",
]
