"""``migrator graph --apps``: the app-level overview, end to end on real projects, with
Django's loader as the oracle for what it counts and real Graphviz for its size."""

from __future__ import annotations

import collections
import importlib.util
import json
import re
import shutil
import struct
import sys
from pathlib import Path

import pytest

from tests.djproject import DjangoProject
from tests.test_graph import assert_snapshot
from tests.test_graph_output import migrator_bytes, packaged_project

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")


def tangled_project(root: Path) -> DjangoProject:
    """Apps that need each other, a conflict, a squash, an app name Mermaid must escape:

    shop.0001 -> shop.0002 (after café.0001) ; shop.0003_a | shop.0003_b  (conflict)
    café.0001 -> café.0002 (after shop.0001)            shop <-> café: a cycle
    ledger.0001_squashed_0002 (replaces 0001, 0002) after shop.0002 and café.0002
    report.0001 after ledger.0001_squashed_0002 and shop.0001 (implied, not reduced:
    few edges)
    plus Django's auth and contenttypes, hidden.
    """
    project = DjangoProject(root, contrib=True)
    project.add_migration("shop", "0001_initial", [("auth", "0001_initial")])
    project.add_migration("café", "0001_initial")
    project.add_migration("café", "0002_more", [("café", "0001_initial"), ("shop", "0001_initial")])
    project.add_migration("shop", "0002_more", [("shop", "0001_initial"), ("café", "0001_initial")])
    project.add_migration("shop", "0003_a", [("shop", "0002_more")])
    project.add_migration("shop", "0003_b", [("shop", "0002_more")])
    project.chain("ledger", ["0001_initial", "0002_more"], start=("shop", "0002_more"))
    project.add_migration(
        "ledger",
        "0001_squashed_0002_more",
        [("shop", "0002_more"), ("café", "0002_more")],
        replaces=[("ledger", "0001_initial"), ("ledger", "0002_more")],
    )
    project.add_migration(
        "report",
        "0001_initial",
        [("ledger", "0001_squashed_0002_more"), ("shop", "0001_initial")],
    )
    return project


@pytest.fixture
def tangled(tmp_path):
    return tangled_project(tmp_path / "tangled")


def django_app_graph(project: DjangoProject) -> dict:
    """What Django's loader says, app by app: migrations, leaf nodes, conflicts, squashed
    migrations, and the migration edges between apps."""
    result = project.django(
        """
        import collections
        from django.db.migrations.loader import MigrationLoader
        loader = MigrationLoader(None, ignore_no_migrations=True)
        graph = loader.graph
        counts = collections.Counter(app for app, _ in graph.nodes)
        leaves = collections.defaultdict(list)
        for app, name in graph.leaf_nodes():
            leaves[app].append(name)
        edges = collections.Counter()
        for key, node in graph.node_map.items():
            for parent in node.parents:
                if parent.key[0] != key[0]:
                    edges[f"{parent.key[0]} {key[0]}"] += 1
        squashed = collections.Counter(
            app for (app, _), m in graph.nodes.items() if m.replaces
        )
        print(json.dumps({
            "counts": counts,
            "leaves": {app: sorted(names) for app, names in leaves.items()},
            "conflicts": sorted(loader.detect_conflicts()),
            "squashed": squashed,
            "edges": edges,
        }))
        """
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.mark.parametrize("static", [False, True], ids=["django", "static"])
def test_apps_json_counts_what_django_loads(tangled, static):
    flags = ["--static"] if static else []
    result = tangled.migrator("graph", "--apps", *flags, "--all", "-f", "json")
    assert result.code == 0, result.err
    assert result.err == ""
    data = result.json()
    django = django_app_graph(tangled)
    apps = {a["label"]: a for a in data["apps"]}
    assert {app: a["migrations"] for app, a in apps.items()} == django["counts"]
    assert {app: a["leaves"] for app, a in apps.items()} == django["leaves"]
    assert sorted(app for app, a in apps.items() if a["conflict"]) == django["conflicts"]
    assert {app: a["squashed"] for app, a in apps.items() if a["squashed"]} == django["squashed"]
    edges = {f"{d['from']} {d['to']}": d["count"] for d in data["dependencies"]}
    assert edges == django["edges"]
    assert data["cycles"] == [["café", "shop"]]
    assert data["hidden"] == [] and data["reduced"] is False
    assert django["conflicts"] == ["shop"] and django["edges"]["café shop"] == 1


def test_apps_default_hides_django_and_third_party_apps(tangled):
    result = tangled.migrator("graph", "--apps", "--no-explain", "-f", "json")
    assert result.code == 0, result.err
    data = result.json()
    assert [a["label"] for a in data["apps"]] == ["café", "ledger", "report", "shop"]
    assert data["hidden"] == ["auth", "contenttypes"]
    assert not [d for d in data["dependencies"] if "auth" in (d["from"], d["to"])]


def test_apps_dot_and_mermaid_snapshots(tangled):
    dot = tangled.migrator("graph", "--apps")
    assert dot.code == 0, dot.err
    mermaid = tangled.migrator("graph", "--apps", "--format", "mmd")
    assert mermaid.code == 0, mermaid.err
    if shutil.which("dot") is not None:  # fitted by Graphviz (a small one stays as it is)
        assert_snapshot("tangled_apps.dot", dot.out)
    assert_snapshot("tangled_apps.mmd", mermaid.out)
    assert 'subgraph cycle_0["depend on each other both ways (2 apps)"]' in mermaid.out
    assert "caf#233;" in mermaid.out  # é as an entity: Mermaid ids and labels stay ASCII
    assert tangled.migrator("graph", "--apps").out == dot.out  # deterministic


@needs_dot
def test_apps_svg_outlines_the_cycle_and_marks_the_conflict(tangled):
    written = tangled.migrator("graph", "--apps", "-o", "apps.svg")
    assert written.code == 0, written.err
    assert written.out == "wrote apps.svg: 4 apps, 6 dependencies between them drawn\n"
    svg = (tangled.root / "apps.svg").read_text(encoding="utf-8")
    cluster = re.search(r'<g id="clust1" class="cluster">(.*?)</g>', svg, re.DOTALL).group(1)
    assert "depend on each other both ways (2 apps)" in cluster
    titles = re.findall(r'<g id="node\d+" class="node">\s*<title>(.*?)</title>', svg)
    assert sorted(titles) == ["café", "ledger", "report", "shop"]
    shop = re.search(r"<title>shop</title>(.*?)</g>", svg, re.DOTALL).group(1)
    assert "conflict: 2 leaves" in shop and 'stroke="#c62828"' in shop
    assert "the branches change different models" in shop  # migrator explain's verdict


def test_apps_usage_errors(tangled):
    before = tangled.snapshot()
    cases = {
        ("--focus", "shop"): "--apps draws one node per app: --focus draws migrations",
        ("--database", "default", "--squash"): "--apps draws one node per app: --squash, "
        "--database draws migrations",
        ("-o", "apps.html"): "--apps draws svg, png, pdf, dot, mmd or json, not html",
    }
    for args, message in cases.items():
        result = tangled.migrator("graph", "--apps", *args)
        assert result.code == 2, (args, result.err)
        assert result.out == ""
        assert result.err.splitlines()[0] == f"migrator: error: {message}"
        assert result.err.splitlines()[1].startswith("  hint: ")
    assert tangled.snapshot() == before


def test_apps_of_only_hidden_apps_is_refused(tmp_path):
    project = packaged_project(tmp_path / "product")
    result = project.migrator("graph", "--apps")
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith("migrator: error: nothing to draw: all ")
    shown = project.migrator("graph", "--apps", "--all", "-f", "json")
    assert shown.code == 0, shown.err
    assert [a["label"] for a in shown.json()["apps"]] == [
        "acme_billing",
        "acme_shop",
        "auth",
        "contenttypes",
    ]


# -- 60 apps: readable at a glance ----------------------------------------------------------


def generator():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"
    spec = importlib.util.spec_from_file_location("_apps_generate", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@needs_dot
@pytest.mark.parametrize("migrations", [20, 60])
def test_sixty_apps_fit_a_screen(tmp_path, migrations):
    """60 generated apps (cross-app foreign keys to lower apps, three conflicts): the PNG
    stays under 4,000 px a side, between 1:3 and 3:1, at a scale where 14 pt text is
    at least 16 px; every app is drawn, the conflicting ones red."""
    generator().generate_project(tmp_path / "gen", 60, migrations, conflicts=3, seed=1)
    project = DjangoProject.open(tmp_path / "gen")
    code, png, err = migrator_bytes(project, "graph", "--apps", "--no-explain", "-f", "png")
    assert code == 0, err
    width, height = png_size(png)
    assert max(width, height) <= 4000, (width, height)
    assert 1 / 3 <= width / height <= 3, (width, height)
    dot = project.migrator("graph", "--apps", "--no-explain").out
    assert "fontsize=14" in dot and not re.search(r"\bsize=", dot)  # never scaled: 18.7 px
    data = project.migrator("graph", "--apps", "--no-explain", "-f", "json").json()
    assert len(data["apps"]) == 60
    assert sorted(a["label"] for a in data["apps"] if a["conflict"]) == [
        "app_000",
        "app_001",
        "app_002",
    ]
    drawn = [d for d in data["dependencies"] if not (data["reduced"] and d["implied"])]
    for edge in drawn:
        assert f"{edge['from']} -> {edge['to']}" in dot
    counts = collections.Counter(a["migrations"] for a in data["apps"])
    assert counts[migrations] == 57 and counts[migrations + 1] == 3


def test_apps_mermaid_refuses_what_github_cannot_render(tmp_path):
    """22 apps each needed by 22 others: 484 edges, none implied by a path."""
    project = DjangoProject(tmp_path / "wide")
    sources = [f"base{i:02d}" for i in range(22)]
    for app in sources:
        project.add_migration(app, "0001_initial")
    for index in range(22):
        project.add_migration(
            f"top{index:02d}", "0001_initial", [(a, "0001_initial") for a in sources]
        )
    refused = project.migrator("graph", "--apps", "--no-explain", "-o", "apps.mmd")
    assert refused.code == 1
    assert refused.out == ""
    assert refused.err.splitlines() == [
        "migrator: error: the Mermaid diagram would have 484 edges (GitHub renders about 450): "
        "too big to render in a pull request",
        "  hint: draw fewer apps with -I/-X, or write .svg or .png",
    ]
    assert not (project.root / "apps.mmd").exists()
    fewer = project.migrator("graph", "--apps", "--no-explain", "-X", "top0*", "-f", "mmd")
    assert fewer.code == 0, fewer.err
    assert fewer.out.count(" --> ") == 22 * 12
