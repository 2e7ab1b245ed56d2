"""``migrator graph -o x.html`` in a real headless Chromium: what the page shows as it
opens (asserted from the page itself: element boxes, computed font sizes), screenshots
taken at load, and the panel a click opens."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
from html import unescape
from pathlib import Path

import pytest

from tests import browser
from tests.djproject import DjangoProject
from tests.gitrepo import commit_all, git, init_repo
from tests.test_graph_apps import generator

pytestmark = [
    browser.needs_chromium,
    pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed"),
]

#: Set to a folder to keep the screenshots and look at them.
KEEP = os.environ.get("MIGRATOR_SCREENSHOTS")


def open_page(project: DjangoProject, tmp_path: Path, name: str, fragment: str = "") -> dict:
    """Draw the page, screenshot it as it opens, and read back what it reports (from
    the same load)."""
    result = project.migrator("graph", "-o", "graph.html")
    assert result.code == 0, result.err
    url = (project.root / "graph.html").as_uri() + fragment
    document, png = browser.dom_and_screenshot(url, tmp_path / f"{name}.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == browser.WINDOW
    if KEEP:
        shutil.copy(tmp_path / f"{name}.png", Path(KEEP) / f"{name}.png")
    return browser.page_report(document)


def inside(box: dict, viewport: dict) -> bool:
    return (
        box["left"] >= viewport["left"]
        and box["right"] <= viewport["right"]
        and box["top"] >= viewport["top"]
        and box["bottom"] <= viewport["bottom"]
    )


def leaves(conflicts: dict[str, list[str]]) -> list[str]:
    return sorted(f"{app}.{name}" for app, names in conflicts.items() for name in names)


@pytest.mark.parametrize(("apps", "migrations"), [(4, 6), (40, 55)], ids=["small", "2202"])
def test_page_opens_on_every_conflicting_leaf_legibly(tmp_path, apps, migrations):
    """Two conflicts, on 26 and on 2,202 migrations: as the page opens, every leaf Django
    reports as conflicting is inside the viewport, its label drawn at 12 px or more."""
    generator().generate_project(tmp_path / "gen", apps, migrations, conflicts=2, seed=3)
    project = DjangoProject.open(tmp_path / "gen")
    report = open_page(project, tmp_path, f"conflicts-{apps * migrations}")
    shown = {leaf["id"]: leaf for leaf in report["conflicts"]}
    assert sorted(shown) == leaves(project.django_conflicts())
    assert len(shown) == 4
    for leaf in shown.values():
        assert inside(leaf, report["viewport"]), leaf
        assert leaf["font_px"] >= 12, leaf
    assert report["fitted"] in ("whole", "conflicts")
    assert report["minimap"] == (report["fitted"] != "whole")  # when something is out of sight
    assert report["apps"] == apps


def test_conflict_in_the_url_is_the_one_shown(tmp_path):
    """``#conflict=2`` (what ``n`` steps to) shows the second conflicting app's leaves."""
    generator().generate_project(tmp_path / "gen", 40, 55, conflicts=2, seed=3)
    project = DjangoProject.open(tmp_path / "gen")
    report = open_page(project, tmp_path, "second-conflict", "#conflict=2")
    second = [leaf for leaf in report["conflicts"] if leaf["id"].startswith("app_001.")]
    assert len(second) == 2
    for leaf in second:
        assert inside(leaf, report["viewport"]) and leaf["font_px"] >= 12, leaf
    assert report["status"].startswith("conflict 2 of 2: app_001")


def test_no_conflict_opens_on_the_whole_project_at_a_legible_zoom(tmp_path):
    generator().generate_project(tmp_path / "gen", 40, 55, conflicts=0, seed=3)
    project = DjangoProject.open(tmp_path / "gen")
    report = open_page(project, tmp_path, "no-conflict")
    assert report["conflicts"] == [] and report["fitted"] == "all"
    assert report["smallest_font_px"] >= 12
    assert report["minimap"]


def test_a_click_shows_file_operations_dependencies_commit_and_applied_state(tmp_path):
    project = DjangoProject(tmp_path / "p", ["shop"])
    project.add_migration(
        "shop",
        "0001_initial",
        operations=[
            "migrations.CreateModel('Order', [('id', models.AutoField(primary_key=True))])"
        ],
    )
    project.add_migration(
        "shop",
        "0002_total",
        [("shop", "0001_initial")],
        operations=["migrations.AddField('order', 'total', models.IntegerField(default=0))"],
    )
    project.add_migration("shop", "0003_after", [("shop", "0002_total")])
    init_repo(project.root)
    commit_all(project.root, "shop: orders with a total")
    sha = git(project.root, "rev-parse", "--short=10", "HEAD").stdout.strip()
    assert project.manage("migrate", "shop", "0002_total").code == 0
    described = project.django(
        """
        from django.db.migrations.loader import MigrationLoader
        migration = MigrationLoader(None).disk_migrations["shop", "0002_total"]
        print(json.dumps([op.describe() for op in migration.operations]))
        """
    )
    assert described.code == 0, described.err
    result = project.migrator("graph", "--database", "default", "-o", "graph.html")
    assert result.code == 0, result.err

    def panel(key: str) -> str:
        url = (project.root / "graph.html").as_uri() + f"#select={key}"
        document = browser.dom(url)
        found = re.search(r'<aside id="details">(.*?)</aside>', document, re.DOTALL)
        assert found, "no details panel"
        return unescape(re.sub(r"<[^>]+>", "|", found.group(1)))

    text = panel("shop.0002_total")
    fields = [part for part in text.split("|") if part]
    assert fields[fields.index("file") + 1] == "shop/migrations/0002_total.py"
    assert fields[fields.index("applied") + 1] == "yes"
    start = fields.index("operations (1)")
    assert fields[start + 1 : start + 2] == json.loads(described.out)
    assert fields[fields.index("depends on (1)") + 1] == "shop.0001_initial"
    assert fields[fields.index("needed by (1)") + 1] == "shop.0003_after"
    assert fields[fields.index("git") + 1].startswith(sha)
    assert fields[fields.index("git") + 1].endswith("shop: orders with a total")
    after = [part for part in panel("shop.0003_after").split("|") if part]
    assert after[after.index("applied") + 1] == "no"


def test_an_app_hidden_from_the_list_takes_its_migrations_and_edges_along(tmp_path):
    """``#hide=APP`` (what unticking it in the side list does)."""
    generator().generate_project(tmp_path / "gen", 4, 6, conflicts=0, seed=3)
    project = DjangoProject.open(tmp_path / "gen")
    assert project.migrator("graph", "--no-collapse", "-o", "graph.html").code == 0
    url = (project.root / "graph.html").as_uri() + "#hide=app_002"
    document = browser.dom(url)
    nodes = re.findall(r'<g id="n\d+" class="([^"]*)">\s*<title>([^<]+)</title>', document)
    assert len(nodes) == 24
    hidden = sorted(title for classes, title in nodes if "off" in classes.split())
    assert hidden == sorted(title for _, title in nodes if title.startswith("app_002."))
    assert len(hidden) == 6
    edges = re.findall(r'<g id="e\d+" class="([^"]*)">\s*<title>([^<]+)</title>', document)
    for classes, title in edges:
        touches = "app_002." in unescape(title)
        assert ("off" in classes.split()) == touches, title
    clusters = re.findall(r'<g id="clust\d+" class="([^"]*)">\s*<title>([^<]+)</title>', document)
    assert [t for c, t in clusters if "off" in c.split()] == ["cluster_app_002"]
