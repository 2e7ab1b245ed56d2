"""Git provenance for ``explain``: real repositories in ``tmp_path``, real branches, a real
``git merge`` (finished, and unfinished with MERGE_HEAD)."""

from __future__ import annotations

import collections
import os
import shutil
from pathlib import Path

import pytest

from migrator import git as g
from tests.djproject import DjangoProject, clean_env
from tests.gitrepo import commit_all, git, init_repo


def write(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def new_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    return init_repo(path)


def head(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "rev-parse", rev).stdout.strip()


@pytest.fixture
def forked(tmp_path) -> Path:
    """
    main:    base (adds base.py) -> ours (adds ours.py)
    feature: base -> theirs one (adds theirs.py) -> theirs two (adds later.py)
    HEAD on main, not merged yet.
    """
    repo = new_repo(tmp_path / "repo")
    write(repo / "m" / "base.py")
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    write(repo / "m" / "theirs.py")
    commit_all(repo, "theirs one")
    write(repo / "m" / "later.py")
    commit_all(repo, "theirs two")
    git(repo, "checkout", "-q", "main")
    write(repo / "m" / "ours.py")
    commit_all(repo, "ours")
    return repo


FILES = ("base.py", "ours.py", "theirs.py", "later.py")


def sides(repo: Path) -> dict[str, tuple[str | None, str | None]]:
    found = g.origins([repo / "m" / name for name in FILES], repo)
    return {
        Path(path).name: (origin.side, origin.commit.subject if origin.commit else None)
        for path, origin in found.items()
    }


def test_finished_merge(forked):
    ours, theirs = head(forked, "main"), head(forked, "feature")
    git(forked, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    merge = g.merge_state(forked)
    assert merge == g.MergeState("merged", ours, (theirs,), "main", ("feature",))
    assert sides(forked) == {
        "base.py": ("base", "base"),
        "ours.py": ("ours", "ours"),
        "theirs.py": ("theirs", "theirs one"),
        "later.py": ("theirs", "theirs two"),
    }


def test_unfinished_merge_with_merge_head(forked):
    git(forked, "merge", "-q", "--no-ff", "--no-commit", "feature")
    assert (forked / ".git" / "MERGE_HEAD").is_file()
    write(forked / "m" / "new.py")  # untracked: no commit added it
    merge = g.merge_state(forked)
    assert merge == g.MergeState(
        "merging", head(forked), (head(forked, "feature"),), "main", ("feature",)
    )
    assert sides(forked)["theirs.py"] == ("theirs", "theirs one")
    assert sides(forked)["ours.py"] == ("ours", "ours")
    (new,) = g.origins([forked / "m" / "new.py"], forked).values()
    assert (new.side, new.commit) == ("uncommitted", None)


def test_unfinished_merge_with_a_conflict(forked):
    """A content conflict elsewhere stops the merge; the files it brought are still
    traced to the merged-in side through MERGE_HEAD."""
    write(forked / "shared.txt", "main\n")
    commit_all(forked, "main shared")
    git(forked, "checkout", "-q", "feature")
    write(forked / "shared.txt", "feature\n")
    commit_all(forked, "feature shared")
    git(forked, "checkout", "-q", "main")
    merged = git(forked, "merge", "feature", check=False)
    assert merged.returncode != 0 and "CONFLICT" in merged.stdout
    assert g.merge_state(forked).state == "merging"
    assert sides(forked)["later.py"] == ("theirs", "theirs two")


def test_commit_details_come_from_git(forked):
    git(forked, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    origin = g.origins([forked / "m" / "theirs.py"], forked)[forked / "m" / "theirs.py"]
    sha = head(forked, "feature~1")
    shown = git(forked, "show", "-s", "--format=%H|%an|%ae|%aI|%s", sha).stdout.strip()
    c = origin.commit
    assert "|".join([c.sha, c.author, c.email, c.date, c.subject]) == shown


def test_file_added_by_the_merge_commit_itself(forked):
    git(forked, "merge", "-q", "--no-ff", "--no-commit", "feature")
    write(forked / "m" / "in_merge.py")
    git(forked, "add", "m/in_merge.py")
    git(forked, "commit", "-q", "-m", "merge feature")
    (origin,) = g.origins([forked / "m" / "in_merge.py"], forked).values()
    assert (origin.side, origin.commit.subject) == ("merge", "merge feature")


def test_no_merge_at_head_means_no_side(forked):
    found = sides(forked)
    assert found["ours.py"] == (None, "ours")
    assert found["theirs.py"] == ("uncommitted", None)  # only on feature: not in HEAD
    assert g.merge_state(forked) is None


def test_outside_a_repository_nothing_raises(tmp_path):
    folder = tmp_path / "plain"
    write(folder / "a.py")
    assert g.toplevel(folder) is None
    assert g.origins([folder / "a.py"], folder) is None
    assert g.merge_state(folder) is None
    assert g.origins([folder / "a.py"], tmp_path / "does-not-exist") is None
    assert g.merge_state(tmp_path / "does-not-exist") is None


def test_repository_without_commits(tmp_path):
    repo = new_repo(tmp_path / "empty")
    write(repo / "a.py")
    assert g.merge_state(repo) is None
    (origin,) = g.origins([repo / "a.py"], repo).values()
    assert (origin.side, origin.commit) == ("uncommitted", None)


def test_files_outside_the_work_tree_are_left_out(forked, tmp_path):
    outside = write(tmp_path / "elsewhere" / "x.py")
    assert g.origins([outside, forked / "m" / "ours.py"], forked).keys() == {
        forked / "m" / "ours.py"
    }


# -- explain on a Django project in a repository --------------------------------------------


ITEM = """migrations.CreateModel(name="Item", fields=[
    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
    ("size", models.IntegerField(default=0)),
])"""


def alter_size(default: int) -> str:
    return (
        f"migrations.AlterField(model_name='item', name='size', "
        f"field=models.IntegerField(default={default}))"
    )


@pytest.fixture
def repo_project(tmp_path) -> DjangoProject:
    """main adds shop.0003_main; feature adds 0003_feature and 0004_feature; both alter
    Item.size. Not merged yet."""
    repo = new_repo(tmp_path / "repo")
    project = DjangoProject(repo)
    write(repo / ".gitignore", "__pycache__/\ndb.sqlite3\n")
    project.add_migration("shop", "0001_initial", [], operations=[ITEM])
    project.add_migration("shop", "0002_base", [("shop", "0001_initial")])
    commit_all(repo, "shop: initial")
    git(repo, "checkout", "-q", "-b", "feature")
    project.add_migration(
        "shop", "0003_feature", [("shop", "0002_base")], operations=[alter_size(1)]
    )
    commit_all(repo, "feature: size defaults to 1")
    project.add_migration("shop", "0004_feature", [("shop", "0003_feature")])
    commit_all(repo, "feature: empty follow-up")
    git(repo, "checkout", "-q", "main")
    project.add_migration("shop", "0003_main", [("shop", "0002_base")], operations=[alter_size(2)])
    commit_all(repo, "main: size defaults to 2")
    return project


def migrations_by_name(x: dict) -> dict[str, dict]:
    return {m["name"]: m for b in x["branches"] for m in b["migrations"]}


def test_explain_after_a_finished_merge(repo_project):
    repo = repo_project.root
    git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    result = repo_project.migrator("explain", "--format", "json")
    assert (result.code, result.err) == (1, "")
    (x,) = result.json()["conflicts"]
    assert x["git"] == {
        "merge": {
            "state": "merged",
            "ours": {"sha": head(repo, "HEAD^1"), "branch": "main"},
            "theirs": [{"sha": head(repo, "feature"), "branch": "feature"}],
        }
    }
    steps = migrations_by_name(x)
    assert {name: (m["side"], m["commit"]["subject"]) for name, m in steps.items()} == {
        "0003_main": ("ours", "main: size defaults to 2"),
        "0003_feature": ("theirs", "feature: size defaults to 1"),
        "0004_feature": ("theirs", "feature: empty follow-up"),
    }
    assert steps["0003_main"]["commit"]["sha"] == head(repo, "HEAD^1")
    assert steps["0003_main"]["commit"]["author"] == "Ada Tester"
    # The merged-in side is the one to rebase, although it has more migrations.
    assert "`migrator rebase shop --move 0004_feature`" in x["recommendation"]


def test_explain_during_an_unfinished_merge(repo_project):
    repo = repo_project.root
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "feature")
    result = repo_project.migrator("explain", "shop")
    assert (result.code, result.err) == (1, "")
    main, feature = head(repo, "main")[:10], head(repo, "feature")[:10]
    assert (
        f"  git: merge in progress (MERGE_HEAD): ours main ({main}), theirs feature ({feature})\n"
    ) in result.out
    sha = head(repo, "feature~1")
    date = git(repo, "show", "-s", "--format=%aI", sha).stdout.strip()
    assert (
        f"    0003_feature (shop/migrations/0003_feature.py)\n"
        f"      - Alter field size on item\n"
        f"      git: {sha[:10]} [theirs] Ada Tester <ada@example.com> {date}: "
        f"feature: size defaults to 1\n"
    ) in result.out


def test_explain_outside_git_has_no_provenance(tmp_path):
    project = DjangoProject(tmp_path / "plain")
    project.add_migration("shop", "0001_initial", [], operations=[ITEM])
    project.add_migration("shop", "0002_a", [("shop", "0001_initial")])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    result = project.migrator("explain", "--format", "json")
    (x,) = result.json()["conflicts"]
    assert x["git"] is None
    assert {m["commit"] for m in migrations_by_name(x).values()} == {None}
    assert "git:" not in project.migrator("explain").out


def test_explain_when_head_is_no_merge(repo_project):
    """A commit on top of the merge: commits are still found, sides are not guessed."""
    repo = repo_project.root
    git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    write(repo / "notes.txt")
    commit_all(repo, "after the merge")
    result = repo_project.migrator("explain")
    assert (result.code, result.err) == (1, "")
    assert "  git: HEAD is no merge and none is in progress: sides unknown\n" in result.out
    sha = head(repo, "main~1^1")
    date = git(repo, "show", "-s", "--format=%aI", sha).stdout.strip()
    assert (
        f"      git: {sha[:10]} Ada Tester <ada@example.com> {date}: main: size defaults to 2\n"
    ) in result.out
    (x,) = repo_project.migrator("explain", "--format", "json").json()["conflicts"]
    assert x["git"] == {"merge": None}
    assert {m["side"] for b in x["branches"] for m in b["migrations"]} == {None}


def test_project_in_an_ignored_folder_of_another_repository_has_no_provenance(tmp_path):
    """A scratch copy inside some other repository's ignored folder has no history there:
    explain says nothing about git rather than calling every file "uncommitted"."""
    from tests.djproject import DjangoProject
    from tests.gitrepo import commit_all, init_repo

    outer = tmp_path / "outer"
    outer.mkdir()
    init_repo(outer)
    (outer / ".gitignore").write_text("/scratch/\n")
    commit_all(outer, "outer")
    project = DjangoProject(outer / "scratch" / "proj")
    project.chain("orders", ["0001_initial", "0002_a"])
    project.add_migration("orders", "0002_b", [("orders", "0001_initial")])

    result = project.migrator("explain", "orders")

    assert result.code == 1, result.err
    assert "git" not in result.out
    assert "uncommitted" not in result.out


#: git commands that ask about refs and commits (what a command's view remembers)
REF_QUESTIONS = {"rev-parse", "merge-base", "rev-list", "symbolic-ref", "branch"}


def test_a_command_asks_git_each_question_about_refs_once(repo_project, tmp_path):
    """One ``explain`` asks git about the work tree's root, HEAD, the merge and its sides
    once each (provenance needs them for every app and migration), and says the same."""
    repo = repo_project.root
    git(repo, "merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    said = tmp_path / "git-calls"
    wrapper = write(
        tmp_path / "bin" / "git",
        f'#!/bin/sh\nprintf "%s\\t%s\\n" "$PWD" "$*" >> {said}\nexec {shutil.which("git")} "$@"\n',
    )
    wrapper.chmod(0o755)
    asked = repo_project.migrator(
        "explain", "--format", "json", env=clean_env(PATH=f"{wrapper.parent}:{os.environ['PATH']}")
    )
    assert asked == repo_project.migrator("explain", "--format", "json")
    calls = said.read_text().splitlines()
    about_refs = [c for c in calls if c.split("\t")[1].split()[0] in REF_QUESTIONS]
    assert len(about_refs) >= 5, calls  # the root, HEAD, the merge, its branches, sides
    assert [c for c, n in collections.Counter(about_refs).items() if n > 1] == []


def test_git_is_asked_again_outside_a_view(forked):
    """A process that lives on (the Django app's checks in ``runserver``) sees new
    commits; within one view (a command's run) the answer it had holds."""
    first = g.rev_parse("HEAD", forked)
    write(forked / "m" / "next.py")
    commit_all(forked, "next")
    second = g.rev_parse("HEAD", forked)
    assert second not in (None, first)
    with g.one_view():
        assert g.rev_parse("HEAD", forked) == second
        write(forked / "m" / "last.py")
        commit_all(forked, "last")
        assert g.rev_parse("HEAD", forked) == second
    assert g.rev_parse("HEAD", forked) not in (None, first, second)


def test_within_a_view_what_changes_a_ref_is_run_each_time(forked):
    """Only questions are remembered: ``symbolic-ref`` naming a target moves HEAD."""
    with g.one_view():
        for branch in ("feature", "main", "feature"):
            assert g.run_git(["symbolic-ref", "HEAD", f"refs/heads/{branch}"], forked) == ""
        assert g.run_git(["symbolic-ref", "--short", "-q", "HEAD"], forked) == "feature\n"
