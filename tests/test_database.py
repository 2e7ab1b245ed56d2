"""``migrator check --database``: the history problems only ``migrate`` reveals, judged on
real SQLite and PostgreSQL databases migrated partly by Django itself, with Django's own
loader on the same database as the oracle."""

from __future__ import annotations

import json
import re

import pytest

from tests.databases import closed_port, databases_setting, vendor
from tests.djproject import DjangoProject

CREATE_ITEM = "migrations.CreateModel('Item', [('id', models.AutoField(primary_key=True))])"


def linear_app(project: DjangoProject, app: str, names: list[str]) -> None:
    """``app`` with a chain of migrations, the first creating a table."""
    previous = None
    for index, name in enumerate(names):
        project.add_migration(
            app, name, [previous] if previous else [], operations=CREATE_ITEM if index == 0 else ""
        )
        previous = (app, name)


def record_applied(project: DjangoProject, *keys: tuple[str, str]) -> None:
    """Insert rows as a hand-run ``--fake`` would, with Django's recorder."""
    result = project.django(
        f"""
        from django.db import connection
        from django.db.migrations.recorder import MigrationRecorder
        recorder = MigrationRecorder(connection)
        recorder.ensure_schema()
        for app, name in {list(keys)!r}:
            recorder.record_applied(app, name)
        """
    )
    assert result.code == 0, result.err


def django_db_conflicts(project: DjangoProject) -> dict[str, list[str]]:
    """What ``migrate`` sees: ``detect_conflicts()`` of the loader built on the database."""
    result = project.django(
        """
        from django.db import connection
        from django.db.migrations.loader import MigrationLoader
        loader = MigrationLoader(connection)
        print(json.dumps({k: sorted(v) for k, v in loader.detect_conflicts().items()}))
        """
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def problems(result) -> list[tuple[str, str, str]]:
    return [(p["kind"], p["app"], p["migration"]) for p in result.json()["problems"]]


def test_consistent_partial_migrate_is_ok(db_project):
    linear_app(db_project, "a", ["0001_initial", "0002_b", "0003_c"])
    assert db_project.manage("migrate", "a", "0002").code == 0
    result = db_project.migrator("check", "--database", "default", "--format", "json")
    assert (result.code, result.err) == (0, "")
    assert result.json()["problems"] == [] and result.json()["conflicts"] == []


def test_inconsistent_history_lists_every_pair_django_stops_at_one(db_project):
    linear_app(db_project, "a", ["0001_initial", "0002_b", "0003_c"])
    linear_app(db_project, "b", ["0001_initial", "0002_d"])
    assert db_project.manage("migrate", "a", "0001").code == 0
    record_applied(db_project, ("a", "0003_c"), ("b", "0002_d"))

    migrate = db_project.manage("migrate")
    assert migrate.code != 0
    django_says = re.search(
        r"Migration (\S+) is applied before its dependency (\S+) on", migrate.err
    )
    assert django_says, migrate.err

    result = db_project.migrator("check", "--database", "default", "--format", "json")
    assert (result.code, result.err) == (1, "")
    found = result.json()["problems"]
    pairs = [
        re.search(
            r"'(\S+)' is applied on database 'default' before its dependency '(\S+)'", p["message"]
        ).groups()
        for p in found
    ]
    assert pairs == [("a.0003_c", "a.0002_b"), ("b.0002_d", "b.0001_initial")]
    assert django_says.groups() in pairs
    assert {p["kind"] for p in found} == {"inconsistent-history"}
    assert found[0]["path"] == "a/migrations/0003_c.py" and found[0]["line"] > 1
    # The files alone are fine: without --database there is nothing to say.
    assert db_project.migrator("check").code == 0


def test_ghost_of_a_renamed_migration(db_project):
    linear_app(db_project, "a", ["0001_initial", "0002_add_price"])
    assert db_project.manage("migrate").code == 0
    old = db_project.migration_path("a", "0002_add_price")
    old.rename(old.with_name("0002_add_prices.py"))

    rows = db_project.django(
        """
        from django.db import connection
        from django.db.migrations.loader import MigrationLoader
        loader = MigrationLoader(connection)
        print(json.dumps(sorted(map(list, set(loader.applied_migrations)
                                    - set(loader.disk_migrations)))))
        """
    )
    assert json.loads(rows.out) == [["a", "0002_add_price"]]  # Django's rows without a file

    result = db_project.migrator("check", "--database", "default")
    assert result.code == 1
    assert result.out.splitlines()[:2] == [
        "ghost-migration: 'a.0002_add_price' is applied on database 'default' but has no "
        "migration file; renamed to '0002_add_prices'? migrate would apply it again",
        "  hint: if the file was renamed, restore the old name (or record the new one with "
        "`manage.py migrate --fake APP NEW_NAME` and delete the old row); if it was deleted "
        "on purpose, the row can be deleted from django_migrations",
    ]
    plan = db_project.manage("migrate", "--plan")
    assert "a.0002_add_prices" in plan.out  # Django would indeed apply it again
    shown = db_project.migrator("show").out.splitlines()
    assert shown[1:5] == [
        "a",
        "  [X] 0001_initial",
        "  [ ] 0002_add_prices  leaf",
        "  [X] 0002_add_price  ghost: applied, no file",
    ]


def test_rows_of_replaced_and_uninstalled_migrations_are_not_ghosts(db_project):
    """After a squash is applied everywhere, its replaced files are deleted: their rows
    stay, as Django intends. Rows of an app that is no longer installed are ignored."""
    linear_app(db_project, "a", ["0001_initial", "0002_b"])
    assert db_project.manage("migrate").code == 0
    db_project.add_migration(
        "a",
        "0001_squashed_0002_b",
        [],
        operations=CREATE_ITEM,
        replaces=[("a", "0001_initial"), ("a", "0002_b")],
    )
    for name in ("0001_initial", "0002_b"):
        db_project.migration_path("a", name).unlink()
    record_applied(db_project, ("gone", "0001_initial"))
    result = db_project.migrator("check", "--database", "default", "--format", "json")
    assert (result.code, result.err) == (0, "")
    assert result.json()["problems"] == []
    shown = db_project.migrator("show", "--format", "json").json()
    assert shown["database"]["other_apps"] == ["gone"]
    assert [(m["name"], m["applied"]) for m in shown["apps"][0]["migrations"]] == [
        ("0001_squashed_0002_b", True)
    ]


def _squash_after_partial_migrate(project: DjangoProject, applied: str) -> None:
    """``a`` 0001..0003 migrated up to ``applied``, then squashed (replaced files kept)."""
    linear_app(project, "a", ["0001_initial", "0002_b", "0003_c"])
    assert project.manage("migrate", "a", applied).code == 0
    project.add_migration(
        "a",
        "0001_squashed_0003_c",
        [],
        operations=CREATE_ITEM,
        replaces=[("a", "0001_initial"), ("a", "0002_b"), ("a", "0003_c")],
    )


def test_partially_applied_squash_with_its_files_is_no_problem(db_project):
    _squash_after_partial_migrate(db_project, "0001")
    nodes = db_project.django(
        """
        from django.db import connection
        from django.db.migrations.loader import MigrationLoader
        print(json.dumps(sorted(k[1] for k in MigrationLoader(connection).graph.nodes)))
        """
    )
    assert json.loads(nodes.out) == ["0001_initial", "0002_b", "0003_c"]  # squash unusable

    result = db_project.migrator("check", "--database", "default")
    assert (result.code, result.err) == (0, "")
    shown = db_project.migrator("show", "--format", "json").json()["apps"][0]
    assert [(m["name"], m["applied"]) for m in shown["migrations"]] == [
        ("0001_initial", True),
        ("0002_b", False),
        ("0003_c", False),
    ]
    assert shown["partially_applied_squashes"] == [
        {
            "migration": "a.0001_squashed_0003_c",
            "applied": ["a.0001_initial"],
            "not_applied": ["a.0002_b", "a.0003_c"],
            "missing": [],
        }
    ]
    # migrate finishes the replaced migrations, and then the squash is applied too.
    assert db_project.manage("migrate").code == 0
    shown = db_project.migrator("show", "--format", "json").json()["apps"][0]
    assert [(m["name"], m["applied"]) for m in shown["migrations"]] == [
        ("0001_squashed_0003_c", True)
    ]


def test_partially_applied_squash_whose_files_are_gone(db_project):
    _squash_after_partial_migrate(db_project, "0001")
    db_project.add_migration("a", "0004_d", [("a", "0003_c")])
    for name in ("0002_b", "0003_c"):
        db_project.migration_path("a", name).unlink()
    # Django's own words for this case (#23556), only on this database.
    migrate = db_project.manage("migrate")
    assert migrate.code != 0 and "Django tried to replace migration a.0003_c" in migrate.err
    assert db_project.migrator("check").code == 0

    result = db_project.migrator("check", "--database", "default", "--format", "json")
    assert result.code == 1
    assert problems(result) == [
        ("partially-applied-squash", "a", "0001_squashed_0003_c"),
        ("missing-dependency", "a", "0004_d"),
    ]
    message = result.json()["problems"][0]["message"]
    assert message == (
        "squashed migration 'a.0001_squashed_0003_c' is partially applied on database "
        "'default' (1 of 3 replaced migrations), so migrate cannot use it and needs "
        "'a.0002_b', 'a.0003_c', whose files are gone"
    )


def test_partially_applied_squash_brings_back_a_conflict_only_migrate_sees(db_project):
    """A feature branch added 0003_feature on top of 0002_b; main squashed 0001..0003.
    On a fresh database the squash absorbs 0002_b: one leaf. On a database that had
    applied 0001 and 0002 only, Django cannot use the squash, and 0003_c and
    0003_feature are two leaves: makemigrations is happy, migrate refuses."""
    _squash_after_partial_migrate(db_project, "0002")
    db_project.add_migration("a", "0003_feature", [("a", "0002_b")])

    assert db_project.django_conflicts() == {}
    assert db_project.migrator("check").code == 0
    assert django_db_conflicts(db_project) == {"a": ["0003_c", "0003_feature"]}
    assert "Conflicting migrations detected" in db_project.manage("migrate").err

    result = db_project.migrator("check", "--database", "default", "--format", "json")
    assert result.code == 1
    assert [(c["app"], c["leaves"]) for c in result.json()["conflicts"]] == [
        ("a", ["0003_c", "0003_feature"])
    ]
    assert problems(result) == [("partially-applied-squash", "a", "0001_squashed_0003_c")]
    # The fix the hint gives: depend on the squashed migration instead.
    db_project.add_migration("a", "0003_feature", [("a", "0001_squashed_0003_c")])
    assert django_db_conflicts(db_project) == {}
    assert db_project.migrator("check", "--database", "default").code == 0


def test_database_without_migrations_table(db_project):
    linear_app(db_project, "a", ["0001_initial"])
    if vendor(db_project) == "sqlite":
        (db_project.root / "db.sqlite3").write_bytes(b"")  # an empty SQLite file
    result = db_project.migrator("check", "--database", "default", "--format", "json")
    assert (result.code, result.err) == (0, "")
    shown = db_project.migrator("show")
    assert shown.code == 0
    assert "no django_migrations table, nothing applied" in shown.out.splitlines()[0]
    assert "[ ] 0001_initial  leaf" in shown.out


# -- a database that cannot be read -----------------------------------------------------


def test_missing_sqlite_file_is_a_configuration_error_and_is_not_created(project):
    linear_app(project, "a", ["0001_initial"])
    before = project.snapshot()
    result = project.migrator("check", "--database", "default")
    assert (result.code, result.out) == (2, "")
    assert result.err.splitlines() == [
        "migrator: error: cannot read applied migrations from database 'default': no SQLite "
        f"file at {project.root / 'db.sqlite3'}",
        "  hint: start the database or fix its settings (DATABASES), or run without "
        "--database to check the migration files only",
    ]
    assert project.snapshot() == before


def test_unreachable_postgresql(tmp_path):
    pytest.importorskip("psycopg", reason="PostgreSQL: psycopg is not installed")
    project = DjangoProject(
        tmp_path / "proj",
        settings_extra=databases_setting(
            "django.db.backends.postgresql",
            NAME="shop",
            USER="nobody",
            HOST="127.0.0.1",
            PORT=str(closed_port()),
        ),
    )
    linear_app(project, "a", ["0001_initial"])
    result = project.migrator("check", "--database", "default")
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith(
        "migrator: error: cannot read applied migrations from database 'default': "
        "OperationalError: connection failed:"
    )
    assert len(result.err.splitlines()) == 2  # one line and its hint, no traceback

    shown = project.migrator("show")  # the rest still shows
    assert shown.code == 0
    assert shown.err.startswith(
        "migrator: warning: cannot read applied migrations from "
        "database 'default': OperationalError"
    )
    assert shown.out.splitlines()[:3] == [
        "Database 'default' (postgresql): cannot be read, applied state unknown",
        "a",
        "  [?] 0001_initial  leaf",
    ]


def test_unknown_database_alias(project):
    linear_app(project, "a", ["0001_initial"])
    for command in ("check", "show"):
        result = project.migrator(command, "--database", "defualt")
        assert (result.code, result.out) == (2, "")
        assert result.err.splitlines() == [
            "migrator: error: unknown database alias 'defualt': DATABASES has no such entry",
            "  hint: did you mean 'default'?",
        ]
