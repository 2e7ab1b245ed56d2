"""``migrator rebase APP --regenerate`` (and ``resolve``'s regenerate strategy) after real
git merges: Django's own makemigrations writes the replacement, Django judges the result."""

from __future__ import annotations

import pytest

from tests.djproject import DjangoProject, undated
from tests.gitrepo import commit_all, git
from tests.test_rebase_applied import migrate, rows
from tests.test_resolve import diverged_repo

FILL = """\
from django.db import migrations


def fill(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.filter(qty=0).update(qty=1)


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_qty_default")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
"""


def with_data_migration(project: DjangoProject) -> DjangoProject:
    """feature also has a hand-written data migration after its AlterField:

    orders: 0001 - 0002_base - 0003_alter_qty                      main
                            \\- 0003_qty_default - 0004_fill        feature (0004: RunPython)
    """
    diverged_repo(project)
    git(project.root, "checkout", "-q", "feature")
    project.migration_path("orders", "0004_fill").write_text(FILL)
    commit_all(project.root, "feature: fill")
    git(project.root, "checkout", "-q", "main")
    return project


def merge(project: DjangoProject) -> None:
    """git merge feature, and merge customers' safe conflict (migrate refuses any)."""
    git(project.root, "merge", "-q", "--no-edit", "feature")
    merged = project.migrator("merge", "customers")
    assert merged.code == 0, merged.err


@pytest.fixture
def merged(project: DjangoProject) -> DjangoProject:
    with_data_migration(project)
    merge(project)
    return project


def names(project: DjangoProject, app: str) -> list[str]:
    return sorted(p.stem for p in (project.root / app / "migrations").glob("0*.py"))


def test_regenerate_removes_the_generated_migration_keeps_the_hand_written_one(merged):
    result = merged.migrator("rebase", "orders", "--regenerate")

    assert result.code == 0, result.err
    assert result.out.splitlines()[:3] == [
        "orders: keeping 0003_alter_qty (on the mainline (HEAD^1)); regenerating 0004_fill",
        "  remove (makemigrations wrote them): 0003_qty_default",
        "  keep (hand-written), rebased: 0004_fill -> 0004_fill",
    ]
    assert result.out.endswith(
        "makemigrations wrote 0005_alter_order_qty. Verified in fresh processes: 'orders' has "
        "one leaf (0005_alter_order_qty), `makemigrations --check` is clean, and `migrate` "
        "runs on test databases from empty and from 0003_alter_qty.\n"
        "Next: git was left alone; record the removed and written files with `git add -A -- "
        "orders/migrations/0003_qty_default.py orders/migrations/0004_fill.py "
        "orders/migrations/0005_alter_order_qty.py`, then run `python manage.py migrate` to "
        "apply what is new.\n"
    )
    assert names(merged, "orders") == [
        "0001_initial",
        "0002_base",
        "0003_alter_qty",
        "0004_fill",
        "0005_alter_order_qty",
    ]
    fill = merged.migration_path("orders", "0004_fill").read_text()
    assert fill == FILL.replace('("orders", "0003_qty_default")', '("orders", "0003_alter_qty")')
    generated = merged.migration_path("orders", "0005_alter_order_qty").read_text()
    assert "('orders', '0004_fill')" in generated
    assert "models.IntegerField(default=1)" in generated
    # Django judges: one leaf, models and migrations agree, migrate from empty works
    assert merged.django_conflicts() == {}
    check = merged.manage("makemigrations", "--check", "--dry-run")
    assert check.code == 0, check.out
    migrate(merged)
    assert rows(merged)[-1] == "0005_alter_order_qty"
    # git was told nothing: the removal is not staged, the new file untracked; the
    # command the run printed records exactly the files it changed
    status = git(merged.root, "status", "--porcelain", "--", "orders").stdout
    assert " D orders/migrations/0003_qty_default.py\n" in status
    assert "?? orders/migrations/0005_alter_order_qty.py\n" in status
    command = result.out.split("`git add -A -- ")[1].split("`")[0]
    git(merged.root, "add", "-A", "--", *command.split())
    git(merged.root, "commit", "-q", "-m", "regenerate")
    assert git(merged.root, "status", "--porcelain", "--", "orders").stdout == ""


def test_from_the_kept_branchs_applied_state_migrate_runs_on(project):
    """The developer's database had main's branch applied; after the merge and the
    regenerate, migrate applies the rest."""
    with_data_migration(project)
    migrate(project)  # main: up to 0003_alter_qty
    merge(project)

    result = project.migrator("rebase", "orders", "--regenerate", "--database", "default")

    assert result.code == 0, result.err
    migrate(project)
    assert rows(project) == [
        "0001_initial",
        "0002_base",
        "0003_alter_qty",
        "0004_fill",
        "0005_alter_order_qty",
    ]


def test_dry_run_shows_the_migration_makemigrations_would_write_and_writes_nothing(merged):
    """The dry run shows the whole plan, the generated migration's source included
    (makemigrations ran on a throwaway copy of the project with the changes); the real
    run then writes that very file."""
    before = merged.snapshot()

    result = merged.migrator("rebase", "orders", "--regenerate", "--dry-run")

    assert result.code == 0, result.err
    assert merged.snapshot() == before
    assert "  delete orders/migrations/0003_qty_default.py\n" in result.out
    assert '+    dependencies = [("orders", "0003_alter_qty")]\n' in result.out
    shown = result.out.split("+++ b/orders/migrations/0005_alter_order_qty.py\n")[1]
    assert result.out.endswith(
        "Dry run: nothing written (makemigrations orders ran on a throwaway copy of the "
        "project with the changes above: what it wrote; the real run generates it again, "
        "then verifies).\n"
    )
    written = merged.migrator("rebase", "orders", "--regenerate")
    assert written.code == 0, written.err
    source = merged.migration_path("orders", "0005_alter_order_qty").read_text()
    lines = source.splitlines(keepends=True)
    assert undated(shown) == undated(
        f"@@ -0,0 +1,{len(lines)} @@\n"
        + "".join("+" + line for line in lines)
        + "Dry run:"
        + shown.split("Dry run:")[1]
    )


def test_a_removed_migration_applied_on_the_database_is_refused(project):
    with_data_migration(project)
    git(project.root, "checkout", "-q", "feature")
    migrate(project, "orders", "0003_qty_default")
    git(project.root, "checkout", "-q", "main")
    merge(project)
    before = project.snapshot()

    result = project.migrator("rebase", "orders", "--regenerate", "--database", "default")

    assert result.code == 1
    assert result.err.splitlines() == [
        "migrator: error: database 'default' has applied orders.0003_qty_default, which "
        "regenerating would remove",
        "  hint: rebase instead (`migrator rebase orders --database default "
        "--update-applied`), or unapply them there first",
    ]
    assert project.snapshot() == before


BROKEN_FOR_MAKEMIGRATIONS = """
import sys

if "makemigrations" in sys.argv:
    raise ImportError("models broken")
"""


def test_makemigrations_failing_after_the_changes_rolls_everything_back(merged):
    """makemigrations fails once the files changed (here: the models refuse to import in
    its process): every file comes back."""
    models = merged.root / "orders" / "models.py"
    models.write_text(models.read_text() + BROKEN_FOR_MAKEMIGRATIONS)
    before = merged.snapshot()

    result = merged.migrator("rebase", "orders", "--regenerate")

    assert result.code == 1
    assert "cannot generate a migration in " in result.err
    assert "models broken" in result.err
    assert "brought back 1 deleted file" in result.err
    assert merged.snapshot() == before


def test_a_dry_run_whose_makemigrations_fails_is_refused(merged):
    """makemigrations fails on the throwaway copy: the dry run is refused (exit 1) with
    makemigrations' reason, as the real run would be, and nothing is written."""
    models = merged.root / "orders" / "models.py"
    models.write_text(models.read_text() + BROKEN_FOR_MAKEMIGRATIONS)
    before = merged.snapshot()

    result = merged.migrator("rebase", "orders", "--regenerate", "--dry-run")

    assert result.code == 1
    assert result.err.splitlines() == [
        "migrator: error: makemigrations fails on a copy of the project with these "
        "changes: ImportError: models broken",
        "  hint: fix the merged models and run again; nothing was written",
    ]
    assert merged.snapshot() == before


@pytest.mark.parametrize(
    "command",
    [["rebase", "orders", "--regenerate"], ["resolve", "--yes"]],
    ids=["rebase", "resolve"],
)
def test_models_that_do_not_import_are_refused_before_anything_is_written(merged, command):
    """A conflict marker git left in models.py: regenerating needs the merged models, so
    it is a refusal (exit 1) with Django's reason, not a configuration error (exit 2)."""
    models = merged.root / "orders" / "models.py"
    models.write_text(models.read_text() + "<<<<<<< HEAD\n")
    before = merged.snapshot()

    result = merged.migrator(*command)

    assert (result.code, result.out) == (1, ""), result.err
    message, hint = result.err.splitlines()
    assert message.startswith(
        f"migrator: error: {models}:{len(models.read_text().splitlines())}: cannot "
        "regenerate: the models do not import (cannot set up Django 'project.settings': "
        "SyntaxError: "
    ), message
    assert hint == (
        "  hint: fix them (git may have left conflict markers in them) and run "
        f"`migrator {' '.join(command[:-1] if command[-1] == '--yes' else command)}` again; "
        "nothing was written"
    )
    assert merged.snapshot() == before


def test_regenerate_on_both_backends(db_project):
    """SQLite and PostgreSQL: the test databases of the verification are the backend's
    own (Django's test-database creation), and the real one migrates after."""
    with_data_migration(db_project)
    migrate(db_project)  # main's branch applied
    merge(db_project)

    result = db_project.migrator("rebase", "orders", "--regenerate", "--database", "default")

    assert result.code == 0, result.err
    assert names(db_project, "orders")[-1] == "0005_alter_order_qty"
    assert db_project.manage("makemigrations", "--check", "--dry-run").code == 0
    migrate(db_project)
    assert rows(db_project)[-2:] == ["0004_fill", "0005_alter_order_qty"]


THING = (
    "migrations.CreateModel(name='Thing', fields=[('id', models.BigAutoField("
    "auto_created=True, primary_key=True, serialize=False, verbose_name='ID')), "
    "('size', models.IntegerField(default=0))])"
)


def alter_size(default: int) -> str:
    return (
        "migrations.AlterField(model_name='thing', name='size', "
        f"field=models.IntegerField(default={default}))"
    )


def test_resolve_regenerates_although_another_app_is_refused(project):
    """extra's two leaves are both on main (no side to move): refused. orders is still
    regenerated, and its migrate check on test databases is not stopped by extra's
    conflict."""
    project.add_app(
        "extra", models="\nclass Thing(models.Model):\n    size = models.IntegerField(default=2)\n"
    )
    project.add_migration("extra", "0001_initial", [], operations=[THING], initial=True)
    project.add_migration(
        "extra", "0002_a", [("extra", "0001_initial")], operations=[alter_size(1)]
    )
    project.add_migration(
        "extra", "0002_b", [("extra", "0001_initial")], operations=[alter_size(2)]
    )
    with_data_migration(project)
    git(project.root, "merge", "-q", "--no-edit", "feature")

    result = project.migrator("resolve", "--yes")

    assert result.code == 1, result.err
    assert "  refused (regenerate): 'extra': expected exactly one leaf on the mainline" in (
        result.out
    )
    assert "Resolved 2 apps: customers (merge), orders (regenerate);" in result.out
    assert "orders: makemigrations wrote orders/migrations/0005_alter_order_qty.py\n" in (
        result.out
    )
    assert project.django_conflicts() == {"extra": ["0002_a", "0002_b"]}
