"""``check --against REF`` predicts what a real ``git merge REF`` then produces.

Each test builds a real repository with two branches, asks migrator (statically and with
Django) about the merge before making it, checks nothing changed, then merges for real
and compares the prediction with ``migrator check`` and with Django's
``detect_conflicts()`` on the merged tree.
"""

from __future__ import annotations

import pytest

from tests.djproject import DjangoProject
from tests.gitrepo import commit_all, git, init_repo

MODES = [["--static"], []]

ADD = "migrations.AddField(model_name='item', name='{name}', field=models.IntegerField(default=0))"


@pytest.fixture
def repo(tmp_path) -> DjangoProject:
    """``main`` with ``shop.0001_initial``; nothing else yet."""
    project = DjangoProject(tmp_path / "repo", ["shop", "catalog"])
    project.add_migration(
        "shop",
        "0001_initial",
        [],
        operations=[
            "migrations.CreateModel(name='Item', fields=[('id', models.AutoField("
            "primary_key=True))])"
        ],
    )
    project.add_migration("catalog", "0001_initial", [])
    (project.root / ".gitignore").write_text("db.sqlite3\n__pycache__/\n")
    init_repo(project.root)
    commit_all(project.root, "initial")
    return project


def branch(project: DjangoProject, name: str, base: str = "main") -> None:
    git(project.root, "checkout", "-q", "-b", name, base)


def work_tree(project: DjangoProject) -> dict[str, bytes]:
    return {k: v for k, v in project.snapshot().items() if not k.startswith(".git/")}


def predicted(project: DjangoProject, ref: str, mode: list[str]) -> tuple[int, dict]:
    before_files = work_tree(project)
    before_status = git(project.root, "status", "--porcelain").stdout
    head = git(project.root, "rev-parse", "HEAD").stdout
    result = project.migrator("check", "--against", ref, "--format", "json", *mode)
    assert result.code in (0, 1), result.err
    assert work_tree(project) == before_files  # the working tree is untouched
    assert git(project.root, "status", "--porcelain").stdout == before_status
    assert git(project.root, "rev-parse", "HEAD").stdout == head
    return result.code, result.json()


def after_real_merge(
    project: DjangoProject, ref: str, *, django: bool = True
) -> tuple[int, dict, dict | None]:
    git(project.root, "merge", "--no-edit", "-q", ref, check=False)
    result = project.migrator("check", "--format", "json")
    # Django cannot load a file with conflict markers: no verdict of its own then.
    return result.code, result.json(), project.django_conflicts() if django else None


def conflicts_of(report: dict) -> dict[str, list[str]]:
    return {c["app"]: c["leaves"] for c in report["conflicts"]}


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_two_branches_add_a_migration_to_the_same_app(repo, mode):
    branch(repo, "size")
    repo.add_migration(
        "shop", "0002_item_size", [("shop", "0001_initial")], operations=[ADD.format(name="size")]
    )
    commit_all(repo.root, "size")
    branch(repo, "color")
    repo.add_migration(
        "shop", "0002_item_color", [("shop", "0001_initial")], operations=[ADD.format(name="color")]
    )
    commit_all(repo.root, "color")

    code, report = predicted(repo, "size", mode)
    assert code == 1
    assert report["conflicts"] == [
        {
            "app": "shop",
            "leaves": ["0002_item_color", "0002_item_size"],
            "paths": ["shop/migrations/0002_item_color.py", "shop/migrations/0002_item_size.py"],
            "sides": ["working tree", "size"],
        }
    ]
    assert report["against"]["ref"] == "size"

    merged_code, merged, django_says = after_real_merge(repo, "size")
    assert merged_code == code
    assert conflicts_of(merged) == conflicts_of(report) == django_says


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_no_conflict_when_the_branches_touch_different_apps(repo, mode):
    branch(repo, "catalog-work")
    repo.add_migration("catalog", "0002_more", [("catalog", "0001_initial")])
    commit_all(repo.root, "catalog")
    branch(repo, "shop-work", "main")
    repo.add_migration("shop", "0002_item_size", [("shop", "0001_initial")])
    commit_all(repo.root, "shop")
    # Uncommitted work counts too: the working tree is what gets merged into.
    repo.add_migration("shop", "0003_draft", [("shop", "0002_item_size")])

    code, report = predicted(repo, "catalog-work", mode)
    assert (code, report["conflicts"], report["problems"]) == (0, [], [])
    assert report["migrations"] == {"catalog": 2, "shop": 3}

    commit_all(repo.root, "draft")
    merged_code, merged, django_says = after_real_merge(repo, "catalog-work")
    assert (merged_code, conflicts_of(merged), django_says) == (0, {}, {})


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_both_sides_edit_the_same_migration(repo, mode):
    """Git cannot merge the two edits: the prediction shows the conflict markers the
    merge leaves in the file, at the same line."""
    path = repo.migration_path("shop", "0001_initial")
    branch(repo, "left")
    path.write_text(
        path.read_text().replace("primary_key=True", "primary_key=True, serialize=False")
    )
    commit_all(repo.root, "left")
    branch(repo, "right", "main")
    path.write_text(
        path.read_text().replace("primary_key=True", "primary_key=True, verbose_name='ID'")
    )
    commit_all(repo.root, "right")

    code, report = predicted(repo, "left", mode)
    assert code == 1
    assert [(p["kind"], p["path"]) for p in report["problems"]] == [
        ("conflict-markers", "shop/migrations/0001_initial.py")
    ]

    merged_code, merged, _ = after_real_merge(repo, "left", django=False)
    assert merged_code == 1
    assert [(p["kind"], p["path"], p["line"]) for p in merged["problems"]] == [
        (p["kind"], p["path"], p["line"]) for p in report["problems"]
    ]


def test_squash_on_main_and_a_new_migration_on_the_branch(repo):
    """main squashes shop and deletes the replaced files; the branch adds a migration
    that depends on a replaced one. Django repoints it to the squash: no conflict."""
    branch(repo, "squash")
    repo.add_migration("shop", "0002_a", [("shop", "0001_initial")])
    commit_all(repo.root, "a")
    branch(repo, "feature")
    repo.add_migration("shop", "0003_b", [("shop", "0002_a")])
    commit_all(repo.root, "b")
    git(repo.root, "checkout", "-q", "squash")
    repo.add_migration(
        "shop", "0001_squashed_0002_a", [], replaces=[("shop", "0001_initial"), ("shop", "0002_a")]
    )
    commit_all(repo.root, "squash")
    git(repo.root, "checkout", "-q", "feature")

    for mode in MODES:
        code, report = predicted(repo, "squash", mode)
        assert (code, report["conflicts"], report["migrations"]) == (
            0,
            [],
            {"catalog": 1, "shop": 2},
        ), mode
    merged_code, merged, django_says = after_real_merge(repo, "squash")
    assert (merged_code, conflicts_of(merged), django_says) == (0, {}, {})


def test_text_and_github_output(repo):
    branch(repo, "other")
    repo.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    commit_all(repo.root, "b")
    branch(repo, "mine", "main")
    repo.add_migration("shop", "0002_a", [("shop", "0001_initial")])
    commit_all(repo.root, "a")
    sha = git(repo.root, "rev-parse", "other").stdout.strip()
    base = git(repo.root, "rev-parse", "main").stdout.strip()

    text = repo.migrator("check", "--static", "--against", "other")
    assert (text.code, text.err) == (1, "")
    assert text.out == (
        f"Predicted merge of other ({sha[:10]}) into the working tree (merge base "
        f"{base[:10]}):\n"
        "shop: the merge would conflict: 2 leaf migrations: 0002_a, 0002_b\n"
        "  0002_a  from working tree: shop/migrations/0002_a.py\n"
        "  0002_b  from other: shop/migrations/0002_b.py\n"
        "  hint: merge, then run `migrator explain shop` to see what each branch does, then "
        "`migrator merge shop`\n"
        "The merge would create 1 conflict (0 problems) in 2 apps.\n"
    )
    github = repo.migrator("check", "--static", "--against", "other", "--format", "github")
    assert github.code == 1
    lines = github.out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "::error file=shop/migrations/0002_a.py,line=4,title=Migration "
        "conflict with other in shop%3A 0002_a::merging other would "
        "give 'shop' 2 leaf migrations: 0002_a (working tree), "
        "0002_b (other);"
    )


def test_bad_ref_and_no_repository(repo, tmp_path):
    result = repo.migrator("check", "--static", "--against", "no-such-branch")
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("migrator: error: unknown revision 'no-such-branch'\n")
    elsewhere = DjangoProject(tmp_path / "plain", ["shop"])
    result = elsewhere.migrator("check", "--static", "--against", "main")
    assert (result.code, result.out) == (2, "")
    assert "--against needs a git repository" in result.err
