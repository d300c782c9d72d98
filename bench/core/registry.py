"""Name → class registries for tasks and solutions.

Built-in tasks and solutions live as modules of the top-level `tasks` and `solutions`
packages and register themselves with a decorator when imported. Other installed
packages add theirs through the entry-point groups `bench.tasks` and
`bench.solutions`: each entry point names a module to import, which registers itself
the same way. Discovery runs once, on the first lookup.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import traceback
from typing import Callable, Generic, Iterator, TypeVar

from bench.core.config import did_you_mean

T = TypeVar("T")


class RegistryError(LookupError):
    pass


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str, entry_point_group: str) -> None:
        self.kind = kind
        self.package = package
        self.entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
        self._discovered = False
        # module name -> error text, for plugins that failed to import
        self.failures: dict[str, str] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        if not name or not name.replace("_", "").isalnum() or name != name.lower():
            raise RegistryError(f"{self.kind} name '{name}' must be lower-case letters, digits, _")
        old = self._items.get(name)
        if old is not None and _qualname(old) != _qualname(obj):
            raise RegistryError(
                f"{self.kind} '{name}' is registered twice: by {_qualname(old)} and by"
                f" {_qualname(obj)}; rename one of them"
            )
        setattr(obj, "name", name)
        self._items[name] = obj

    def get(self, name: str) -> T:
        self.discover()
        try:
            return self._items[name]
        except KeyError:
            pass
        hint = did_you_mean(name, list(self._items))
        failed = [m for m in self.failures if name in m]
        extra = f"; plugin module {failed[0]} failed to import" if failed else ""
        raise RegistryError(
            f"unknown {self.kind} '{name}'{hint}{extra}. Known {self.kind}s:"
            f" {', '.join(self.names()) or 'none'}"
        )

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self.names():
            yield name, self._items[name]

    def discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__, prefix=self.package + "."):
            if info.name.rsplit(".", 1)[-1].startswith("_"):
                continue
            importlib.import_module(info.name)
        for ep in importlib.metadata.entry_points(group=self.entry_point_group):
            try:
                importlib.import_module(ep.value.split(":")[0])
            except Exception:  # a broken plugin must not hide the others
                self.failures[ep.value] = traceback.format_exc(limit=3)


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


tasks: Registry = Registry("task", "tasks", "bench.tasks")
solutions: Registry = Registry("solution", "solutions", "bench.solutions")
register_task = tasks.register
register_solution = solutions.register
