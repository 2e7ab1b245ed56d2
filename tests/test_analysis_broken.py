"""Conflicts beside broken links (:mod:`migrator.analysis.broken`), on literal graphs.

A dangling reference names a migration of the asker's own app that is not in the graph;
the graph has no edge for it.
"""

from __future__ import annotations

from migrator.analysis.broken import conflicts_despite_broken_links
from tests.graphs import graph_of


def test_fork_beside_a_typo():
    """a.1 -> a.2_a, a.1 -> a.2_b; a.3_c -> (a.2_tpyo, missing).
    However the typo is fixed, two of the three leaves stay."""
    graph = graph_of({"a.1": [], "a.2_a": ["a.1"], "a.2_b": ["a.1"], "a.3_c": []})
    dangling = [(("a", "3_c"), ("a", "2_tpyo"), "dependencies")]
    assert conflicts_despite_broken_links(graph, dangling, ["a"]) == {"a": ["2_a", "2_b", "3_c"]}


def test_a_migration_cut_off_from_its_parent_is_no_second_leaf():
    """a.1 -> a.2_a; a.3_c -> (a.2_tpyo, missing): fixed to a.2_a, one leaf."""
    graph = graph_of({"a.1": [], "a.2_a": ["a.1"], "a.3_c": []})
    dangling = [(("a", "3_c"), ("a", "2_tpyo"), "dependencies")]
    assert conflicts_despite_broken_links(graph, dangling, ["a"]) == {}


def test_two_cut_off_chains_can_be_one_line():
    """a.1 -> a.2_a; a.3_c -> (a.2_x, missing); a.4_d -> (a.3_x, missing):
    fixed to a.2_a and a.3_c, one leaf."""
    graph = graph_of({"a.1": [], "a.2_a": ["a.1"], "a.3_c": [], "a.4_d": []})
    dangling = [
        (("a", "3_c"), ("a", "2_x"), "dependencies"),
        (("a", "4_d"), ("a", "3_x"), "dependencies"),
    ]
    assert conflicts_despite_broken_links(graph, dangling, ["a"]) == {}


def test_a_fix_cannot_point_after_the_asker():
    """a.1 -> a.2_b -> a.3_b, a.2_b -> a.3_c; a.2_b also names (a.2_x, missing).
    The fixed dependency cannot be a.3_b or a.3_c (they run after a.2_b: a cycle), so
    both leaves stay."""
    graph = graph_of({"a.1": [], "a.2_b": ["a.1"], "a.3_b": ["a.2_b"], "a.3_c": ["a.2_b"]})
    dangling = [(("a", "2_b"), ("a", "2_x"), "dependencies")]
    assert conflicts_despite_broken_links(graph, dangling, ["a"]) == {"a": ["3_b", "3_c"]}


def test_run_before_can_only_take_the_asker():
    """a.1 -> a.2_a, a.1 -> a.2_b, a.1 -> a.2_c; a.2_c lists (a.9_x, missing) in
    run_before: at most a.2_c stops being a leaf, a.2_a and a.2_b stay."""
    graph = graph_of({"a.1": [], "a.2_a": ["a.1"], "a.2_b": ["a.1"], "a.2_c": ["a.1"]})
    dangling = [(("a", "2_c"), ("a", "9_x"), "run_before")]
    assert conflicts_despite_broken_links(graph, dangling, ["a"]) == {"a": ["2_a", "2_b", "2_c"]}


def test_a_lost_merge_migration_leaves_the_app_unjudged():
    """a.1 -> a.2_a, a.1 -> a.2_b; a.4 -> (a.3_merge, missing): the lost file may be
    the merge of a.2_a and a.2_b."""
    graph = graph_of({"a.1": [], "a.2_a": ["a.1"], "a.2_b": ["a.1"], "a.4": []})
    dangling = [(("a", "4"), ("a", "3_merge"), "dependencies")]
    assert conflicts_despite_broken_links(graph, dangling, ["a"]) == {}


def test_another_apps_missing_migration_changes_no_leaf():
    """a.1 -> a.2_a, a.1 -> a.2_b; a.2_b -> (b.1, missing): still two leaves."""
    graph = graph_of({"a.1": [], "a.2_a": ["a.1"], "a.2_b": ["a.1"]})
    dangling = [(("a", "2_b"), ("b", "1"), "dependencies")]
    assert conflicts_despite_broken_links(graph, dangling, ["a"]) == {"a": ["2_a", "2_b"]}
