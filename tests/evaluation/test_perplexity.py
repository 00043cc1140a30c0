import math

import pytest

from consona.errors import ConfigError
from consona.evaluation.perplexity import reference_perplexity, reply_logprobs
from consona.testing import FakeBackend

torch = pytest.importorskip("torch")


class CharTokenizer:
    """One token per character (ids = code points mod vocab)."""

    def __init__(self, vocab):
        self.vocab = vocab

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        return "".join(f"[{m['role']}]{m['content']}" for m in messages) + "[assistant]"

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) % self.vocab for c in text]}


class Out:
    def __init__(self, logits):
        self.logits = logits


class UniformModel:
    """Equal logits everywhere: every token has probability 1/vocab."""

    def __init__(self, vocab):
        self.vocab = vocab

    def __call__(self, input_ids):
        return Out(torch.zeros(1, input_ids.shape[1], self.vocab))


class NextIsKnownModel:
    """Puts all mass on the token that follows in ``target`` (a perfect model)."""

    def __init__(self, vocab, target):
        self.vocab, self.target = vocab, target

    def __call__(self, input_ids):
        ids = input_ids[0].tolist()
        logits = torch.full((1, len(ids), self.vocab), -1e4)
        for i in range(len(ids) - 1):
            logits[0, i, ids[i + 1]] = 0.0
        return Out(logits)


class Backend:
    name = "transformers"
    device = "cpu"

    def __init__(self, model, vocab=50):
        self.model, self.tokenizer = model, CharTokenizer(vocab)


def test_uniform_model_has_perplexity_equal_to_vocab():
    b = Backend(UniformModel(50))
    lp = reply_logprobs(b, [{"role": "user", "content": "hi"}], "hello")
    assert len(lp) == 5 and all(x == pytest.approx(-math.log(50)) for x in lp)
    items = [{"m": [{"role": "user", "content": "hi"}], "r": "yes"}] * 2
    ppl = reference_perplexity(b, items, messages=lambda e: e["m"], reference=lambda e: e["r"])
    assert ppl == pytest.approx(50.0, rel=1e-5)


def test_perfect_model_has_perplexity_one():
    b = Backend(NextIsKnownModel(50, None))
    lp = reply_logprobs(b, [{"role": "user", "content": "hi"}], "hey")
    assert math.exp(-sum(lp) / len(lp)) == pytest.approx(1.0, abs=1e-6)


def test_backend_without_token_scores_is_a_clear_error():
    with pytest.raises(ConfigError, match="transformers"):
        reply_logprobs(FakeBackend(["x"]), [{"role": "user", "content": "hi"}], "x")
