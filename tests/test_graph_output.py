"""``migrator graph``'s output: ``--format`` beside ``-o``, stdout, and no silent empty
picture. Real throwaway projects, the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests import forkserver
from tests.djproject import DjangoProject, Result, clean_env, on_terminal, run
from tests.test_graph import small_project

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")


@pytest.fixture
def small(tmp_path):
    return small_project(tmp_path / "small")


# -- --format and stdout -----------------------------------------------------------------

TEXT_FORMATS = {"dot": "g.dot", "mmd": "g.mmd", "json": "g.json", "html": "g.html"}
IMAGE_FORMATS = {"svg": "g.svg", "png": "g.png", "pdf": "g.pdf"}


def migrator_bytes(project: DjangoProject, *args: str) -> tuple[int, bytes, str]:
    """The real CLI with stdout kept as bytes (an image piped on): forked from
    :mod:`tests.forkserver` as every other run, or a real interpreter."""
    env = clean_env()
    server = forkserver.server_for(env)
    if server is not None:
        code, out, err, _ = server.run(
            "module", "migrator", list(args), str(project.root), env, 600, text=False
        )
        assert isinstance(out, bytes) and isinstance(err, bytes)
        return code, out, err.decode()
    proc = subprocess.run(
        [sys.executable, "-m", "migrator", *args],
        cwd=project.root,
        env=env,
        capture_output=True,
        timeout=600,
    )
    return proc.returncode, proc.stdout, proc.stderr.decode()


@pytest.mark.parametrize("fmt", [*TEXT_FORMATS, *IMAGE_FORMATS])
def test_format_on_stdout_is_the_file_o_writes(small, fmt):
    if fmt in IMAGE_FORMATS and shutil.which("dot") is None:
        pytest.skip("Graphviz 'dot' not installed")
    name = {**TEXT_FORMATS, **IMAGE_FORMATS}[fmt]
    written = small.migrator("graph", "-o", name)
    assert written.code == 0, written.err
    code, out, err = migrator_bytes(small, "graph", "--format", fmt)
    assert (code, err) == (0, "")
    if fmt == "pdf":  # a PDF carries its creation date: compare what it draws
        assert out.startswith(b"%PDF")
        return
    assert out == (small.root / name).read_bytes()


def test_format_with_o_writes_that_format_whatever_the_extension(small):
    both = small.migrator("graph", "-f", "json", "-o", "graph.json")
    assert both.code == 0, both.err
    odd = small.migrator("graph", "-f", "json", "-o", "graph.out")
    assert odd.out == "wrote graph.out: 17 migrations in 4 apps\n"
    assert (small.root / "graph.out").read_bytes() == (small.root / "graph.json").read_bytes()


def test_mermaid_and_gv_are_other_words_for_mmd_and_dot(small):
    assert small.migrator("graph", "-f", "mermaid").out == small.migrator("graph", "-f", "mmd").out
    assert small.migrator("graph", "-f", "gv").out == small.migrator("graph").out
    assert small.migrator("graph", "-f", "gv", "-o", "g.gv").code == 0


def test_format_disagreeing_with_the_extension_is_a_usage_error(small):
    before = small.snapshot()
    result = small.migrator("graph", "--format", "png", "-o", "graph.svg")
    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines() == [
        "migrator: error: --format png disagrees with the extension of 'graph.svg' (svg)",
        "  hint: leave out --format (the extension picks it) or change the extension",
    ]
    assert small.snapshot() == before


def test_unknown_format_lists_the_formats(small):
    result = small.migrator("graph", "-f", "jpeg")
    assert result.code == 2
    assert result.out == ""
    assert "'jpeg' is not one of 'svg', 'png', 'pdf', 'dot', 'mmd', 'html', 'json'." in result.err


def run_on_a_terminal(project: DjangoProject, *args: str) -> Result:
    """The real CLI with stdout on a pseudo-terminal (stderr a pipe)."""
    return on_terminal([sys.executable, "-m", "migrator", *args], project.root)


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_binary_formats_are_not_written_to_a_terminal(small, fmt):
    result = run_on_a_terminal(small, "graph", "-f", fmt)
    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines() == [
        f"migrator: error: will not write {fmt.upper()} bytes to the terminal",
        f"  hint: redirect it (> graph.{fmt}) or pass -o graph.{fmt}",
    ]


def test_text_formats_are_written_to_a_terminal(small):
    result = run_on_a_terminal(small, "graph", "-f", "mmd")
    assert result.code == 0, result.err
    assert result.out == small.migrator("graph", "-f", "mmd").out


def test_missing_graphviz_for_png_on_stdout(small, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = small.migrator("graph", "-f", "png", env=clean_env(PATH=str(empty)))
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith(
        "migrator: error: Graphviz 'dot' is not installed (not on PATH): cannot draw png\n"
    )


# -- no silent empty picture ---------------------------------------------------------------


def packaged_project(root) -> DjangoProject:
    """A product used from its installed copy: its apps ``acme_shop`` and ``acme_billing``
    live in ``lib/site-packages`` (on the path through ``[tool.migrator] pythonpath``),
    with Django's auth and contenttypes; the project itself has no app.

    acme_shop:    0001_initial -> 0002_more
    acme_billing: 0001_initial (after acme_shop 0001_initial)
    """
    project = DjangoProject(root, contrib=True)
    site = root / "lib" / "site-packages"
    for label in ("acme_shop", "acme_billing"):
        package = site / label
        (package / "migrations").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "models.py").write_text("from django.db import models\n")
        (package / "migrations" / "__init__.py").write_text("")
    project.apps = ["acme_shop", "acme_billing"]
    project.write_settings()
    (root / "pyproject.toml").write_text('[tool.migrator]\npythonpath = ["lib/site-packages"]\n')
    migration = (
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = {deps!r}\n"
        "    operations = []\n"
    )
    files = {
        ("acme_shop", "0001_initial"): [],
        ("acme_shop", "0002_more"): [("acme_shop", "0001_initial")],
        ("acme_billing", "0001_initial"): [("acme_shop", "0001_initial")],
    }
    for (label, name), deps in files.items():
        path = site / label / "migrations" / f"{name}.py"
        path.write_text(migration.format(deps=deps))
    return project


HIDDEN = [
    "migrator: error: nothing to draw: all {total} migrations belong to Django's or installed "
    "third-party apps, hidden by default: acme_billing (1), acme_shop (2), auth ({auth}), "
    "contenttypes ({contenttypes})",
    "  hint: draw them with --all, or some with -I (e.g. -I acme_billing); if these apps are "
    "your project's, list them in [tool.migrator] project-apps in pyproject.toml",
]


def django_counts(project: DjangoProject) -> dict[str, int]:
    """How many migrations Django's loader has per app (the oracle for the message)."""
    script = (
        "import collections, json, sys, django\n"
        f"sys.path[:0] = [{str(project.root)!r}, {str(project.root / 'lib' / 'site-packages')!r}]\n"
        "django.setup()\n"
        "from django.db.migrations.loader import MigrationLoader\n"
        "loader = MigrationLoader(None, ignore_no_migrations=True)\n"
        "print(json.dumps(collections.Counter(app for app, _ in loader.graph.nodes)))\n"
    )
    result = run(
        [sys.executable, "-c", script],
        project.root,
        clean_env(DJANGO_SETTINGS_MODULE=project.settings_module),
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.mark.parametrize("static", [False, True], ids=["django", "static"])
def test_only_hidden_apps_is_refused_with_what_was_hidden(tmp_path, static):
    project = packaged_project(tmp_path / "product")
    counts = django_counts(project)
    assert counts["acme_shop"] == 2 and counts["acme_billing"] == 1
    expected = [
        line.format(total=sum(counts.values()), **counts)
        for line in HIDDEN  # auth and contenttypes counted by Django itself
    ]
    before = project.snapshot()
    flags = ["--static"] if static else []
    for args in ([], ["-o", "g.svg"], ["-f", "json"]):
        result = project.migrator("graph", *flags, *args)
        assert result.code == 1, result.err
        assert result.out == ""
        assert result.err.splitlines() == expected
    assert project.snapshot() == before
    shown = project.migrator("graph", *flags, "-I", "acme_*", "-f", "json")
    assert shown.code == 0, shown.err
    assert sorted(n["id"] for n in shown.json()["nodes"]) == [
        "acme_billing.0001_initial",
        "acme_shop.0001_initial",
        "acme_shop.0002_more",
    ]
    everything = project.migrator("graph", *flags, "--all", "-f", "json")
    assert everything.code == 0, everything.err
    assert len(everything.json()["nodes"]) == sum(counts.values())


@pytest.mark.parametrize("static", [False, True], ids=["django", "static"])
def test_project_apps_names_installed_apps_as_the_projects(tmp_path, static):
    project = packaged_project(tmp_path / "product")
    (project.root / "pyproject.toml").write_text(
        "[tool.migrator]\n"
        'pythonpath = ["lib/site-packages"]\n'
        'project-apps = ["acme_shop", "acme_billing"]\n'
    )
    flags = ["--static"] if static else []
    result = project.migrator("graph", *flags, "-f", "json")
    assert result.code == 0, result.err
    data = result.json()
    assert sorted(n["id"] for n in data["nodes"]) == [
        "acme_billing.0001_initial",
        "acme_shop.0001_initial",
        "acme_shop.0002_more",
    ]
    assert {a["label"]: a["local"] for a in data["apps"]} == {
        "acme_billing": True,
        "acme_shop": True,
    }


def test_project_apps_some_and_its_errors(tmp_path):
    project = packaged_project(tmp_path / "product")
    pyproject = project.root / "pyproject.toml"
    head = '[tool.migrator]\npythonpath = ["lib/site-packages"]\n'
    pyproject.write_text(head + 'project-apps = ["acme_shop"]\n')
    result = project.migrator("graph", "-f", "json")
    assert result.code == 0, result.err
    assert [a["label"] for a in result.json()["apps"]] == ["acme_shop"]
    before = project.snapshot()
    pyproject.write_text(head + 'project-apps = "acme_shop"\n')
    wrong = project.migrator("graph")
    assert wrong.code == 2
    assert wrong.out == ""
    assert wrong.err.splitlines() == [
        f"migrator: error: {pyproject}:3: [tool.migrator] project-apps must be a list of app "
        "labels or module names, not 'acme_shop'",
        '  hint: e.g. project-apps = ["shop", "acme.billing"]',
    ]
    pyproject.write_text(head + 'project-apps = ["acme_shopp"]\n')
    unknown = project.migrator("graph")
    assert unknown.code == 2
    assert unknown.err.splitlines() == [
        f"migrator: error: {pyproject}:3: [tool.migrator] project-apps names no installed "
        "app: 'acme_shopp'",
        "  hint: give app labels or module names of INSTALLED_APPS: acme_billing, acme_shop, "
        "auth, contenttypes",
    ]
    pyproject.write_text(head + 'project-apps = ["acme_shopp"]\n')
    assert project.snapshot() == before | {"pyproject.toml": pyproject.read_bytes()}


def test_a_project_of_its_own_apps_is_not_refused(small):
    assert small.migrator("graph", "-f", "json").code == 0


def test_png_to_a_closed_stdout_is_one_line(small):
    proc = subprocess.run(
        [sys.executable, "-m", "migrator", "graph", "-f", "png"],
        cwd=small.root,
        env=clean_env(),
        stdout=None,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),  # the child starts with >&-
        timeout=600,
    )
    assert proc.returncode in (1, 2)  # 2: no Graphviz to draw it
    lines = proc.stderr.decode().splitlines()
    assert len(lines) <= 2 and lines[0].startswith("migrator: error: ")
    if shutil.which("dot"):
        assert lines == ["migrator: error: cannot write to standard output: it is closed"]
