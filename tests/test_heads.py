"""``check --against BASE --heads PATTERN...`` predicts, for every head, what a real
``git merge`` of that head into BASE then gives.

A bare "remote" holds ``main`` and several feature branches; a clone fetches them and
asks migrator about every head at once (nothing is checked out). Then each head is
really merged into BASE in a scratch clone, and the prediction is compared with
``migrator check`` and with Django's ``detect_conflicts()`` on the merged tree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.djproject import DjangoProject
from tests.gitrepo import commit_all, git, init_repo

ADD = "migrations.AddField(model_name='item', name='{name}', field=models.IntegerField(default=0))"


def make_remote(tmp_path: Path) -> tuple[Path, DjangoProject]:
    """A bare remote with ``main`` (shop.0001, catalog.0001) and a clone of it."""
    seed = DjangoProject(tmp_path / "seed", ["shop", "catalog"])
    seed.add_migration(
        "shop",
        "0001_initial",
        [],
        operations=[
            "migrations.CreateModel(name='Item', fields=[('id', models.AutoField("
            "primary_key=True))])"
        ],
    )
    seed.add_migration("catalog", "0001_initial", [])
    (seed.root / ".gitignore").write_text("db.sqlite3\n__pycache__/\n")
    init_repo(seed.root)
    commit_all(seed.root, "initial")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed.root), str(remote))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    project = DjangoProject.open(clone)
    project.apps = ["shop", "catalog"]
    return remote, project


def push_branch(project: DjangoProject, name: str, change, base: str = "origin/main") -> None:
    """A branch ``name`` from ``base`` with ``change(project)`` committed, pushed."""
    git(project.root, "checkout", "-q", "-B", name, base)
    change(project)
    commit_all(project.root, name)
    git(project.root, "push", "-q", "origin", f"{name}:{name}")


def add(app: str, name: str, parent: str, field: str | None = None):
    def change(project: DjangoProject) -> None:
        ops = [ADD.format(name=field)] if field else []
        project.add_migration(app, name, [(app, parent)], operations=ops)

    return change


def real_merge(project: DjangoProject, tmp_path: Path, base: str, head: str):
    """Merge ``head`` into ``base`` for real in a fresh clone: (exit, check JSON,
    Django's conflicts or None when a file has conflict markers)."""
    scratch = tmp_path / f"merge-{head.replace('/', '-')}"
    git(tmp_path, "clone", "-q", str(project.root), str(scratch))
    sha = git(project.root, "rev-parse", head).stdout.strip()
    git(scratch, "fetch", "-q", str(project.root), sha)
    git(
        scratch,
        "checkout",
        "-q",
        "-B",
        "merged",
        git(project.root, "rev-parse", base).stdout.strip(),
    )
    merged = git(scratch, "merge", "--no-edit", "-q", sha, check=False)
    other = DjangoProject.open(scratch)
    result = other.migrator("check", "--static", "--format", "json")
    markers = merged.returncode != 0
    return result.code, result.json(), None if markers else other.django_conflicts()


def conflicts_of(report: dict) -> dict[str, list[str]]:
    return {c["app"]: c["leaves"] for c in report["conflicts"]}


def problems_of(report: dict) -> list[tuple]:
    return [(p["kind"], p["path"], p["line"]) for p in report["problems"]]


@pytest.fixture
def team(tmp_path):
    """Four pull requests opened from the same main, then main moves on: one of them
    (size) is merged, which makes color conflict with it. catalog-work touches another
    app; both-edit and size each edit shop.0001's same line."""
    remote, project = make_remote(tmp_path)
    push_branch(project, "size", add("shop", "0002_item_size", "0001_initial", "size"))
    push_branch(project, "color", add("shop", "0002_item_color", "0001_initial", "color"))
    push_branch(project, "catalog-work", add("catalog", "0002_more", "0001_initial"))

    def edit(field):
        def change(p: DjangoProject) -> None:
            path = p.migration_path("shop", "0001_initial")
            path.write_text(
                path.read_text().replace("primary_key=True", f"primary_key=True, {field}")
            )

        return change

    push_branch(project, "edit-left", edit("serialize=False"))
    push_branch(project, "edit-right", edit("verbose_name='ID'"))
    # main moves: size and edit-left are merged.
    git(project.root, "checkout", "-q", "main")
    git(project.root, "merge", "-q", "--no-edit", "size")
    git(project.root, "merge", "-q", "--no-edit", "edit-left")
    git(project.root, "push", "-q", "origin", "main")
    git(project.root, "fetch", "-q", "origin")
    return project


def test_every_head_is_predicted_as_a_real_merge_gives(team, tmp_path):
    before = git(team.root, "status", "--porcelain").stdout
    result = team.migrator(
        "check", "--against", "origin/main", "--heads", "origin/*", "--format", "json"
    )
    assert result.code == 1, result.err
    assert git(team.root, "status", "--porcelain").stdout == before
    report = result.json()
    names = [h["head"] for h in report["heads"]]
    assert names == [
        "origin/HEAD",
        "origin/catalog-work",
        "origin/color",
        "origin/edit-left",
        "origin/edit-right",
        "origin/main",
        "origin/size",
    ]
    verdicts = {
        h["head"]: (conflicts_of(h), [p["kind"] for p in h["problems"]]) for h in report["heads"]
    }
    assert verdicts["origin/color"] == ({"shop": ["0002_item_color", "0002_item_size"]}, [])
    assert verdicts["origin/edit-right"] == ({}, ["conflict-markers"])
    assert verdicts["origin/catalog-work"] == ({}, [])
    for head in report["heads"]:
        code, merged, django_says = real_merge(team, tmp_path, "origin/main", head["head"])
        assert (code == 1) == (not head["ok"]), head["head"]
        assert conflicts_of(merged) == conflicts_of(head), head["head"]
        assert problems_of(merged) == problems_of(head), head["head"]
        if django_says is not None:
            assert django_says == conflicts_of(head), head["head"]
        assert merged["migrations"] == head["migrations"], head["head"]


def test_the_working_tree_does_not_change_the_prediction(team):
    """Checked out on another branch with uncommitted migrations: each head is still
    merged into BASE, not into the working tree."""
    git(team.root, "checkout", "-q", "color")
    team.add_migration("shop", "0003_draft", [("shop", "0002_item_color")])
    team.add_migration("catalog", "0002_more", [("catalog", "0001_initial")])
    result = team.migrator(
        "check",
        "--against",
        "origin/main",
        "--heads",
        "origin/color origin/catalog-work",
        "--format",
        "json",
    )
    assert result.code == 1, result.err
    heads = {h["head"]: h for h in result.json()["heads"]}
    assert conflicts_of(heads["origin/catalog-work"]) == {}
    assert heads["origin/catalog-work"]["migrations"] == {"catalog": 2, "shop": 2}
    assert conflicts_of(heads["origin/color"]) == {"shop": ["0002_item_color", "0002_item_size"]}
    assert heads["origin/color"]["conflicts"][0]["sides"] == ["origin/color", "origin/main"]


def test_text_one_line_per_head(team):
    sha = {
        name: git(team.root, "rev-parse", name).stdout.strip()
        for name in ("origin/main", "origin/catalog-work", "origin/color", "origin/edit-right")
    }
    result = team.migrator(
        "check",
        "--against",
        "origin/main",
        "--heads",
        "origin/catalog-work",
        "--heads",
        "origin/color",
        "--heads",
        "origin/edit-right",
    )
    assert (result.code, result.err) == (1, "")
    assert result.out == (
        f"Predicted merges into origin/main ({sha['origin/main'][:10]}), 3 heads:\n"
        f"  origin/catalog-work  {sha['origin/catalog-work'][:10]}  ok\n"
        f"  origin/color         {sha['origin/color'][:10]}  would break: conflict in shop "
        "(0002_item_color, 0002_item_size)\n"
        f"  origin/edit-right    {sha['origin/edit-right'][:10]}  would break: 1 conflict-markers; "
        "1 published-migration-changed\n"
        "2 of 3 heads would break origin/main. hint: check out one and run "
        "`migrator check --against origin/main` for the details\n"
    )


def test_only_green_heads_exit_0(team):
    result = team.migrator("check", "--against", "origin/main", "--heads", "catalog-work")
    assert result.code == 0, result.out + result.err
    assert result.out.endswith("No head would break origin/main.\n")


def test_github_annotations_name_the_head(team):
    result = team.migrator(
        "check", "--against", "origin/main", "--heads", "origin/color", "--format", "github"
    )
    assert result.code == 1
    assert result.out == (
        "::error title=origin/color would break origin/main::merging origin/color ("
        + git(team.root, "rev-parse", "origin/color").stdout[:10]
        + ") into origin/main would give: conflict in shop (0002_item_color, 0002_item_size)\n"
    )


def test_bad_heads(team):
    unknown = team.migrator("check", "--against", "origin/main", "--heads", "nope")
    assert (unknown.code, unknown.out) == (2, "")
    assert unknown.err.startswith("migrator: error: --heads: no revision or ref is named 'nope'\n")
    no_base = team.migrator("check", "--heads", "origin/color")
    assert no_base.code == 2 and "--heads needs --against BASE" in no_base.err
    nothing = team.migrator("check", "--against", "origin/main", "--heads", "refs/pull/*/head")
    assert nothing.code == 0
    assert nothing.err == "migrator: warning: --heads: no ref matches 'refs/pull/*/head'\n"
    assert nothing.out.startswith("Predicted merges into origin/main")
