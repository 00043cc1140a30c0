"""Chat backends: ``ChatBackend`` protocol, ``BACKENDS`` registry, ``load_backend``.

>>> backend = load_backend("fake", replies=["hello"])
>>> backend.generate([{"role": "user", "content": "hi"}]).text
'hello'
"""

from consona.backends.base import (
    BACKENDS,
    Capabilities,
    ChatBackend,
    Generation,
    check_messages,
    count_tokens,
    load_backend,
)

__all__ = [
    "BACKENDS",
    "Capabilities",
    "ChatBackend",
    "Generation",
    "check_messages",
    "count_tokens",
    "load_backend",
]
