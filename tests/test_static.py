"""Static mode: the graph read with ``ast`` is the graph Django loads, and no project code
runs.

The same-graph tests dump both graphs (``tests/graphdump.py``, each in a fresh process)
and compare everything: apps, nodes with every attribute (operations by class name and
``describe()``), edges with their attributes, replaced migrations, conflicts and
problems with file and line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import django
import pytest

from tests.djproject import MIGRATOR_PYTHONPATH, DjangoProject, clean_env, run, sample_project
from tests.test_check_oracle import SCENARIOS, generate

REPO = Path(__file__).resolve().parent.parent


def graph_dump(root: Path, *, static: bool, env: dict[str, str] | None = None) -> dict:
    args = [sys.executable, "-m", "tests.graphdump", *(["--static"] if static else [])]
    # No parse cache: every file is parsed (in parallel from 400 files on, see loader.py).
    result = run(
        args, root, env or clean_env(PYTHONPATH=MIGRATOR_PYTHONPATH, MIGRATOR_CACHE_DIR="off")
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def assert_same_graph(root: Path) -> dict:
    by_django = graph_dump(root, static=False)
    statically = graph_dump(root, static=True)
    assert statically == by_django
    return statically


def test_sample_apps_same_graph(tmp_path):
    found = assert_same_graph(sample_project(tmp_path / "shop").root)
    assert sorted(found["conflicts"]) == ["customers", "inventory", "orders"]
    assert found["replaced"] == {
        "payments.0001_squashed_0003_refund": [
            ["payments", "0001_initial"],
            ["payments", "0002_payment_provider_reference"],
            ["payments", "0003_refund"],
        ]
    }
    # operations are Django's own objects, so explain's overlap verdict works statically
    gift = found["nodes"]["orders.0004_order_gift_wrap"]["operations"]
    assert gift == [["AddField", "Add field gift_wrap to order"]]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_oracle_scenarios_same_graph(name, project):
    SCENARIOS[name](project)
    assert_same_graph(project.root)


@pytest.mark.parametrize("seed", range(12))
def test_random_histories_same_graph(seed, project):
    generate(project, seed)
    assert_same_graph(project.root)


@pytest.mark.parametrize(
    ("apps", "migrations", "conflicts", "seed"), [(3, 12, 0, 0), (4, 25, 2, 1), (15, 30, 3, 2)]
)
def test_benchmark_projects_same_graph(tmp_path, apps, migrations, conflicts, seed):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from generate import generate_project
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    root = generate_project(tmp_path / "bench", apps, migrations, conflicts=conflicts, seed=seed)
    found = assert_same_graph(root)
    assert len(found["conflicts"]) == conflicts


@pytest.mark.skipif(django.VERSION < (6, 0), reason="nested squashes need Django 6.0+")
def test_nested_squash_same_graph(project):
    """``0001_squashed_0004`` replaces an earlier squash and ``0004``.

    0001 - 0002 - 0003 - 0004 - 0005     0001_squashed_0003 replaces 0001..0003
                                         0001_squashed_0004 replaces it and 0004
    """
    project.chain("shop", ["0001_initial", "0002_a", "0003_b", "0004_c", "0005_d"])
    project.add_migration(
        "shop",
        "0001_squashed_0003_b",
        [],
        replaces=[("shop", "0001_initial"), ("shop", "0002_a"), ("shop", "0003_b")],
    )
    project.add_migration(
        "shop",
        "0001_squashed_0004_c",
        [],
        replaces=[("shop", "0001_squashed_0003_b"), ("shop", "0004_c")],
    )
    project.add_migration("other", "0001_initial", [("shop", "0002_a")])
    found = assert_same_graph(project.root)
    assert sorted(found["nodes"]) == [
        "other.0001_initial",
        "shop.0001_squashed_0004_c",
        "shop.0005_d",
    ]


def test_problems_same_as_django(project):
    """Broken files are reported with the same kind, file and line as Django's loader."""
    project.chain("shop", ["0001_initial", "0002_a"])
    project.add_migration("shop", "0003_syntax", source="class Migration(:\n    pass\n")
    project.add_migration(
        "shop",
        "0004_markers",
        source=(
            "from django.db import migrations\n\n<<<<<<< HEAD\nX = 1\n=======\nX = 2\n"
            ">>>>>>> feature\n"
        ),
    )
    project.add_migration("shop", "0005_no_class", source="X = 1\n")
    project.add_migration("shop", "0006_missing", [("shop", "0002_aa")])
    project.chain("loop", ["0001_initial"])
    project.add_migration("loop", "0002_x", [("loop", "0001_initial"), ("ring", "0001_y")])
    project.add_migration("ring", "0001_y", [("loop", "0002_x")])
    project.add_migration("shop", "0007_unknown", [("shop", "0002_a"), ("nowhere", "__first__")])
    found = assert_same_graph(project.root)
    kinds = sorted({problem[0] for problem in found["problems"]})
    assert kinds == [
        "circular-dependency",
        "conflict-markers",
        "missing-dependency",
        "no-migration-class",
        "syntax-error",
    ]


def test_project_operations_become_stand_ins(project):
    """A custom field, a RunPython function and a custom operation from project modules:
    Django imports them, static mode rebuilds stand-ins with the same class names and
    descriptions."""
    project.add_app("shop")
    (project.root / "shop" / "fields.py").write_text(
        "from django.db import models\n\nclass ColorField(models.CharField):\n    pass\n"
    )
    (project.root / "shop" / "ops.py").write_text(
        "from django.db.migrations.operations.base import Operation\n\n"
        "class Noop(Operation):\n    reversible = True\n"
        "    def state_forwards(self, app_label, state):\n        pass\n"
    )
    project.add_migration(
        "shop",
        "0001_initial",
        source="""\
from django.db import migrations, models
import django.db.models.deletion
import shop.fields
from shop.ops import Noop


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Box",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("color", shop.fields.ColorField(max_length=7)),
                ("parent", models.ForeignKey(
                    null=True, on_delete=django.db.models.deletion.CASCADE, to="shop.box")),
            ],
            options={"ordering": ["-id"]},
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        Noop(),
        migrations.RunSQL("SELECT 1", reverse_sql=migrations.RunSQL.noop),
    ]
""",
    )
    found = assert_same_graph(project.root)
    operations = found["nodes"]["shop.0001_initial"]["operations"]
    assert [op[0] for op in operations] == ["CreateModel", "RunPython", "Noop", "RunSQL"]


# -- no project code runs -----------------------------------------------------------------

SENTINEL_CODE = (
    "import os as _os\nopen(_os.environ['MIGRATOR_SENTINEL'], 'a').write(__name__ + '\\n')\n"
)


def sentinel_project(root: Path) -> DjangoProject:
    """A project whose settings, apps, models and migrations all write a sentinel file
    when imported."""
    project = DjangoProject(root, contrib=True)
    project.add_app("shop")
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
        [("shop", "0001_initial")],
        operations=[
            "migrations.AddField(model_name='box', name='a', field=models.IntegerField(default=0))"
        ],
    )
    project.add_migration(
        "shop",
        "0002_b",
        [("shop", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")],
        operations=[
            "migrations.AddField(model_name='box', name='b', field=models.IntegerField(default=1))"
        ],
    )
    files = [
        root / "project" / "settings.py",
        root / "project" / "__init__.py",
        root / "shop" / "__init__.py",
        root / "shop" / "models.py",
        root / "shop" / "migrations" / "__init__.py",
        *sorted((root / "shop" / "migrations").glob("0*.py")),
    ]
    for path in files:
        path.write_text(SENTINEL_CODE + path.read_text())
    return project


def test_sentinel_runs_when_django_loads(tmp_path):
    """The sentinel works: without --static, loading the graph imports project code."""
    project = sentinel_project(tmp_path / "proj")
    sentinel = tmp_path / "sentinel.txt"
    result = project.migrator("check", env=clean_env(MIGRATOR_SENTINEL=str(sentinel)))
    assert result.code == 1, result.err
    assert "shop.migrations.0002_a" in sentinel.read_text()


STATIC_COMMANDS = [
    ["check"],
    ["check", "--format", "json"],
    ["explain", "shop"],
    ["merge", "shop", "--dry-run"],
    ["graph"],
    ["show"],
    ["squash", "shop", "--min-length", "2"],
    ["rebase", "shop", "--keep", "0002_a", "--dry-run"],
]


@pytest.mark.parametrize("args", STATIC_COMMANDS, ids=" ".join)
def test_static_commands_run_no_project_code(tmp_path, args):
    project = sentinel_project(tmp_path / "proj")
    sentinel = tmp_path / "sentinel.txt"
    before = project.snapshot()
    # Even with DJANGO_SETTINGS_MODULE pointing at the project's settings.
    env = clean_env(
        MIGRATOR_SENTINEL=str(sentinel),
        DJANGO_SETTINGS_MODULE="project.settings",
        MIGRATOR_CACHE_DIR=str(tmp_path / "cache"),
    )
    result = project.migrator(*args, "--static", env=env)
    assert "Traceback" not in result.err, result.err
    assert result.code in (0, 1), (result.code, result.out, result.err)
    assert not sentinel.exists(), sentinel.read_text()
    assert project.snapshot() == before


def test_check_static_without_settings(tmp_path):
    """No settings at all (a pre-commit hook): apps are found by scanning the tree, the
    contrib apps referenced by dependencies by looking them up in Django."""
    project = sentinel_project(tmp_path / "proj")
    (project.root / "manage.py").unlink()
    shutil.rmtree(project.root / "project")
    env = clean_env(MIGRATOR_SENTINEL=str(tmp_path / "sentinel.txt"))
    result = project.migrator("check", "--static", "--format", "json", env=env)
    assert result.code == 1, result.err
    assert result.json()["conflicts"] == [
        {
            "app": "shop",
            "leaves": ["0002_a", "0002_b"],
            "paths": ["shop/migrations/0002_a.py", "shop/migrations/0002_b.py"],
        }
    ]
    assert result.json()["problems"] == []
    assert not (tmp_path / "sentinel.txt").exists()


def test_tool_migrator_apps_and_swappable(tmp_path):
    """``[tool.migrator.apps]`` names the migration packages, ``[tool.migrator.swappable]``
    resolves ``swappable_dependency(settings.AUTH_USER_MODEL)``."""
    root = tmp_path / "repo"
    (root / "src" / "accounts" / "migrations").mkdir(parents=True)
    (root / "src" / "accounts" / "migrations" / "__init__.py").write_text("")
    (root / "src" / "shop" / "db").mkdir(parents=True)
    (root / "src" / "shop" / "db" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(
        '[tool.migrator.apps]\naccounts = "src/accounts/migrations"\nshop = "src/shop/db"\n'
        '[tool.migrator.swappable]\nAUTH_USER_MODEL = "accounts.User"\n'
    )
    project = DjangoProject(tmp_path / "unused")
    project.add_migration("x", "0001_initial")
    template = project.migration_path("x", "0001_initial").read_text()
    (root / "src" / "accounts" / "migrations" / "0001_initial.py").write_text(template)
    (root / "src" / "shop" / "db" / "0001_initial.py").write_text(
        template.replace(
            "dependencies = []",
            "dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]",
        ).replace(
            "from django.db import", "from django.conf import settings\nfrom django.db import"
        )
    )
    (root / "src" / "shop" / "db" / "0002_x.py").write_text(
        template.replace("dependencies = []", "dependencies = [('shop', '0001_initial')]")
    )
    (root / "src" / "shop" / "db" / "0002_y.py").write_text(
        template.replace("dependencies = []", "dependencies = [('shop', '0001_initial')]")
    )
    result = run([sys.executable, "-m", "migrator", "check", "--static", "--format", "json"], root)
    assert result.code == 1, result.err
    assert result.json()["conflicts"] == [
        {
            "app": "shop",
            "leaves": ["0002_x", "0002_y"],
            "paths": ["src/shop/db/0002_x.py", "src/shop/db/0002_y.py"],
        }
    ]
    assert result.json()["migrations"] == {"accounts": 1, "shop": 3}


# -- the parse cache ----------------------------------------------------------------------


def test_cache_is_outside_the_tree_and_never_trusted_for_a_changed_file(project, tmp_path):
    project.chain("shop", ["0001_initial", "0002_a"])
    second = project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    old = 1_600_000_000
    for path in project.root.rglob("*.py"):
        os.utime(path, (old, old))  # old enough to be cached (see cache.py: racy files)
    cache = tmp_path / "cache"
    env = clean_env(MIGRATOR_CACHE_DIR=str(cache))
    before = project.snapshot()
    assert project.migrator("check", "--static", env=env).code == 1
    assert len(list(cache.iterdir())) == 1
    assert project.snapshot() == before  # nothing written in the source tree
    # Same size, new content: make 0002_b a child of 0002_a (no more conflict).
    text = second.read_text().replace("'0001_initial'", "'0002_a'      ")
    assert len(text) == len(second.read_text())
    second.write_text(text)
    os.utime(second, (old + 5, old + 5))
    assert project.migrator("check", "--static", env=env).code == 0
    shutil.rmtree(cache)  # always safe to delete
    assert project.migrator("check", "--static", env=env).code == 0


def test_pre_commit_hook_runs_without_settings(tmp_path):
    """The ``migrator-check`` hook's entry, as pre-commit runs it (no file names), in a
    git checkout with no usable settings and the migrations staged: it finds the
    conflict statically, and runs no project code."""
    import yaml

    hooks = {
        hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    }
    hook = hooks["migrator-check"]
    assert hook["pass_filenames"] is False
    project = sentinel_project(tmp_path / "proj")
    (project.root / "project" / "settings.py").write_text("raise RuntimeError('secrets')\n")
    subprocess.run(["git", "init", "-q"], cwd=project.root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=project.root, check=True)
    entry = hook["entry"].split()
    assert entry[0] == "migrator"
    env = clean_env(MIGRATOR_SENTINEL=str(tmp_path / "sentinel.txt"))
    result = run([sys.executable, "-m", "migrator", *entry[1:]], project.root, env)
    assert result.code == 1, result.err
    assert result.out.startswith("shop: conflict: 2 leaf migrations: 0002_a, 0002_b\n")
    assert not (tmp_path / "sentinel.txt").exists()


def test_static_merge_dry_run_plans_the_merge_migration(tmp_path):
    """merge --dry-run --static gets as far as Django's writer, still without project code:
    the merge migration goes next to the leaves."""
    project = sentinel_project(tmp_path / "proj")
    sentinel = tmp_path / "sentinel.txt"
    env = clean_env(MIGRATOR_SENTINEL=str(sentinel), MIGRATOR_CACHE_DIR=str(tmp_path / "c"))
    result = project.migrator("merge", "shop", "--dry-run", "--static", env=env)
    assert result.code == 0, result.err
    assert result.out.startswith(
        "shop: would write shop/migrations/0003_merge_0002_a_0002_b.py, merging 0002_a, 0002_b\n"
    )
    assert not sentinel.exists()
