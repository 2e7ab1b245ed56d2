"""A static graph's operations, built as Django objects only when a command reads them.

Rebuilding Django fields costs about as much as reading every file, and importing
Django's ORM costs more than the whole of ``check --static`` on a warm cache; most
commands never look at operations (``check``), so this module imports no Django:
:mod:`migrator.static.operations` (which does) is imported on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class OperationBuilder:
    """Builds every node's operations with one :class:`~migrator.static.operations.
    Evaluator`, made (and Django readied for it) the first time one is asked for."""

    def __init__(self, settings: dict[str, str]) -> None:
        self._settings = settings
        self._evaluator: Any = None

    def operation(self, tree: tuple) -> Any:
        if self._evaluator is None:
            from migrator.django.setup import setup_static
            from migrator.static.operations import Evaluator  # imports Django

            setup_static()  # already done unless the command said it needs no Django
            self._evaluator = Evaluator(self._settings)
        return self._evaluator.operation(tree)


class LazyOperations(Sequence):
    """A migration's operations, built on first use: a read-only sequence that iterates,
    indexes and compares like the tuple it stands for."""

    __slots__ = ("_builder", "_trees", "_built")

    def __init__(self, builder: OperationBuilder, trees: Sequence[tuple]) -> None:
        self._builder = builder
        self._trees = trees
        self._built: tuple | None = None

    def _operations(self) -> tuple:
        if self._built is None:
            self._built = tuple(self._builder.operation(tree) for tree in self._trees)
        return self._built

    def __getitem__(self, index):
        return self._operations()[index]

    def __len__(self) -> int:
        return len(self._trees)

    def __iter__(self):
        return iter(self._operations())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyOperations):
            other = other._operations()
        return isinstance(other, tuple) and self._operations() == other

    # unhashable, as it defines __eq__: mypy cannot express removing object.__hash__
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._operations())
