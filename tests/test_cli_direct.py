"""``check``'s plain forms run past typer's parser (:mod:`migrator.cli.direct`): every
form gives what typer gives, word for word, exit code included."""

from __future__ import annotations

import sys

import pytest

from migrator.cli.direct import check_arguments
from tests.djproject import MIGRATOR_PYTHONPATH, clean_env, run

# The CLI with the direct path switched off: everything through typer.
THROUGH_TYPER = """
import runpy
import migrator.cli.direct
migrator.cli.direct.check_arguments = lambda argv: None
runpy.run_module("migrator", run_name="__main__", alter_sys=True)
"""

FORMS = [
    ["check"],
    ["check", "--static"],
    ["check", "--static", "--format", "json"],
    ["check", "--format=github", "--static"],
    ["check", "-f", "json", "shop", "--static"],
    ["check", "shop", "blog", "--static", "-f", "text"],
    ["check", "--static", "--settings", "project.settings", "--pythonpath", "."],
    ["check", "--static", "--settings=project.settings", "--pythonpath=.", "--pythonpath=x"],
    ["check", "--static", "--settings", "project.nope"],
    ["check", "--static", "shpo"],
    ["check", "--static", ""],
    ["check", "shop"],
    ["check", "--format", "json"],
    # left to typer: the same answers, whoever gives them
    ["check", "--static", "--format", "xml"],
    ["check", "--static", "-fjson"],
    ["check", "--static", "--format"],
    ["check", "--static", "--settings", "a", "--settings", "b"],
    ["check", "--static", "--", "shop"],
    ["check", "--static", "--nope"],
    ["check", "--static", "--report", "json:report.json", "-f", "github"],
    ["check", "--static", "--report=xml:report.xml"],
]


@pytest.fixture(scope="module")
def conflicted(tmp_path_factory):
    from tests.djproject import DjangoProject

    project = DjangoProject(tmp_path_factory.mktemp("direct") / "proj")
    project.chain("shop", ["0001_initial", "0002_a"])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    project.chain("blog", ["0001_initial"], start=("shop", "0002_a"))
    return project


@pytest.mark.parametrize("argv", FORMS, ids=" ".join)
def test_every_form_answers_as_typer_does(conflicted, argv):
    env = clean_env(PYTHONPATH=MIGRATOR_PYTHONPATH)
    direct = run([sys.executable, "-m", "migrator", *argv], conflicted.root, env)
    typer = run([sys.executable, "-c", THROUGH_TYPER, *argv], conflicted.root, env)
    assert (direct.code, direct.out, direct.err) == (typer.code, typer.out, typer.err)


def test_plain_forms_are_read_and_the_rest_left_to_typer():
    assert check_arguments(["check", "shop", "--static", "-f", "json", "--pythonpath=a"]) == {
        "app_labels": ["shop"],
        "pythonpath": ["a"],
        "static": True,
        "output_format": "json",
        "settings": None,
    }
    for argv in (
        ["check", "--help"],
        ["check", "-h"],
        ["check", "--traceback"],
        ["check", "--database", "default"],
        ["check", "--against", "main"],
        ["check", "--static", "--report", "json:r.json"],
        ["check", "--report=markdown:r.md", "--static"],
        ["check", "--format", "xml"],
        ["check", "-f=json"],
        ["check", "--settings"],
        ["check", "--settings", "--static"],
        ["check", "-f", "json", "--format", "text"],
        ["check", "--"],
        ["show"],
        [],
    ):
        assert check_arguments(argv) is None, argv
