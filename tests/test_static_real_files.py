"""Static mode on migration files as real projects write them, with Django as the oracle.

Each test builds a throwaway project whose files compute their values (functions,
module-level lists, settings conditions, sibling modules) or are hostile (a BOM, a
``type()``-built class, a broken symlink...), and compares ``--static`` with Django mode
on the same files: the same graph where static mode can read everything; the same
conflicts and problems (kind, file, line) otherwise, plus an ``unreadable`` problem for
what it could not read, and never a conflict that an unreadable value could undo.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.djproject import DjangoProject, clean_env
from tests.test_static import assert_same_graph, graph_dump

HEAD = "from django.conf import settings\nfrom django.db import migrations, models\n\n"


def migration(body: str) -> str:
    return HEAD + body


def located(problems: list) -> list:
    """Problems as (kind, app, migration, path, line), without static's unreadable ones."""
    return sorted(tuple(p) for p in problems if p[0] != "unreadable")


def assert_same_verdict(root) -> tuple[dict, dict]:
    by_django = graph_dump(root, static=False)
    statically = graph_dump(root, static=True)
    assert located(statically["problems"]) == located(by_django["problems"])
    return by_django, statically


# -- values static mode now reads: the very graph Django builds ---------------------------


def test_dependencies_computed_by_a_function_with_settings_conditions(tmp_path):
    """The shape of the issue's false conflict: a function starts from a literal list and
    appends a dependency ``if "other" in settings.INSTALLED_APPS``.

    shop.0001 - shop.0002_computed - shop.0003_c      (0002 also after other.0001)
    """
    project = DjangoProject(tmp_path / "proj", settings_extra="FEATURE = True\n")
    project.chain("other", ["0001_initial"])
    project.chain("shop", ["0001_initial"])
    project.add_migration(
        "shop",
        "0002_computed",
        source=migration(
            "def dependencies():\n"
            "    found = [('shop', '0001_initial')]\n"
            "    if 'other' in settings.INSTALLED_APPS:\n"
            "        found.append(('other', '0001_initial'))\n"
            "    if 'missing' in settings.INSTALLED_APPS or not settings.FEATURE:\n"
            "        found.append(('missing', '0001_initial'))\n"
            "    return found\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = dependencies()\n"
            "    operations = []\n"
        ),
    )
    project.chain("shop", ["0003_c"], start=("shop", "0002_computed"))
    found = assert_same_graph(project.root)
    assert found["conflicts"] == {}
    assert found["nodes"]["shop.0002_computed"]["dependencies"] == [
        ["shop", "0001_initial"],
        ["other", "0001_initial"],
    ]
    assert project.migrator("check", "--static").code == 0


def test_operations_from_module_level_lists_and_sets(project):
    """``operations = A + B + C``, ``set([...])`` in ``unique_together``, lists handed to
    ``SeparateDatabaseAndState``: rebuilt as Django builds them."""
    project.add_migration(
        "shop",
        "0001_initial",
        operations=[
            "migrations.CreateModel(name='Box', fields=[('id', models.AutoField("
            "primary_key=True)), ('a', models.IntegerField()), ('b', models.IntegerField())])"
        ],
    )
    project.add_migration(
        "shop",
        "0002_lists",
        source=migration(
            "A = [migrations.AddField('box', 'c', models.IntegerField(default=0))]\n"
            "B = [migrations.AlterUniqueTogether('box', unique_together=set([('a', 'b')]))]\n"
            "STATE = [migrations.AddField('box', 'd', models.IntegerField(default=0))]\n"
            "C = [migrations.SeparateDatabaseAndState(state_operations=STATE)]\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n"
            "    operations = A + B + C\n"
        ),
    )
    found = assert_same_graph(project.root)
    assert [op[0] for op in found["nodes"]["shop.0002_lists"]["operations"]] == [
        "AddField",
        "AlterUniqueTogether",
        "SeparateDatabaseAndState",
    ]


def test_sibling_modules_of_the_migrations_package(project):
    """``from ._deps import BASE`` and ``from shop.migrations._deps import more``: Django
    imports them, static mode reads them (``_deps`` is not a migration: it starts with
    ``_``)."""
    project.chain("shop", ["0001_initial"])
    project.chain("other", ["0001_initial"])
    (project.root / "shop" / "migrations" / "_deps.py").write_text(
        "BASE = [('shop', '0001_initial')]\n\n\n"
        "def more(app):\n    found = list(BASE)\n    found.append((app, '0001_initial'))\n"
        "    return found\n"
    )
    project.add_migration(
        "shop",
        "0002_siblings",
        source=migration(
            "from shop.migrations._deps import more\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = more('other')\n"
            "    operations = []\n"
        ),
    )
    project.add_migration(
        "shop",
        "0003_relative",
        source=migration(
            "from ._deps import BASE\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = BASE + [('shop', '0002_siblings')]\n"
            "    operations = []\n"
        ),
    )
    found = assert_same_graph(project.root)
    assert found["conflicts"] == {}


def test_migration_class_built_with_type(project):
    project.chain("shop", ["0001_initial"])
    project.add_migration(
        "shop",
        "0002_typed",
        source=migration(
            "Migration = type('Migration', (migrations.Migration,), "
            "{'dependencies': [('shop', '0001_initial')], 'operations': []})\n"
        ),
    )
    found = assert_same_graph(project.root)
    assert found["conflicts"] == {}


def test_a_utf8_bom_hides_no_conflict(project):
    project.chain("shop", ["0001_initial", "0002_a"])
    path = project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    found = assert_same_graph(project.root)
    assert found["conflicts"] == {"shop": ["0002_a", "0002_b"]}


# -- values static mode cannot read: no false conflict, no hidden one ---------------------

LOOP_DEPENDENCIES = """\
DEPENDENCIES = []
for name in ["0002_a"]:
    DEPENDENCIES.append(("shop", name))


class Migration(migrations.Migration):
    dependencies = DEPENDENCIES
    operations = []
"""


def test_unreadable_dependencies_are_no_false_conflict(project):
    """0003_b depends on 0002_a through a loop static mode does not follow: without its
    edge 0002_a would look like a second leaf. No conflict is claimed; a problem says
    which value could not be read, where.

    0001 - 0002_a - 0003_b
    """
    project.chain("shop", ["0001_initial", "0002_a"])
    path = project.add_migration("shop", "0003_b", source=migration(LOOP_DEPENDENCIES))
    by_django, statically = assert_same_verdict(project.root)
    assert by_django["conflicts"] == {}
    assert [p for p in statically["problems"] if p[0] == "unreadable"] == [
        ["unreadable", "shop", "0003_b", str(path), 10]
    ]
    result = project.migrator("check", "--static")
    assert result.code == 1
    assert "conflict" not in result.out.replace("0 conflicts", "")
    assert (
        "shop/migrations/0003_b.py:10: unreadable: dependencies of 'shop.0003_b' cannot be "
        "read statically: a for loop at line 5 may change it\n"
    ) in result.out
    for args in (["explain"], ["merge", "--dry-run"]):  # no command claims the conflict
        assert "No conflicts to" in project.migrator(*args, "--static").out
    assert "conflict" not in project.migrator("show", "--static").out.replace("0 conflicts", "")
    assert project.migrator("check").code == 0


def test_a_conflict_that_holds_whatever_the_value_is_stays_reported(project):
    """Whatever 0002_m depends on, 0003_a and 0003_b both run after it: two leaves.

    0001 - 0002_m (unreadable dependencies) - 0003_a
                                            \\ 0003_b
    """
    project.chain("shop", ["0001_initial"])
    project.add_migration(
        "shop", "0002_m", source=migration(LOOP_DEPENDENCIES.replace("0002_a", "0001_initial"))
    )
    project.add_migration("shop", "0003_a", [("shop", "0002_m")])
    project.add_migration("shop", "0003_b", [("shop", "0002_m")])
    by_django, _ = assert_same_verdict(project.root)
    assert by_django["conflicts"] == {"shop": ["0003_a", "0003_b"]}
    result = project.migrator("check", "--static")
    assert result.code == 1
    assert "shop: conflict: 2 leaf migrations: 0003_a, 0003_b\n" in result.out


def test_unreadable_operations_never_crash_nor_fail_check(project):
    """Operations static mode cannot read (a list from a project function, a variable
    handed to ``SeparateDatabaseAndState``) never change the graph: check passes as in
    Django mode, and graph, explain, show and squash run."""
    project.add_app("shop")
    (project.root / "shop" / "ops.py").write_text("def build():\n    return []\n")
    project.chain("shop", ["0001_initial"])
    project.add_migration(
        "shop",
        "0002_a",
        source=migration(
            "from shop.ops import build\n\n"
            "SOME_VARIABLE = build()\n"
            "A = [migrations.RunSQL('SELECT 1')]\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n"
            "    operations = A + build() + [\n"
            "        migrations.SeparateDatabaseAndState(database_operations=SOME_VARIABLE),\n"
            "    ]\n"
        ),
    )
    project.add_migration(
        "shop",
        "0003_b",
        source=migration(
            "from shop.ops import build\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0002_a')]\n"
            "    operations = [migrations.SeparateDatabaseAndState(\n"
            "        state_operations=build(), database_operations=build())]\n"
        ),
    )
    by_django, statically = assert_same_verdict(project.root)
    assert statically["problems"] == by_django["problems"] == []
    assert statically["conflicts"] == by_django["conflicts"] == {}
    for args in (
        ["check"],
        ["graph"],
        ["graph", "--no-explain"],
        ["explain", "shop"],
        ["show"],
        ["squash", "shop", "--min-length", "2"],
    ):
        result = project.migrator(*args, "--static")
        assert "Traceback" not in result.err, (args, result.err)
        assert result.code == 0, (args, result.out, result.err)


def test_explain_says_unknown_for_unreadable_operations(project):
    project.add_app("shop")
    (project.root / "shop" / "ops.py").write_text("def build():\n    return []\n")
    project.add_migration(
        "shop",
        "0001_initial",
        operations=[
            "migrations.CreateModel(name='Box', fields=[('id', models.AutoField("
            "primary_key=True))])"
        ],
    )
    project.add_migration(
        "shop",
        "0002_a",
        source=migration(
            "from shop.ops import build\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = [('shop', '0001_initial')]\n"
            "    operations = build()\n"
        ),
    )
    project.add_migration(
        "shop",
        "0002_b",
        [("shop", "0001_initial")],
        operations=["migrations.AddField('box', 'size', models.IntegerField(default=0))"],
    )
    result = project.migrator("explain", "shop", "--static")
    assert "Traceback" not in result.err, result.err
    assert "      - operations --static cannot read: shop.ops.build(...)\n" in result.out
    assert "    shop: unknown-effect: " in result.out


# -- hostile inputs -----------------------------------------------------------------------


def test_duplicate_app_labels_are_refused_as_django_does(project):
    project.chain("shop", ["0001_initial"])
    project.chain("store", ["0001_initial", "0002_a"])
    project.add_migration("store", "0002_b", [("store", "0001_initial")])
    (project.root / "store" / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\n"
        "class StoreConfig(AppConfig):\n    name = 'store'\n    label = 'shop'\n"
    )
    by_django = project.migrator("check")
    statically = project.migrator("check", "--static")
    assert by_django.code == statically.code == 2
    words = "ImproperlyConfigured: Application labels aren't unique, duplicates: shop"
    assert words in by_django.err
    assert words in statically.err


@pytest.mark.parametrize("entry", ["broken symlink", "folder"])
def test_a_py_entry_that_is_not_a_file_is_refused_as_django_mode_does(project, entry):
    project.chain("shop", ["0001_initial", "0002_a"])
    target = project.root / "shop" / "migrations" / "0002_b.py"
    if entry == "folder":
        target.mkdir()
    else:
        target.symlink_to(project.root / "nowhere.py")
    by_django, statically = assert_same_verdict(project.root)
    assert [p[:3] for p in statically["problems"]] == [["import-error", "shop", "0002_b"]]
    assert project.migrator("check", "--static").out == project.migrator("check").out


# -- the parse cache ----------------------------------------------------------------------


@pytest.mark.parametrize("edit", ["cp -p", "touch -r"])
def test_cache_sees_an_edit_that_keeps_size_and_mtime(project, tmp_path, edit):
    """Replace 0002_b by a same-size file whose dependency is 0002_a (the conflict goes
    away), keeping the size and the modification time; the cache must not answer with
    the old parse."""
    project.chain("shop", ["0001_initial", "0002_a"])
    second = project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    old = 1_600_000_000
    for path in project.root.rglob("*.py"):
        os.utime(path, (old, old))
    env = clean_env(MIGRATOR_CACHE_DIR=str(tmp_path / "cache"))
    assert project.migrator("check", "--static", env=env).code == 1
    assert project.migrator("check", "--static", env=env).code == 1  # from the cache
    text = second.read_text().replace("'0001_initial'", "'0002_a'      ")
    assert len(text) == len(second.read_text())
    if edit == "cp -p":
        fixed = tmp_path / "0002_b.py"
        fixed.write_text(text)
        os.utime(fixed, (old, old))
        subprocess.run(["cp", "-p", str(fixed), str(second)], check=True)
    else:
        second.write_text(text)
        subprocess.run(
            ["touch", "-r", str(project.migration_path("shop", "0002_a")), str(second)], check=True
        )
    assert second.stat().st_mtime_ns == old * 10**9 and second.stat().st_size == len(text)
    assert project.migrator("check", "--static", env=env).code == 0


def test_a_settings_module_that_does_not_exist_is_refused_in_both_modes(project):
    project.chain("shop", ["0001_initial"])
    by_django = project.migrator("check", "--settings", "project.nope")
    statically = project.migrator("check", "--static", "--settings", "project.nope")
    assert by_django.code == statically.code == 2
    assert "cannot import settings module 'project.nope' (from --settings)" in by_django.err
    assert "cannot import settings module 'project.nope' (from --settings)" in statically.err


def test_a_setting_static_mode_cannot_read_leaves_the_value_unknown(tmp_path):
    """The settings may import more settings that static mode cannot follow (a ``try``
    around ``from .local import *``): a condition on a setting is then unknown, the
    computed dependencies unreadable, and no conflict is claimed on the edge they hide.

    shop.0001 - shop.0002_computed (really after 0001; unknown statically)
    """
    extra = "try:\n    from .local import *\nexcept ImportError:\n    pass\n"
    project = DjangoProject(tmp_path / "proj", settings_extra=extra)
    project.chain("shop", ["0001_initial"])
    path = project.add_migration(
        "shop",
        "0002_computed",
        source=migration(
            "def dependencies():\n"
            "    found = [('shop', '0001_initial')]\n"
            "    if settings.DEBUG:\n"
            "        found.append(('shop', '0001_initial'))\n"
            "    return found\n\n\n"
            "class Migration(migrations.Migration):\n"
            "    dependencies = dependencies()\n"
            "    operations = []\n"
        ),
    )
    by_django, statically = assert_same_verdict(project.root)
    assert by_django["conflicts"] == {}
    assert [p for p in statically["problems"] if p[0] == "unreadable"] == [
        ["unreadable", "shop", "0002_computed", str(path), 12]
    ]
    result = project.migrator("check", "--static")
    assert result.code == 1
    assert "Found 0 conflicts and 1 problem" in result.out
    assert "settings.DEBUG (not a literal in the settings static mode reads)" in result.out
