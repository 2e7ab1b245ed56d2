"""``graph --since REF`` and ``graph --against REF`` on real repositories with real
branches: git says which migration files the branch adds, a real ``git merge`` and
Django's ``detect_conflicts()`` judge the predicted merge."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests import browser
from tests.djproject import DjangoProject
from tests.gitrepo import commit_all, git, init_repo

MODES = [["--static"], []]
ADD = "migrations.AddField(model_name='item', name='{name}', field=models.IntegerField(default=0))"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")


@pytest.fixture
def repo(tmp_path) -> DjangoProject:
    """main: shop 0001 and catalog 0001, then shop 0002_item_size; branch ``colour``
    (from the first commit): shop 0002_item_colour committed, catalog 0002_more not yet
    committed. The branch is checked out."""
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
    (project.root / ".gitignore").write_text("db.sqlite3\n__pycache__/\ng.*\n")
    init_repo(project.root)
    commit_all(project.root, "initial")
    git(project.root, "checkout", "-q", "-b", "colour")
    git(project.root, "checkout", "-q", "main")
    project.add_migration(
        "shop", "0002_item_size", [("shop", "0001_initial")], operations=[ADD.format(name="size")]
    )
    commit_all(project.root, "size")
    git(project.root, "checkout", "-q", "colour")
    project.add_migration(
        "shop",
        "0002_item_colour",
        [("shop", "0001_initial")],
        operations=[ADD.format(name="colour")],
    )
    commit_all(project.root, "colour")
    project.add_migration("catalog", "0002_more", [("catalog", "0001_initial")])
    return project


def marked(project: DjangoProject, mark: str, *args: str) -> list[str]:
    result = project.migrator("graph", *args, "-o", "g.json")
    assert result.code == 0, result.err
    nodes = json.loads((project.root / "g.json").read_text())["nodes"]
    return sorted(member for n in nodes if mark in n["marks"] for member in n["members"])


def added_by_git(project: DjangoProject, ref: str) -> list[str]:
    """Migration files the branch adds over its merge base with ``ref``, as git lists
    them: committed since the merge base, or not committed yet."""
    base = git(project.root, "merge-base", "HEAD", ref).stdout.strip()
    committed = git(project.root, "diff", "--name-only", "--diff-filter=A", base).stdout
    untracked = git(project.root, "ls-files", "--others", "--exclude-standard").stdout
    names = (committed + untracked).split()
    return sorted(
        f"{path.split('/')[0]}.{path.rpartition('/')[2][:-3]}"
        for path in names
        if re.fullmatch(r"\w+/migrations/\d{4}\w*\.py", path)
    )


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_since_marks_what_the_branch_adds_over_the_merge_base(repo, mode):
    added = marked(repo, "added", "--since", "main", *mode)
    assert added == added_by_git(repo, "main") == ["catalog.0002_more", "shop.0002_item_colour"]
    data = json.loads((repo.root / "g.json").read_text())
    base = git(repo.root, "merge-base", "HEAD", "main").stdout.strip()
    assert data["review"] == {"since": "main", "merge_base": base}
    assert marked(repo, "added", *mode) == []  # not asked: no mark


def test_since_in_dot_mermaid_and_html(repo):
    dot = repo.migrator("graph", "--since", "main")
    assert dot.code == 0, dot.err
    assert 'legend_added [label="added on this branch"' in dot.out
    drawn = re.findall(r'\[label="?([^"\s]+)"? .*color="#1565c0"', dot.out)
    assert sorted(label for label in drawn if not label.startswith("added")) == [
        "0002_item_colour",
        "0002_more",
    ]
    mermaid = repo.migrator("graph", "--since", "main", "-f", "mmd")
    assert mermaid.code == 0, mermaid.err
    assert 'legend_added["added on this branch"]' in mermaid.out
    classes = re.search(r"^    class (\S+) added$", mermaid.out, re.MULTILINE).group(1)
    assert len(classes.split(",")) == 3  # the legend's and the two migrations


@needs_dot
@browser.needs_chromium
def test_since_in_the_html_page(repo, tmp_path):
    result = repo.migrator("graph", "--since", "main", "-o", "g.html")
    assert result.code == 0, result.err
    document = browser.dom((repo.root / "g.html").as_uri())
    outlined = re.findall(
        r'<g id="n\d+" class="node">\s*<title>([^<]+)</title>(?:(?!</g>).)*?stroke="#1565c0"',
        document,
        re.DOTALL,
    )
    assert sorted(outlined) == ["catalog.0002_more", "shop.0002_item_colour"]
    assert "added on this branch" in document


def test_since_needs_a_repository_and_a_known_ref(repo, tmp_path):
    unknown = repo.migrator("graph", "--since", "nosuchbranch")
    assert unknown.code == 2 and "unknown revision 'nosuchbranch'" in unknown.err
    both = repo.migrator("graph", "--since", "main", "--against", "main")
    assert both.code == 2
    shutil.rmtree(repo.root / ".git")
    outside = repo.migrator("graph", "--since", "main")
    assert outside.code == 2 and "--since needs a git repository" in outside.err


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_against_draws_the_conflict_the_merge_makes_as_django_then_sees_it(repo, mode):
    commit_all(repo.root, "more")
    before = git(repo.root, "status", "--porcelain").stdout
    conflicting = marked(repo, "conflict", "--against", "main", *mode)
    incoming = marked(repo, "incoming", "--against", "main", *mode)
    added = marked(repo, "added", "--against", "main", *mode)
    data = json.loads((repo.root / "g.json").read_text())
    assert data["review"]["against"] == "main"
    assert git(repo.root, "status", "--porcelain").stdout == before  # nothing merged
    assert incoming == ["shop.0002_item_size"]
    assert added == ["catalog.0002_more", "shop.0002_item_colour"]
    git(repo.root, "merge", "--no-edit", "-q", "main")
    merged = repo.django_conflicts()
    assert conflicting == [f"{app}.{name}" for app, names in merged.items() for name in names]
    assert conflicting == ["shop.0002_item_colour", "shop.0002_item_size"]


def test_against_with_no_conflict_draws_the_union(repo):
    git(repo.root, "checkout", "-q", "-b", "other", "main")
    repo.add_migration("catalog", "0002_other", [("catalog", "0001_initial")])
    repo.migration_path("catalog", "0002_more").unlink()
    commit_all(repo.root, "other")
    git(repo.root, "checkout", "-q", "main")
    result = repo.migrator("graph", "--against", "other", "-f", "mmd")
    assert result.code == 0, result.err
    assert 'legend_incoming["from the merged branch"]' in result.out
    assert marked(repo, "incoming", "--against", "other") == ["catalog.0002_other"]
    assert marked(repo, "conflict", "--against", "other") == []
