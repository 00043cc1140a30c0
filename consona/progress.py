"""Progress bars that follow the log level: shown when the ``consona`` logger is at INFO or
below (the CLI sets this unless ``--quiet``), hidden otherwise, and always on stderr.

>>> list(progress(range(3), desc="demo"))
[0, 1, 2]
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")
logger = logging.getLogger("consona")


def progress_enabled() -> bool:
    return logger.isEnabledFor(logging.INFO)


def progress(iterable: Iterable[T] | None = None, **kwargs: Any) -> Any:
    """A tqdm bar on stderr, disabled unless consona logs at INFO. Accepts tqdm's kwargs."""
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", not progress_enabled())
    kwargs.setdefault("file", sys.stderr)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)


def quiet_transformers() -> None:
    """No load reports or weight-loading bars from transformers / sentence-transformers:
    library code is silent (consona's own bars follow the log level)."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
