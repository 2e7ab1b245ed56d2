"""The app-level graph (:mod:`migrator.analysis.apps`) on small literal graphs."""

from __future__ import annotations

import networkx as nx

from migrator.analysis.apps import app_cycles, app_graph, implied_dependencies
from tests.graphs import graph_of


def summary(apps: nx.DiGraph) -> dict:
    return {
        "nodes": dict(apps.nodes(data=True)),
        "edges": {(p, c): d["count"] for p, c, d in apps.edges(data=True)},
    }


def test_two_apps_one_conflicting_one_squashed():
    """
    a.0001 -> a.0002_x
           -> a.0002_y            (two leaves: conflict)
    a.0001 -> b.0001_squashed -> b.0002
    a.0002_x -> b.0002
    """
    graph = graph_of(
        {
            "a.0001": [],
            "a.0002_x": ["a.0001"],
            "a.0002_y": ["a.0001"],
            "b.0001_squashed": ["a.0001"],
            "b.0002": ["b.0001_squashed", "a.0002_x"],
        },
        nodes={"b.0001_squashed": {"replaces": ["b.0001", "b.0002_old"]}},
    )
    assert summary(app_graph(graph)) == {
        "nodes": {
            "a": {"migrations": 3, "leaves": ("0002_x", "0002_y"), "conflict": True, "squashed": 0},
            "b": {"migrations": 2, "leaves": ("0002",), "conflict": False, "squashed": 1},
        },
        "edges": {("a", "b"): 2},
    }


def test_apps_depending_on_each_other_both_ways_are_a_cycle():
    """
    a.0001 -> b.0002 ; b.0001 -> a.0002 ; b.0002 -> c.0001 ; c.0001 -> d.0001
    (a and b need each other; c and d follow)
    """
    graph = graph_of(
        {
            "a.0001": [],
            "a.0002": ["a.0001", "b.0001"],
            "b.0001": [],
            "b.0002": ["b.0001", "a.0001"],
            "c.0001": ["b.0002"],
            "d.0001": ["c.0001"],
        }
    )
    apps = app_graph(graph)
    assert summary(apps)["edges"] == {("a", "b"): 1, ("b", "a"): 1, ("b", "c"): 1, ("c", "d"): 1}
    assert app_cycles(apps) == [["a", "b"]]
    assert implied_dependencies(apps) == set()


def test_diamond_of_apps_implies_the_long_edge():
    """
    a -> b -> d, a -> c -> d and a -> d directly: a -> d follows from the paths.
    """
    graph = graph_of(
        {
            "a.0001": [],
            "b.0001": ["a.0001"],
            "c.0001": ["a.0001"],
            "d.0001": ["b.0001", "c.0001", "a.0001"],
        }
    )
    apps = app_graph(graph)
    assert app_cycles(apps) == []
    assert implied_dependencies(apps) == {("a", "d")}


def test_edges_into_a_cycle_count_as_one_between_the_cycle_and_the_app():
    """
    x -> a, x -> b, a <-> b (a cycle): both edges reach the cycle directly, so neither
    is implied (no arbitrary pick between them); y -> x -> {a, b} and y -> b: y -> b
    follows from the path through x.
    """
    graph = graph_of(
        {
            "y.0001": [],
            "x.0001": ["y.0001"],
            "a.0001": ["x.0001"],
            "a.0002": ["a.0001", "b.0001"],
            "b.0001": ["x.0001", "y.0001"],
            "b.0002": ["b.0001", "a.0001"],
        }
    )
    apps = app_graph(graph)
    assert app_cycles(apps) == [["a", "b"]]
    assert implied_dependencies(apps) == {("y", "b")}
