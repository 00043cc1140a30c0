"""Persona NLI: the consistency judge behind extraction, re-ranking, memory and evaluation."""

from consona.nli.base import CONTRADICTION, ENTAILMENT, LABELS, NEUTRAL, NLI_MODELS, NLIModel, Pair

NLI_MODELS.register("fake", "consona.testing.nli:FakeNLI")

__all__ = ["CONTRADICTION", "ENTAILMENT", "LABELS", "NEUTRAL", "NLI_MODELS", "NLIModel", "Pair"]
