"""``migrator squash --finish`` on real Django projects, Django the oracle: the squash is
Django's own ``squashmigrations``; after the transition Django's loader reads no
``replaces`` and every dependent pointing at the squashed migration, ``migrate`` has
nothing to do on the database that had applied the replaced migrations and
``showmigrations`` shows the squashed one applied, and a new database migrates to the
same schema as before; an unsafe database is refused, named, with nothing written."""

from __future__ import annotations

import json

import pytest

from tests.djproject import DjangoProject

ITEM = (
    "migrations.CreateModel(name='Item', fields=[('id', models.BigAutoField("
    "auto_created=True, primary_key=True, serialize=False))])"
)
THING = ITEM.replace("'Item'", "'Thing'")
SQUASHED = "0001_squashed_0004_merge"
REPLACED = ["0001_initial", "0002_thing", "0003a_a", "0003b_b", "0004_merge"]


def _field(name: str) -> str:
    return (
        f"migrations.AddField(model_name='item', name={name!r}, "
        "field=models.IntegerField(default=0))"
    )


def shop(project: DjangoProject) -> None:
    """shop 0001 <- 0002 (needs other.0001) <- 0003a, 0003b <- 0004_merge <- 0005;
    other.0002 depends on shop.0002; extra.0001 runs before shop.0003a (run_before)."""
    project.add_migration("other", "0001_initial", [], operations=[THING])
    project.add_migration("shop", "0001_initial", [], operations=[ITEM])
    project.add_migration(
        "shop",
        "0002_thing",
        [("shop", "0001_initial"), ("other", "0001_initial")],
        operations=[
            "migrations.AddField(model_name='item', name='thing', field=models.ForeignKey("
            "on_delete=models.CASCADE, to='other.thing'))"
        ],
    )
    project.add_migration("shop", "0003a_a", [("shop", "0002_thing")], operations=[_field("a")])
    project.add_migration("shop", "0003b_b", [("shop", "0002_thing")], operations=[_field("b")])
    project.add_migration("shop", "0004_merge", [("shop", "0003a_a"), ("shop", "0003b_b")])
    project.add_migration("shop", "0005_c", [("shop", "0004_merge")], operations=[_field("c")])
    project.add_migration("other", "0002_uses", [("other", "0001_initial"), ("shop", "0002_thing")])
    project.add_migration(
        "extra", "0001_initial", [("other", "0001_initial")], run_before=[("shop", "0003a_a")]
    )


def squashed_shop(project: DjangoProject) -> None:
    shop(project)
    made = project.manage("squashmigrations", "shop", "0004_merge", "--noinput")
    assert made.code == 0, made.err
    assert project.migration_path("shop", SQUASHED).is_file()


LOADED = f"""
from django.db.migrations.loader import MigrationLoader
loader = MigrationLoader(None)
disk = loader.disk_migrations
SQUASHED = {SQUASHED!r}
print(json.dumps({{
    "replaces": [list(k) for k in disk[('shop', SQUASHED)].replaces],
    "shop": sorted(n for a, n in disk if a == 'shop'),
    "other.0002": sorted(map(list, disk[('other', '0002_uses')].dependencies)),
    "shop.0005": sorted(map(list, disk[('shop', '0005_c')].dependencies)),
    "extra.run_before": sorted(map(list, disk[('extra', '0001_initial')].run_before)),
}}))
"""

SCHEMA = """
from django.db import connection
connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
with connection.cursor() as cursor:
    intro = connection.introspection
    print(json.dumps({t: sorted(c.name for c in intro.get_table_description(cursor, t))
                      for t in sorted(intro.table_names(cursor)) if t != 'django_migrations'}))
connection.creation.destroy_test_db(':memory:', verbosity=0)
"""


def test_finish_deletes_the_replaced_files_and_repoints_every_dependent(db_project, tmp_path):
    squashed_shop(db_project)
    assert db_project.manage("migrate", "--noinput").code == 0
    twin = db_project.twin(tmp_path / "twin")
    before = twin.django(SCHEMA)
    assert before.code == 0, before.err

    result = db_project.migrator("squash", "--finish")
    assert result.code == 0, result.out + result.err
    assert f"shop.{SQUASHED}: finished: 5 replaced files" in result.out
    assert f"repoint other.0002_uses: shop.0002_thing -> shop.{SQUASHED}" in result.out
    assert f"repoint extra.0001_initial: shop.0003a_a -> shop.{SQUASHED}" in result.out
    assert "database 'default' has it applied" in result.out
    for name in REPLACED:
        assert not db_project.migration_path("shop", name).exists()

    read = db_project.django(LOADED)
    assert read.code == 0, read.err
    assert json.loads(read.out) == {
        "replaces": [],
        "shop": [SQUASHED, "0005_c"],
        "other.0002": [["other", "0001_initial"], ["shop", SQUASHED]],
        "shop.0005": [["shop", SQUASHED]],
        "extra.run_before": [["shop", SQUASHED]],
    }
    # the database that had applied the replaced migrations: nothing to do, squash applied
    migrate = db_project.manage("migrate", "--noinput")
    assert migrate.code == 0, migrate.err
    assert "No migrations to apply." in migrate.out
    shown = db_project.manage("showmigrations", "shop")
    assert shown.out.split() == ["shop", "[X]", SQUASHED, "[X]", "0005_c"]
    # a new database gets the schema it got before
    after = db_project.django(SCHEMA)
    assert after.code == 0, after.err
    assert json.loads(after.out) == json.loads(before.out)
    assert db_project.migrator("check").code == 0
    # the rows of the deleted migrations: Django's own prune, as the output says
    prune = "python manage.py migrate shop --prune --database default"
    assert prune in result.out
    assert db_project.migrator("check", "--database", "default").code == 1  # ghost rows
    pruned = db_project.manage(*prune.split()[2:])
    assert pruned.code == 0, pruned.err
    assert pruned.out.count(" OK") == len(REPLACED)
    assert db_project.migrator("check", "--database", "default").code == 0


def test_dry_run_prints_the_plan_and_diffs_and_writes_nothing(tmp_path):
    project = DjangoProject(tmp_path / "proj")
    squashed_shop(project)
    assert project.manage("migrate", "--noinput").code == 0
    files = project.snapshot()
    result = project.migrator("squash", "--finish", "--dry-run")
    assert result.code == 0, result.err
    assert project.snapshot() == files
    assert f"shop.{SQUASHED}: would finish: 5 replaced files" in result.out
    assert "  delete shop/migrations/0002_thing.py" in result.out
    assert (
        "--- a/other/migrations/0002_uses.py\n"
        "+++ b/other/migrations/0002_uses.py\n"
        "@@ -3,7 +3,7 @@\n"
        " \n"
        " class Migration(migrations.Migration):\n"
        " \n"
        "-    dependencies = [('other', '0001_initial'), ('shop', '0002_thing')]\n"
        f"+    dependencies = [('other', '0001_initial'), ('shop', '{SQUASHED}')]\n"
    ) in result.out
    assert "-    replaces = [('shop', '0001_initial'), " in result.out
    data = json.loads(project.migrator("squash", "--finish", "--dry-run", "--format", "json").out)
    assert [s["outcome"] for s in data["squashed"]] == ["finished"]
    assert sorted(c["path"] for c in data["changes"] if c["verb"] == "delete") == sorted(
        f"shop/migrations/{name}.py" for name in REPLACED
    )
    assert data["written"] == []


def test_a_database_that_applied_only_part_is_refused_and_named(db_project):
    shop(db_project)
    assert db_project.manage("migrate", "shop", "0002_thing", "--noinput").code == 0
    made = db_project.manage("squashmigrations", "shop", "0004_merge", "--noinput")
    assert made.code == 0, made.err
    files = db_project.snapshot()
    result = db_project.migrator("squash", "--finish")
    assert result.code == 1, result.out + result.err
    assert f"shop.{SQUASHED}: refused" in result.out
    assert "database 'default' applied only 2 of the 5 replaced migrations" in result.out
    assert db_project.snapshot() == files
    # --force goes past the database (and the proof still holds on test databases)
    forced = db_project.migrator("squash", "--finish", "--force")
    assert forced.code == 0, forced.out + forced.err
    assert "forced past: database 'default' applied only 2" in forced.out


def test_a_database_that_never_migrated_since_the_squash_is_refused_until_it_does(tmp_path):
    """Applied every replaced migration before the squash existed: no row of the
    squashed one, which Django adds on the next migrate; without it, deleting the files
    would make Django run the squashed migration again."""
    project = DjangoProject(tmp_path / "proj")
    shop(project)
    assert project.manage("migrate", "--noinput").code == 0
    made = project.manage("squashmigrations", "shop", "0004_merge", "--noinput")
    assert made.code == 0, made.err
    result = project.migrator("squash", "--finish")
    assert result.code == 1
    assert "applied every replaced migration but has no row of" in result.out
    assert project.migration_path("shop", "0002_thing").exists()
    assert project.manage("migrate", "--noinput").code == 0
    result = project.migrator("squash", "--finish")
    assert result.code == 0, result.out + result.err
    assert "No migrations to apply." in project.manage("migrate", "--noinput").out


def test_a_runpython_function_in_a_replaced_file_is_refused(tmp_path):
    project = DjangoProject(tmp_path / "proj")
    project.add_migration("shop", "0001_initial", [], operations=[ITEM])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    squash = project.add_migration(
        "shop",
        "0001_squashed_0002_b",
        [],
        operations=[ITEM, "migrations.RunPython(forwards)"],
        replaces=[("shop", "0001_initial"), ("shop", "0002_b")],
    )
    squash.write_text(
        squash.read_text().replace(
            "from django.db import migrations, models\n",
            "from django.db import migrations, models\n"
            "from shop.migrations import __init__ as _\n"
            "import importlib\n"
            "forwards = importlib.import_module('shop.migrations.0002_b').forwards\n",
        )
    )
    path = project.migration_path("shop", "0002_b")
    path.write_text(path.read_text() + "\n\ndef forwards(apps, schema_editor):\n    pass\n")
    result = project.migrator("squash", "--finish", "--force")
    assert result.code == 1, result.out + result.err
    assert "runs forwards() defined in shop.0002_b, which would be deleted" in result.out
    assert path.exists()


def test_bytes_the_finish_does_not_mean_to_change_are_kept(tmp_path):
    """A CRLF, latin-1 dependent keeps its line endings, encoding and mode."""
    project = DjangoProject(tmp_path / "proj")
    squashed_shop(project)
    assert project.manage("migrate", "--noinput").code == 0
    dependent = project.migration_path("other", "0002_uses")
    text = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + dependent.read_text()
    dependent.write_bytes(text.replace("\n", "\r\n").encode("latin-1"))
    dependent.chmod(0o640)
    result = project.migrator("squash", "--finish")
    assert result.code == 0, result.out + result.err
    expected = text.replace("'0002_thing'", f"'{SQUASHED}'").replace("\n", "\r\n")
    assert dependent.read_bytes() == expected.encode("latin-1")
    assert dependent.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("marker", ["0004_merge\n", "0004_merge\r\n"])
def test_the_marker_names_the_squashed_migration_once_it_is_the_leaf(tmp_path, marker):
    project = DjangoProject(tmp_path / "proj")
    shop(project)
    project.migration_path("shop", "0005_c").unlink()
    made = project.manage("squashmigrations", "shop", "0004_merge", "--noinput")
    assert made.code == 0, made.err
    path = project.root / "shop" / "migrations" / "max_migration.txt"
    path.write_bytes(marker.encode())
    assert project.manage("migrate", "--noinput").code == 0
    result = project.migrator("squash", "--finish")
    assert result.code == 0, result.out + result.err
    assert path.read_bytes() == marker.replace("0004_merge", SQUASHED).encode()


@pytest.mark.waits
def test_sigkill_at_random_points_then_recover_leaves_before_or_after(tmp_path):
    """The finish is one journaled write: killed (with all it started) at random points,
    then ``migrator recover``, the files are as before or as a finished run leaves them."""
    import random
    import shutil
    import time

    from tests.test_interrupts import (
        files,
        kill_group,
        kill_point,
        migrator,
        start,
        wait_for_journal,
        write_duration,
    )

    pristine = tmp_path / "pristine"
    project = DjangoProject(pristine)
    squashed_shop(project)
    assert project.manage("migrate", "--noinput").code == 0
    before = files(pristine)
    done = tmp_path / "done"
    shutil.copytree(pristine, done)
    # how long the write takes: edits and deletes 0.2 s apart, then the proof
    duration = write_duration(done, ["squash", "--finish"], slow="0.2")
    after = files(done)
    rng = random.Random(19)
    reports = []
    points = 4
    for attempt in range(points):
        root = tmp_path / "p"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(pristine, root)
        proc = start(root, ["squash", "--finish"], slow="0.2")
        wait_for_journal(root, proc)
        time.sleep(kill_point(duration, attempt, points, rng))
        kill_group(proc)
        recovered = migrator(root, "recover")
        assert recovered.returncode == 0, recovered.stderr
        reports.append(recovered.stdout)
        assert files(root) in (before, after), attempt
    assert any(" was found and rolled back: " in report for report in reports), reports


@pytest.mark.skipif(
    __import__("django").VERSION < (6, 0), reason="Django 6.0 squashes squashed migrations"
)
def test_a_squash_in_a_chain_goes_with_the_later_squash_that_replaces_it(db_project):
    """shop 0001..0002 squashed (A), then A..0004 squashed (B): finishing B deletes A
    and the files A replaced too; the database shows B applied."""
    shop(db_project)
    first = db_project.manage("squashmigrations", "shop", "0002_thing", "--noinput")
    assert first.code == 0, first.err
    assert db_project.manage("migrate", "--noinput").code == 0
    squashed_again = db_project.manage("squashmigrations", "shop", "0004_merge", "--noinput")
    assert squashed_again.code == 0, squashed_again.err
    assert db_project.manage("migrate", "--noinput").code == 0
    result = db_project.migrator("squash", "--finish", "shop", "--format", "json")
    assert result.code == 0, result.out + result.err
    outcome = {s["migration"]: s["outcome"] for s in json.loads(result.out)["squashed"]}
    assert outcome == {"shop.0001_squashed_0002_thing": "within", f"shop.{SQUASHED}": "finished"}
    names = sorted(p.name for p in (db_project.root / "shop" / "migrations").glob("0*.py"))
    assert names == ["0001_squashed_0004_merge.py", "0005_c.py"]
    migrate = db_project.manage("migrate", "--noinput")
    assert "No migrations to apply." in migrate.out, migrate.err
    assert db_project.manage("showmigrations", "shop").out.split() == [
        "shop",
        "[X]",
        SQUASHED,
        "[X]",
        "0005_c",
    ]


def test_a_dependent_named_other_than_as_a_literal_is_refused(tmp_path):
    project = DjangoProject(tmp_path / "proj")
    squashed_shop(project)
    assert project.manage("migrate", "--noinput").code == 0
    path = project.migration_path("other", "0002_uses")
    path.write_text(
        path.read_text().replace("('shop', '0002_thing')", "('shop', '0002_' + 'thing')")
    )
    files = project.snapshot()
    result = project.migrator("squash", "--finish")
    assert result.code == 1, result.out + result.err
    assert "other.0002_uses names shop.0002_thing other than as a literal" in result.out, result.out
    assert project.snapshot() == files


def test_nothing_to_finish_and_static_runs(tmp_path):
    project = DjangoProject(tmp_path / "proj")
    shop(project)
    result = project.migrator("squash", "--finish")
    assert (result.code, result.out, result.err) == (
        0,
        "no squashed migration has replaced files left: nothing to finish\n",
        "",
    )
    made = project.manage("squashmigrations", "shop", "0004_merge", "--noinput")
    assert made.code == 0, made.err
    static = project.migrator("squash", "--finish", "--static")
    assert static.code == 2
    assert "--finish proves the change by migrating test databases" in static.err
    plan = project.migrator("squash", "--finish", "--static", "--dry-run")
    assert plan.code == 1
    assert "no database was read (--static)" in plan.out


def test_a_database_that_cannot_be_read_is_refused_and_named(tmp_path):
    pytest.importorskip("psycopg")
    from tests.databases import closed_port

    replica = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "nowhere",
        "HOST": "127.0.0.1",
        "PORT": str(closed_port()),
        "USER": "nobody",
    }
    project = DjangoProject(
        tmp_path / "proj", settings_extra=f"DATABASES['replica'] = {json.dumps(replica)}\n"
    )
    squashed_shop(project)
    assert project.manage("migrate", "--noinput").code == 0
    files = project.snapshot()
    result = project.migrator(
        "squash", "--finish", "--database", "default", "--database", "replica"
    )
    assert result.code == 1, result.out + result.err
    assert "database 'default' has it applied" in result.out
    assert "database 'replica' could not be read: " in result.out
    assert project.snapshot() == files


@pytest.mark.skipif(
    __import__("django").VERSION < (6, 0), reason="Django 6.0 squashes squashed migrations"
)
def test_the_earlier_squash_of_a_chain_is_finished_alone_when_the_later_is_refused(tmp_path):
    """The database applied A (0001..0002 squashed) but not the rest of B (A..0004):
    B is refused, A finished; Django then migrates the database through B's
    replaced migrations and records B."""
    project = DjangoProject(tmp_path / "proj")
    shop(project)
    assert project.manage("squashmigrations", "shop", "0002_thing", "--noinput").code == 0
    first = "0001_squashed_0002_thing"
    assert project.manage("migrate", "shop", first, "--noinput").code == 0
    assert project.manage("squashmigrations", "shop", "0004_merge", "--noinput").code == 0
    result = project.migrator("squash", "--finish", "--format", "json")
    assert result.code == 1, result.out + result.err
    outcome = {s["migration"]: s["outcome"] for s in json.loads(result.out)["squashed"]}
    assert outcome == {f"shop.{first}": "finished", f"shop.{SQUASHED}": "refused"}
    names = sorted(p.name for p in (project.root / "shop" / "migrations").glob("0*.py"))
    assert names == [f"{first}.py", f"{SQUASHED}.py", "0003a_a.py", "0003b_b.py"] + [
        "0004_merge.py",
        "0005_c.py",
    ]
    migrate = project.manage("migrate", "--noinput")
    assert migrate.code == 0, migrate.err
    shown = project.manage("showmigrations", "shop").out
    # B keeps its replaces (the files of 0003a..0004 are still there)
    assert shown.split() == ["shop", "[X]", SQUASHED, "(4", "squashed", "migrations)"] + [
        "[X]",
        "0005_c",
    ]


def test_a_dependent_in_an_app_that_is_not_the_projects_is_refused(tmp_path):
    """An installed app outside the project (a package on the path, not under the
    project's folder) depends on a replaced migration: its file is not ours to repoint,
    and deleting the replaced one would leave it dangling for Django. Refused, named,
    with nothing written, even with --force."""
    site = tmp_path / "site"
    vendor = site / "vendor" / "migrations"
    vendor.mkdir(parents=True)
    (site / "vendor" / "__init__.py").write_text("")
    (vendor / "__init__.py").write_text("")
    (vendor / "0001_initial.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('shop', '0002_thing')]\n"
        "    operations = []\n"
    )
    project = DjangoProject(
        tmp_path / "proj",
        settings_extra=f"import sys\nsys.path.insert(0, {str(site)!r})\n"
        "INSTALLED_APPS = [*INSTALLED_APPS, 'vendor']\n",
    )
    squashed_shop(project)
    assert project.manage("migrate", "--noinput").code == 0  # Django loads it all
    files = project.snapshot()
    vendor_before = (vendor / "0001_initial.py").read_bytes()
    for force in ([], ["--force"]):
        result = project.migrator("squash", "--finish", *force)
        assert result.code == 1, result.out + result.err
        assert (
            "vendor.0001_initial depends on a replaced migration, and its app is not the "
            "project's" in result.out
        ), result.out
        assert project.snapshot() == files
        assert (vendor / "0001_initial.py").read_bytes() == vendor_before
