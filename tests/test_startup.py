"""What a command imports before it answers: ``check --static`` runs no Django at all
(it reads files and judges a graph; importing Django's ORM alone takes longer than the
whole check of a large project on a warm cache), nor the pydantic that typer validates
options with (:mod:`migrator.cli.direct`)."""

from __future__ import annotations

import json
import sys

from tests.djproject import MIGRATOR_PYTHONPATH, clean_env, run

# Runs the CLI in this process, then says which modules it imported (on stderr: the
# command's own output is on stdout).
PROBE = """
import json, runpy, sys
sys.argv = ["migrator", *sys.argv[1:]]
try:
    runpy.run_module("migrator", run_name="__main__")
except SystemExit as exit:
    code = exit.code
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def imported(project, *args: str, cache: str = "off") -> tuple[int, list[str]]:
    result = run(
        [sys.executable, "-c", PROBE, *args],
        project.root,
        clean_env(PYTHONPATH=MIGRATOR_PYTHONPATH, MIGRATOR_CACHE_DIR=cache),
        fork=False,  # the fork server has imported Django already: a new interpreter
    )
    found = json.loads(result.err.rpartition("\nMODULES ")[2])
    return found["code"], found["modules"]


def is_unneeded(module: str) -> bool:
    return module.split(".")[0] in ("django", "pydantic", "pydantic_core")


def test_static_check_imports_no_django(project):
    """The graph comes from files, the verdict from the graph: no Django object is ever
    built, so not one Django module is imported, conflict or not; nor pydantic."""
    project.chain("shop", ["0001_initial", "0002_a"])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    project.chain("blog", ["0001_initial"], start=("shop", "0002_a"))
    code, modules = imported(project, "check", "--static")
    assert code == 1
    assert [m for m in modules if is_unneeded(m)] == []
    code, modules = imported(project, "check", "--static", "--format", "json", "shop")
    assert code == 1
    assert [m for m in modules if is_unneeded(m)] == []


def test_a_warm_static_check_imports_no_networkx(project, tmp_path):
    """With every file as the parse cache last read it, ``check --static`` takes the
    leaves and conflicts it kept: no graph is built, so networkx is not imported (it
    takes longer than the rest of the check). A first run, or any changed file, builds
    the graph."""
    project.chain("shop", ["0001_initial", "0002_a"])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    cache = str(tmp_path / "cache")
    for expected in (True, False):
        code, modules = imported(project, "check", "--static", cache=cache)
        assert code == 1
        assert ("networkx" in modules) is expected
    project.add_migration("shop", "0003_merge", [("shop", "0002_a"), ("shop", "0002_b")])
    code, modules = imported(project, "check", "--static", cache=cache)
    assert code == 0
    assert "networkx" in modules
    code, modules = imported(project, "check", "--static", "--format", "json", cache=cache)
    assert code == 0
    assert [m for m in modules if m.split(".")[0] == "networkx" or is_unneeded(m)] == []


def test_static_commands_that_read_operations_still_get_them(project):
    """Operations are built (and Django readied) on first use, for the commands that
    read them: explain's overlap needs Django's own operation objects."""
    project.chain("shop", ["0001_initial", "0002_a"])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    code, modules = imported(project, "explain", "shop", "--static")
    assert code in (0, 1)
    assert "django.db.migrations.operations" in modules
    static = project.migrator("explain", "shop", "--static")
    assert static.out == project.migrator("explain", "shop").out
