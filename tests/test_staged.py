"""``check --staged``: the migrations as the next commit holds them.

Each scenario stages a migration that depends on a file git will not commit (untracked,
ignored, deleted in the index). migrator is asked before committing; then the commit is
made for real and cloned, and Django loads the clone: what it says there is what
everyone else will see.
"""

from __future__ import annotations

import pytest

from tests.djproject import DjangoProject
from tests.gitrepo import commit_all, git, init_repo

MODES = [["--static"], []]


@pytest.fixture
def project(tmp_path) -> DjangoProject:
    """shop.0001_initial committed; 0002_a written (not staged); 0003_b depends on it."""
    project = DjangoProject(tmp_path / "repo", ["shop"])
    project.add_migration("shop", "0001_initial", [])
    (project.root / ".gitignore").write_text("db.sqlite3\n__pycache__/\n")
    init_repo(project.root)
    commit_all(project.root, "initial")
    project.add_migration("shop", "0002_a", [("shop", "0001_initial")])
    project.add_migration("shop", "0003_b", [("shop", "0002_a")])
    return project


def staged(project: DjangoProject, *mode: str):
    result = project.migrator("check", "--staged", "--format", "json", *mode)
    assert result.code in (0, 1), result.err
    return result.code, result.json()


def django_on_a_clone(project: DjangoProject, tmp_path) -> str:
    """Commit what is staged, clone it, and let Django load the clone's migrations."""
    git(project.root, "commit", "-q", "-m", "staged work")
    git(tmp_path, "clone", "-q", str(project.root), str(tmp_path / "elsewhere"))
    other = DjangoProject.open(tmp_path / "elsewhere", project.settings_module)
    result = other.django(
        """
        from django.db.migrations.loader import MigrationLoader
        try:
            MigrationLoader(None, ignore_no_migrations=True)
        except Exception as exc:
            print(type(exc).__name__)
        else:
            print("ok")
        """
    )
    assert result.code == 0, result.err
    return result.out.strip()


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_a_staged_migration_depending_on_an_untracked_file(project, tmp_path, mode):
    git(project.root, "add", "shop/migrations/0003_b.py")
    assert project.migrator("check", *mode).code == 0  # fine in this working tree
    code, report = staged(project, *mode)
    assert code == 1
    assert [(p["kind"], p["migration"], p["path"], p["line"]) for p in report["problems"]] == [
        ("unstaged-dependency", "0003_b", "shop/migrations/0003_b.py", 6)
    ]
    assert report["problems"][0]["message"] == (
        "'shop.0003_b' depends on ('shop', '0002_a'), whose file shop/migrations/0002_a.py "
        "is untracked (never staged): the commit works here and fails for everyone else"
    )
    assert django_on_a_clone(project, tmp_path) == "NodeNotFoundError"


def test_ignored_file(project, tmp_path):
    (project.root / ".gitignore").write_text("db.sqlite3\n__pycache__/\n*_a.py\n")
    git(project.root, "add", ".gitignore", "shop/migrations/0003_b.py")
    code, report = staged(project, "--static")
    assert code == 1
    assert report["problems"][0]["message"] == (
        "'shop.0003_b' depends on ('shop', '0002_a'), whose file shop/migrations/0002_a.py "
        "is ignored by git (.gitignore:3:*_a.py): the commit works here and fails for "
        "everyone else"
    )
    assert django_on_a_clone(project, tmp_path) == "NodeNotFoundError"


def test_deleted_in_the_index(project, tmp_path):
    commit_all(project.root, "both")
    git(project.root, "rm", "-q", "--cached", "shop/migrations/0002_a.py")
    code, report = staged(project, "--static")
    assert code == 1
    assert "is deleted in the index (git rm --cached)" in report["problems"][0]["message"]
    text = project.migrator("check", "--static", "--staged")
    assert text.out.splitlines()[1].startswith("  hint: stage the file with `git add`")
    assert django_on_a_clone(project, tmp_path) == "NodeNotFoundError"


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_everything_staged_and_staged_versions_count(project, tmp_path, mode):
    git(project.root, "add", "-A")
    code, report = staged(project, *mode)
    assert (code, report["problems"], report["conflicts"]) == (0, [], [])
    # The working tree breaks the dependency; the staged version is what is committed.
    path = project.migration_path("shop", "0003_b")
    path.write_text(path.read_text().replace("0002_a", "0002_typo"))
    code, report = staged(project, *mode)
    assert (code, report["problems"], report["migrations"]) == (0, [], {"shop": 3})
    assert project.migrator("check", *mode).code == 1
    assert django_on_a_clone(project, tmp_path) == "ok"


def test_staged_needs_git_and_stands_alone(tmp_path):
    project = DjangoProject(tmp_path / "plain", ["shop"])
    result = project.migrator("check", "--static", "--staged")
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("migrator: error: --staged needs a git repository\n")
    both = project.migrator("check", "--staged", "--against", "main")
    assert both.code == 2 and "cannot be combined" in both.err


def test_an_unfinished_merge_shows_its_conflict_markers(project):
    """During a merge with a conflicted migration the index has no single version of
    it: the working tree's file (with git's markers) is judged, as after `git add`."""
    commit_all(project.root, "both")
    path = project.migration_path("shop", "0003_b")
    git(project.root, "checkout", "-q", "-b", "left")
    path.write_text(path.read_text().replace("operations = [", "operations = [  # left"))
    commit_all(project.root, "left")
    git(project.root, "checkout", "-q", "-b", "right", "main")
    path.write_text(path.read_text().replace("operations = [", "operations = [  # right"))
    commit_all(project.root, "right")
    assert git(project.root, "merge", "-q", "left", check=False).returncode != 0
    code, report = staged(project, "--static")
    assert code == 1
    assert [(p["kind"], p["path"]) for p in report["problems"]] == [
        ("conflict-markers", "shop/migrations/0003_b.py")
    ]
