"""Chat backends: ``ChatBackend`` protocol, ``BACKENDS`` registry, ``load_backend``.

>>> backend = load_backend("fake", replies=["hello"])
>>> backend.generate([{"role": "user", "content": "hi"}]).text
'hello'

A new backend subclasses ``BaseBackend`` and implements ``execute`` (a checked
``Request`` in, a ``Completion`` out); the base class does the rest.
"""

from consona.backends.base import (
    BACKENDS,
    BaseBackend,
    Capabilities,
    ChatBackend,
    Completion,
    Generation,
    Request,
    check_messages,
    count_tokens,
    load_backend,
)

__all__ = [
    "BACKENDS",
    "BaseBackend",
    "Capabilities",
    "ChatBackend",
    "Completion",
    "Generation",
    "Request",
    "check_messages",
    "count_tokens",
    "load_backend",
]
