"""Pure analyses (leaves, roots, conflicts, cycles) on small literal graphs.

Each graph is written like ``dependencies``: ``{"a.0002": ["a.0001"]}`` means
``a.0002`` depends on ``a.0001`` (edge ``a.0001 -> a.0002``). Shapes are drawn with
the oldest migration on the left.
"""

from __future__ import annotations

import networkx as nx

from migrator.analysis.leaves import conflicts, cycles, fork_points, is_leaf, is_root, leaves, roots
from migrator.graph import parse_key
from tests.graphs import graph_of, keys


def test_linear():
    """a.1 -> a.2 -> a.3"""
    graph = graph_of({"a.1": [], "a.2": ["a.1"], "a.3": ["a.2"]})
    assert leaves(graph) == keys("a.3")
    assert roots(graph) == keys("a.1")
    assert conflicts(graph) == {}
    assert cycles(graph) == []


def test_single_migration_is_leaf_and_root():
    """a.1"""
    graph = graph_of({"a.1": []})
    assert is_leaf(graph, ("a", "1")) and is_root(graph, ("a", "1"))
    assert conflicts(graph) == {}


def test_diamond():
    """
    a.1 -> a.2 -> a.4
       \\-> a.3 -/
    """
    graph = graph_of({"a.1": [], "a.2": ["a.1"], "a.3": ["a.1"], "a.4": ["a.2", "a.3"]})
    assert leaves(graph) == keys("a.4")
    assert roots(graph) == keys("a.1")
    assert conflicts(graph) == {}
    assert cycles(graph) == []


def test_two_leaves():
    """
    a.0001 -> a.0002_second
          \\-> a.0002_conflicting_second
    """
    graph = graph_of(
        {
            "a.0001": [],
            "a.0002_second": ["a.0001"],
            "a.0002_conflicting_second": ["a.0001"],
        }
    )
    assert leaves(graph) == keys("a.0002_conflicting_second", "a.0002_second")
    assert conflicts(graph) == {"a": ["0002_conflicting_second", "0002_second"]}
    assert fork_points(graph, "a") == keys("a.0001")


def test_three_leaves_in_two_apps_sorted():
    """
    b.1 -> b.2x          a.1 -> a.2
       |-> b.2y
       \\-> b.3 (via b.2z)
    """
    graph = graph_of(
        {
            "b.1": [],
            "b.2y": ["b.1"],
            "b.2x": ["b.1"],
            "b.2z": ["b.1"],
            "b.3": ["b.2z"],
            "a.1": [],
            "a.2": ["a.1"],
        }
    )
    assert leaves(graph, "b") == keys("b.2x", "b.2y", "b.3")
    assert conflicts(graph) == {"b": ["2x", "2y", "3"]}
    assert leaves(graph) == keys("a.2", "b.2x", "b.2y", "b.3")


def test_conflicts_sorted_by_app():
    """
    z.1 -> z.2a   m.1 -> m.2a
       \\-> z.2b     \\-> m.2b
    """
    graph = graph_of(
        {"z.1": [], "z.2b": ["z.1"], "z.2a": ["z.1"], "m.1": [], "m.2b": ["m.1"], "m.2a": ["m.1"]}
    )
    found = conflicts(graph)
    assert list(found) == ["m", "z"]
    assert found == {"m": ["2a", "2b"], "z": ["2a", "2b"]}


def test_two_roots_no_ancestor():
    """
    a.0001 -> a.0002_second
              a.0002_conflicting_second   (no dependencies)
    """
    graph = graph_of({"a.0001": [], "a.0002_second": ["a.0001"], "a.0002_conflicting_second": []})
    assert roots(graph) == keys("a.0001", "a.0002_conflicting_second")
    assert conflicts(graph) == {"a": ["0002_conflicting_second", "0002_second"]}
    assert fork_points(graph, "a") == []


def test_cross_app_child_does_not_stop_a_leaf():
    """
    a.1 -> a.2
       \\
        b.1 -> b.2        (b.1 depends on a.1; a.2 and b.2 are the leaves)
    """
    graph = graph_of({"a.1": [], "a.2": ["a.1"], "b.1": ["a.1"], "b.2": ["b.1"]})
    assert leaves(graph) == keys("a.2", "b.2")
    assert roots(graph) == keys("a.1", "b.1")  # a cross-app parent does not stop a root
    assert conflicts(graph) == {}


def test_cross_app_child_of_a_branch_keeps_the_conflict():
    """
    a.1 -> a.2
       \\-> a.3 -> b.1   (b.1 depends on a.3: a.3 is still a leaf of a)
    """
    graph = graph_of({"a.1": [], "a.2": ["a.1"], "a.3": ["a.1"], "b.1": ["a.3"]})
    assert leaves(graph, "a") == keys("a.2", "a.3")
    assert conflicts(graph) == {"a": ["2", "3"]}


def test_cross_app_parent_does_not_join_branches():
    """
    a.1 -> a.2 -> b.1 -> a.3      a.3 depends on b.1 only: a.2 is not a leaf,
    a.1 -> a.4                    a.3 and a.4 are
    """
    graph = graph_of({"a.1": [], "a.2": ["a.1"], "b.1": ["a.2"], "a.3": ["b.1"], "a.4": ["a.1"]})
    assert leaves(graph, "a") == keys("a.2", "a.3", "a.4")
    assert roots(graph, "a") == keys("a.1", "a.3")


def test_criss_cross():
    """
    a.1 -> a.2 -> a.4
       \\     X
        -> a.3 -> a.5      a.4 and a.5 both depend on a.2 and a.3
    """
    graph = graph_of(
        {
            "a.1": [],
            "a.2": ["a.1"],
            "a.3": ["a.1"],
            "a.4": ["a.2", "a.3"],
            "a.5": ["a.2", "a.3"],
        }
    )
    assert leaves(graph) == keys("a.4", "a.5")
    assert conflicts(graph) == {"a": ["4", "5"]}
    assert fork_points(graph, "a") == keys("a.2", "a.3")
    assert cycles(graph) == []


def test_self_loop():
    """a.1 -> a.1 (a migration that depends on itself)"""
    graph = graph_of({"a.1": ["a.1"], "a.2": ["a.1"]})
    assert cycles(graph) == [keys("a.1")]


def test_two_cycles_start_at_smallest_key():
    """
    a.1 -> a.2 -> a.1
    b.3 -> b.1 -> b.2 -> b.3     (inserted from b.3, reported from b.1)
    """
    graph = graph_of(
        {"b.1": ["b.3"], "b.3": ["b.2"], "b.2": ["b.1"], "a.2": ["a.1"], "a.1": ["a.2"]}
    )
    assert cycles(graph) == [keys("a.1", "a.2"), keys("b.1", "b.2", "b.3")]


def test_cross_app_cycle():
    """
    a.1 -> b.1 -> a.2 -> a.1      (a squash can create this)
    """
    graph = graph_of({"a.2": ["b.1"], "b.1": ["a.1"], "a.1": ["a.2"]})
    (cycle,) = cycles(graph)
    assert cycle == keys("a.1", "b.1", "a.2")
    # each node runs after the one before it, the first after the last
    for parent, child in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        assert graph.has_edge(parent, child)


def test_cycle_rotation_does_not_depend_on_insertion_order():
    """c.1 -> c.2 -> c.3 -> c.1, built in every insertion order"""
    literals = [
        {"c.1": ["c.3"], "c.2": ["c.1"], "c.3": ["c.2"]},
        {"c.3": ["c.2"], "c.2": ["c.1"], "c.1": ["c.3"]},
        {"c.2": ["c.1"], "c.3": ["c.2"], "c.1": ["c.3"]},
    ]
    assert {tuple(map(tuple, cycles(graph_of(lit)))) for lit in literals} == {
        (tuple(keys("c.1", "c.2", "c.3")),)
    }


# -- static graphs with values that could not be read ---------------------------------------


def unreadable(graph: nx.DiGraph, **attributes: tuple[str, ...]) -> nx.DiGraph:
    """Mark migrations (``a_3="dependencies"`` for ``a.3``) as --static marks them."""
    graph.graph["unreadable"] = {
        parse_key(name.replace("_", ".", 1)): value for name, value in attributes.items()
    }
    return graph


def test_unreadable_dependencies_cut_an_edge_no_false_conflict():
    """a.1 -> a.2    a.3 (its dependencies unreadable: it may well follow a.2)"""
    graph = unreadable(graph_of({"a.1": [], "a.2": ["a.1"], "a.3": []}), a_3=("dependencies",))
    assert leaves(graph, "a") == keys("a.2", "a.3")  # the leaves as the graph stands
    assert conflicts(graph) == {}


def test_a_conflict_after_the_unreadable_migration_holds_whatever_it_depends_on():
    """a.1    a.2 (unreadable dependencies) -> a.3a
                                            \\ -> a.3b
    a.1 may be a parent of a.2; a.3a and a.3b stay two leaves whatever a.2 depends on."""
    graph = graph_of({"a.1": [], "a.2": [], "a.3a": ["a.2"], "a.3b": ["a.2"]})
    unreadable(graph, a_2=("dependencies",))
    assert conflicts(graph) == {"a": ["3a", "3b"]}


def test_unreadable_run_before_may_give_its_migration_a_child():
    """a.1 -> a.2a    a.1 -> a.2b (run_before unreadable: it may run before a.2a)"""
    graph = graph_of({"a.1": [], "a.2a": ["a.1"], "a.2b": ["a.1"]})
    assert conflicts(unreadable(graph, a_2b=("run_before",))) == {}


def test_unreadable_replaces_leaves_nothing_certain_in_its_app_only():
    """a.1 -> a.2a, a.2b (a.2b's replaces unreadable)    b.1 -> b.2a, b.2b"""
    graph = graph_of(
        {"a.1": [], "a.2a": ["a.1"], "a.2b": ["a.1"], "b.1": [], "b.2a": ["b.1"], "b.2b": ["b.1"]}
    )
    assert conflicts(unreadable(graph, a_2b=("replaces",))) == {"b": ["2a", "2b"]}
