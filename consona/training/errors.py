"""Errors of ``consona train``: each says how to fix the problem.

>>> str(RunMismatchError("RUN was trained on other data", hint="use a new -o RUN"))
'RUN was trained on other data — use a new -o RUN'
"""

from __future__ import annotations

from consona.errors import ConsonaError

__all__ = ["CheckpointError", "RunMismatchError", "TrainingError"]


class TrainingError(ConsonaError):
    """Training cannot start or go on (bad data, a base that is not a causal LM...)."""

    exit_code = 2


class RunMismatchError(TrainingError):
    """A RUN folder holds a run of other data or another base/recipe: it is not resumed."""


class CheckpointError(TrainingError):
    """A checkpoint could not be written (disk full...); the last good one is intact."""

    exit_code = 1
