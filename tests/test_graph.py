"""``migrator graph`` end to end: real Django projects, the real CLI, real Graphviz and a
real headless Chromium."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import browser
from tests.browser import needs_chromium
from tests.djproject import DjangoProject, clean_env, sample_project

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("MIGRATOR_UPDATE_SNAPSHOTS") == "1"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")


def assert_snapshot(name: str, text: str) -> None:
    """Compare with tests/snapshots/NAME; MIGRATOR_UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {name}: run with MIGRATOR_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")


RUN_PYTHON = "migrations.RunPython(migrations.RunPython.noop)"
RUN_SQL_ELIDABLE = 'migrations.RunSQL("SELECT 1", migrations.RunSQL.noop, elidable=True)'


def small_project(root: Path) -> DjangoProject:
    """Every mark on a few migrations:

    shop:    0001 -> 0002 (RunPython) -> 0003_a | 0003_b     (conflict)
    billing: 0001 (after shop 0001) -> 0002_x | 0002_y -> 0003_merge -> 0004 (elidable RunSQL)
    ledger:  0001_squashed_0003 replaces 0001..0003; 0004 after 0003
    notes:   0001 -> ... -> 0006                              (a linear run)
    plus Django's auth and contenttypes (hidden unless --all).
    """
    project = DjangoProject(root, contrib=True)
    project.add_migration("shop", "0001_initial", [("auth", "0001_initial")])
    project.add_migration("shop", "0002_fill", [("shop", "0001_initial")], operations=[RUN_PYTHON])
    project.add_migration("shop", "0003_a", [("shop", "0002_fill")])
    project.add_migration("shop", "0003_b", [("shop", "0002_fill")])
    project.add_migration("billing", "0001_initial", [("shop", "0001_initial")])
    project.add_migration("billing", "0002_x", [("billing", "0001_initial")])
    project.add_migration("billing", "0002_y", [("billing", "0001_initial")])
    project.add_migration("billing", "0003_merge", [("billing", "0002_x"), ("billing", "0002_y")])
    project.add_migration(
        "billing", "0004_sql", [("billing", "0003_merge")], operations=[RUN_SQL_ELIDABLE]
    )
    project.chain("ledger", ["0001_initial", "0002_more", "0003_last"])
    project.add_migration(
        "ledger",
        "0001_squashed_0003_last",
        replaces=[("ledger", n) for n in ("0001_initial", "0002_more", "0003_last")],
    )
    project.add_migration("ledger", "0004_after", [("ledger", "0003_last")])
    project.chain("notes", [f"{i:04d}_step" for i in range(1, 7)])
    return project


@pytest.fixture
def small(tmp_path):
    return small_project(tmp_path / "small")


def test_dot_mermaid_json_snapshots_of_a_small_project(small):
    outputs = {}
    # --full draws what the default drew before pictures were fitted to a screen: these
    # snapshots are the former default's, unchanged.
    for name, args in {
        "small.dot": ["--full"],
        "small_fitted.dot": [],
        "small_collapsed.dot": ["--full", "--collapse"],
        "small_tb.dot": ["--full", "-X", "notes", "--rankdir", "TB", "--no-legend"],
        "small.mmd": ["-o", "graph.mmd"],
        "small.json": ["-o", "graph.json"],
    }.items():
        result = small.migrator("graph", *args)
        assert result.code == 0, result.err
        assert result.err == ""
        if "-o" in args:
            out_file = args[args.index("-o") + 1]
            assert result.out == f"wrote {out_file}: 17 migrations in 4 apps\n"
            outputs[name] = (small.root / out_file).read_text(encoding="utf-8")
        else:
            outputs[name] = result.out
    for name, text in outputs.items():
        assert_snapshot(name, text)
    # byte-identical on a second run
    again = small.migrator("graph", "--full", "--collapse")
    assert again.out == outputs["small_collapsed.dot"]
    assert small.migrator("graph").out == outputs["small_fitted.dot"]


def test_conflicting_leaves_are_the_ones_django_detects(small):
    data = small.migrator("graph", "-o", "g.json")
    assert data.code == 0, data.err
    nodes = json.loads((small.root / "g.json").read_text())["nodes"]
    marked: dict[str, list[str]] = {}
    for node in nodes:
        if "conflict" in node["marks"]:
            marked.setdefault(node["app_label"], []).append(node["name"])
    assert marked == small.django_conflicts() == {"shop": ["0003_a", "0003_b"]}


def test_json_attributes(small):
    assert small.migrator("graph", "--all", "-o", "g.json").code == 0
    data = json.loads((small.root / "g.json").read_text())
    by_id = {node["id"]: node for node in data["nodes"]}
    assert by_id["shop.0002_fill"]["marks"] == ["data"]
    assert by_id["shop.0002_fill"]["data_operations"] == ["RunPython"]
    assert by_id["shop.0002_fill"]["path"] == "shop/migrations/0002_fill.py"
    assert by_id["billing.0004_sql"]["marks"] == ["elidable"]
    assert by_id["billing.0003_merge"]["marks"] == ["merge"]
    assert by_id["ledger.0001_squashed_0003_last"]["replaces"] == 3
    assert "ledger.0002_more" not in by_id  # the graph migrate uses
    assert {"label": "auth", "local": False}.items() <= next(
        a for a in data["apps"] if a["label"] == "auth"
    ).items()
    edge = {
        "source": "auth.0001_initial",
        "target": "shop.0001_initial",
        "same_app": False,
        "kind": "dependency",
    }
    assert edge in data["edges"]


def test_squashed_all_shows_replaced_migrations(small):
    result = small.migrator("graph", "--squashed", "all", "-I", "ledger", "-o", "g.json")
    assert result.code == 0, result.err
    nodes = {n["id"]: n for n in json.loads((small.root / "g.json").read_text())["nodes"]}
    assert sorted(nodes) == [
        "ledger.0001_initial",
        "ledger.0001_squashed_0003_last",
        "ledger.0002_more",
        "ledger.0003_last",
        "ledger.0004_after",
    ]
    assert nodes["ledger.0002_more"]["replaced_by"] == "ledger.0001_squashed_0003_last"
    assert nodes["ledger.0002_more"]["marks"] == ["replaced"]
    assert not any("conflict" in n["marks"] for n in nodes.values())
    dot = small.migrator("graph", "--squashed", "all", "-I", "ledger").out
    assert 'label="replaced by 0001_squashed_0003_last"' in dot


def node_ids_in(dot_source: str) -> list[str]:
    return sorted(set(re.findall(r'^\t+"([^"]+)" \[', dot_source, re.MULTILINE)))


def test_include_exclude_all_and_focus(small):
    assert node_ids_in(small.migrator("graph", "-I", "b*", "-I", "notes", "-X", "n?tes").out) == [
        "billing.0001_initial",
        "billing.0002_x",
        "billing.0002_y",
        "billing.0003_merge",
        "billing.0004_sql",
    ]
    everything = node_ids_in(small.migrator("graph", "--all", "--no-collapse").out)
    assert "auth.0001_initial" in everything and "contenttypes.0001_initial" in everything
    assert not [n for n in node_ids_in(small.migrator("graph").out) if n.startswith("auth.")]
    focused = small.migrator("graph", "--focus", "billing.0002_y", "--depth", "1").out
    assert node_ids_in(focused) == ["billing.0001_initial", "billing.0002_y", "billing.0003_merge"]
    app = small.migrator("graph", "--focus", "billing", "--all").out
    assert node_ids_in(app) == [
        "billing.0001_initial",
        "billing.0002_x",
        "billing.0002_y",
        "billing.0003_merge",
        "billing.0004_sql",
        "shop.0001_initial",
    ]


def test_usage_errors_are_one_line_with_a_hint(small):
    cases = {
        ("-o", "graph.txt"): "cannot tell the format of 'graph.txt' from its extension",
        ("--depth", "2"): "--depth needs --focus",
        ("--focus", "billing.0002"): "--focus 'billing.0002' matches several migrations: "
        "'0002_x', '0002_y'",
        ("-I", "shpo"): "no app with migrations matches 'shpo'",
        ("--database", "nope"): "unknown database alias 'nope': DATABASES has no such entry",
    }
    before = small.snapshot()
    for args, message in cases.items():
        result = small.migrator("graph", *args)
        assert result.code == 2, (args, result.err)
        assert result.out == ""
        lines = result.err.splitlines()
        assert lines[0] == f"migrator: error: {message}"
        assert len(lines) == 2 and lines[1].startswith("  hint: ")
    assert small.snapshot() == before


@needs_dot
def test_image_formats(small):
    for name, magic in (("g.svg", b"<?xml"), ("g.png", b"\x89PNG"), ("g.pdf", b"%PDF")):
        result = small.migrator("graph", "-o", name)
        assert result.code == 0, result.err
        assert (small.root / name).read_bytes().startswith(magic)
    svg = (small.root / "g.svg").read_text()
    assert "<title>shop.0003_a</title>" in svg and "conflicting leaf" in svg


def test_missing_dot_fails_images_and_keeps_text_formats(small, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    env = clean_env(PATH=str(empty))  # a real PATH without Graphviz
    before = small.snapshot()
    for name in ("g.svg", "g.png", "g.pdf"):
        result = small.migrator("graph", "-o", name, env=env)
        assert result.code == 2
        assert result.out == ""
        assert result.err.splitlines()[0] == (
            "migrator: error: Graphviz 'dot' is not installed "
            f"(not on PATH): cannot draw {name[2:]}"
        )
        assert "apt-get install graphviz" in result.err.splitlines()[1]
    assert small.snapshot() == before
    for name in ("g.dot", "g.mmd", "g.json"):
        assert small.migrator("graph", "-o", name, env=env).code == 0
    page = small.migrator("graph", "-o", "g.html", env=env)
    assert page.code == 0, page.err
    assert "note: Graphviz 'dot' is not installed: drawn with migrator's lane layout" in page.out
    assert (
        '<g id="n0" class="node"><title>billing.0001_initial</title>'
        in (small.root / "g.html").read_text()
    )


def test_collapse_on_demand_and_automatically(project):
    names = [f"{i:04d}_step" for i in range(1, 251)]
    project.chain("big", names)
    auto = project.migrator("graph")
    assert '"big.0002_step" [label="0002_step ... 0249_step (248)"' in auto.out
    off = project.migrator("graph", "--no-collapse", "-o", "g.json")
    assert off.out == "wrote g.json: 250 migrations in 1 app\n"
    assert len(json.loads((project.root / "g.json").read_text())["nodes"]) == 250


def test_mermaid_refuses_what_github_cannot_render(project):
    project.chain("big", [f"{i:04d}_step" for i in range(1, 460)])
    refused = project.migrator("graph", "--no-collapse", "-o", "g.mmd")
    assert refused.code == 1
    assert refused.err.splitlines() == [
        "migrator: error: the Mermaid diagram would have 458 edges (GitHub renders about 450): "
        "too big to render in a pull request",
        "  hint: draw less: --focus APP or --focus APP.MIGRATION --depth N, -I/-X apps, "
        "--collapse; or write .svg or .html",
    ]
    assert not (project.root / "g.mmd").exists()
    collapsed = project.migrator("graph", "-o", "g.mmd")
    assert collapsed.code == 0
    assert "0002_step ... 0458_step (457)" in (project.root / "g.mmd").read_text()


ODD = '0002_q"uote\\back<lt>&amp{b}|p#h;s é'


@pytest.fixture
def odd(project):
    """shop: 0001_initial -> ODD -> 0003_next (a file name Django loads as it is)."""
    project.add_migration("shop", "0001_initial")
    project.add_migration("shop", ODD, [("shop", "0001_initial")])
    project.add_migration("shop", "0003_next", [("shop", ODD)])
    return project


def test_odd_names_are_escaped_in_dot(odd):
    dot_source = odd.migrator("graph", "--no-legend").out
    if shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' not installed: cannot parse the DOT back")
    svg = subprocess.run(
        ["dot", "-Tsvg"], input=dot_source, capture_output=True, text=True, check=True
    ).stdout
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]
    assert texts[1:] == ["0001_initial", ODD, "0003_next"]  # texts[0]: the cluster
    tooltips = [
        html.unescape(t) for t in re.findall(r'<g id="n\d".*?xlink:title="([^"]*)"', svg, re.DOTALL)
    ]
    assert tooltips == ["shop.0001_initial", f"shop.{ODD}", "shop.0003_next"]


def test_odd_names_are_escaped_in_mermaid_and_json(odd):
    assert odd.migrator("graph", "-o", "g.mmd").code == 0
    mermaid = (odd.root / "g.mmd").read_text()
    labels = re.findall(r'^\s+n\d+\["([^"]*)"\]$', mermaid, re.MULTILINE)
    decoded = [re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label) for label in labels]
    assert decoded == ["0001_initial", ODD, "0003_next"]
    assert odd.migrator("graph", "-o", "g.json").code == 0
    nodes = json.loads((odd.root / "g.json").read_text(encoding="utf-8"))["nodes"]
    assert [n["name"] for n in nodes] == ["0001_initial", ODD, "0003_next"]


@needs_dot
def test_odd_names_are_escaped_in_html(odd):
    assert odd.migrator("graph", "-o", "g.html").code == 0
    page = (odd.root / "g.html").read_text(encoding="utf-8")
    script = re.search(
        r'<script type="application/json" id="graph-data">(.*?)</script>', page, re.DOTALL
    ).group(1)
    assert "<" not in script
    assert [n["name"] for n in json.loads(script)["nodes"]][1] == ODD
    tooltips = [html.unescape(t) for t in re.findall(r'xlink:title="([^"]*)"', page)]
    assert f"shop.{ODD}" in tooltips


# -- the HTML page in a real headless Chromium ------------------------------------------


@needs_chromium
@pytest.mark.parametrize("layout_choice", ["dot", "lanes"])
def test_html_page_loads_offline_and_search_finds_a_migration(small, tmp_path, layout_choice):
    if layout_choice == "dot" and shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' not installed")
    result = small.migrator("graph", "--layout", layout_choice, "-o", "graph.html")
    assert result.code == 0, result.err
    page = small.root / "graph.html"
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing to fetch
    dom = browser.dom(page.as_uri() + "#search=shop.0003")
    status = re.search(r'<span id="status">(.*?)</span>', dom).group(1)
    assert status == "2 matches: shop.0003_a, shop.0003_b"
    assert re.search(r'<g id="n\d+" class="node match current">\s*<title>shop\.0003_a</title>', dom)
    nothing = browser.dom(page.as_uri() + "#search=nosuchmigration")
    assert '<span id="status">0 matches</span>' in nothing
    chosen = browser.dom(page.as_uri() + "#select=billing.0003_merge")
    status = re.search(r'<span id="status">(.*?)</span>', chosen).group(1)
    assert status == "billing.0003_merge: 5 ancestors and descendants (Esc to clear)"
    dimmed = re.findall(r'class="node dim">\s*<title>(.*?)</title>', chosen)
    assert sorted(dimmed) == [
        "ledger.0001_squashed_0003_last",
        "ledger.0004_after",
        "notes.0001_step",
        "notes.0002_step",
        "notes.0003_step",
        "notes.0004_step",
        "notes.0005_step",
        "notes.0006_step",
        "shop.0002_fill",
        "shop.0003_a",
        "shop.0003_b",
    ]


# -- sample_apps: the picture in the README -------------------------------------------


def test_sample_apps_snapshot(tmp_path):
    project = sample_project(tmp_path / "shop")
    result = project.migrator("graph", "--full")
    assert result.code == 0, result.err
    assert_snapshot("sample_apps.dot", result.out)  # the former default, unchanged
    fitted = project.migrator("graph")
    assert fitted.code == 0, fitted.err
    assert_snapshot("sample_apps_fitted.dot", fitted.out)


# -- applied state, squash windows, the lane layout -------------------------------------


def test_database_fills_applied_migrations_as_the_recorder_says(project):
    project.chain("shop", ["0001_initial", "0002_b", "0003_c", "0004_d"])
    migrated = project.manage("migrate", "shop", "0002_b")
    assert migrated.code == 0, migrated.err
    recorded = project.django(
        """
        from django.db import connection
        from django.db.migrations.recorder import MigrationRecorder
        rows = MigrationRecorder(connection).applied_migrations()
        print(json.dumps(sorted(name for app, name in rows if app == "shop")))
        """
    )
    result = project.migrator("graph", "--database", "default", "-o", "g.json")
    assert result.code == 0, result.err
    nodes = json.loads((project.root / "g.json").read_text())["nodes"]
    applied = [n["name"] for n in nodes if "applied" in n["marks"]]
    assert applied == json.loads(recorded.out) == ["0001_initial", "0002_b"]
    assert [n["name"] for n in nodes if "unapplied" in n["marks"]] == ["0003_c", "0004_d"]
    dot = project.migrator("graph", "--database", "default").out
    assert 'legend_unapplied [label="not applied"' in dot
    assert (
        "unapplied"
        not in project.migrator("graph", "-o", "h.json").out + (project.root / "h.json").read_text()
    )


def test_squash_outlines_the_windows_migrator_squash_finds(project):
    names = [f"{i:04d}_step" for i in range(1, 13)]
    project.chain("shop", names)
    project.add_migration("other", "0001_initial", [("shop", "0004_step")])
    project.add_migration("shop", "0013_after", [("shop", "0012_step"), ("other", "0001_initial")])
    squash = project.migrator("squash", "-f", "json", "--min-length", "3")
    result = project.migrator("graph", "--squash", "--min-length", "3", "-o", "g.json")
    assert result.code == 0, result.err
    windows = json.loads((project.root / "g.json").read_text())["squash_windows"]
    expected = [(w["app"], w["start"], w["end"]) for w in squash.json()["windows"]]
    assert [(w["app"], w["start"], w["end"]) for w in windows] == expected
    assert expected  # the project has windows to outline
    dot = project.migrator("graph", "--squash", "--min-length", "3").out
    for _app, start, end in expected:
        assert f"squash window: {start} ... {end}" in dot


@needs_dot
def test_lane_layout_is_drawn_by_graphviz_from_its_positions(small):
    dot = small.migrator("graph", "--layout", "lanes").out
    assert "render with `neato -n2`" in dot
    assert re.search(r'"shop.0001_initial" \[.*pos="[\d.]+,[\d.]+"', dot)
    result = small.migrator("graph", "--layout", "lanes", "-o", "g.svg")
    assert result.code == 0, result.err
    assert "<title>shop.0003_a</title>" in (small.root / "g.svg").read_text()


def test_conflicting_apps_carry_the_verdict_of_migrator_explain(tmp_path):
    shop = sample_project(tmp_path / "shop")
    drawn = shop.migrator("graph", "-o", "g.json")
    assert drawn.code == 0, drawn.err
    apps = json.loads((shop.root / "g.json").read_text())["apps"]
    verdicts = {a["label"]: a["conflict"] for a in apps if a["conflict"]}
    explained = shop.migrator("explain", "-f", "json").json()
    assert verdicts == {c["app"]: c["overlap"]["level"] for c in explained["conflicts"]}
    assert verdicts == {"customers": "model", "inventory": "field", "orders": "none"}
    dot = shop.migrator("graph").out
    assert 'label="inventory (conflict on the same field or model: unsafe)"' in dot
    plain = shop.migrator("graph", "--no-explain").out
    assert "label=inventory labeljust=l style=" in plain and "(conflict" not in plain
