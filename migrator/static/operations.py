"""Turn the expression trees of :mod:`migrator.static.parse` into Django objects.

Only Django's own classes are ever called (``django.db.migrations.AddField``,
``django.db.models.CharField``, ...), with the literal arguments the file passes.
Everything that belongs to the project (a custom field, a ``RunPython`` function, a
custom operation) becomes a stand-in that never runs project code:

* a custom operation: an ``Operation`` subclass with the same class name, keeping its
  literal arguments, so ``describe()`` reads as Django's default and
  ``references_model()`` says True (conservative, like Django's base class);
* a custom field: a plain ``models.Field()``;
* any other value: a :class:`Placeholder`, which is also callable (``RunPython`` wants
  a callable).
"""

from __future__ import annotations

import functools
from importlib import import_module

from django.db import models
from django.db.migrations.operations import SeparateDatabaseAndState
from django.db.migrations.operations.base import Operation

from migrator.static.evaluator import SETTINGS_PREFIX

# Importing these runs only Django's code; other django.* modules are also allowed, but
# one that needs the app registry fails and its value becomes a placeholder.
_ALLOWED_ROOT = "django."


class Placeholder:
    """A value migrator could not rebuild statically; its source text is kept."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __call__(self, *args, **kwargs):  # pragma: no cover - never run by migrator
        raise RuntimeError("placeholder from a statically read migration")

    def __repr__(self) -> str:
        return self.source

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Placeholder) and other.source == self.source

    def __hash__(self) -> int:
        return hash(self.source)


class Unreadable(Exception):
    """Raised by :class:`UnreadableOperation` when asked for its effect."""


class UnreadableOperation(Operation):
    """Operations ``--static`` could not read (``A + build()``): their effect is unknown,
    which is what explain's overlap reports; nothing else looks at operations."""

    def __init__(self, source: str, reason: str = "") -> None:
        self.source = source
        self.reason = reason

    def describe(self) -> str:
        return f"operations --static cannot read: {self.source}"

    def state_forwards(self, app_label, state):
        raise Unreadable(self.reason or "not a value --static can read")


@functools.cache
def _custom_operation(name: str) -> type[Operation]:
    return type(name, (Operation,), {"__module__": "migrator.static.placeholders"})


@functools.cache
def _resolve(dotted: str):
    """The Django object named ``dotted``, or ``None`` when it is not importable."""
    if not dotted.startswith(_ALLOWED_ROOT):
        return None
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = import_module(".".join(parts[:cut]))
        except Exception:  # an optional dependency missing, or app registry not ready
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


class Evaluator:
    """Evaluates trees with swappable settings taken from ``settings`` (name -> value)."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.settings = settings

    def operation(self, tree: tuple) -> Operation:
        if tree[0] == "call":
            target = _resolve(tree[1])
            if isinstance(target, type) and issubclass(target, SeparateDatabaseAndState):
                # lists of operations: each one rebuilt, an unreadable list a stand-in
                args = [self.operations(a) for a in tree[2]]
                kwargs = {name: self.operations(v) for name, v in tree[3]}
            else:
                args = [self.value(a) for a in tree[2]]
                kwargs = {name: self.value(v) for name, v in tree[3]}
            if isinstance(target, type) and issubclass(target, Operation):
                try:
                    return target(*args, **kwargs)
                except Exception:
                    pass  # arguments Django refuses: keep them on a stand-in
            return _custom_operation(tree[1].rsplit(".", 1)[-1])(*args, **kwargs)
        if tree[0] == "unknown":
            return UnreadableOperation(tree[1], tree[2] if len(tree) > 2 else "")
        return _custom_operation("UnreadableOperation")(self.value(tree))

    def operations(self, tree: tuple) -> list[Operation]:
        """A list of operations (``SeparateDatabaseAndState``'s); one that cannot be read
        is a single stand-in, whose effect explain reports as unknown."""
        if tree[0] in ("list", "tuple"):
            return [self.operation(item) for item in tree[1]]
        return [self.operation(tree)]

    def value(self, tree: tuple):
        kind = tree[0]
        if kind == "const":
            return tree[1]
        if kind == "list":
            return [self.value(item) for item in tree[1]]
        if kind == "tuple":
            return tuple(self.value(item) for item in tree[1])
        if kind in ("set", "frozenset"):
            try:
                items = {self.value(item) for item in tree[1]}
            except TypeError:
                return Placeholder(repr(tree))
            return items if kind == "set" else frozenset(items)
        if kind == "dict":
            try:
                return {self.value(k): self.value(v) for k, v in tree[1]}
            except TypeError:
                return Placeholder(repr(tree))
        if kind == "ref":
            return self._ref(tree[1])
        if kind == "call":
            return self._call(tree)
        return Placeholder(tree[1])

    def _ref(self, dotted: str):
        if dotted.startswith(SETTINGS_PREFIX):
            name = dotted[len(SETTINGS_PREFIX) :]
            return self.settings.get(name, Placeholder(f"settings.{name}"))
        found = _resolve(dotted)
        return found if found is not None else Placeholder(dotted)

    def _call(self, tree: tuple):
        _, dotted, arg_trees, kwarg_trees = tree
        target = _resolve(dotted)
        args = [self.value(a) for a in arg_trees]
        kwargs = {name: self.value(v) for name, v in kwarg_trees}
        if callable(target):
            try:
                return target(*args, **kwargs)
            except Exception:
                pass
        if dotted.endswith("Field"):
            return models.Field()  # a project's custom field: a field without a type
        return Placeholder(f"{dotted}(...)")
