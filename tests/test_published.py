"""``published-migration-changed``: ``check --against REF`` finds every migration file
present at the merge base that the branch modifies, renames or deletes, classified by
comparing syntax trees.

Each scenario: ``main`` is pushed to a bare remote and its migrations are applied to a
database; a feature branch then edits a published migration. migrator is asked about
the branch; then Django judges the same edit on that database (``migrate --plan``,
``sqlmigrate``), which is what the classification claims will happen to every deployed
database.
"""

from __future__ import annotations

import pytest

from tests.djproject import DjangoProject
from tests.gitrepo import commit_all, git, init_repo

SIZE = "migrations.AddField(model_name='item', name='size', field=models.IntegerField(default=0))"
MODES = [["--static"], []]


@pytest.fixture
def project(tmp_path) -> DjangoProject:
    """origin/main: shop.0001_initial, shop.0002_item_size, catalog.0001_initial;
    the database has applied all three; checked out on branch ``feature``."""
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
    seed.add_migration("shop", "0002_item_size", [("shop", "0001_initial")], operations=[SIZE])
    seed.add_migration(
        "catalog",
        "0001_initial",
        [],
        operations=[
            "migrations.CreateModel(name='Product', fields=[('id', models.AutoField("
            "primary_key=True))])"
        ],
    )
    (seed.root / ".gitignore").write_text("db.sqlite3\n__pycache__/\n")
    init_repo(seed.root)
    commit_all(seed.root, "initial")
    git(tmp_path, "clone", "-q", "--bare", str(seed.root), str(tmp_path / "remote.git"))
    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(tmp_path / "clone"))
    clone = DjangoProject.open(tmp_path / "clone")
    clone.apps = ["shop", "catalog"]
    migrated = clone.manage("migrate", "-v", "0")
    assert migrated.code == 0, migrated.err
    git(clone.root, "checkout", "-q", "-b", "feature")
    return clone


def check(project: DjangoProject, mode: list[str]):
    result = project.migrator("check", "--against", "origin/main", "--format", "json", *mode)
    assert result.code in (0, 1), result.err
    return result.code, result.json()


def changes(report: dict) -> list[tuple]:
    return [
        (c["app"], c["migration"], c["change"], c["path"], c["error"])
        for c in report["published_changes"]
    ]


def plan(project: DjangoProject):
    """Django's verdict on the database that applied origin/main."""
    return project.manage("migrate", "--plan")


def sql(project: DjangoProject, app: str, name: str) -> str:
    result = project.manage("sqlmigrate", app, name)
    assert result.code == 0, result.err
    return result.out


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_only_formatting_and_comments_is_a_warning(project, mode):
    path = project.migration_path("shop", "0002_item_size")
    before_sql = sql(project, "shop", "0002_item_size")
    path.write_text(
        '"""Add a size."""\n# a comment\n'
        + path.read_text()
        .replace("'", '"')
        .replace("dependencies = [", "dependencies = [  # why\n       ")
        .replace("\n\n", "\n")
    )
    commit_all(project.root, "reformat")
    code, report = check(project, mode)
    assert code == 0
    assert report["ok"] is True
    assert changes(report) == [
        ("shop", "0002_item_size", "formatting", "shop/migrations/0002_item_size.py", False)
    ]
    assert report["published_changes"][0]["diff"] == []
    # Django agrees: nothing to apply, the same SQL as before.
    assert "No planned migration operations." in plan(project).out
    assert sql(project, "shop", "0002_item_size") == before_sql


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_operations_changed(project, mode):
    path = project.migration_path("shop", "0002_item_size")
    before_sql = sql(project, "shop", "0002_item_size")
    path.write_text(path.read_text().replace("default=0", "default=7"))
    commit_all(project.root, "default 7")
    code, report = check(project, mode)
    assert code == 1
    assert changes(report) == [
        ("shop", "0002_item_size", "operations", "shop/migrations/0002_item_size.py", True)
    ]
    change = report["published_changes"][0]
    assert change["diff"] == [
        "     operations = [",
        "-        migrations.AddField(model_name='item', name='size', "
        "field=models.IntegerField(default=0)),",
        "+        migrations.AddField(model_name='item', name='size', "
        "field=models.IntegerField(default=7)),",
        "     ]",
    ]
    assert change["line"] == 9
    assert "allow-published-changes" in change["hint"]
    # Django: the migrated database will never run the new version; fresh ones will.
    assert "No planned migration operations." in plan(project).out
    assert sql(project, "shop", "0002_item_size") != before_sql


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_dependencies_changed(project, mode):
    project.add_migration("catalog", "0002_more", [("catalog", "0001_initial")])
    path = project.migration_path("shop", "0002_item_size")
    path.write_text(
        path.read_text().replace(
            "[('shop', '0001_initial')]", "[('shop', '0001_initial'), ('catalog', '0002_more')]"
        )
    )
    commit_all(project.root, "depend on catalog")
    code, report = check(project, mode)
    assert code == 1
    assert changes(report) == [
        ("shop", "0002_item_size", "dependencies", "shop/migrations/0002_item_size.py", True)
    ]
    assert report["published_changes"][0]["diff"] == [
        "         ('shop', '0001_initial'),",
        "+        ('catalog', '0002_more'),",
        "     ]",
    ]
    # Django: the deployed database now has an inconsistent history.
    result = plan(project)
    assert result.code == 1
    assert "InconsistentMigrationHistory" in result.err


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_renamed(project, mode):
    git(project.root, "mv", "shop/migrations/0002_item_size.py", "shop/migrations/0002_size.py")
    commit_all(project.root, "rename")
    code, report = check(project, mode)
    assert code == 1
    assert changes(report) == [
        ("shop", "0002_item_size", "renamed", "shop/migrations/0002_size.py", True)
    ]
    assert report["published_changes"][0]["old_path"] == "shop/migrations/0002_item_size.py"
    # Django: the database would apply it again under its new name.
    assert "shop.0002_size" in plan(project).out


@pytest.mark.parametrize("mode", MODES, ids=["static", "django"])
def test_deleted(project, mode):
    project.migration_path("shop", "0002_item_size").unlink()
    commit_all(project.root, "delete")
    code, report = check(project, mode)
    assert code == 1
    assert changes(report) == [("shop", "0002_item_size", "deleted", None, True)]
    # Django: the row stays; showmigrations no longer lists it.
    assert "0002_item_size" not in project.manage("showmigrations", "shop").out


def test_text_and_the_allow_list(project):
    path = project.migration_path("shop", "0002_item_size")
    path.write_text(path.read_text().replace("default=0", "default=7"))
    git(project.root, "rm", "-q", "catalog/migrations/0001_initial.py")
    commit_all(project.root, "edits")
    text = project.migrator("check", "--static", "--against", "origin/main")
    assert text.code == 1
    assert text.err == ""
    lines = text.out.splitlines()
    assert lines[1] == (
        "catalog/migrations/0001_initial.py: published-migration-changed: "
        "'catalog.0001_initial' is published on origin/main and this branch deletes it"
    )
    assert lines[3] == (
        "shop/migrations/0002_item_size.py:9: published-migration-changed: "
        "'shop.0002_item_size' is published on origin/main and this branch changes its "
        "operations"
    )
    assert lines[-1] == (
        "No conflicts or problems after merging origin/main, but 2 published migrations "
        "changed by this branch."
    )

    (project.root / "pyproject.toml").write_text(
        '[tool.migrator]\nallow-published-changes = ["shop.0002_item_size", "catalog.*"]\n'
    )
    allowed = project.migrator("check", "--static", "--against", "origin/main", "-f", "json")
    assert allowed.code == 0, allowed.out
    assert [c["allowed"] for c in allowed.json()["published_changes"]] == [True, True]

    (project.root / "pyproject.toml").write_text(
        "[tool.migrator]\nallow-published-changes = 'shop'\n"
    )
    bad = project.migrator("check", "--static", "--against", "origin/main")
    assert (bad.code, bad.out) == (2, "")
    assert bad.err == (
        f"migrator: error: {project.root / 'pyproject.toml'}: [tool.migrator] "
        "allow-published-changes must be a list of migration names\n"
        '  hint: e.g. allow-published-changes = ["shop.0001_initial", "legacy.*"]\n'
    )


def test_new_migrations_of_the_branch_are_not_published(project):
    project.add_migration("shop", "0003_new", [("shop", "0002_item_size")])
    commit_all(project.root, "new")
    path = project.migration_path("shop", "0003_new")
    path.write_text(
        path.read_text().replace(
            "operations = [", "operations = [\n        " + SIZE.replace("size", "extra") + ","
        )
    )
    code, report = check(project, ["--static"])
    assert (code, report["published_changes"]) == (0, [])


def test_heads_report_published_changes(project):
    path = project.migration_path("shop", "0002_item_size")
    path.write_text(path.read_text().replace("default=0", "default=7"))
    commit_all(project.root, "edit")
    git(project.root, "checkout", "-q", "main")
    result = project.migrator(
        "check", "--against", "origin/main", "--heads", "feature", "--format", "json"
    )
    assert result.code == 1, result.err
    (head,) = result.json()["heads"]
    assert [(c["migration"], c["change"]) for c in head["published_changes"]] == [
        ("0002_item_size", "operations")
    ]
    assert (head["ok"], head["conflicts"], head["problems"]) == (False, [], [])


# -- the syntax-tree comparison itself -----------------------------------------------------

BASE = b"""\
from django.db import migrations


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunPython(forwards)]
"""


def test_compare_docstrings_comments_and_layout_are_formatting():
    from migrator.static.compare import compare

    edited = BASE.replace(b"    pass", b'    """Nothing yet."""  # really\n    pass').replace(
        b'[("shop", "0001_initial")]', b"[\n        ('shop', '0001_initial'),\n    ]"
    )
    assert compare(BASE, edited).changed == ()


def test_compare_graph_attributes_and_called_code():
    from migrator.static.compare import compare

    run_before = BASE.replace(
        b"    operations", b'    run_before = [("catalog", "0001_initial")]\n    operations'
    )
    assert compare(BASE, run_before).changed == ("dependencies",)
    body = compare(BASE, BASE.replace(b"    pass", b"    apps.get_model('shop', 'Item')"))
    assert body.changed == ("operations",)
    assert body.line == 4
    broken = compare(BASE, BASE.replace(b"class Migration", b"class Migration("))
    # a file that does not parse is compared as text: nothing of it reads as dependencies
    assert broken.changed == ("dependencies", "operations")
    assert "+class Migration((migrations.Migration):" in broken.diff


def test_renamed_and_edited(project):
    git(project.root, "mv", "shop/migrations/0002_item_size.py", "shop/migrations/0002_size.py")
    path = project.migration_path("shop", "0002_size")
    path.write_text(path.read_text().replace("default=0", "default=1"))
    commit_all(project.root, "rename and edit")
    result = project.migrator("check", "--static", "--against", "origin/main")
    assert result.code == 1
    assert result.out.splitlines()[1] == (
        "shop/migrations/0002_size.py:9: published-migration-changed: 'shop.0002_item_size' "
        "is published on origin/main and this branch renames it to '0002_size' and changes "
        "its operations"
    )
