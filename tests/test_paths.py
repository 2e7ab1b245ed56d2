"""How paths are shown (:func:`migrator.render.paths.display_path`): relative to the
folder migrator runs in when the file is in it, as written or once links are resolved;
as given otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migrator.render.paths import display_path


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Path:
    """``project/shop/migrations`` (a real folder), ``project/linked`` (a symlink to
    ``elsewhere``) and ``projectx`` (a sibling whose name starts the same)."""
    (tmp_path / "project" / "shop" / "migrations").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "project" / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "projectx").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path / "project"


def test_inside_as_written_is_relative_whatever_form_the_path_takes(tree):
    for written in (
        str(tree / "shop" / "migrations" / "0001_initial.py"),
        "project/shop/migrations/0001_initial.py",
        "project/shop/../shop/migrations/0001_initial.py",
        str(tree) + "//shop/migrations/0001_initial.py",
    ):
        for base in (tree, Path("project"), Path(str(tree) + os.sep)):
            assert display_path(written, base) == "shop/migrations/0001_initial.py"
    assert display_path(str(tree), tree) == "."


def test_a_sibling_with_the_same_start_is_not_inside(tree):
    outside = str(tree.parent / "projectx" / "0001_initial.py")
    assert display_path(outside, tree) == outside
    assert display_path("/etc/hosts", tree) == "/etc/hosts"
    assert display_path(None, tree) is None


def test_inside_once_links_are_resolved_is_relative_to_the_resolved_folder(tree):
    # a folder named through a link, its files named by where it points
    target = str(tree.parent / "elsewhere" / "0001_initial.py")
    assert display_path(target, tree / "linked") == "0001_initial.py"
    # a project reached through a link, its files named by their real path
    (tree.parent / "via").symlink_to(tree)
    real = str(tree / "shop" / "migrations" / "0001_initial.py")
    assert display_path(real, tree.parent / "via") == "shop/migrations/0001_initial.py"
    assert display_path(str(tree.parent / "elsewhere"), tree / "linked") == "."
