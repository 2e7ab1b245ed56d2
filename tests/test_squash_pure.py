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
    DependencyMove,
    Flag,
    Payoff,
    SquashWindow,
    WindowCost,
    analyse,
    find_windows,
    rank_windows,
)
from migrator.squash import cleanup
from tests.graphs import chain, graph_of, keys


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


# -- the one dependency to move that unblocks a blocked range ---------------------------


def moved(graph, move):
    """The graph after the move: what the reader would write by hand."""
    graph = graph.copy()
    graph.remove_edge(move.dependency, move.dependent)
    graph.add_edge(move.new_dependency, move.new_dependent, same_app=False, kind="dependency")
    assert nx.is_directed_acyclic_graph(graph)
    return graph


def assert_unblocks(graph, blocked):
    after = analyse(moved(graph, blocked.move), [blocked.app], 2)
    assert (blocked.start, blocked.end) not in [(b.start, b.end) for b in after.blocked]
    together = [w for w in after.windows if (blocked.app, blocked.start) in w.nodes]
    assert any((blocked.app, blocked.end) in w.nodes for w in together)


def test_round_trip_unblocked_by_moving_the_returning_dependency_later():
    """a.0001 -> a.0002 -> a.0003 -> a.0004 -> a.0005
                   \\-> b.0001 -> b.0002 -/

    a.0004's dependency on b.0002 moves to a.0005: both files are a's own."""
    deps = {**chain("a", 5, extra={4: ["b.0002"]}), **chain("b", 2, extra={1: ["a.0002"]})}
    graph = graph_of(deps)
    (blocked,) = analyse(graph, ["a"], 2).blocked
    assert blocked.move == DependencyMove(*keys("a.0004", "b.0002", "a.0005", "b.0002"))
    assert blocked.move.later
    assert_unblocks(graph, blocked)


def test_round_trip_into_the_leaf_moves_the_leaving_dependency_earlier():
    """a.0001 -> a.0002 -> a.0003 (leaf), a.0002 -> b.0001 -> a.0003: a.0003 has no
    child to take the dependency, so b.0001 depends on a.0001 instead of a.0002."""
    deps = {**chain("a", 3, extra={3: ["b.0001"]}), "b.0001": ["a.0002"]}
    graph = graph_of(deps)
    (blocked,) = analyse(graph, ["a"], 2).blocked
    assert blocked.move == DependencyMove(*keys("b.0001", "a.0002", "b.0001", "a.0001"))
    assert not blocked.move.later
    assert_unblocks(graph, blocked)


def test_adjacent_block_at_both_ends_of_the_app_has_no_move():
    """a.0001 -> b.0001 -> a.0002, the app's only two migrations: nowhere to move to."""
    graph = graph_of({**chain("a", 2, extra={2: ["b.0001"]}), "b.0001": ["a.0001"]})
    (blocked,) = analyse(graph, ["a"], 2).blocked
    assert blocked.move is None


def test_two_parallel_paths_back_have_no_single_move():
    """a.0002 -> b.0001 -> a.0004 and a.0002 -> c.0001 -> a.0004: moving any one
    dependency leaves the other path."""
    deps = {
        **chain("a", 5, extra={4: ["b.0001", "c.0001"]}),
        "b.0001": ["a.0002"],
        "c.0001": ["a.0002"],
    }
    (blocked,) = analyse(graph_of(deps), ["a"], 2).blocked
    assert blocked.move is None


def test_fan_out_after_one_leaving_dependency_moves_that_one():
    """a.0002 -> b.0001, then b.0001 -> b.0002 -> a.0004 and b.0001 -> c.0001 -> a.0004:
    two dependencies enter, one leaves: the leaving one moves."""
    deps = {
        **chain("a", 5, extra={4: ["b.0002", "c.0001"]}),
        **chain("b", 2, extra={1: ["a.0002"]}),
        "c.0001": ["b.0001"],
    }
    graph = graph_of(deps)
    (blocked,) = analyse(graph, ["a"], 2).blocked
    assert blocked.move == DependencyMove(*keys("b.0001", "a.0002", "b.0001", "a.0001"))
    assert_unblocks(graph, blocked)


def test_run_before_on_the_path_is_not_moved():
    """a.0002 -> b.0001 -> a.0004 where a.0002's run_before names b.0001 (the edge is
    declared in a's file, not a dependency of b.0001) and a.0004 depends on b.0001."""
    deps = {**chain("a", 5, extra={4: ["b.0001"]}), "b.0001": []}
    graph = graph_of(deps, nodes={"a.0002": {"run_before": ["b.0001"]}})
    graph.add_edge(("a", "0002"), ("b", "0001"), same_app=False, kind="run_before")
    (blocked,) = analyse(graph, ["a"], 2).blocked
    # only the entering dependency can move; the run_before stays where it is
    assert blocked.move == DependencyMove(*keys("a.0004", "b.0001", "a.0005", "b.0001"))


# -- ranking --------------------------------------------------------------------------


def window(app, start, length, flags=()):
    nodes = tuple((app, f"{n:04d}") for n in range(start, start + length))
    return SquashWindow(app, nodes, tuple(flags))


def test_ranking_prefers_operations_removed_over_length_and_porting():
    """The issue's case: 132 migrations taking 424 operations to 412 with 18 functions
    to port ranks below 40 migrations taking 120 to 30 with none."""
    big = window("orders", 1, 132)
    small = window("billing", 1, 40)
    ranked = rank_windows(
        [big, small], [WindowCost(424, 412, 18, 0, 0), WindowCost(120, 30, 0, 0, 0)]
    )
    assert [r.window.app for r in ranked] == ["billing", "orders"]
    assert ranked[1].payoff == Payoff(12, 131, round(131 * 0.29 + 12 * 3.9, 1), 1 + 5 * 18)


def test_overlapping_windows_of_one_app_are_alternatives_best_first():
    """a.0001..0010 and a.0008..0020 overlap; a.0025..0030 does not; b.0001..0010 is
    another app. The better of the overlapping two leads, the other follows it."""
    a_early, a_late, a_far = window("a", 1, 10), window("a", 8, 13), window("a", 25, 6)
    b = window("b", 1, 10)
    costs = [WindowCost(10, 10, 0, 0, 0), WindowCost(13, 3, 0, 0, 0)]
    costs += [WindowCost(6, 2, 0, 0, 0), WindowCost(10, 4, 0, 0, 0)]
    ranked = rank_windows([a_early, a_late, a_far, b], costs)
    assert [(r.window, r.alternative_to) for r in ranked] == [
        (a_late, None),
        (a_early, 1),
        (b, None),
        (a_far, None),
    ]
    assert [r.rank for r in ranked] == [1, 2, 3, 4]


def test_a_window_django_cannot_express_ranks_last():
    """However much it saves, a window with no squashmigrations command comes last."""
    odd = window("a", 1, 30, [Flag(BRANCHED, ("a", "0030"))])
    plain = window("b", 1, 3)
    ranked = rank_windows([odd, plain], [WindowCost(90, 1, 0, 0, 0), WindowCost(3, 3, 0, 0, 0)])
    assert [r.window for r in ranked] == [plain, odd]
