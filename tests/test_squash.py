"""``migrator squash`` on real Django projects, with Django as the oracle.

Every suggested command is run with Django's own ``squashmigrations`` on a copy of the
project, which must then load and ``migrate`` a fresh SQLite database; every range
reported blocked must make Django fail with ``CircularDependencyError``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shlex
import sys
import time
from pathlib import Path

import django
import pytest

from tests.djproject import DjangoProject, Result, clean_env
from tests.test_graph_output import django_counts, packaged_project

ID = "('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False))"


def create(model: str, fk: str | None = None) -> str:
    fields = [ID]
    if fk:
        fields.append(
            f"('{fk.split('.')[1]}', models.ForeignKey(on_delete=models.CASCADE, "
            f"related_name='+', to='{fk}'))"
        )
    return f"migrations.CreateModel(name='{model}', fields=[{', '.join(fields)}])"


def add_field(model: str, name: str) -> str:
    return (
        f"migrations.AddField(model_name='{model}', name='{name}', "
        "field=models.IntegerField(default=0))"
    )


def tangled(
    project: DjangoProject, seed: int, apps=("alpha", "beta", "gamma"), count: int = 14
) -> None:
    """Apps whose migrations create models with foreign keys into each other's models in
    both directions, each depending on the migration that created the target, like
    makemigrations writes them; some add a field to a model of their own app (the
    optimizer folds those into the CreateModel)."""
    rng = random.Random(seed)
    made: list[tuple[str, str, str]] = []  # (app, migration, model), creation order
    numbers = dict.fromkeys(apps, 0)
    for step in range(count * len(apps)):
        app = apps[step % len(apps)] if step < len(apps) else rng.choice(apps)
        numbers[app] += 1
        number = numbers[app]
        name = f"{number:04d}_step{step}"
        deps = [(app, _last(made, app))] if number > 1 else []
        own = [m for m in made if m[0] == app]
        model = f"{app[0].upper()}{number}"
        if own and rng.random() < 0.3:
            operations = [add_field(own[-1][2].lower(), f"extra{step}")]
            made.append((app, name, own[-1][2]))
        else:
            others = [m for m in made if m[0] != app]
            target = rng.choice(others) if others and rng.random() < 0.45 else None
            fk = f"{target[0]}.{target[2].lower()}" if target else None
            if target:
                deps.append((target[0], target[1]))
            operations = [create(model, fk)]
            made.append((app, name, model))
        project.add_migration(app, name, deps, operations=operations)


def _last(made, app):
    return [m for m in made if m[0] == app][-1][1]


def squash_json(project: DjangoProject, *args: str) -> dict:
    result = project.migrator("squash", "--format", "json", *args)
    assert result.code == 0, result.err
    assert result.err == ""
    return result.json()


def squash_with_django(project: DjangoProject, command: str) -> Result:
    args = shlex.split(command)
    assert args[:3] == ["python", "manage.py", "squashmigrations"]
    return project.manage(*args[2:], "--noinput")


def squashed_migration(project: DjangoProject, app: str, name: str) -> dict:
    """What Django wrote: the squashed migration's operation count and ``replaces``."""
    result = project.django(
        f"""
        from django.db.migrations.loader import MigrationLoader
        loader = MigrationLoader(None, ignore_no_migrations=True, load=False)
        loader.load_disk()
        migration = loader.disk_migrations[{app!r}, {name!r}]
        print(json.dumps({{"operations": len(migration.operations),
                          "replaces": [".".join(r) for r in migration.replaces]}}))
        """
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def squashed_name(window: dict) -> str:
    if window["command"].count(" ") == 4:  # squashmigrations APP END
        return f"0001_squashed_{window['end']}"
    return f"{window['start']}_squashed_{window['end']}"


# -- the proof --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [3, 11])
def test_suggested_windows_squash_load_and_migrate(project, tmp_path, seed):
    tangled(project, seed)
    report = squash_json(project, "--min-length", "3")
    assert report["windows"], "the scenario must offer windows"
    for index, window in enumerate(report["windows"]):
        twin = project.twin(tmp_path / f"window{index}")
        squashed = squash_with_django(twin, window["command"])
        assert squashed.code == 0, squashed.err
        assert "Manual porting required" not in squashed.out
        migrated = twin.manage("migrate", "--noinput")
        assert migrated.code == 0, (window, migrated.err)
        assert "CircularDependencyError" not in migrated.err
        name = squashed_name(window)
        written = squashed_migration(twin, window["app"], name)
        assert written == {"operations": window["operations_after"], "replaces": window["nodes"]}
        assert window["operations_before"] == window["length"]  # one operation each here
        # Later, the replaced files go (``replaces`` stays): still loads and migrates.
        for key in window["nodes"]:
            app, migration = key.split(".")
            (twin.root / app / "migrations" / f"{migration}.py").unlink()
        (twin.root / "db.sqlite3").unlink()
        migrated = twin.manage("migrate", "--noinput")
        assert migrated.code == 0, (window, migrated.err)


@pytest.mark.parametrize("seed", [3, 11])
def test_blocked_ranges_make_django_fail_with_the_cycle(project, tmp_path, seed):
    tangled(project, seed)
    report = squash_json(project, "--min-length", "3")
    assert report["blocked"], "the scenario must have blocked ranges"
    for index, blocked in enumerate(report["blocked"]):
        twin = project.twin(tmp_path / f"blocked{index}")
        app, start, end = blocked["app"], blocked["start"], blocked["end"]
        squashed = twin.manage("squashmigrations", app, start, end, "--noinput")
        assert squashed.code == 0, squashed.err  # Django writes it without a word
        # The replaced files are still there: the cycle appears on the next load.
        migrated = twin.manage("migrate", "--noinput")
        assert migrated.code != 0
        assert "CircularDependencyError" in migrated.err
        for other in blocked["cycle"][1:-1]:
            assert other in migrated.err, (blocked, migrated.err)
        assert blocked["cycle"][0] == f"{app}.{start}"
        assert blocked["cycle"][-1] == f"{app}.{end}"


def test_one_past_a_window_is_blocked_in_django(project, tmp_path):
    """Maximal: growing a window by the next migration makes Django fail."""
    tangled(project, 3)
    report = squash_json(project, "--min-length", "3")
    grown = 0
    for index, window in enumerate(report["windows"]):
        order = _app_order(project, window["app"])
        after = order.index(window["end"]) + 1
        if after == len(order):
            continue
        twin = project.twin(tmp_path / f"grown{index}")
        squashed = twin.manage(
            "squashmigrations", window["app"], window["start"], order[after], "--noinput"
        )
        assert squashed.code == 0, squashed.err
        migrated = twin.manage("migrate", "--noinput")
        assert "CircularDependencyError" in migrated.err
        grown += 1
    assert grown


def _app_order(project: DjangoProject, app: str) -> list[str]:
    # Linear apps: the order is the file order.
    return sorted(p.stem for p in (project.root / app / "migrations").glob("0*.py"))


def test_branched_app_order_and_commands_match_django(project, tmp_path):
    """shop branches and merges twice, and reaches back into itself through other:
    migrator's order is Django's forwards plan, and each suggested command squashes
    exactly its window."""
    project.add_migration("shop", "0001_initial", operations=[create("S1")])
    project.add_migration("shop", "0002_a", [("shop", "0001_initial")], operations=[create("S2")])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial")], operations=[create("S3")])
    project.add_migration(
        "other", "0001_initial", [("shop", "0002_b")], operations=[create("O1", "shop.s3")]
    )
    project.add_migration("shop", "0003_merge", [("shop", "0002_a"), ("shop", "0002_b")])
    project.add_migration(
        "shop", "0004_c", [("shop", "0003_merge")], operations=[add_field("s1", "c")]
    )
    project.add_migration("shop", "0005_d", [("shop", "0004_c")], operations=[create("S4")])
    project.add_migration(
        "shop",
        "0005_e",
        [("shop", "0004_c"), ("other", "0001_initial")],
        operations=[create("S5", "other.o1")],
    )
    project.add_migration("shop", "0006_merge", [("shop", "0005_d"), ("shop", "0005_e")])
    project.add_migration(
        "shop", "0007_f", [("shop", "0006_merge")], operations=[add_field("s2", "f")]
    )
    plan = project.django(
        """
        from django.db.migrations.loader import MigrationLoader
        graph = MigrationLoader(None).graph
        print(json.dumps([n for a, n in graph.forwards_plan(("shop", "0007_f")) if a == "shop"]))
        """
    )
    assert plan.code == 0, plan.err
    order = json.loads(plan.out)
    report = squash_json(project, "shop", "--min-length", "2")
    (blocked,) = report["blocked"]
    unblock = blocked.pop("unblock")
    assert blocked == {
        "app": "shop",
        "start": "0002_b",
        "end": "0005_e",
        "cycle": ["shop.0002_b", "other.0001_initial", "shop.0005_e"],
    }
    # the dependency moves to 0005_e's child, not to 0005_d on the other branch
    assert (unblock["dependent"], unblock["new_dependent"]) == ("shop.0005_e", "shop.0006_merge")
    windows = report["windows"]
    assert windows, "the scenario must offer windows"
    for window in windows:  # consecutive in Django's order
        first = order.index(window["start"])
        assert window["nodes"] == [f"shop.{n}" for n in order[first : first + window["length"]]]
    runnable = [w for w in windows if w["command"]]
    assert runnable
    for index, window in enumerate(runnable):
        twin = project.twin(tmp_path / f"branched{index}")
        squashed = squash_with_django(twin, window["command"])
        assert squashed.code == 0, squashed.err
        written = squashed_migration(twin, "shop", squashed_name(window))
        assert sorted(written["replaces"]) == sorted(window["nodes"])
        migrated = twin.manage("migrate", "--noinput")
        assert migrated.code == 0, (window, migrated.err)
    for window in windows:
        if not window["command"]:
            assert [f["kind"] for f in window["flags"]][-1:] == ["not-expressible"]


def test_not_expressible_window_is_what_django_would_get_wrong(project, tmp_path):
    """shop.0001 -> 0002_a -> zoo.0001 -> 0003_merge <- 0002_b <- 0001: Django's order
    is 0001, 0002_a, 0002_b, 0003_merge (it visits zoo first: sorted parents, last
    first). 0001..0002_b is safe, but no command squashes exactly it:
    `squashmigrations shop 0002_b` takes 0001 and 0002_b only."""
    project.add_migration("shop", "0001_initial", operations=[create("S1")])
    project.add_migration("shop", "0002_a", [("shop", "0001_initial")], operations=[create("S2")])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial")], operations=[create("S3")])
    project.add_migration(
        "zoo", "0001_initial", [("shop", "0002_a")], operations=[create("Z1", "shop.s2")]
    )
    project.add_migration(
        "shop", "0003_merge", [("shop", "0002_a"), ("shop", "0002_b"), ("zoo", "0001_initial")]
    )
    report = squash_json(project, "shop", "--min-length", "2")
    first = next(w for w in report["windows"] if w["start"] == "0001_initial")
    assert first["rank"] == len(report["windows"])  # no command: ranked last
    assert first["nodes"] == ["shop.0001_initial", "shop.0002_a", "shop.0002_b"]
    assert first["command"] is None
    assert [f["kind"] for f in first["flags"]] == ["not-expressible"]
    twin = project.twin(tmp_path / "attempt")
    attempt = twin.manage("squashmigrations", "shop", "0002_b", "--noinput")
    assert attempt.code == 0, attempt.err
    written = squashed_migration(twin, "shop", "0001_squashed_0002_b")
    assert written["replaces"] != first["nodes"]


# -- cost, flags, what Django would drop or refuse -----------------------------------


def test_cost_and_flags_match_what_django_writes(project, tmp_path):
    """run_before and atomic = False are dropped by Django, elidable RunPython is
    optimized away, a RunPython defined in the migration needs manual porting."""
    project.add_app("shop")
    project.add_app("audit")
    project.chain("audit", ["0001_initial"])
    project.add_migration("shop", "0001_initial", operations=[create("Item")])
    project.add_migration(
        "shop",
        "0002_a",
        [("shop", "0001_initial")],
        operations=[add_field("item", "a")],
        run_before=[("audit", "0001_initial")],
    )
    project.add_migration(
        "shop", "0003_b", [("shop", "0002_a")], operations=[add_field("item", "b")], atomic=False
    )
    project.add_migration(
        "shop",
        "0004_data",
        [("shop", "0003_b")],
        source=(
            "from django.db import migrations\n\n\n"
            "def forwards(apps, schema_editor):\n    pass\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0003_b')]\n"
            "    operations = [\n"
            "        migrations.RunPython(forwards, migrations.RunPython.noop),\n"
            "        migrations.RunPython(migrations.RunPython.noop, elidable=True),\n"
            "        migrations.RunSQL('SELECT 1', elidable=True),\n"
            "        migrations.RunSQL('SELECT 2'),\n"
            "    ]\n"
        ),
    )
    project.add_migration(
        "shop", "0005_c", [("shop", "0004_data")], operations=[add_field("item", "c")]
    )
    report = squash_json(project, "shop", "--min-length", "2")
    (window,) = report["windows"]
    assert (window["start"], window["end"], window["length"]) == ("0001_initial", "0005_c", 5)
    assert window["command"] == "python manage.py squashmigrations shop 0005_c"
    assert [(f["kind"], f["migration"]) for f in window["flags"]] == [
        ("run-before", "shop.0002_a"),
        ("non-atomic", "shop.0003_b"),
    ]
    assert window["dependents"] == []  # audit is named by shop's run_before, not naming
    assert window["operations_before"] == 8
    assert (window["manual_porting"], window["kept_code"], window["elidable_dropped"]) == (1, 1, 2)

    twin = project.twin(tmp_path / "squashed")
    squashed = squash_with_django(twin, window["command"])
    assert squashed.code == 0, squashed.err
    assert "Manual porting required" in squashed.out
    text = (twin.root / "shop" / "migrations" / "0001_squashed_0005_c.py").read_text()
    assert "run_before" not in text and "atomic" not in text
    assert "elidable=True" not in text
    assert text.count("migrations.RunPython(") == 1 and text.count("migrations.RunSQL(") == 1
    # The function lives in the old file: the squashed one does not import until ported.
    assert "shop.migrations.0004_data.forwards" in text


@pytest.mark.skipif(django.VERSION >= (6, 0), reason="Django 6.0 squashes squashed ones")
def test_already_squashed_splits_windows_before_django_6(project, tmp_path):
    _with_squash(project)
    report = squash_json(project, "shop", "--min-length", "2")
    assert [(w["start"], w["end"]) for w in report["windows"]] == [("0004_d", "0006_f")]
    twin = project.twin(tmp_path / "refused")
    refused = twin.manage("squashmigrations", "shop", "0006_f", "--noinput")
    assert refused.code != 0 and "cannot squash squashed migrations" in refused.err


@pytest.mark.skipif(django.VERSION < (6, 0), reason="refused before Django 6.0")
def test_already_squashed_is_flagged_from_django_6(project, tmp_path):
    _with_squash(project)
    report = squash_json(project, "shop", "--min-length", "2")
    (window,) = report["windows"]
    assert (window["start"], window["end"]) == ("0001_squashed_0003_c", "0006_f")
    assert [f["kind"] for f in window["flags"]] == ["squashed"]
    twin = project.twin(tmp_path / "again")
    squashed = squash_with_django(twin, window["command"])
    assert squashed.code == 0, squashed.err
    assert twin.manage("migrate", "--noinput").code == 0


def _with_squash(project: DjangoProject) -> None:
    """shop: 0001_squashed_0003_c replaces 0001..0003 (files still there), then 0004..0006;
    other: depends on shop.0002_b."""
    project.add_migration("shop", "0001_initial", operations=[create("Item")])
    project.add_migration(
        "shop", "0002_b", [("shop", "0001_initial")], operations=[add_field("item", "b")]
    )
    project.add_migration(
        "shop", "0003_c", [("shop", "0002_b")], operations=[add_field("item", "c")]
    )
    project.add_migration(
        "shop",
        "0001_squashed_0003_c",
        operations=[create("Item"), add_field("item", "b"), add_field("item", "c")],
        replaces=[("shop", "0001_initial"), ("shop", "0002_b"), ("shop", "0003_c")],
        initial=True,
    )
    project.add_migration(
        "shop", "0004_d", [("shop", "0003_c")], operations=[add_field("item", "d")]
    )
    project.add_migration(
        "shop", "0005_e", [("shop", "0004_d")], operations=[add_field("item", "e")]
    )
    project.add_migration(
        "shop", "0006_f", [("shop", "0005_e")], operations=[add_field("item", "f")]
    )
    project.add_migration(
        "other", "0001_initial", [("shop", "0002_b")], operations=[create("Thing", "shop.item")]
    )


def test_cleanup_of_replaced_files(project):
    _with_squash(project)
    report = squash_json(project)
    (item,) = report["cleanup"]
    assert item["squashed"] == "shop.0001_squashed_0003_c"
    assert item["replaced"] == ["shop.0001_initial", "shop.0002_b", "shop.0003_c"]
    assert item["dependents"] == [
        {"migration": "other.0001_initial", "depends_on": "shop.0002_b"},
        {"migration": "shop.0004_d", "depends_on": "shop.0003_c"},
    ]
    assert item["applied"] is None and item["ready"] is None


def test_third_party_apps_stay_out_of_the_report_cleanup_included(project, tmp_path):
    """The squashed app installed from elsewhere (a site-packages folder) is not the
    project's: neither its windows nor its cleanup are listed, until
    ``[tool.migrator] project-apps`` names it."""
    _with_squash(project)
    vendor = tmp_path / "vendor" / "site-packages"
    vendor.mkdir(parents=True)
    (project.root / "shop").rename(vendor / "shop")
    report = squash_json(project, "--min-length", "2", "--pythonpath", str(vendor))
    assert report["apps"] == ["other"]
    assert report["cleanup"] == [] and report["windows"] == []
    (project.root / "pyproject.toml").write_text('[tool.migrator]\nproject-apps = ["shop"]\n')
    named = squash_json(project, "--min-length", "2", "--pythonpath", str(vendor))
    assert named["apps"] == ["other", "shop"]
    assert [c["squashed"] for c in named["cleanup"]] == ["shop.0001_squashed_0003_c"]


def test_cleanup_with_database(project):
    """Whether the database has applied all, none or part of what the squash replaces,
    read by Django's recorder on a real SQLite database."""
    _with_squash(project)
    unreadable = squash_json(project, "--database", "default")["cleanup"][0]
    assert unreadable["applied"] is None and unreadable["ready"] is None
    assert "could not be read: no SQLite file" in unreadable["conditions"][0]

    migrated = project.manage("migrate", "--noinput")
    assert migrated.code == 0, migrated.err
    (done,) = squash_json(project, "--database", "default")["cleanup"]
    assert done["applied"] == done["replaced"] and done["ready"] is True
    assert done["conditions"][0] == "database 'default' has applied all of the 3: ready"

    # A database that stopped after 0002_b, before the squash existed.
    record = project.django(
        """
        from django.db import connection
        from django.db.migrations.recorder import MigrationRecorder
        recorder = MigrationRecorder(connection)
        for name in ("0001_squashed_0003_c", "0003_c", "0004_d", "0005_e", "0006_f"):
            recorder.record_unapplied("shop", name)
        """
    )
    assert record.code == 0, record.err
    (partial,) = squash_json(project, "--database", "default")["cleanup"]
    assert partial["applied"] == ["shop.0001_initial", "shop.0002_b"]
    assert partial["ready"] is False
    assert partial["conditions"][0] == (
        "database 'default' has applied 2 of the 3: run "
        "`python manage.py migrate shop --database default` first"
    )
    result = project.migrator("squash", "--database", "nope")
    assert result.code == 2 and "unknown database alias 'nope'" in result.err


def test_cleanup_finds_functions_still_imported_from_replaced_files(project):
    """A squashed migration ported by importing the function from the old file breaks
    when that file is deleted."""
    project.add_migration(
        "shop",
        "0001_initial",
        source=(
            "from django.db import migrations\n\n\n"
            "def forwards(apps, schema_editor):\n    pass\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    initial = True\n"
            "    operations = [migrations.RunPython(forwards)]\n"
        ),
    )
    project.chain("shop", ["0002_b"], start=("shop", "0001_initial"))
    project.add_migration(
        "shop",
        "0001_squashed_0002_b",
        source=(
            "from importlib import import_module\n\n"
            "from django.db import migrations\n\n"
            "forwards = import_module('shop.migrations.0001_initial').forwards\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    initial = True\n"
            "    replaces = [('shop', '0001_initial'), ('shop', '0002_b')]\n"
            "    operations = [migrations.RunPython(forwards)]\n"
        ),
    )
    (item,) = squash_json(project)["cleanup"]
    assert item["functions"] == [{"function": "forwards", "module": "shop.0001_initial"}]
    assert (
        "copy forwards() from shop.0001_initial into the squashed migration" in (item["conditions"])
    )
    assert item["dependents"] == []


# -- conflicts, output, exit codes -------------------------------------------------------


def test_conflict_is_resolve_first(project):
    project.chain("shop", ["0001_initial", "0002_a"])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    result = project.migrator("squash", "--min-length", "2")
    assert result.code == 0, result.err
    assert result.out == (
        "shop: resolve first: conflict, 2 leaf migrations: 0002_a, 0002_b\n"
        "  hint: run `migrator merge shop`, then `migrator squash` again\n"
        "0 windows of 2+ migrations, 0 blocked ranges, 0 squashed migrations to clean up "
        "in 1 app.\n"
    )
    assert project.django_conflicts() == {"shop": ["0002_a", "0002_b"]}


def _round_trip(project: DjangoProject) -> None:
    """a: 0001 -> 0002 -> 0003 -> 0004, with a.0002 -> b.0001 -> a.0004."""
    project.add_migration("a", "0001_initial", operations=[create("A1")])
    project.add_migration("a", "0002_x", [("a", "0001_initial")], operations=[add_field("a1", "x")])
    project.add_migration("b", "0001_initial", [("a", "0002_x")], operations=[create("B1", "a.a1")])
    project.add_migration("a", "0003_y", [("a", "0002_x")], operations=[add_field("a1", "y")])
    project.add_migration(
        "a", "0004_z", [("a", "0003_y"), ("b", "0001_initial")], operations=[create("A2", "b.b1")]
    )


def test_text_output(project):
    """a: 0001 -> 0002 -> 0003 -> 0004, with a.0002 -> b.0001 -> a.0004."""
    _round_trip(project)
    result = project.migrator("squash", "a", "--min-length", "2")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "#1 a: 0001_initial .. 0003_y (3 migrations)\n"
        "  saves 2 operations and 2 files: ~8.4 ms per load (estimated); hand work 1; "
        "score 8.4\n"
        "  operations: 3 -> 1 after optimizing\n"
        "  repoint before removing `replaces`: a.0004_z depends on a.0003_y\n"
        "  repoint before removing `replaces`: b.0001_initial depends on a.0002_x\n"
        "  python manage.py squashmigrations a 0003_y\n"
        "#2 a: 0003_y .. 0004_z (2 migrations), alternative to #1 (they overlap)\n"
        "  saves 0 operations and 1 file: ~0.3 ms per load (estimated); hand work 1; "
        "score 0.3\n"
        "  operations: 2 -> 2 after optimizing\n"
        "  python manage.py squashmigrations a 0003_y 0004_z\n"
        "a: blocked 0002_x .. 0004_z: a.0002_x -> b.0001_initial -> a.0004_z\n"
        "  to unblock: make b.0001_initial depend on a.0001_initial instead of a.0002_x "
        "(if it needs nothing a.0002_x does)\n"
        "Windows best first: estimated load time saved per unit of hand work. Each is safe "
        "on its own; an alternative overlaps the one it names: squash one, then run "
        "`migrator squash` again.\n"
        "2 windows of 2+ migrations, 1 blocked range, 0 squashed migrations to clean up "
        "in 1 app.\n"
    )


def test_the_dependency_to_move_unblocks_the_range_in_django(project, tmp_path):
    """The blocked range of test_text_output, once b.0001_initial depends on
    a.0001_initial as the report says: Django squashes a.0002_x .. a.0004_z together,
    and migrates."""
    _round_trip(project)
    report = squash_json(project, "a", "--min-length", "2")
    (blocked,) = report["blocked"]
    move = blocked["unblock"]
    assert (move["dependent"], move["dependency"], move["new_dependency"]) == (
        "b.0001_initial",
        "a.0002_x",
        "a.0001_initial",
    )
    twin = project.twin(tmp_path / "moved")
    twin.add_migration(
        "b", "0001_initial", [("a", "0001_initial")], operations=[create("B1", "a.a1")]
    )
    after = squash_json(twin, "a", "--min-length", "2")
    # the block moved one migration earlier: what was blocked is one window now
    assert [(b["start"], b["end"]) for b in after["blocked"]] == [("0001_initial", "0004_z")]
    unblocked = next(w for w in after["windows"] if w["start"] == "0002_x")
    assert unblocked["end"] == "0004_z"
    squashed = squash_with_django(twin, unblocked["command"])
    assert squashed.code == 0, squashed.err
    migrated = twin.manage("migrate", "--noinput")
    assert migrated.code == 0, migrated.err


def test_json_is_sorted_and_stable(project):
    tangled(project, 3)
    first = project.migrator("squash", "--format", "json", "--min-length", "3")
    second = project.migrator("squash", "--format", "json", "--min-length", "3")
    assert first.out == second.out
    data = first.json()
    assert set(data) >= {"windows", "blocked", "cleanup", "resolve_first"}
    windows = data["windows"]
    assert [w["rank"] for w in windows] == list(range(1, len(windows) + 1))
    # best first: each choice scores at least the next one; its alternatives follow it
    primaries = [w for w in windows if w["alternative_to"] is None]
    assert [w["score"] for w in primaries] == sorted((w["score"] for w in primaries), reverse=True)
    for window in windows:
        if window["alternative_to"] is not None:
            better = windows[window["alternative_to"] - 1]
            assert better["app"] == window["app"] and better["score"] >= window["score"]
            assert set(better["nodes"]) & set(window["nodes"])
            assert window["load_ms_saved"] > 0
    assert [(b["app"], b["start"], b["end"]) for b in data["blocked"]] == sorted(
        (b["app"], b["start"], b["end"]) for b in data["blocked"]
    )
    assert json.dumps(data, indent=2, sort_keys=True) + "\n" == first.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "'xml' is not one of 'text', 'json'."),
        (["nope"], "unknown app label 'nope'"),
        (["--min-length", "1"], "--min-length"),
    ],
)
def test_usage_errors(project, args, message):
    project.chain("shop", ["0001_initial"])
    before = project.snapshot()
    result = project.migrator("squash", *args)
    assert result.code == 2
    assert result.out == ""
    assert message in result.err
    assert "Traceback" not in result.err
    assert project.snapshot() == before


def test_existing_cycle_is_refused(project):
    project.add_migration("a", "0001_initial", [("b", "0001_initial")])
    project.add_migration("b", "0001_initial", [("a", "0001_initial")])
    result = project.migrator("squash")
    assert result.code == 1
    assert "already has a cycle" in result.err and "Traceback" not in result.err


# -- a generated project (benchmarks/generate.py) ---------------------------------------


def _generator():
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "generate.py"
    spec = importlib.util.spec_from_file_location("_squash_generate", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_generated_project_windows_squash_and_migrate(tmp_path):
    _generator().generate_project(tmp_path / "gen", 3, 24, seed=5)
    project = DjangoProject.open(tmp_path / "gen")
    env = clean_env(DJANGO_SETTINGS_MODULE=project.settings_module)
    result = project.migrator("squash", "--format", "json", env=env)
    assert result.code == 0, result.err
    windows = result.json()["windows"]
    assert len(windows) == 3 and all(w["length"] == 24 for w in windows)
    for index, window in enumerate(windows):
        twin = project.twin(tmp_path / f"copy{index}")
        squashed = squash_with_django(twin, window["command"])
        assert squashed.code == 0, squashed.err
        migrated = twin.manage("migrate", "--noinput")
        assert migrated.code == 0, migrated.err


def test_static_reads_the_same_report(project):
    """--static (no project code runs) finds the same windows, blocked ranges, costs."""
    tangled(project, 11)
    project.add_migration(
        "delta",
        "0001_initial",
        source=(
            "from django.db import migrations\n\n\n"
            "def forwards(apps, schema_editor):\n    pass\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]\n"
        ),
    )
    project.chain("delta", ["0002_a", "0003_b"], start=("delta", "0001_initial"))
    loaded = squash_json(project, "--min-length", "3")
    static = squash_json(project, "--min-length", "3", "--static")
    assert static == loaded
    assert [w["manual_porting"] for w in loaded["windows"] if w["app"] == "delta"] == [1]


def test_window_costs_are_cached_until_a_file_changes(project, tmp_path):
    """A second run reads the costs from the cache; an edited file (its mtime set back
    to the old one) is judged again."""

    project.chain("shop", ["0001_initial", "0002_a", "0003_b"])
    old = 1_600_000_000
    for path in (project.root / "shop" / "migrations").glob("0*.py"):
        os.utime(path, (old, old))
    time.sleep(2.1)  # utime set the ctime to now: racy files are never kept
    env = clean_env(MIGRATOR_CACHE_DIR=str(tmp_path / "cache"))
    first = project.migrator("squash", "--format", "json", "--min-length", "2", env=env)
    assert first.code == 0, first.err
    (stored,) = (tmp_path / "cache").glob("*.squash-costs.marshal")
    again = project.migrator("squash", "--format", "json", "--min-length", "2", env=env)
    assert again.out == first.out
    edited = project.add_migration(
        "shop", "0003_b", [("shop", "0002_a")], operations=[create("Extra")]
    )
    os.utime(edited, (old, old))
    time.sleep(2.1)  # judged on its stamp, not skipped as racy
    changed = project.migrator("squash", "--format", "json", "--min-length", "2", env=env)
    (window,) = changed.json()["windows"]
    assert window["operations_before"] == first.json()["windows"][0]["operations_before"] + 1
    assert stored.stat().st_size > 0


# -- a product used from its installed copy: no app of its own ----------------------------


@pytest.mark.parametrize("static", [False, True], ids=["django", "static"])
def test_a_project_of_installed_apps_only_is_refused_naming_them(tmp_path, static):
    """Every app with migrations is an installed package's or Django's: rather than an
    empty report, `squash` (and `squash --finish`) say which apps were left out and
    how to include them, as `graph` does; named, or listed in project-apps, they are
    reported."""
    project = packaged_project(tmp_path / "product")
    counts = django_counts(project)
    listed = ", ".join(f"{app} ({count})" for app, count in sorted(counts.items()))
    belong = (
        f"all {sum(counts.values())} migrations belong to Django's or installed third-party apps"
    )
    project_apps = (
        "if these apps are your project's, list them in [tool.migrator] project-apps in "
        "pyproject.toml"
    )
    before = project.snapshot()
    flags = ["--static"] if static else []
    for args in ([], ["-f", "json"], [] if static else ["--database", "default"]):
        result = project.migrator("squash", *flags, *args)
        assert result.code == 1, result.err
        assert result.out == ""
        assert result.err.splitlines() == [
            f"migrator: error: nothing to squash: {belong}, left out unless named: {listed}",
            f"  hint: name them (e.g. `migrator squash acme_billing`); {project_apps}",
        ]
    finish = project.migrator("squash", *flags, "--finish", *(["--dry-run"] if static else []))
    assert finish.code == 1, finish.err
    assert finish.out == ""
    assert finish.err.splitlines() == [
        f"migrator: error: nothing to finish: {belong}, whose squashes --finish leaves to "
        f"their maintainers: {listed}",
        f"  hint: {project_apps}",
    ]
    assert project.snapshot() == before
    named = project.migrator("squash", *flags, "acme_shop", "--min-length", "2", "-f", "json")
    assert named.code == 0, named.err
    assert [(w["app"], w["start"], w["end"]) for w in named.json()["windows"]] == [
        ("acme_shop", "0001_initial", "0002_more")
    ]
    pyproject = project.root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'project-apps = ["acme_shop", "acme_billing"]\n')
    listed_apps = project.migrator("squash", *flags, "-f", "json")
    assert listed_apps.code == 0, listed_apps.err
    assert listed_apps.json()["apps"] == ["acme_billing", "acme_shop"]
