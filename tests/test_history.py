"""Pure tests of migrator.analysis.history on small literal graphs (no Django).

Graphs are written like ``dependencies``: ``{"a.0002": ["a.0001"]}`` means a.0002
depends on a.0001. The orders are checked against Django itself in test_show.py.
"""

from __future__ import annotations

from migrator.analysis.history import (
    app_plan,
    forwards_plan,
    full_plan,
    inconsistent_history,
    pending_plan,
)
from migrator.graph import key_str
from tests.graphs import graph_of


def names(keys) -> list[str]:
    return [key_str(k) for k in keys]


DIAMOND = {"a.1": [], "a.2x": ["a.1"], "a.2y": ["a.1"], "a.3": ["a.2x", "a.2y"]}


def test_diamond_walks_the_greatest_parent_first():
    """
    a.1 -> a.2x -> a.3
    a.1 -> a.2y -> a.3
    """
    assert names(forwards_plan(graph_of(DIAMOND), ("a", "3"))) == ["a.1", "a.2y", "a.2x", "a.3"]


def test_cross_app_dependency_comes_first():
    """
    b.1 -> a.2;  a.1 -> a.2
    """
    graph = graph_of({"a.1": [], "a.2": ["a.1", "b.1"], "b.1": []})
    assert names(forwards_plan(graph, ("a", "2"))) == ["b.1", "a.1", "a.2"]
    assert names(app_plan(graph, "a")) == ["a.1", "a.2"]
    assert names(full_plan(graph)) == ["b.1", "a.1", "a.2"]


def test_two_leaves_each_planned_in_turn():
    """
    a.1 -> a.2x;  a.1 -> a.2y   (a conflict: both leaves listed, smaller first)
    """
    graph = graph_of({"a.1": [], "a.2x": ["a.1"], "a.2y": ["a.1"]})
    assert names(app_plan(graph, "a")) == ["a.1", "a.2x", "a.2y"]


def test_cycle_does_not_hang():
    """
    a.1 -> a.2 -> a.3 -> a.2
    """
    graph = graph_of({"a.1": [], "a.2": ["a.1", "a.3"], "a.3": ["a.2"]})
    assert sorted(names(app_plan(graph, "a"))) == ["a.1", "a.2", "a.3"]


def test_pending_plan_skips_applied_and_applied_leaves():
    """
    a.1 -> a.2 -> a.3 (a.1, a.2 applied);  b.1 (applied leaf)
    """
    graph = graph_of(
        {"a.1": [], "a.2": ["a.1"], "a.3": ["a.2"], "b.1": []}, applied={"a.1", "a.2", "b.1"}
    )
    assert names(pending_plan(graph)) == ["a.3"]


def test_hole_in_a_chain_is_inconsistent():
    """
    a.1 -> a.2 -> a.3, rows for a.1 and a.3 only
    """
    graph = graph_of({"a.1": [], "a.2": ["a.1"], "a.3": ["a.2"]})
    rows = {("a", "1"), ("a", "3")}
    assert inconsistent_history(graph, rows) == [(("a", "3"), ("a", "2"))]


def test_every_pair_is_listed_across_apps():
    """
    a.1 -> b.1 -> b.2;  rows for b.1 and b.2 only: b.1's dependency a.1 is missing
    """
    graph = graph_of({"a.1": [], "b.1": ["a.1"], "b.2": ["b.1"]})
    assert inconsistent_history(graph, {("b", "1"), ("b", "2")}) == [(("b", "1"), ("a", "1"))]


def test_squashed_dependency_counts_as_applied_when_all_it_replaces_is():
    """
    a.s (replaces a.1, a.2) -> a.3;  rows for a.1, a.2, a.3 but not a.s
    """
    graph = graph_of({"a.s": [], "a.3": ["a.s"]}, nodes={"a.s": {"replaces": ["a.1", "a.2"]}})
    assert inconsistent_history(graph, {("a", "1"), ("a", "2"), ("a", "3")}) == []
    assert inconsistent_history(graph, {("a", "1"), ("a", "3")}) == [(("a", "3"), ("a", "s"))]


def test_rows_without_a_node_are_skipped():
    """
    a.1;  a row for a.0 that no file has
    """
    assert inconsistent_history(graph_of({"a.1": []}), {("a", "0")}) == []
