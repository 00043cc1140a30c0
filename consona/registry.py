"""Name → implementation registries. Unknown names list the valid ones; nothing falls back.

>>> r = Registry[int]("number")
>>> r.register("one", lambda: 1)
>>> r.create("one")
1
>>> r.create("two")
Traceback (most recent call last):
...
consona.errors.UnknownNameError: Unknown number 'two'. Valid numbers: one
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from consona.errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A registry of factories by name. A factory may be registered as an import string
    ``"package.module:attr"`` so heavy modules load only when chosen."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T] | str] = {}

    def register(self, name: str, factory: Callable[..., T] | str) -> None:
        self._factories[name] = factory

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> Callable[..., T]:
        try:
            factory = self._factories[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._factories) from None
        if isinstance(factory, str):
            import importlib

            module, _, attr = factory.partition(":")
            target: Any = importlib.import_module(module)
            for part in attr.split("."):  # "pkg.mod:Class.factory" works too
                target = getattr(target, part)
            factory = target
            self._factories[name] = factory
        return factory

    def create(self, name: str, *args: Any, **kwargs: Any) -> T:
        return self.get(name)(*args, **kwargs)
