"""``migrator graph``: what the drawing shows besides the graph itself, the ranges
``migrator squash`` finds and ``migrator explain``'s verdict on each conflict.

:mod:`migrator.render.viewmodel` turns the graph and these into the picture.
"""

from __future__ import annotations

import networkx as nx

from migrator.analysis.leaves import conflicts
from migrator.analysis.squash import SquashWindow, find_windows
from migrator.errors import MigratorError, UsageError


def squash_windows(graph: nx.DiGraph, min_length: int) -> list[SquashWindow]:
    """The ranges to outline (each has the ``app``, ``start``, ``end`` and ``nodes`` of
    :class:`migrator.render.viewmodel.Window`)."""
    from migrator.django.optimizer import squashes_squashed

    try:
        return find_windows(graph, None, min_length, allow_squashed=squashes_squashed())
    except ValueError as error:  # a cycle: `migrator check` says where
        raise UsageError(
            f"cannot outline squash ranges: {error}", hint="run `migrator check`"
        ) from None


def verdicts(graph: nx.DiGraph) -> dict[str, str]:
    """``migrator explain``'s verdict on each conflict (git is not asked: no provenance
    is drawn). An app it cannot explain (a cycle) simply gets none."""
    from migrator.explain import explain_app  # replays model states: Django is set up

    found = {}
    for label in conflicts(graph):
        try:
            found[label] = explain_app(graph, label, cwd=None).overlap.level
        except MigratorError:
            continue
    return found
