"""Pure tests of :mod:`migrator.analysis.squash` (and the squash cleanup) on small literal
graphs (no Django)."""

from __future__ import annotations

import itertools
import random

import networkx as nx
import pytest

from migrator.analysis.plans import forwards_plan
from migrator.analysis.squash import (
    BRANCHED,
    DROPPED_DEPENDENCY,
    NON_ATOMIC,
    RUN_BEFORE,
    SQUASHED,
    analyse,
    find_windows,
)
from migrator.squash import cleanup
from tests.graphs import chain, graph_of


def spans(graph, app=None, min_length=2, **kw):
    return [
        (w.app, w.start, w.end)
        for w in find_windows(graph, [app] if app else None, min_length, **kw)
    ]


def test_linear_chain_is_one_window():
    """a.0001 -> a.0002 -> ... -> a.0005"""
    graph = graph_of(chain("a", 5))
    (window,) = find_windows(graph, min_length=2)
    assert (window.start, window.end, window.length) == ("0001", "0005", 5)
    assert window.nodes == tuple(("a", f"{n:04d}") for n in range(1, 6))
    assert window.command == "python manage.py squashmigrations a 0005"
    assert analyse(graph, min_length=2).blocked == []


def test_round_trip_through_other_app_splits_windows():
    """a.0001 -> a.0002 -> a.0003 -> a.0004 -> a.0005
                   \\-> b.0001 -> b.0002 -/

    a.0004 depends on b.0002, which depends on a.0002: squashing a.0002..a.0004 would
    make a cycle a -> b -> a."""
    deps = {**chain("a", 5, extra={4: ["b.0002"]}), **chain("b", 2, extra={1: ["a.0002"]})}
    graph = graph_of(deps)
    assert spans(graph, "a") == [("a", "0001", "0003"), ("a", "0003", "0005")]
    (blocked,) = analyse(graph, ["a"], 2).blocked
    assert (blocked.start, blocked.end) == ("0002", "0004")
    assert blocked.cycle == (("a", "0002"), ("b", "0001"), ("b", "0002"), ("a", "0004"))
    window = find_windows(graph, ["a"], 2)[1]
    assert window.command == "python manage.py squashmigrations a 0003 0005"


def test_one_way_dependency_never_blocks():
    """b.0001 -> a.0003 and a.0002 -> b.0002: both edges go the same way in time but
    no path leaves a and comes back... b.0002 -> a.0004 would; here b.0002 is a leaf."""
    deps = {**chain("a", 4, extra={3: ["b.0001"]}), **chain("b", 2, extra={2: ["a.0002"]})}
    graph = graph_of(deps)
    assert spans(graph) == [("a", "0001", "0004"), ("b", "0001", "0002")]


def test_adjacent_block():
    """a.0001 -> b.0001 -> a.0002: the two migrations of a can never be squashed."""
    graph = graph_of({**chain("a", 2, extra={2: ["b.0001"]}), "b.0001": ["a.0001"]})
    assert spans(graph, "a") == []
    (blocked,) = analyse(graph, ["a"], 2).blocked
    assert blocked.cycle == (("a", "0001"), ("b", "0001"), ("a", "0002"))


def test_nested_blocks_report_only_the_innermost():
    """a.0001 -> b.0001 -> a.0006 and a.0003 -> c.0001 -> a.0004: the second range
    lies inside the first, so only a.0003..a.0004 is reported blocked."""
    deps = {
        **chain("a", 6, extra={6: ["b.0001"], 4: ["c.0001"]}),
        "b.0001": ["a.0001"],
        "c.0001": ["a.0003"],
    }
    report = analyse(graph_of(deps), ["a"], 2)
    assert [(b.start, b.end) for b in report.blocked] == [("0003", "0004")]
    assert [(w.start, w.end) for w in report.windows] == [("0001", "0003"), ("0004", "0006")]


def test_conflict_is_resolve_first():
    """a.0001 -> a.0002a and a.0001 -> a.0002b: two leaves."""
    graph = graph_of({"a.0001": [], "a.0002a": ["a.0001"], "a.0002b": ["a.0001"]})
    report = analyse(graph, min_length=2)
    assert report.windows == []
    assert [(r.app, r.leaves) for r in report.resolve_first] == [("a", ("0002a", "0002b"))]


def test_merged_branches_follow_djangos_order():
    """a.0001 -> a.0002a -> a.0003 (merge) <- a.0002b <- a.0001.

    Django's depth-first plan is 0001, 0002b, 0002a, 0003 (sorted parents, last first)."""
    graph = graph_of(
        {
            "a.0001": [],
            "a.0002a": ["a.0001"],
            "a.0002b": ["a.0001"],
            "a.0003": ["a.0002a", "a.0002b"],
        }
    )
    assert [n[1] for n in forwards_plan(graph, ("a", "0003"))] == ["0001", "0002b", "0002a", "0003"]
    (window,) = find_windows(graph, min_length=2)
    assert window.length == 4 and window.command == "python manage.py squashmigrations a 0003"


def test_merged_branches_with_a_round_trip():
    """a.0001 -> a.0002a -> b.0001 -> a.0003 (merge) <- a.0002b <- a.0001.

    Visiting b.0001 first, Django's plan is 0001, 0002a, 0002b, 0003. The round trip
    blocks 0002a..0003. 0001..0002b is safe but `squashmigrations a 0002b` would squash
    0001, 0002b only; 0002b..0003 is what START END squashes, dropping 0003's
    dependency on 0002a."""
    graph = graph_of(
        {
            "a.0001": [],
            "a.0002a": ["a.0001"],
            "a.0002b": ["a.0001"],
            "a.0003": ["a.0002a", "a.0002b", "b.0001"],
            "b.0001": ["a.0002a"],
        }
    )
    report = analyse(graph, ["a"], 2)
    assert [(b.start, b.end) for b in report.blocked] == [("0002a", "0003")]
    first, second = report.windows
    assert (first.start, first.end, first.length) == ("0001", "0002b", 3)
    assert [f.kind for f in first.flags] == [BRANCHED] and first.command is None
    assert (second.start, second.end) == ("0002b", "0003")
    assert second.command == "python manage.py squashmigrations a 0002b 0003"
    assert [(f.kind, f.migration, f.detail) for f in second.flags] == [
        (DROPPED_DEPENDENCY, ("a", "0003"), "a.0002a")
    ]


def test_flags_run_before_atomic_and_squashed():
    """a.0001 -> a.0002 (run_before b.0001) -> a.0003 (atomic = False) -> a.0004 (squash)"""
    graph = graph_of(
        {**chain("a", 4), "b.0001": ["a.0002"]},
        nodes={
            "a.0002": {"run_before": (("b", "0001"),)},
            "a.0003": {"atomic": False},
            "a.0004": {"replaces": (("a", "0004x"),)},
        },
    )
    graph.edges[("a", "0002"), ("b", "0001")]["kind"] = "run_before"
    (window,) = find_windows(graph, ["a"], 2, allow_squashed=True)
    assert [(f.kind, f.migration[1]) for f in window.flags] == [
        (RUN_BEFORE, "0002"),
        (NON_ATOMIC, "0003"),
        (SQUASHED, "0004"),
    ]
    # Before Django 6.0 a squashed migration cannot be squashed again: it splits.
    assert spans(graph, "a", allow_squashed=False) == [("a", "0001", "0003")]


def test_dependents_outside_the_window():
    """a.0001 -> a.0002 -> a.0003; b.0001 depends on a.0002."""
    graph = graph_of({**chain("a", 3), "b.0001": ["a.0002"]})
    (window,) = find_windows(graph, ["a"], 2)
    assert window.dependents == ((("b", "0001"), ("a", "0002")),)


def test_min_length_filters():
    """a.0001 -> ... -> a.0009: one window of 9, reported from min_length 9 down only"""
    graph = graph_of(chain("a", 9))
    assert find_windows(graph) == []
    assert len(find_windows(graph, min_length=9)) == 1


def test_cleanup_lists_replaced_files_dependents_and_database():
    """a.0001s replaces a.0001, a.0002 (both still nodes: loaded without replacing);
    a.0003 and b.0001 depend on a.0002; the database has applied a.0001 only."""
    graph = graph_of(
        {
            "a.0001": [],
            "a.0002": ["a.0001"],
            "a.0001s": [],
            "a.0003": ["a.0002"],
            "b.0001": ["a.0002"],
        },
        nodes={"a.0001s": {"replaces": ["a.0001", "a.0002", "a.gone"]}},
        applied={"a.0001"},
    )
    (item,) = cleanup(graph, database="default")
    assert item.replaced == (("a", "0001"), ("a", "0002"))
    assert item.dependents == ((("a", "0003"), ("a", "0002")), (("b", "0001"), ("a", "0002")))
    assert item.applied == (("a", "0001"),) and item.database_ready is False
    assert cleanup(graph)[0].applied is None


# -- the sweep against brute force on random graphs ---------------------------------


def _contracted_is_acyclic(graph: nx.DiGraph, nodes: list) -> bool:
    members = set(nodes)
    merged = nx.DiGraph()
    name = lambda n: "*" if n in members else n  # noqa: E731
    merged.add_nodes_from(name(n) for n in graph.nodes)
    merged.add_edges_from((name(u), name(v)) for u, v in graph.edges if name(u) != name(v))
    return nx.is_directed_acyclic_graph(merged)


def _random_project(seed: int) -> nx.DiGraph:
    rng = random.Random(seed)
    apps = ["a", "b", "c"][: rng.randint(2, 3)]
    deps: dict[str, list[str]] = {}
    made: list[str] = []  # creation order is a topological order
    counters = dict.fromkeys(apps, 0)
    for _ in range(rng.randint(8, 24)):
        app = rng.choice(apps)
        counters[app] += 1
        key = f"{app}.{counters[app]:04d}"
        parents = [f"{app}.{counters[app] - 1:04d}"] if counters[app] > 1 else []
        others = [m for m in made if not m.startswith(app + ".")]
        if others and rng.random() < 0.5:
            parents.append(rng.choice(others))
        deps[key] = parents
        made.append(key)
    return graph_of(deps)


@pytest.mark.parametrize("seed", range(60))
def test_windows_match_brute_force(seed):
    """Every reported window contracts without a cycle and cannot grow; every maximal
    safe range found by brute force is reported; every blocked range is a real cycle."""
    graph = _random_project(seed)
    report = analyse(graph, min_length=2)
    for app in report.apps:
        order = sorted(n for n in graph.nodes if n[0] == app)  # chains: name order
        safe = {
            (i, j)
            for i, j in itertools.combinations_with_replacement(range(len(order)), 2)
            if _contracted_is_acyclic(graph, order[i : j + 1])
        }
        maximal = {
            (i, j) for i, j in safe if (i - 1, j) not in safe and (i, j + 1) not in safe and j > i
        }
        got = {
            (order.index(w.nodes[0]), order.index(w.nodes[-1]))
            for w in report.windows
            if w.app == app
        }
        assert got == maximal
        for blocked in (b for b in report.blocked if b.app == app):
            i, j = order.index((app, blocked.start)), order.index((app, blocked.end))
            assert (i, j) not in safe
            assert (i + 1, j) in safe and (i, j - 1) in safe  # minimal
            cycle = blocked.cycle
            assert all(graph.has_edge(u, v) for u, v in itertools.pairwise(cycle))
            assert all(n[0] != app for n in cycle[1:-1])
