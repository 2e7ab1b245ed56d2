"""Hostile and unlucky inputs from issue 15: every command answers them with a problem or
one line on stderr and the right exit code, never a traceback or a wrong answer.

Real throwaway projects, the real CLI in a subprocess (see :mod:`tests.djproject`).
"""

from __future__ import annotations

import pytest

from migrator.problems import HINTS
from tests.djproject import DjangoProject

BAD_CLASS = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("alpha", "0001_initial")]
{body}"""

# name -> (class body, line of the problem, what is wrong)
UNBUILDABLE = {
    "operations_none": ("    operations = None\n", 6, "operations = None is not a list"),
    "replaces_int": ("    operations = []\n    replaces = 7\n", 7, "replaces = 7 is not a list"),
    "dependency_not_a_pair": (
        '    operations = []\n    dependencies = [("a",)]\n',
        7,
        "dependencies holds ('a',), which is not an (app_label, migration_name) pair",
    ),
    "init_raises": (
        "    operations = []\n\n    def __init__(self, *args):\n"
        '        raise RuntimeError("boom")\n',
        9,
        "RuntimeError: boom",
    ),
}


def unbuildable(project: DjangoProject, case: str) -> None:
    project.chain("alpha", ["0001_initial"])
    project.add_migration("alpha", "0002_bad", source=BAD_CLASS.format(body=UNBUILDABLE[case][0]))


@pytest.mark.parametrize("case", sorted(UNBUILDABLE))
def test_a_migration_django_cannot_build_is_a_problem(project, case):
    """alpha: 0001_initial <- 0002_bad, whose Migration class fails when Django builds it."""
    unbuildable(project, case)
    _, line, what = UNBUILDABLE[case]
    result = project.migrator("check")
    assert (result.code, result.err) == (1, "")
    assert result.out == (
        f"alpha/migrations/0002_bad.py:{line}: invalid-migration: Django cannot build "
        f"migration '0002_bad' in app 'alpha': {what}\n"
        f"  hint: {HINTS['invalid-migration']}\n"
        "Found 0 conflicts and 1 problem in 1 app (1 migration).\n"
    )


@pytest.mark.parametrize(
    "command",
    [
        ["explain"],
        ["show"],
        ["graph", "-o", "graph.dot"],
        ["merge", "alpha", "--dry-run"],
        ["rebase", "alpha", "--dry-run"],
        ["squash", "alpha"],
    ],
)
def test_every_command_survives_a_migration_django_cannot_build(project, command):
    unbuildable(project, "dependency_not_a_pair")
    result = project.migrator(*command)
    assert "Traceback" not in result.err
    assert result.code in (0, 1), result.err
