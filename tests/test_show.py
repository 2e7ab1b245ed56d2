"""``migrator show`` on real projects and real databases, compared with Django's own
``showmigrations`` and ``MigrationExecutor.migration_plan`` on the same database."""

from __future__ import annotations

import json
import re

from tests.databases import vendor
from tests.djproject import DjangoProject, sample_project
from tests.test_database import CREATE_ITEM, linear_app


def shop(project: DjangoProject) -> None:
    """catalog 0001..0003; orders 0001 (needs catalog 0002) .. 0002; a merged history in
    payments (two branches and a merge migration)."""
    linear_app(project, "catalog", ["0001_initial", "0002_slug", "0003_active"])
    project.add_migration(
        "orders", "0001_initial", [("catalog", "0002_slug")], operations=CREATE_ITEM
    )
    project.add_migration("orders", "0002_note", [("orders", "0001_initial")])
    linear_app(project, "payments", ["0001_initial"])
    project.add_migration("payments", "0002_a", [("payments", "0001_initial")])
    project.add_migration("payments", "0002_b", [("payments", "0001_initial")])
    project.add_migration(
        "payments", "0003_merge", [("payments", "0002_a"), ("payments", "0002_b")]
    )


def showmigrations(project: DjangoProject, *args: str) -> dict[str, list[tuple[str, str]]]:
    """Django's ``showmigrations`` as {app: [(mark, name)]}."""
    result = project.manage("showmigrations", *args)
    assert result.code == 0, result.err
    apps: dict[str, list[tuple[str, str]]] = {}
    for line in result.out.splitlines():
        if not line.startswith(" "):
            current = apps.setdefault(line.strip(), [])
        elif match := re.match(r" \[(.)\] (\S+)", line):
            current.append((match[1], match[2]))
    return {app: rows for app, rows in apps.items() if rows}


def shown(result) -> dict[str, list[tuple[str, str]]]:
    return {
        app["app"]: [("X" if m["applied"] else " ", m["name"]) for m in app["migrations"]]
        for app in result.json()["apps"]
    }


def test_apply_order_and_marks_match_showmigrations(db_project):
    shop(db_project)
    assert db_project.manage("migrate", "orders", "0001").code == 0
    assert db_project.manage("migrate", "payments", "0002_b").code == 0
    result = db_project.migrator("show", "--format", "json")
    assert (result.code, result.err) == (0, "")
    assert shown(result) == showmigrations(db_project)
    assert result.json()["database"]["state"] == "ok"


def test_text_view(db_project):
    shop(db_project)
    assert db_project.manage("migrate", "orders", "0001").code == 0
    # A branch merged after the database was migrated: a conflict in orders.
    db_project.add_migration("orders", "0002_gift", [("orders", "0001_initial")])
    result = db_project.migrator("show", "--deps")
    assert (result.code, result.err) == (0, "")
    assert result.out == "\n".join(
        [
            f"Database 'default' ({vendor(db_project)}): 3 of 10 migrations applied",
            "catalog",
            "  [X] 0001_initial",
            "  [X] 0002_slug",
            "  [ ] 0003_active  leaf",
            "orders  conflict: 2 leaves",
            "  [X] 0001_initial",
            "        depends on catalog.0002_slug",
            "  [ ] 0002_gift  leaf",
            "  [ ] 0002_note  leaf",
            "payments",
            "  [ ] 0001_initial",
            "  [ ] 0002_b",  # Django walks the greatest parent first
            "  [ ] 0002_a",
            "  [ ] 0003_merge  merge  leaf",
            "",
            "orders: conflict: 2 leaf migrations: 0002_gift, 0002_note",
            "  orders/migrations/0002_gift.py",
            "  orders/migrations/0002_note.py",
            "  hint: run `migrator explain orders` to see what each branch does, then "
            "`migrator merge orders`",
            "Found 1 conflict and 0 problems in 3 apps (10 migrations).",
            "",
        ]
    )
    only = db_project.migrator("show", "catalog")
    assert only.out.splitlines()[1:] == [
        "catalog",
        "  [X] 0001_initial",
        "  [X] 0002_slug",
        "  [ ] 0003_active  leaf",
        "",
        "No conflicts or problems in 1 app (3 migrations).",
    ]


def test_plan_matches_migrate(db_project):
    shop(db_project)
    assert db_project.manage("migrate", "orders", "0001").code == 0
    django = db_project.django(
        """
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor
        executor = MigrationExecutor(connection)
        leaves = executor.loader.graph.leaf_nodes()
        pending = executor.migration_plan(leaves)
        fresh = executor.migration_plan(leaves, clean_start=True)
        print(json.dumps({
            "pending": [f"{m.app_label}.{m.name}" for m, backwards in pending],
            "fresh": [f"{m.app_label}.{m.name}" for m, backwards in fresh],
        }))
        """
    )
    assert django.code == 0, django.err
    expected = json.loads(django.out)
    result = db_project.migrator("show", "--plan", "--format", "json")
    plan = result.json()["plan"]
    assert [m["migration"] for m in plan] == expected["fresh"]
    assert [m["migration"] for m in plan if not m["applied"]] == expected["pending"]
    # showmigrations --plan lists the same order.
    listed = db_project.manage("showmigrations", "--plan").out
    assert re.findall(r"\[.\]  (\S+)", listed) == expected["fresh"]

    text = db_project.migrator("show", "--plan").out.splitlines()
    assert text[1:4] == ["Apply order", "  [X] catalog.0001_initial", "  [X] catalog.0002_slug"]


def test_missing_sqlite_file_shows_unknown_marks(project):
    linear_app(project, "a", ["0001_initial", "0002_b"])
    result = project.migrator("show", "--format", "json")  # no db.sqlite3: unreadable
    assert result.code == 0
    assert result.json()["database"]["state"] == "unavailable"
    assert [m["applied"] for m in result.json()["apps"][0]["migrations"]] == [None, None]
    assert not (project.root / "db.sqlite3").exists()


def test_unknown_app_label(project):
    linear_app(project, "a", ["0001_initial"])
    result = project.migrator("show", "b")
    assert (result.code, result.out) == (2, "")
    assert result.err.startswith("migrator: error: unknown app label 'b'")


def test_sample_apps_partly_migrated(tmp_path):
    """The demo's database: the squash in payments is partly applied."""
    project = sample_project(tmp_path / "shop")
    # migrate refuses while apps conflict; the executor applies chosen targets as
    # `migrate APP NAME` would.
    applied = project.django(
        """
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor
        from django.db.migrations.loader import MigrationLoader
        executor = MigrationExecutor(connection)
        executor.migrate([("catalog", "0002_product_slug"), ("orders", "0002_order_updated_at")])
        executor.loader = MigrationLoader(connection, replace_migrations=False)
        executor.migrate([("payments", "0001_initial")])
        """
    )
    assert applied.code == 0, applied.err
    result = project.migrator("show", "--format", "json")
    assert result.code == 0
    assert shown(result) == showmigrations(project)
    payments = next(a for a in result.json()["apps"] if a["app"] == "payments")
    assert [p["migration"] for p in payments["partially_applied_squashes"]] == [
        "payments.0001_squashed_0003_refund"
    ]
    text = project.migrator("show", "payments").out
    assert (
        "  0001_squashed_0003_refund: squashed, not used on this database (1 of 3 "
        "replaced migrations applied); migrate applies the rest of them"
    ) in text
