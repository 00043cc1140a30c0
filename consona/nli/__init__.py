"""Persona NLI: the consistency judge behind extraction, re-ranking, memory and evaluation."""

from consona.nli.base import CONTRADICTION, ENTAILMENT, LABELS, NEUTRAL, NLI_MODELS, NLIModel, Pair

NLI_MODELS.register("fake", "consona.testing.nli:FakeNLI")
NLI_MODELS.register("fake-judge", "consona.testing.nli:fake_judge")
NLI_MODELS.register("consona", "consona.nli.judge:load_default_judge")
NLI_MODELS.register("consona-nli", "consona.nli.crossencoder:load_consona_nli")
NLI_MODELS.register("consona-int8", "consona.nli.crossencoder:load_consona_nli_int8")
NLI_MODELS.register("llm", "consona.nli.llm:LLMJudge")

from consona.nli.consistency import ConsistencyResult, check_consistency, check_many  # noqa: E402
from consona.nli.models import load_nli_model  # noqa: E402

__all__ = [
    "CONTRADICTION",
    "ENTAILMENT",
    "LABELS",
    "NEUTRAL",
    "NLI_MODELS",
    "ConsistencyResult",
    "NLIModel",
    "Pair",
    "check_consistency",
    "check_many",
    "load_nli_model",
]
