"""Pure analyses behind ``explain``: fork points, branches, plans, apply order after a merge.

Graphs are written like ``dependencies``: ``{"a.3": ["a.2"]}`` means ``a.3`` depends on
``a.2``. Shapes are drawn with the oldest migration on the left.

Django's ``MigrationGraph`` (which needs no settings) is the oracle for the plans: the
same graphs are built in it and its ``forwards_plan`` and the executor's way of chaining
targets are compared with ours, on hand-drawn shapes and on many random ones.
"""

from __future__ import annotations

import random

import networkx as nx
import pytest
from django.db.migrations.graph import MigrationGraph

from migrator.analysis.leaves import common_ancestors, fork_points, leaves
from migrator.analysis.plans import apply_order, branches, forwards_plan, migrate_plan
from tests.graphs import graph_of, keys


def django_graph(graph: nx.DiGraph) -> MigrationGraph:
    oracle = MigrationGraph()
    for node in sorted(graph.nodes):
        oracle.add_node(node, None)
    for parent, child in sorted(graph.edges):
        oracle.add_dependency(None, child, parent)
    return oracle


def django_migrate_plan(oracle: MigrationGraph, targets) -> list:
    """``MigrationExecutor.migration_plan(targets, clean_start=True)``, forwards only."""
    plan, applied = [], set()
    for target in targets:
        for node in oracle.forwards_plan(target):
            if node not in applied:
                plan.append(node)
                applied.add(node)
    return plan


def with_merge(graph: nx.DiGraph, app_label: str) -> nx.DiGraph:
    """The graph once ``makemigrations --merge`` joined the app's leaves."""
    merged = graph.copy()
    merge = (app_label, "9999_merge")
    for leaf in leaves(graph, app_label):
        merged.add_edge(leaf, merge, same_app=True, kind="dependency")
    return merged


def branch_names(graph, app_label):
    return {leaf[1]: [name for _, name in nodes] for leaf, nodes in branches(graph, app_label)}


# -- fork points and branches --------------------------------------------------------------


def test_two_branches_of_different_lengths():
    """
    a.1 -> a.2 -> a.3x -> a.4x
              \\-> a.3y
    """
    graph = graph_of(
        {"a.1": [], "a.2": ["a.1"], "a.3x": ["a.2"], "a.4x": ["a.3x"], "a.3y": ["a.2"]}
    )
    assert fork_points(graph, "a") == keys("a.2")
    assert branch_names(graph, "a") == {"3y": ["3y"], "4x": ["3x", "4x"]}


def test_criss_cross_has_two_fork_points():
    """
    a.1 -> a.2 -> a.4      a.4 and a.5 both depend on a.2 and a.3:
       \\-> a.3 -> a.5      two lowest common ancestors
    """
    graph = graph_of(
        {"a.1": [], "a.2": ["a.1"], "a.3": ["a.1"], "a.4": ["a.2", "a.3"], "a.5": ["a.2", "a.3"]}
    )
    assert fork_points(graph, "a") == keys("a.2", "a.3")
    assert branch_names(graph, "a") == {"4": ["4"], "5": ["5"]}


def test_no_common_ancestor():
    """
    a.0001 -> a.0002_second               (Django's test_migrations_no_ancestor)
    a.0002_conflicting_second
    """
    graph = graph_of({"a.0001": [], "a.0002_second": ["a.0001"], "a.0002_conflicting_second": []})
    assert fork_points(graph, "a") == []
    assert branch_names(graph, "a") == {
        "0002_conflicting_second": ["0002_conflicting_second"],
        "0002_second": ["0001", "0002_second"],
    }


def test_three_leaves_with_a_migration_shared_by_two():
    """
    a.1 -> a.2 -> a.3l                  a.c is in the history of a.4m and a.4n, not of
              \\-> a.c -> a.4m           a.3l: branch work for two leaves out of three
                     \\-> a.4n
    """
    graph = graph_of(
        {
            "a.1": [],
            "a.2": ["a.1"],
            "a.3l": ["a.2"],
            "a.c": ["a.2"],
            "a.4m": ["a.c"],
            "a.4n": ["a.c"],
        }
    )
    assert fork_points(graph, "a") == keys("a.2")
    assert branch_names(graph, "a") == {"3l": ["3l"], "4m": ["c", "4m"], "4n": ["c", "4n"]}


def test_common_ancestor_the_positionwise_prefix_misses():
    """
    a.1 -> a.2 -> a.3 -> a.4     a.4 also depends on a.9, a sibling of a.2: Django
       \\-> a.9 ----------/       applies a.9 before a.2 to reach a.4, so the plans of
                 a.3 -> a.5      a.4 and a.5 differ from the second position on and
                                 makemigrations --merge counts a.2 and a.3 as branch work
    """
    graph = graph_of(
        {
            "a.1": [],
            "a.2": ["a.1"],
            "a.3": ["a.2"],
            "a.9": ["a.1"],
            "a.4": ["a.3", "a.9"],
            "a.5": ["a.3"],
        }
    )
    assert forwards_plan(graph, ("a", "4")) == keys("a.1", "a.9", "a.2", "a.3", "a.4")
    assert fork_points(graph, "a") == keys("a.3")
    assert branch_names(graph, "a") == {"4": ["9", "4"], "5": ["5"]}


def test_other_apps_do_not_count_for_the_fork():
    """
    a.1 -> a.2x                 b.1 depends on a.1; a.2y on b.1 and a.1.
       \\-> b.1 -> a.2y          The fork is a.1, and b.1 is no branch work of a.
    """
    graph = graph_of({"a.1": [], "a.2x": ["a.1"], "b.1": ["a.1"], "a.2y": ["a.1", "b.1"]})
    assert common_ancestors(graph, keys("a.2x", "a.2y")) == set(keys("a.1"))
    assert fork_points(graph, "a") == keys("a.1")
    assert branch_names(graph, "a") == {"2x": ["2x"], "2y": ["2y"]}


# -- plans, compared with Django -------------------------------------------------------------


def test_apply_order_after_a_merge_explores_the_largest_leaf_first():
    """
    a.1 -> a.2a -> a.3a           after a merge, Django runs the branch of the larger
       \\-> a.2b                   leaf name (a.3a > a.2b) first
    """
    graph = graph_of({"a.1": [], "a.2a": ["a.1"], "a.3a": ["a.2a"], "a.2b": ["a.1"]})
    assert apply_order(graph, "a") == keys("a.2a", "a.3a", "a.2b")
    merged = with_merge(graph, "a")
    oracle = django_migrate_plan(django_graph(merged), django_graph(merged).leaf_nodes())
    assert apply_order(graph, "a") == [n for n in oracle if n in set(keys("a.2a", "a.3a", "a.2b"))]


def test_apply_order_follows_an_earlier_app_that_needs_one_branch():
    """
    a.1 -> a.2x                  app "0" sorts before "a" and depends on a.2y: migrate
       \\-> a.2y -> 0.1           reaches a.2y first although a.2x is the larger leaf
    """
    graph = graph_of({"a.1": [], "a.2x": ["a.1"], "a.2y": ["a.1"], "0.1": ["a.2y"]})
    assert apply_order(graph, "a") == keys("a.2y", "a.2x")


def random_graph(rng: random.Random) -> nx.DiGraph:
    """A random migration graph: 1 to 3 apps, each node depends on up to 3 earlier ones."""
    apps = ["a", "b", "c"][: rng.randint(1, 3)]
    deps: dict[str, list[str]] = {}
    for i in range(rng.randint(2, 14)):
        node = f"{rng.choice(apps)}.{i:04d}_{rng.choice('xyz')}"
        deps[node] = rng.sample(list(deps), k=min(len(deps), rng.randint(0, 3)))
    return graph_of(deps)


@pytest.mark.parametrize("seed", range(300))
def test_plans_match_django_on_random_graphs(seed):
    graph = random_graph(random.Random(seed))
    oracle = django_graph(graph)
    for node in graph.nodes:
        assert forwards_plan(graph, node) == oracle.forwards_plan(node)
    assert leaves(graph) == oracle.leaf_nodes()
    assert migrate_plan(graph, leaves(graph)) == django_migrate_plan(oracle, oracle.leaf_nodes())
    for app_label in sorted({app for app, _ in graph.nodes}):
        if len(leaves(graph, app_label)) < 2:
            continue
        found = branches(graph, app_label)
        in_branches = {node for _, nodes in found for node in nodes}
        # Branch migrations come in the order Django applies them to reach each leaf.
        for leaf, nodes in found:
            assert nodes == [n for n in oracle.forwards_plan(leaf) if n in set(nodes)]
        # After merge migrations join every conflicting app, migrate runs them like this.
        merged = graph
        for other in sorted({app for app, _ in graph.nodes}):
            if len(leaves(graph, other)) > 1:
                merged = with_merge(merged, other)
        merged_oracle = django_graph(merged)
        plan = django_migrate_plan(merged_oracle, merged_oracle.leaf_nodes())
        assert apply_order(graph, app_label) == [n for n in plan if n in in_branches]
        # Fork points are common to every leaf and nothing below them is.
        forks = fork_points(graph, app_label)
        common = common_ancestors(graph, leaves(graph, app_label))
        assert set(forks) <= common
        assert not (in_branches & common)
