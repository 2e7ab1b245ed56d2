"""``migrator check`` end to end: the real CLI in a subprocess on real projects.

Whole outputs are compared, stdout and stderr apart, with the exit code. Every run is
wrapped in a snapshot of the project: ``check`` never writes anything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrator import __version__
from migrator.problems import HINTS
from tests.djproject import DjangoProject, Result, clean_env, run

MERGE_HINT = (
    "run `migrator explain {app}` to see what each branch does, then `migrator merge {app}`"
)
SETUP_HINT = "fix the error above; run with --traceback for the full stack"
NO_SETTINGS = (
    "migrator: error: no Django settings found\n"
    "  hint: pass --settings, set DJANGO_SETTINGS_MODULE, run from the folder with manage.py, "
    "or set [tool.migrator] settings in pyproject.toml\n"
)


def migrator_in(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """The real CLI in ``cwd``, asserting that it wrote nothing under ``cwd``."""
    before = snapshot(cwd)
    result = run([sys.executable, "-m", "migrator", *args], cwd, env)
    assert snapshot(cwd) == before, "migrator check changed files"
    return result


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, as ``DjangoProject.snapshot`` takes it."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def check(project: DjangoProject, *args: str, env: dict[str, str] | None = None) -> Result:
    return migrator_in(project.root, "check", *args, env=env)


def hint(kind: str) -> str:
    return f"  hint: {HINTS[kind]}\n"


@pytest.fixture
def conflict(project: DjangoProject) -> DjangoProject:
    """alpha: 0001_initial -> 0002_second, 0001_initial -> 0002_conflicting_second;
    beta: 0001_initial (clean)."""
    project.chain("alpha", ["0001_initial", "0002_second"])
    project.add_migration("alpha", "0002_conflicting_second", [("alpha", "0001_initial")])
    project.chain("beta", ["0001_initial"])
    return project


# -- the three formats ------------------------------------------------------------------


def test_clean_project(project):
    project.chain("alpha", ["0001_initial", "0002_second"])
    project.add_app("beta", migrations=False)  # unmigrated apps are not counted
    result = check(project)
    assert (result.code, result.err) == (0, "")
    assert result.out == "No conflicts or problems in 1 app (2 migrations).\n"


def test_clean_project_json(project):
    project.chain("alpha", ["0001_initial"])
    result = check(project, "--format", "json")
    assert (result.code, result.err) == (0, "")
    assert result.json() == {
        "ok": True,
        "conflicts": [],
        "problems": [],
        "migrations": {"alpha": 1},
    }


def test_clean_project_github_prints_nothing(project):
    project.chain("alpha", ["0001_initial"])
    result = check(project, "--format", "github")
    assert result == Result(0, "", "")


def test_conflict_text(conflict):
    result = check(conflict)
    assert (result.code, result.err) == (1, "")
    assert result.out == (
        "alpha: conflict: 2 leaf migrations: 0002_conflicting_second, 0002_second\n"
        "  alpha/migrations/0002_conflicting_second.py\n"
        "  alpha/migrations/0002_second.py\n"
        f"  hint: {MERGE_HINT.format(app='alpha')}\n"
        "Found 1 conflict and 0 problems in 2 apps (4 migrations).\n"
    )


def test_conflict_json(conflict):
    result = check(conflict, "--format", "json")
    assert (result.code, result.err) == (1, "")
    assert result.json() == {
        "ok": False,
        "conflicts": [
            {
                "app": "alpha",
                "leaves": ["0002_conflicting_second", "0002_second"],
                "paths": [
                    "alpha/migrations/0002_conflicting_second.py",
                    "alpha/migrations/0002_second.py",
                ],
            }
        ],
        "problems": [],
        "migrations": {"alpha": 3, "beta": 1},
    }
    # machine output: plain JSON, stable key order
    assert result.out == json.dumps(result.json(), indent=2, sort_keys=True) + "\n"


def test_conflict_github_annotates_each_leaf_file(conflict):
    result = check(conflict, "-f", "github")
    assert (result.code, result.err) == (1, "")
    message = (
        "'alpha' has 2 leaf migrations (0002_conflicting_second, 0002_second); "
        + MERGE_HINT.format(app="alpha")
    )
    # ':' and ',' are escaped in properties; the 'class Migration' line is line 4
    assert result.out == (
        "::error file=alpha/migrations/0002_conflicting_second.py,line=4,"
        f"title=Migration conflict in alpha%3A 0002_conflicting_second::{message}\n"
        "::error file=alpha/migrations/0002_second.py,line=4,"
        f"title=Migration conflict in alpha%3A 0002_second::{message}\n"
    )


def test_app_labels_narrow_the_check(conflict):
    result = check(conflict, "beta")
    assert result == Result(0, "No conflicts or problems in 1 app (1 migration).\n", "")
    result = check(conflict, "beta", "alpha", "beta")
    assert result.code == 1
    assert result.out.endswith("Found 1 conflict and 0 problems in 2 apps (4 migrations).\n")


def test_unmigrated_app_given_explicitly(project):
    project.chain("alpha", ["0001_initial"])
    project.add_app("plain", migrations=False)
    result = check(project, "plain")
    assert result == Result(0, "No conflicts or problems in 1 app (0 migrations).\n", "")


# -- usage errors -----------------------------------------------------------------------


def test_unknown_app_label_suggests_a_close_one(conflict):
    result = check(conflict, "alpah")
    assert result == Result(
        2,
        "",
        "migrator: error: unknown app label 'alpah': no installed app has this label\n"
        "  hint: did you mean 'alpha'?\n",
    )


def test_unknown_app_label_lists_installed_apps(conflict):
    result = check(conflict, "beta", "zzz")
    assert result == Result(
        2,
        "",
        "migrator: error: unknown app label 'zzz': no installed app has this label\n"
        "  hint: installed apps: alpha, beta\n",
    )


def test_unknown_option_and_format(conflict):
    result = check(conflict, "--bogus")
    assert result.code == 2 and result.out == ""
    assert "No such option: --bogus" in result.err
    result = check(conflict, "--format", "yaml")
    assert result.code == 2 and result.out == ""
    assert "'yaml' is not one of 'text', 'json', 'github'" in result.err


# -- finding the settings ---------------------------------------------------------------


def test_no_settings_anywhere(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a Django project\n")
    assert migrator_in(folder, "check") == Result(2, "", NO_SETTINGS)


def test_manage_py_without_a_settings_default(project):
    project.chain("alpha", ["0001_initial"])
    (project.root / "manage.py").write_text("import sys\nprint(sys.argv)\n")
    assert check(project) == Result(2, "", NO_SETTINGS)


def test_settings_found_from_manage_py(project):
    project.chain("alpha", ["0001_initial"])
    (project.root / "manage.py").write_text(
        (project.root / "manage.py").read_text().replace("project.settings", "project.main")
    )
    (project.root / "project" / "settings.py").rename(project.root / "project" / "main.py")
    assert check(project) == Result(0, "No conflicts or problems in 1 app (1 migration).\n", "")


def two_settings(project: DjangoProject) -> DjangoProject:
    """project.settings installs alpha (a conflict); project.other installs beta only."""
    project.chain("alpha", ["0001_initial", "0002_second"])
    project.add_migration("alpha", "0002_conflicting_second", [("alpha", "0001_initial")])
    project.chain("beta", ["0001_initial"])
    settings = (project.root / "project" / "settings.py").read_text()
    (project.root / "project" / "other.py").write_text(
        settings.replace("INSTALLED_APPS = ['alpha', 'beta']", "INSTALLED_APPS = ['beta']")
    )
    return project


def test_environment_beats_manage_py(project):
    two_settings(project)
    assert check(project).code == 1  # manage.py: project.settings
    result = check(project, env=clean_env(DJANGO_SETTINGS_MODULE="project.other"))
    assert result == Result(0, "No conflicts or problems in 1 app (1 migration).\n", "")


def test_settings_option_beats_environment(project):
    two_settings(project)
    env = clean_env(DJANGO_SETTINGS_MODULE="project.settings")
    result = check(project, "--settings", "project.other", env=env)
    assert result == Result(0, "No conflicts or problems in 1 app (1 migration).\n", "")
    result = check(
        project,
        "--settings",
        "project.settings",
        env=clean_env(DJANGO_SETTINGS_MODULE="project.other"),
    )
    assert result.code == 1


def test_manage_py_beats_pyproject(project):
    two_settings(project)
    (project.root / "pyproject.toml").write_text('[tool.migrator]\nsettings = "project.other"\n')
    assert check(project).code == 1  # manage.py: project.settings, with alpha's conflict
    (project.root / "manage.py").unlink()
    result = check(project)
    assert result == Result(0, "No conflicts or problems in 1 app (1 migration).\n", "")


def test_environment_naming_a_missing_module(project):
    result = check(project, env=clean_env(DJANGO_SETTINGS_MODULE="project.setings"))
    assert result == Result(
        2,
        "",
        "migrator: error: cannot import settings module 'project.setings' (from "
        "DJANGO_SETTINGS_MODULE): No module named 'project.setings'\n"
        "  hint: run from the project folder or pass --pythonpath with the folder that "
        "contains the settings package\n",
    )


def test_pyproject_settings_from_a_subfolder(project):
    """No manage.py: ``[tool.migrator] settings``; the pyproject folder is the root."""
    project.chain("alpha", ["0001_initial"])
    (project.root / "manage.py").unlink()
    (project.root / "pyproject.toml").write_text(
        '[project]\nname = "shop"\n\n[tool.migrator]\nsettings = "project.settings"\n'
    )
    before = project.snapshot()
    result = migrator_in(project.root / "alpha" / "migrations", "check")
    assert project.snapshot() == before
    assert result == Result(0, "No conflicts or problems in 1 app (1 migration).\n", "")


def test_pyproject_without_migrator_table(project):
    (project.root / "manage.py").unlink()
    (project.root / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    assert check(project) == Result(2, "", NO_SETTINGS)


def test_pyproject_that_is_not_toml(project):
    (project.root / "manage.py").unlink()
    (project.root / "pyproject.toml").write_text('[tool.migrator]\nsettings = "project.settings\n')
    result = check(project)
    assert result.code == 2 and result.out == ""
    first, second = result.err.splitlines()
    assert first.startswith(f"migrator: error: {project.root / 'pyproject.toml'}:2: cannot read ")
    assert second == "  hint: fix the TOML syntax, or pass --settings"


def test_pythonpath(project):
    """Settings in a folder that is not the project root, found with --pythonpath."""
    project.chain("alpha", ["0001_initial"])
    (project.root / "manage.py").unlink()
    (project.root / "conf").mkdir()
    (project.root / "project" / "settings.py").rename(project.root / "conf" / "mysettings.py")
    result = check(project, "--settings", "mysettings")
    assert result == Result(
        2,
        "",
        "migrator: error: cannot import settings module 'mysettings' (from --settings): "
        "No module named 'mysettings'\n"
        "  hint: run from the project folder or pass --pythonpath with the folder that "
        "contains the settings package\n",
    )
    result = check(project, "--settings", "mysettings", "--pythonpath", "conf")
    assert result == Result(0, "No conflicts or problems in 1 app (1 migration).\n", "")


def test_settings_module_that_does_not_exist(project):
    result = check(project, "--settings", "nosuch.settings")
    assert result == Result(
        2,
        "",
        "migrator: error: cannot import settings module 'nosuch.settings' (from --settings): "
        "No module named 'nosuch'\n"
        "  hint: run from the project folder or pass --pythonpath with the folder that "
        "contains the settings package\n",
    )


def test_settings_with_a_syntax_error(project):
    settings = project.root / "project" / "settings.py"
    settings.write_text(settings.read_text() + "\nDEBUG = = True\n")
    line = settings.read_text().splitlines().index("DEBUG = = True") + 1
    result = check(project)
    assert result == Result(
        2,
        "",
        f"migrator: error: {settings}:{line}: cannot import settings module 'project.settings': "
        "SyntaxError: invalid syntax\n"
        f"  hint: {SETUP_HINT}\n",
    )
    assert "Traceback" not in result.err


def test_settings_that_raise_on_import(project):
    settings = project.root / "project" / "settings.py"
    settings.write_text("import os\n\nimport some_missing_package\n")
    result = check(project)
    assert result == Result(
        2,
        "",
        f"migrator: error: {settings}:3: cannot import settings module 'project.settings': "
        "ModuleNotFoundError: No module named 'some_missing_package'\n"
        f"  hint: {SETUP_HINT}\n",
    )


def test_installed_app_that_does_not_exist(project):
    project.apps.append("nosuchapp")
    project.write_settings()
    result = check(project)
    # No line of the project raised it: point at the settings file that lists the app.
    assert result == Result(
        2,
        "",
        f"migrator: error: {project.root / 'project' / 'settings.py'}: cannot set up Django "
        "'project.settings': ModuleNotFoundError: No module named 'nosuchapp'\n"
        f"  hint: {SETUP_HINT}\n",
    )


def test_traceback_only_with_the_option(project):
    settings = project.root / "project" / "settings.py"
    settings.write_text("X = (\n")
    plain = check(project)
    assert plain.code == 2 and "Traceback" not in plain.err
    assert plain.err.startswith(f"migrator: error: {settings}:1: ")
    shown = check(project, "--traceback")
    assert shown.code == 2 and shown.out == ""  # the same exit code, with the stack
    assert "Traceback (most recent call last):" in shown.err
    assert f'File "{settings}", line 1' in shown.err
    assert "ConfigurationError: cannot import settings module 'project.settings'" in shown.err


# -- problems in migrations ---------------------------------------------------------------


def test_syntax_error_in_a_migration(project):
    project.chain("alpha", ["0001_initial"])
    project.add_migration(
        "alpha",
        "0002_broken",
        source="from django.db import migrations\n\n\nclass Migration(migrations.Migration:\n"
        "    pass\n",
    )
    result = check(project)
    assert result == Result(
        1,
        "alpha/migrations/0002_broken.py:4: syntax-error: syntax error in migration "
        "'0002_broken' in app 'alpha': invalid syntax\n"
        + hint("syntax-error")
        + "Found 0 conflicts and 1 problem in 1 app (1 migration).\n",
        "",
    )


def test_conflict_markers_in_a_migration(project):
    project.chain("alpha", ["0001_initial"])
    project.add_migration(
        "alpha",
        "0002_merged",
        source=(
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
            "    dependencies = [('alpha', '0001_initial')]\n"
            "<<<<<<< HEAD\n"
            "    operations = []\n"
            "=======\n"
            "    operations = [migrations.RunSQL('SELECT 1')]\n"
            ">>>>>>> feature\n"
        ),
    )
    result = check(project, "--format", "json")
    assert (result.code, result.err) == (1, "")
    assert result.json() == {
        "ok": False,
        "conflicts": [],
        "problems": [
            {
                "kind": "conflict-markers",
                "message": "git conflict markers in migration '0002_merged' in app 'alpha'",
                "app": "alpha",
                "migration": "0002_merged",
                "path": "alpha/migrations/0002_merged.py",
                "line": 6,
                "hint": HINTS["conflict-markers"],
            }
        ],
        "migrations": {"alpha": 1},
    }


def test_merge_migration_with_conflict_markers_claims_no_conflict(project):
    """The broken file is the merge that joins the branches: until it loads, alpha's
    leaves are unknown, so only the markers are reported."""
    project.chain("alpha", ["0001_initial", "0002_a"])
    project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")])
    project.add_migration(
        "alpha",
        "0003_merge",
        source=(
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
            "<<<<<<< HEAD\n"
            "    dependencies = [('alpha', '0002_a'), ('alpha', '0002_b')]\n"
            "=======\n"
            "    dependencies = [('alpha', '0002_b'), ('alpha', '0002_a')]\n"
            ">>>>>>> feature\n"
            "    operations = []\n"
        ),
    )
    result = check(project)
    assert result == Result(
        1,
        "alpha/migrations/0003_merge.py:5: conflict-markers: git conflict markers in migration "
        "'0003_merge' in app 'alpha'\n"
        + hint("conflict-markers")
        + "Found 0 conflicts and 1 problem in 1 app (3 migrations).\n",
        "",
    )


def test_conflict_markers_in_max_migration_txt(project):
    project.chain("alpha", ["0001_initial", "0002_second"])
    (project.root / "alpha" / "migrations" / "max_migration.txt").write_text(
        "<<<<<<< HEAD\n0002_second\n=======\n0002_other\n>>>>>>> feature\n"
    )
    result = check(project)
    assert result == Result(
        1,
        "alpha/migrations/max_migration.txt:1: conflict-markers: git conflict markers in "
        "max_migration.txt of app 'alpha'\n"
        + hint("conflict-markers")
        + "Found 0 conflicts and 1 problem in 1 app (2 migrations).\n",
        "",
    )


def test_missing_dependency_names_the_file_and_suggests(project):
    project.chain("alpha", ["0001_initial", "0002_add_price"])
    project.add_migration("alpha", "0003_more", [("alpha", "0002_add_prices")])
    project.add_migration("alpha", "0004_last", [("alpha", "0003_more")])
    result = check(project)
    # Cut from its parent, 0003_more looks like a second root (0004_last a second leaf):
    # no conflict is claimed for an app whose graph is incomplete.
    assert result == Result(
        1,
        "alpha/migrations/0003_more.py:6: missing-dependency: 'alpha.0003_more' depends on "
        "('alpha', '0002_add_prices'), which does not exist; did you mean '0002_add_price'?\n"
        + hint("missing-dependency")
        + "Found 0 conflicts and 1 problem in 1 app (4 migrations).\n",
        "",
    )


def test_missing_dependency_in_another_app(project):
    project.chain("alpha", ["0001_initial"])
    project.add_migration("beta", "0001_initial", [("alpha", "0002_gone")])
    result = check(project, "--format", "github")
    assert result == Result(
        1,
        "::error file=beta/migrations/0001_initial.py,line=6,title=migrator%3A "
        "missing-dependency::'beta.0001_initial' depends on ('alpha', '0002_gone'), which "
        f"does not exist. Hint: {HINTS['missing-dependency']}\n",
        "",
    )


def test_dependency_on_an_unknown_app(project):
    project.add_migration("alpha", "0001_initial", [("shop", "0001_initial")])
    project.add_migration("beta", "0001_initial", [("shop", "__first__")])
    result = check(project)
    assert result == Result(
        1,
        "alpha/migrations/0001_initial.py:6: missing-dependency: 'alpha.0001_initial' depends "
        "on ('shop', '0001_initial'), which does not exist (no installed app 'shop' has "
        "migrations)\n"
        + hint("missing-dependency")
        + "beta/migrations/0001_initial.py:6: missing-dependency: 'beta.0001_initial' depends "
        "on ('shop', '__first__'), but no installed app 'shop' has migrations\n"
        + hint("missing-dependency")
        + "Found 0 conflicts and 2 problems in 2 apps (2 migrations).\n",
        "",
    )


def test_first_of_an_unmigrated_app_is_fine(project):
    """Django ignores ``__first__`` of an installed app without migrations."""
    project.add_app("plain", migrations=False)
    project.add_migration("alpha", "0001_initial", [("plain", "__first__")])
    assert check(project) == Result(0, "No conflicts or problems in 1 app (1 migration).\n", "")


def test_run_before_a_missing_migration(project):
    project.chain("alpha", ["0001_initial"])
    project.add_migration("beta", "0001_initial", run_before=[("alpha", "0002_later")])
    result = check(project)
    assert result == Result(
        1,
        "beta/migrations/0001_initial.py:5: missing-dependency: 'beta.0001_initial' lists in "
        "run_before ('alpha', '0002_later'), which does not exist\n"
        + hint("missing-dependency")
        + "Found 0 conflicts and 1 problem in 2 apps (2 migrations).\n",
        "",
    )


def test_circular_dependency_shows_the_cycle(project):
    project.add_migration("alpha", "0001_initial", [("beta", "0002_second")])
    project.add_migration("beta", "0001_initial", [])
    project.add_migration(
        "beta", "0002_second", [("beta", "0001_initial"), ("alpha", "0001_initial")]
    )
    result = check(project)
    assert result == Result(
        1,
        "alpha/migrations/0001_initial.py:6: circular-dependency: migrations form a cycle: "
        "alpha.0001_initial -> beta.0002_second -> alpha.0001_initial\n"
        + hint("circular-dependency")
        + "Found 0 conflicts and 1 problem in 2 apps (3 migrations).\n",
        "",
    )


def test_module_without_migration_class(project):
    project.chain("alpha", ["0001_initial"])
    project.add_migration("alpha", "0002_helpers", source="def helper():\n    return 1\n")
    result = check(project)
    assert result == Result(
        1,
        "alpha/migrations/0002_helpers.py:1: no-migration-class: migration '0002_helpers' in "
        "app 'alpha' has no Migration class\n"
        + hint("no-migration-class")
        + "Found 0 conflicts and 1 problem in 1 app (1 migration).\n",
        "",
    )


def test_migration_that_fails_to_import(project):
    project.chain("alpha", ["0001_initial"])
    project.add_migration(
        "alpha",
        "0002_uses_a_package",
        source="from django.db import migrations\n\nimport not_installed_anywhere\n",
    )
    project.add_migration("alpha", "0003_after", [("alpha", "0002_uses_a_package")])
    result = check(project)
    # 0003_after depends on the broken module: not reported again as missing.
    assert result == Result(
        1,
        "alpha/migrations/0002_uses_a_package.py:3: import-error: cannot import migration "
        "'0002_uses_a_package' in app 'alpha': ModuleNotFoundError: No module named "
        "'not_installed_anywhere'\n"
        + hint("import-error")
        + "Found 0 conflicts and 1 problem in 1 app (2 migrations).\n",
        "",
    )


def test_broken_migrations_package(project):
    project.chain("alpha", ["0001_initial"])
    (project.root / "alpha" / "migrations" / "__init__.py").write_text("x = (\n")
    result = check(project)
    assert result == Result(
        1,
        "alpha/migrations/__init__.py:1: syntax-error: syntax error in migrations of app "
        "'alpha': '(' was never closed\n"
        + hint("syntax-error")
        # still judged without app labels: it has a migrations package, a broken one
        + "Found 0 conflicts and 1 problem in 1 app (0 migrations).\n",
        "",
    )


def test_several_problems_in_one_run(project):
    """Every problem is reported, sorted by app, migration, file and line."""
    project.chain("alpha", ["0001_initial", "0002_two"])
    project.add_migration("alpha", "0003_bad", [("alpha", "0002_tow")])
    project.add_migration("beta", "0001_initial", [("nosuch", "0001_initial")])
    project.add_migration(
        "beta", "0002_x", [("beta", "0001_initial")], run_before=[("alpha", "0009_missing")]
    )
    project.add_migration(
        "gamma",
        "0001_initial",
        source="from django.db import migrations\nclass Migration(migrations.Migration:\n",
    )
    project.add_migration("delta", "0001_initial", [("delta", "0002_b")])
    project.add_migration("delta", "0002_b", [("delta", "0001_initial")])
    project.add_migration("eps", "0001_initial", source="x = 1\n")
    project.add_migration(
        "eps",
        "0002_m",
        source="from django.db import migrations\n<<<<<<< HEAD\n=======\n>>>>>>> b\n",
    )
    project.add_migration("eps", "0003_i", source="import nosuchmodule\n")
    (project.root / "eps" / "migrations" / "max_migration.txt").write_text(
        "<<<<<<< HEAD\n0002\n=======\n0003\n>>>>>>> b\n"
    )
    project.chain("zeta", ["0001_initial", "0002_a"])
    project.add_migration("zeta", "0002_b", [("zeta", "0001_initial")])
    result = check(project)
    assert result.err == ""
    assert result.code == 1
    assert result.out == (
        "zeta: conflict: 2 leaf migrations: 0002_a, 0002_b\n"
        "  zeta/migrations/0002_a.py\n"
        "  zeta/migrations/0002_b.py\n"
        f"  hint: {MERGE_HINT.format(app='zeta')}\n"
        "alpha/migrations/0003_bad.py:6: missing-dependency: 'alpha.0003_bad' depends on "
        "('alpha', '0002_tow'), which does not exist; did you mean '0002_two'?\n"
        + hint("missing-dependency")
        + "beta/migrations/0001_initial.py:6: missing-dependency: 'beta.0001_initial' depends "
        "on ('nosuch', '0001_initial'), which does not exist (no installed app 'nosuch' has "
        "migrations)\n"
        + hint("missing-dependency")
        + "beta/migrations/0002_x.py:5: missing-dependency: 'beta.0002_x' lists in run_before "
        "('alpha', '0009_missing'), which does not exist\n"
        + hint("missing-dependency")
        + "delta/migrations/0001_initial.py:6: circular-dependency: migrations form a cycle: "
        "delta.0001_initial -> delta.0002_b -> delta.0001_initial\n"
        + hint("circular-dependency")
        + "eps/migrations/max_migration.txt:1: conflict-markers: git conflict markers in "
        "max_migration.txt of app 'eps'\n"
        + hint("conflict-markers")
        + "eps/migrations/0001_initial.py:1: no-migration-class: migration '0001_initial' in "
        "app 'eps' has no Migration class\n"
        + hint("no-migration-class")
        + "eps/migrations/0002_m.py:2: conflict-markers: git conflict markers in migration "
        "'0002_m' in app 'eps'\n"
        + hint("conflict-markers")
        + "eps/migrations/0003_i.py:1: import-error: cannot import migration '0003_i' in app "
        "'eps': ModuleNotFoundError: No module named 'nosuchmodule'\n"
        + hint("import-error")
        + "gamma/migrations/0001_initial.py:2: syntax-error: syntax error in migration "
        "'0001_initial' in app 'gamma': invalid syntax\n"
        + hint("syntax-error")
        + "Found 1 conflict and 9 problems in 6 apps (10 migrations).\n"
    )
    # The same problems as JSON, each with its kind and location.
    problems = check(project, "-f", "json").json()["problems"]
    assert [(p["kind"], p["path"], p["line"]) for p in problems] == [
        ("missing-dependency", "alpha/migrations/0003_bad.py", 6),
        ("missing-dependency", "beta/migrations/0001_initial.py", 6),
        ("missing-dependency", "beta/migrations/0002_x.py", 5),
        ("circular-dependency", "delta/migrations/0001_initial.py", 6),
        ("conflict-markers", "eps/migrations/max_migration.txt", 1),
        ("no-migration-class", "eps/migrations/0001_initial.py", 1),
        ("conflict-markers", "eps/migrations/0002_m.py", 2),
        ("import-error", "eps/migrations/0003_i.py", 1),
        ("syntax-error", "gamma/migrations/0001_initial.py", 2),
    ]
    # Naming one app keeps only its problems.
    only = check(project, "beta", "-f", "json").json()
    assert [p["migration"] for p in only["problems"]] == ["0001_initial", "0002_x"]
    assert only["conflicts"] == []


# -- the installed entry points -----------------------------------------------------------


def test_installed_console_script(conflict):
    script = Path(sys.executable).parent / "migrator"
    before = conflict.snapshot()
    proc = subprocess.run(
        [str(script), "check", "--format", "json"],
        cwd=conflict.root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert conflict.snapshot() == before
    assert (proc.returncode, proc.stderr) == (1, "")
    assert proc.stdout == conflict.migrator("check", "--format", "json").out
    assert json.loads(proc.stdout)["conflicts"][0]["app"] == "alpha"


def test_python_m_migrator_version(tmp_path):
    # a real interpreter, not the tests' fork server: `python -m migrator` from its start
    result = run([sys.executable, "-m", "migrator", "--version"], tmp_path, fork=False)
    assert result == Result(0, f"migrator {__version__}\n", "")
