"""What squashing a window costs, judged by Django's own ``MigrationOptimizer``.

This is the Django half of ``migrator squash`` (the windows themselves come from the
pure :mod:`migrator.analysis.squash`): it needs real ``Operation`` objects and Django's version.
"""

from __future__ import annotations

import re

import django
import networkx as nx
from django.db.migrations.operations.special import RunPython, RunSQL
from django.db.migrations.optimizer import MigrationOptimizer

from migrator.analysis.squash import SquashWindow, WindowCost

# MigrationWriter cannot import a function defined in a migration module (its module
# path has a part starting with a digit) and asks for "manual porting".
_MIGRATION_MODULE = re.compile(r"(^|\.)\d")


def squashes_squashed() -> bool:
    """Django 6.0 lets ``squashmigrations`` squash already-squashed migrations."""
    return django.VERSION >= (6, 0)


def optimizer_version() -> str:
    """What a cached :class:`WindowCost` depends on besides the files: Django's version."""
    return django.get_version()


def window_cost(graph: nx.DiGraph, window: SquashWindow) -> WindowCost:
    operations = [op for node in window.nodes for op in graph.nodes[node]["operations"]]
    # squashmigrations: MigrationOptimizer().optimize(operations, app_label)
    optimized = MigrationOptimizer().optimize(operations, window.app)
    code = [op for op in operations if isinstance(op, (RunPython, RunSQL))]
    manual = [op for op in code if not op.elidable and _needs_porting(op)]
    kept = [op for op in code if not op.elidable and not _needs_porting(op)]
    elidable_before = sum(1 for op in code if op.elidable)
    elidable_after = sum(
        1 for op in optimized if isinstance(op, (RunPython, RunSQL)) and op.elidable
    )
    return WindowCost(
        len(operations),
        len(optimized),
        len(manual),
        len(kept),
        elidable_before - elidable_after,
    )


def _needs_porting(operation) -> bool:
    if not isinstance(operation, RunPython):
        return False
    return any(_in_migration_file(f) for f in (operation.code, operation.reverse_code))


def _in_migration_file(function) -> bool:
    if function is None:
        return False
    source = getattr(function, "source", None)
    if isinstance(source, str) and not hasattr(function, "__code__"):
        # --static keeps the expression instead of the function: a bare name is
        # (almost always) a function defined in the migration file itself.
        return "." not in source
    return bool(_MIGRATION_MODULE.search(getattr(function, "__module__", None) or ""))
