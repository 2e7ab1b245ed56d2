"""``migrator graph``'s default picture fits a screen (issue 16): long chains wrap into
rows, a project too big for that shows its conflicts' story with the rest summarised,
and ``--full`` draws everything as before. Real projects, the real CLI, real Graphviz;
sizes read from the PNG header and the SVG's own width and height, never pixels."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.djproject import DjangoProject
from tests.test_graph_apps import generator, png_size
from tests.test_graph_output import migrator_bytes

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")

RUN_PYTHON = "migrations.RunPython(migrations.RunPython.noop)"


def svg_size(svg: bytes) -> tuple[float, float]:
    """Width and height in CSS pixels (Graphviz writes points: 4/3 px each)."""
    found = re.search(rb'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert found, svg[:400]
    return float(found[1]) * 4 / 3, float(found[2]) * 4 / 3


def assert_readable(width: float, height: float) -> None:
    assert max(width, height) <= 4000, (width, height)
    assert 1 / 3 <= width / height <= 3, (width, height)


def node_statements(dot: str) -> dict[str, str]:
    """DOT node name -> its label, for every node drawn (not the legend's)."""
    found = {}
    for name, label in re.findall(r'^\t+"?([^"\s]+)"? \[label="((?:[^"\\]|\\.)*)"', dot, re.M):
        if not name.startswith("legend"):
            found[name] = label.replace("\\n", "\n")
    return found


@needs_dot
def test_a_long_chain_wraps_into_rows_that_fit_a_screen(tmp_path):
    """One app, 90 RunPython migrations (none collapses): drawn whole, a strip; by
    default the same 90 nodes in rows, 12 pt text, at most 4,000 px a side, 1:3..3:1."""
    project = DjangoProject(tmp_path / "long")
    previous = None
    for number in range(1, 91):
        name = f"{number:04d}_fill_the_column_{number}"
        project.add_migration(
            "shop", name, [("shop", previous)] if previous else [], operations=[RUN_PYTHON]
        )
        previous = name
    code, png, err = migrator_bytes(project, "graph", "-f", "png")
    assert code == 0, err
    assert_readable(*png_size(png))
    code, svg, err = migrator_bytes(project, "graph", "-f", "svg")
    assert code == 0, err
    assert_readable(*svg_size(svg))
    dot = project.migrator("graph").out
    assert "node [fontname=Helvetica fontsize=12" in dot and not re.search(r"\bsize=", dot)
    assert len(node_statements(dot)) == 90  # wrapped, nothing left out
    code, strip, err = migrator_bytes(project, "graph", "--full", "-f", "png")
    assert code == 0, err
    width, height = png_size(strip)
    assert width > 3 * height  # what the default drew before


ORACLE = """
from django.db.migrations.loader import MigrationLoader
loader = MigrationLoader(None, ignore_no_migrations=True)
graph = loader.graph
story = {}
for app, names in loader.detect_conflicts().items():
    plans = [
        [key for key in graph.forwards_plan((app, name)) if key[0] == app] for name in names
    ]
    common = set.intersection(*(set(plan) for plan in plans))
    story[app] = {
        "leaves": sorted(names),
        "branches": sorted({key[1] for plan in plans for key in plan if key not in common}),
        "first_operation": {
            name: graph.nodes[(app, name)].operations[0].describe() for name in names
        },
    }
counts = {}
for app, _ in loader.disk_migrations:
    counts[app] = counts.get(app, 0) + 1
print(json.dumps({"story": story, "counts": counts}))
"""


@needs_dot
def test_a_big_project_shows_its_two_conflicts_and_summarises_the_rest(tmp_path):
    """12 generated apps of 100 migrations, two of them in conflict (Django's loader
    says which and what their branches are): every branch migration is drawn with its
    operations, the leaves red, the other apps one node each with Django's count."""
    generator().generate_project(tmp_path / "gen", 12, 100, conflicts=2, seed=3)
    project = DjangoProject.open(tmp_path / "gen")
    oracle = json.loads(project.django(ORACLE).out)
    story, counts = oracle["story"], oracle["counts"]
    assert len(story) == 2

    result = project.migrator("graph")
    assert result.code == 0, result.err
    nodes = node_statements(result.out)
    for app, conflict in story.items():
        for name in conflict["branches"]:
            assert f"{app}.{name}" in nodes, (app, name)
        for name in conflict["leaves"]:
            label = nodes[f"{app}.{name}"]
            assert "conflicting leaf" in label
            assert conflict["first_operation"][name] in label
        assert re.search(rf'label="{app} \(conflict', result.out)
        assert "fork point" in "".join(
            label for node, label in nodes.items() if node.startswith(f"{app}.")
        )
    others = sorted(set(counts) - set(story))
    shown = {label for label in nodes.values()}
    summarised = [app for app in others if f"{app}\n{counts[app]} migrations" in shown]
    assert len(summarised) >= len(others) - 2  # a branch's neighbours may detail an app
    assert len(nodes) < 60  # of 1,202 migrations
    assert "other apps, summarised" in result.out

    code, png, err = migrator_bytes(project, "graph", "-f", "png")
    assert code == 0, err
    assert_readable(*png_size(png))

    full = project.migrator("graph", "--full").out
    assert len(node_statements(full)) > 5 * len(nodes)  # everything, collapsed runs
    assert "other apps, summarised" not in full


@needs_dot
def test_a_big_project_without_conflicts_says_where_the_detail_is(tmp_path):
    """Too big to fit even wrapped and nothing in conflict: every app is one node with
    Django's count, and the picture names the options that draw more."""
    generator().generate_project(tmp_path / "gen", 12, 100, conflicts=0, seed=3)
    project = DjangoProject.open(tmp_path / "gen")
    counts = json.loads(project.django(ORACLE).out)["counts"]
    counts = {app: n for app, n in counts.items() if app.startswith("app_")}  # not contrib
    result = project.migrator("graph")
    assert result.code == 0, result.err
    labels = set(node_statements(result.out).values())
    assert labels == {f"{app}\n{count} migrations" for app, count in counts.items()}
    total = sum(counts.values())
    assert f"{len(counts)} apps, {total} migrations, no conflict (--full draws" in result.out
    assert "other apps" not in result.out
