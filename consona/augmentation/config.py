"""Settings of persona augmentation (PPDS: remove the "invalid persona bias").

>>> cfg = AugmentConfig(distractors=2, drop_prob=0.1)
>>> cfg.to_dict()["distractors"]
2
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from consona.errors import ConfigError

__all__ = ["AugmentConfig"]


@dataclass(frozen=True)
class AugmentConfig:
    """Each operation is configurable and recorded per example.

    - ``distractors``: facts added from other speakers' personas (response neither uses nor
      contradicts them, checked with NLI); ``distractor_oversample`` candidates are drawn
      per wanted distractor so NLI rejections still leave ``distractors`` facts.
    - ``shuffle``: shuffle the persona's fact order.
    - ``drop_prob``: chance to drop each fact the response does not use (``drop_used``
      also lets used facts go); ``empty_prob``: chance the whole persona is emptied.
    - ``paraphrase_prob``: chance to paraphrase each fact with an LLM (needs a backend);
      results are cached under ``CONSONA_HOME``.
    - ``nli_threshold``: probability over which NLI says "entailment"/"contradiction".
    - ``lexical_prefilter``: pairs that share no content word are taken as neutral
      without running NLI (NLI dominates the build's cost).

    >>> AugmentConfig(shuffle=False).shuffle
    False
    """

    distractors: int = 2
    distractor_oversample: int = 3
    shuffle: bool = True
    drop_prob: float = 0.1
    drop_used: bool = False
    empty_prob: float = 0.05
    paraphrase_prob: float = 0.0
    nli_threshold: float = 0.5
    lexical_prefilter: bool = True

    def __post_init__(self) -> None:
        if self.distractors < 0:
            raise ConfigError(
                f"distractors must be >= 0, got {self.distractors}", hint="pass --distractors 0..K"
            )
        if self.distractor_oversample < 1:
            raise ConfigError("distractor_oversample must be >= 1", hint="use 1 or more")
        for name in ("drop_prob", "empty_prob", "paraphrase_prob", "nli_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(
                    f"{name} must be between 0 and 1, got {value}",
                    hint=f"pass a probability for {name}",
                )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def enabled(self) -> bool:
        return bool(
            self.distractors
            or self.shuffle
            or self.drop_prob
            or self.empty_prob
            or self.paraphrase_prob
        )
