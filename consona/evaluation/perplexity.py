"""Perplexity of reference replies under a ``transformers`` backend's model (teacher
forcing, as PersonaChat/ConvAI2 report it): the model reads the agent's prompt and scores
each token of the gold reply.

The metric itself is :func:`consona.evaluation.metrics.perplexity`, a pure function of
per-token log-probabilities; this module only gets those log-probabilities. The prompt and
the reply are tokenised apart (the reply's tokens are exactly what is scored); the
end-of-turn token is not scored.

>>> import math
>>> from consona.evaluation.metrics import perplexity
>>> round(perplexity([[math.log(0.25)] * 3]), 6)
4.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from consona.errors import ConfigError, require
from consona.evaluation.metrics import perplexity
from consona.progress import progress

__all__ = ["reference_perplexity", "reply_logprobs"]


def reply_logprobs(backend: Any, messages: list[dict[str, str]], reply: str) -> list[float]:
    """Natural-log probability of each token of ``reply`` after ``messages`` (chat template
    with the generation prompt), under ``backend.model`` / ``backend.tokenizer``."""
    tok = getattr(backend, "tokenizer", None)
    model = getattr(backend, "model", None)
    if tok is None or model is None:
        raise ConfigError(
            f"Perplexity needs token scores, which the {getattr(backend, 'name', '?')!r} "
            "backend does not give",
            hint="use backend = 'transformers' with a local model directory, or drop --perplexity",
        )
    torch = require("torch", extra="ml", purpose="perplexity")
    prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    p_ids = list(tok(prompt, add_special_tokens=False)["input_ids"])
    r_ids = list(tok(reply, add_special_tokens=False)["input_ids"])
    if not r_ids:
        return []
    if not p_ids:
        raise ConfigError("The chat template produced an empty prompt", hint="check the model")
    device = getattr(backend, "device", "cpu")
    ids = torch.tensor([p_ids + r_ids], device=device)
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    n = len(p_ids)
    return [float(logp[n - 1 + i, t]) for i, t in enumerate(r_ids)]


def reference_perplexity(
    backend: Any,
    items: Sequence[Any],
    *,
    messages: Callable[[Any], list[dict[str, str]]],
    reference: Callable[[Any], str] = lambda e: e.reference,
    show_progress: bool = False,
) -> float:
    """Corpus perplexity of the references of ``items``: ``messages(item)`` is the prompt
    the agent would send, ``reference(item)`` the gold reply."""
    it = progress(items, total=len(items), desc="perplexity") if show_progress else items
    return perplexity([reply_logprobs(backend, messages(e), reference(e)) for e in it])
