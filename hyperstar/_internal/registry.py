"""One generic registry of named factories (backbones, encoders, predictors, task families).

One overwrite rule everywhere: registering a taken name is refused unless ``overwrite=True``.

    >>> reg = Registry("widget")
    >>> @reg.register("plain")
    ... def plain_widget():
    ...     return "a plain widget"
    >>> reg.create("plain")
    'a plain widget'
    >>> reg.names()
    ['plain']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from hyperstar.exceptions import InvalidInputError

F = TypeVar("F", bound=Callable[..., Any])


class Registry(Generic[F]):
    """Named factories of one kind (``kind`` names it in error messages; ``listing`` heads the known names)."""

    def __init__(self, kind: str, *, listing: str = "Available") -> None:
        self.kind = kind
        self.listing = listing
        self._items: dict[str, F] = {}

    def add(self, name: str, factory: F, *, overwrite: bool = False) -> F:
        """Register ``factory`` under ``name``."""
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"A {self.kind} name must be a non-empty string. Got {name!r}.")
        if name in self._items and not overwrite and self._items[name] is not factory:
            raise InvalidInputError(
                f"A {self.kind} named {name!r} is already registered. Pick another name, or pass overwrite=True "
                "to replace it."
            )
        self._items[name] = factory
        return factory

    def register(self, name: str, *, overwrite: bool = False) -> Callable[[F], F]:
        """Decorator form of :meth:`add`."""

        def wrap(factory: F) -> F:
            return self.add(name, factory, overwrite=overwrite)

        return wrap

    def get(self, name: str) -> F:
        """The factory registered under ``name``; a clear error listing the known names otherwise."""
        if not isinstance(name, str) or name not in self._items:
            raise InvalidInputError(f"Unknown {self.kind} {name!r}. {self.listing}: {', '.join(self.names())}.")
        return self._items[name]

    def create(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the factory registered under ``name``."""
        return self.get(name)(*args, **kwargs)

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._items)

    def copy(self) -> "Registry[F]":
        """An independent registry with the same entries (for tests that register temporary items)."""
        other: Registry[F] = Registry(self.kind, listing=self.listing)
        other._items = dict(self._items)
        return other

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
