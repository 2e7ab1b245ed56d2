"""The pure view of ``migrator graph`` (migrator.render.viewmodel, render.lanes), on
literal graphs (tests/graphs.py)."""

from __future__ import annotations

import networkx as nx
import pytest

from migrator.errors import UsageError
from migrator.render import lanes, palette, viewmodel
from tests.graphs import chain, graph_of


class RunPython:
    """Stands for Django's operation of that name: the view judges by class name."""

    def __init__(self, elidable: bool = False) -> None:
        self.elidable = elidable


class RunSQL(RunPython):
    pass


class AddField:
    pass


def labels(view: nx.DiGraph) -> list[str]:
    return [view.nodes[n]["label"] for n in sorted(view.nodes)]


def test_linear_chain_collapses_between_root_and_leaf():
    """a1 -> a2 -> a3 -> a4 -> a5: the root and the leaf stay, the middle is one node."""
    view = viewmodel.build_view(graph_of(chain("a", 5)), collapse_runs=True)
    assert labels(view) == ["0001", "0002 ... 0004 (3)", "0005"]
    assert view.nodes["a", "0002"]["members"] == (("a", "0002"), ("a", "0003"), ("a", "0004"))
    assert sorted(view.edges) == [(("a", "0001"), ("a", "0002")), (("a", "0002"), ("a", "0005"))]


def test_cross_app_edge_splits_a_run():
    """a1 -> a2 -> a3 -> a4 -> a5 -> a6, and a3 -> b1: a3 stays visible."""
    spec = {**chain("a", 6), "b.0001": ["a.0003"]}
    view = viewmodel.build_view(graph_of(spec), collapse_runs=True)
    assert labels(view) == ["0001", "0002", "0003", "0004 ... 0005 (2)", "0006", "0001"]


def test_data_migration_splits_a_run():
    """a1 -> ... -> a7, a4 runs RunPython: a2-a3 and a5-a6 collapse, a4 stays."""
    graph = graph_of(chain("a", 7), nodes={"a.0004": {"operations": (AddField(), RunPython())}})
    view = viewmodel.build_view(graph, collapse_runs=True)
    assert labels(view) == ["0001", "0002 ... 0003 (2)", "0004", "0005 ... 0006 (2)", "0007"]
    assert view.nodes["a", "0004"]["marks"] == (viewmodel.DATA,)
    assert view.nodes["a", "0004"]["data_operations"] == ("RunPython",)


def test_elidable_and_non_elidable_data_migrations_differ():
    """a1 (elidable RunSQL), a2 (elidable RunPython + non-elidable RunSQL)."""
    graph = graph_of(
        {"a.0001": [], "a.0002": ["a.0001"]},
        nodes={
            "a.0001": {"operations": (RunSQL(elidable=True),)},
            "a.0002": {"operations": (RunPython(elidable=True), RunSQL())},
        },
    )
    view = viewmodel.build_view(graph)
    assert view.nodes["a", "0001"]["marks"] == (viewmodel.ELIDABLE,)
    assert view.nodes["a", "0002"]["marks"] == (viewmodel.DATA,)
    assert view.nodes["a", "0002"]["data_operations"] == ("RunPython", "RunSQL")


def test_fork_marks_both_leaves_as_conflicts_and_keeps_them():
    """a1 -> a2 -> a3 -> a4x and a3 -> a4y -> a5y: two leaves (a4x, a5y)."""
    spec = {**chain("a", 3), "a.0004x": ["a.0003"], "a.0004y": ["a.0003"], "a.0005y": ["a.0004y"]}
    view = viewmodel.build_view(graph_of(spec), collapse_runs=True)
    conflicting = sorted(n for n in view.nodes if viewmodel.CONFLICT in view.nodes[n]["marks"])
    assert conflicting == [("a", "0004x"), ("a", "0005y")]
    # a3 has two children and a4y leads to a leaf through one child only: neither is a run
    assert labels(view) == ["0001", "0002", "0003", "0004x", "0004y", "0005y"]


def test_diamond_merge_is_marked_and_not_collapsed():
    """a1 -> a2x -> a3, a1 -> a2y -> a3 (merge) -> a4 -> a5 -> a6."""
    spec = {
        "a.0001": [],
        "a.0002x": ["a.0001"],
        "a.0002y": ["a.0001"],
        "a.0003": ["a.0002x", "a.0002y"],
        "a.0004": ["a.0003"],
        "a.0005": ["a.0004"],
        "a.0006": ["a.0005"],
    }
    view = viewmodel.build_view(graph_of(spec), collapse_runs=True)
    assert viewmodel.MERGE in view.nodes["a", "0003"]["marks"]
    assert labels(view) == ["0001", "0002x", "0002y", "0003", "0004 ... 0005 (2)", "0006"]


def test_applied_boundary_splits_a_run():
    """a1..a8 where a1-a4 are applied and a5-a8 not: the runs stop at the boundary."""
    applied = [f"a.{i:04d}" for i in range(1, 5)]
    view = viewmodel.build_view(graph_of(chain("a", 8), applied=applied), collapse_runs=True)
    assert labels(view) == ["0001", "0002 ... 0004 (3)", "0005 ... 0007 (3)", "0008"]
    assert view.nodes["a", "0005"]["marks"] == (viewmodel.COLLAPSED, viewmodel.UNAPPLIED)


def test_no_database_means_no_applied_marks():
    """a1 -> a2 with applied=None, as the loader gives without a database."""
    view = viewmodel.build_view(graph_of(chain("a", 2), applied=None))
    assert all(view.nodes[n]["marks"] == () for n in view.nodes)


def test_automatic_collapse_only_above_the_threshold():
    """One long chain: collapsed past AUTO_COLLAPSE migrations, drawn whole below."""
    small = viewmodel.build_view(graph_of(chain("a", viewmodel.AUTO_COLLAPSE)))
    assert small.number_of_nodes() == viewmodel.AUTO_COLLAPSE and not small.graph["collapsed"]
    big = viewmodel.build_view(graph_of(chain("a", viewmodel.AUTO_COLLAPSE + 1)))
    assert (
        big.graph["collapsed"]
        and labels(big)[1]
        == f"0002 ... {viewmodel.AUTO_COLLAPSE:04d} ({viewmodel.AUTO_COLLAPSE - 1})"
    )
    forced_off = viewmodel.build_view(graph_of(chain("a", 300)), collapse_runs=False)
    assert forced_off.number_of_nodes() == 300


def test_squash_window_ends_stay_visible():
    """a1..a9 with a window a3..a7: a3 and a7 are kept, a4-a6 collapse inside it."""
    graph = graph_of(chain("a", 9))
    window = viewmodel.Window("a", "0003", "0007", tuple(("a", f"{i:04d}") for i in range(3, 8)))
    view = viewmodel.build_view(graph, collapse_runs=True, windows=[window])
    assert labels(view) == ["0001", "0002", "0003", "0004 ... 0006 (3)", "0007", "0008", "0009"]


def three_apps() -> nx.DiGraph:
    """auth1 -> shop1 -> shop2 -> shop3; shop2 -> shipping1 -> shipping2; shopify1 alone."""
    spec = {
        "auth.0001": [],
        "shop.0001": ["auth.0001"],
        "shop.0002": ["shop.0001"],
        "shop.0003": ["shop.0002"],
        "shipping.0001": ["shop.0002"],
        "shipping.0002": ["shipping.0001"],
        "shopify.0001": [],
    }
    return graph_of(spec, local={"auth": False})


def apps_of(view: nx.DiGraph) -> list[str]:
    return list(viewmodel.drawn_apps(view))


def test_contrib_apps_hidden_unless_all():
    """three_apps(): auth (not local) is hidden unless all_apps."""
    graph = three_apps()
    assert apps_of(viewmodel.build_view(graph)) == ["shipping", "shop", "shopify"]
    assert apps_of(viewmodel.build_view(graph, all_apps=True)) == [
        "auth",
        "shipping",
        "shop",
        "shopify",
    ]
    assert viewmodel.build_view(graph).graph["hidden"] == 1


def test_include_and_exclude_with_wildcards():
    """three_apps(): shop*, sh* minus *ify, and the hidden auth named outright."""
    graph = three_apps()
    assert apps_of(viewmodel.build_view(graph, include=["shop*"])) == ["shop", "shopify"]
    assert apps_of(viewmodel.build_view(graph, include=["sh*"], exclude=["*ify"])) == [
        "shipping",
        "shop",
    ]
    # naming a hidden app includes it
    assert apps_of(viewmodel.build_view(graph, include=["au?h"])) == ["auth"]


def test_pattern_matching_nothing_is_a_usage_error():
    with pytest.raises(UsageError, match="'shp'") as error:
        viewmodel.build_view(three_apps(), exclude=["shp"])
    assert error.value.hint == "did you mean 'shop'?"


def test_focus_on_a_migration_shows_ancestors_and_descendants():
    """Focus shop2: auth1, shop1 before it; shop3, shipping1, shipping2 after it."""
    view = viewmodel.build_view(three_apps(), focus=["shop.0002"], all_apps=True)
    assert sorted(view.nodes) == [
        ("auth", "0001"),
        ("shipping", "0001"),
        ("shipping", "0002"),
        ("shop", "0001"),
        ("shop", "0002"),
        ("shop", "0003"),
    ]
    assert view.nodes["shop", "0002"]["marks"] == (viewmodel.FOCUS,)


def test_focus_depth_limits_the_distance():
    """Focus shop2 at depth 1: shop1 before it; shop3, shipping1 after it."""
    view = viewmodel.build_view(three_apps(), focus=["shop.0002"], depth=1)
    assert sorted(view.nodes) == [
        ("shipping", "0001"),
        ("shop", "0001"),
        ("shop", "0002"),
        ("shop", "0003"),
    ]


def test_focus_on_an_app_takes_its_direct_neighbours():
    """Focus shipping: shipping1 -> shipping2 and shop2, its only neighbour."""
    view = viewmodel.build_view(three_apps(), focus=["shipping"])
    assert sorted(view.nodes) == [("shipping", "0001"), ("shipping", "0002"), ("shop", "0002")]


def test_focus_by_unique_prefix_and_errors():
    graph = three_apps()
    assert viewmodel.resolve_focus(graph, "shop.0003") == [("shop", "0003")]
    with pytest.raises(UsageError, match="several migrations"):
        viewmodel.resolve_focus(graph, "shop.000")
    with pytest.raises(UsageError, match="no migration '0009'"):
        viewmodel.resolve_focus(graph, "shop.0009")
    with pytest.raises(UsageError, match="no app 'shoop'"):
        viewmodel.resolve_focus(graph, "shoop")
    with pytest.raises(UsageError, match="--depth needs --focus"):
        viewmodel.build_view(graph, depth=2)
    with pytest.raises(UsageError, match="nothing to draw"):
        viewmodel.build_view(graph, focus=["shipping"], exclude=["sh*"])


def test_squashed_all_marks_replaced_and_judges_conflicts_without_the_squash():
    """a1 -> a2 -> a3 -> a4, and a1_squashed_a3 (replaces a1-a3) standing alone: the
    squashed node is a second leaf in this graph, but Django never uses both."""
    spec = {**chain("a", 4), "a.0001_squashed_0003": []}
    replaces = {"replaces": ["a.0001", "a.0002", "a.0003"]}
    view = viewmodel.build_view(graph_of(spec, nodes={"a.0001_squashed_0003": replaces}))
    assert view.nodes["a", "0002"]["replaced_by"] == ("a", "0001_squashed_0003")
    assert view.nodes["a", "0002"]["marks"] == (viewmodel.REPLACED,)
    assert view.nodes["a", "0001_squashed_0003"]["marks"] == (viewmodel.SQUASHED,)
    assert not any(viewmodel.CONFLICT in view.nodes[n]["marks"] for n in view.nodes)


def distance(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def test_app_hues_keep_the_label_hue_when_apart():
    """Hues come from the label alone (not its position): apps far enough apart keep
    theirs whatever else is installed, in any order."""
    apart = ["catalog", "customers", "inventory"]
    assert (
        min(
            distance(palette.label_hue(a), palette.label_hue(b))
            for a in apart
            for b in apart
            if a < b
        )
        > 30
    )
    hues = palette.app_hues(apart)
    assert hues == {label: palette.label_hue(label) for label in apart}
    assert palette.app_hues(reversed(apart)) == hues


def test_app_hues_move_the_later_of_two_apps_that_look_alike():
    """customers and orders hash to hues 9 degrees apart (the same tan): orders, later in
    label order, moves on by the golden angle until it is clear of every hue taken."""
    assert distance(palette.label_hue("customers"), palette.label_hue("orders")) < 10
    hues = palette.app_hues(["orders", "customers"])
    assert hues["customers"] == palette.label_hue("customers")
    assert hues["orders"] != palette.label_hue("orders")
    assert distance(hues["orders"], hues["customers"]) >= 30
    assert (
        palette.app_colours(hues["orders"])["fill"]
        != palette.app_colours(hues["customers"])["fill"]
    )


@pytest.mark.parametrize("count", [2, 8, 50])
def test_app_hues_keep_every_pair_apart(count):
    labels = [f"app_{i:03d}" for i in range(count)]
    hues = palette.app_hues(labels)
    gap = min(30.0, 180.0 / count)
    assert min(distance(hues[a], hues[b]) for a in labels for b in labels if a < b) >= gap
    assert hues == palette.app_hues(labels)


def test_an_app_has_the_same_colour_in_every_drawing_of_the_project():
    """Hues are shared out among all the project's apps, not just the drawn ones, so a
    filtered or focused drawing paints an app as the whole one does."""
    graph = graph_of({**chain("customers", 2), **chain("orders", 2), **chain("catalog", 2)})
    whole = viewmodel.drawn_apps(viewmodel.build_view(graph))
    alone = viewmodel.drawn_apps(viewmodel.build_view(graph, include=["orders"]))
    assert alone["orders"].fill == whole["orders"].fill
    assert whole["orders"].fill != whole["customers"].fill


def test_dot_cost_counts_ranks_long_edges_cross():
    """a1 -> a2 -> a3 -> a4 and a1 -> b1 -> a4: b1 sits at rank 1, so b1 -> a4 spans
    two ranks (one virtual node)."""
    spec = {**chain("a", 4), "b.0001": ["a.0001"]}
    graph = graph_of(spec)
    graph.add_edge(("b", "0001"), ("a", "0004"), same_app=False, kind="dependency")
    assert lanes.dot_cost(viewmodel.build_view(graph)) == 5 + 1


def test_lane_layout_puts_each_app_in_its_band_left_to_right():
    """a1 -> a2 -> a3 and b1 -> b2: every a-node inside a's band, in order."""
    spec = {**chain("a", 3), **chain("b", 2, start="a.0001")}
    view = viewmodel.build_view(graph_of(spec))
    texts = {node: [view.nodes[node]["label"]] for node in view.nodes}
    placed = lanes.lane_layout(view, texts)
    xs = [placed.centres["a", f"{i:04d}"][0] for i in (1, 2, 3)]
    assert xs == sorted(xs) and len(set(xs)) == 3
    for node, (x, y) in placed.centres.items():
        bx, by, bw, bh = placed.bands[node[0]]
        assert bx <= x <= bx + bw and by <= y <= by + bh
    top_to_bottom = lanes.lane_layout(view, texts, "TB")
    ys = [top_to_bottom.centres["a", f"{i:04d}"][1] for i in (1, 2, 3)]
    assert ys == sorted(ys) and len(set(ys)) == 3
