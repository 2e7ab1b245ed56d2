"""The layer rules of ARCHITECTURE.md hold for the package, and the checker catches a
deliberate violation of each kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.layers import cycles, violations

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "migrator"

# Violations being moved out during the layering work (issue 13); must end empty.
KNOWN_VIOLATIONS: list[str] = []


def test_the_package_keeps_its_layers():
    assert violations(PACKAGE_ROOT) == KNOWN_VIOLATIONS


def test_the_package_has_no_import_cycle():
    assert cycles(PACKAGE_ROOT) == []


def make_package(root: Path, files: dict[str, str]) -> Path:
    """A throwaway ``migrator`` package with the given modules (path -> source)."""
    package = root / "migrator"
    for name, source in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in [path.parent, *path.parent.parents]:
            if folder == root:
                break
            (folder / "__init__.py").touch()
        path.write_text(source)
    return package


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"analysis/leaves.py": "import django\n"},
            ["migrator.analysis.leaves:1: analysis imports django"],
            id="analysis-imports-django",
        ),
        pytest.param(
            {"analysis/leaves.py": "from migrator import git\n", "git.py": ""},
            ["migrator.analysis.leaves:1: analysis imports contract (migrator.git)"],
            id="analysis-imports-git",
        ),
        pytest.param(
            {"analysis/leaves.py": "def f():\n    import subprocess\n"},
            ["migrator.analysis.leaves:2: analysis imports subprocess"],
            id="analysis-imports-subprocess-in-a-function",
        ),
        pytest.param(
            {"merge.py": "from migrator.render.words import plural\n", "render/words.py": ""},
            ["migrator.merge:1: core imports render (migrator.render.words)"],
            id="core-imports-render",
        ),
        pytest.param(
            {"merge.py": "from django.db import migrations\n"},
            ["migrator.merge:1: core imports django"],
            id="core-imports-django",
        ),
        pytest.param(
            {"render/check.py": "import typer\n"},
            ["migrator.render.check:1: render imports typer"],
            id="render-imports-typer",
        ),
        pytest.param(
            {"render/check.py": "from migrator.sourcefiles import line\n", "sourcefiles.py": ""},
            ["migrator.render.check:1: render may not use migrator.sourcefiles"],
            id="render-reads-files",
        ),
        pytest.param(
            {"django/loader.py": "from migrator.squash import Window\n", "squash.py": ""},
            ["migrator.django.loader:1: django imports core (migrator.squash)"],
            id="django-imports-core",
        ),
        pytest.param(
            {
                "merge.py": (
                    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import django\n"
                )
            },
            [],
            id="type-checking-only-is-fine",
        ),
    ],
)
def test_a_deliberate_violation_is_caught(tmp_path, files, expected):
    assert violations(make_package(tmp_path, files)) == expected


def test_a_deliberate_cycle_is_caught(tmp_path):
    package = make_package(
        tmp_path,
        {
            "render/dot.py": "from migrator.render import lanes\n",
            "render/lanes.py": "def f():\n    from migrator.render.dot import RED\n",
        },
    )
    assert cycles(package) == [["migrator.render.dot", "migrator.render.lanes"]]
