"""The migrator Django app (``INSTALLED_APPS += ["migrator"]``): ``manage.py migrator``
and the system checks, run through the real ``manage.py`` of throwaway projects."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.djproject import DjangoProject, sample_project, undated, undated_files

MIGRATOR_APP = '    "migrator",\n]'


def with_app(project: DjangoProject) -> DjangoProject:
    """``project`` with the migrator app last in ``INSTALLED_APPS``."""
    settings = project.root / Path(*project.settings_module.split(".")).with_suffix(".py")
    text = settings.read_text()
    if "apps=" in text or "INSTALLED_APPS = [\n" not in text:
        project.apps.append("migrator")
        project.write_settings()
    else:
        start = text.index("INSTALLED_APPS = [\n")
        end = text.index("]", start)
        settings.write_text(text[:end] + '    "migrator",\n' + text[end:])
    return project


@pytest.fixture
def shop(tmp_path) -> DjangoProject:
    """sample_apps (three apps in conflict) with the migrator app installed."""
    return with_app(sample_project(tmp_path / "shop"))


def small(root: Path) -> DjangoProject:
    project = DjangoProject(root, ["orders"])
    project.chain("orders", ["0001_initial", "0002_a"])
    project.add_migration("orders", "0002_b", [("orders", "0001_initial")])
    project.apps.append("migrator")
    project.write_settings()
    return project


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["check", "--format", "json"],
        ["check", "--format", "github", "orders"],
        ["check", "--static"],
        ["explain"],
        ["explain", "--format", "json", "inventory"],
        ["graph"],
        ["merge", "--dry-run"],
        ["show", "orders"],
        ["squash", "catalog"],
        ["check", "nosuchapp"],
    ],
    ids=lambda args: " ".join(args),
)
def test_manage_py_migrator_says_what_the_cli_says(shop, args):
    """Same stdout, stderr and exit code as the standalone command, the settings known
    from manage.py alone."""
    standalone = shop.migrator(*args)
    managed = shop.manage("migrator", *args)
    # undated: a merge's source says when Django wrote it, and the runs may straddle a minute
    assert (managed.code, undated(managed.out), managed.err) == (
        standalone.code,
        undated(standalone.out),
        standalone.err,
    )
    assert standalone.code in (0, 1, 2)


def test_manage_py_migrator_merge_writes_what_the_cli_writes(shop, tmp_path):
    twin = shop.twin(tmp_path / "twin")
    managed = shop.manage("migrator", "merge", "customers", "orders")
    standalone = twin.migrator("merge", "customers", "orders")
    assert (managed.code, managed.out, managed.err) == (0, standalone.out, standalone.err)
    assert undated_files(shop.snapshot()) == undated_files(twin.snapshot())
    assert sorted(shop.django_conflicts()) == ["inventory"]


def test_usage_errors_name_manage_py(shop):
    result = shop.manage("migrator", "chek")
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("Usage: manage.py migrator [OPTIONS] COMMAND [ARGS]...\n")
    assert "No such command 'chek'" in result.err


def test_manage_py_help_migrator_is_migrators_help(shop):
    result = shop.manage("help", "migrator")
    assert result.code == 0
    assert result.out.startswith("Usage: manage.py migrator [OPTIONS] COMMAND [ARGS]...")
    for command in ("check", "explain", "graph", "merge", "rebase", "squash"):
        assert re.search(rf"^  {command} ", result.out, re.M), command


def test_call_command_returns_or_raises_with_the_exit_code(shop):
    result = shop.manage(
        "shell",
        "-c",
        "from django.core.management import call_command, CommandError\n"
        "call_command('migrator', 'check', 'catalog')\n"
        "try:\n"
        "    call_command('migrator', 'check', 'orders')\n"
        "except CommandError as e:\n"
        "    print('raised', e.returncode, e)\n",
    )
    assert result.code == 0, result.err
    assert "No conflicts or problems in 1 app" in result.out
    assert result.out.rstrip().endswith("raised 1 migrator check exited with 1")


# -- system checks ------------------------------------------------------------------------


def check_ids(output: str) -> list[tuple[str, str]]:
    """``(object, id)`` of every message ``manage.py check`` printed."""
    return re.findall(r"^(\S+): \((migrator\.[EW]\d{3})\)", output, re.M)


def test_manage_py_check_reports_every_conflict_django_sees(shop):
    result = shop.manage("check")
    assert result.code == 1
    assert result.out == ""
    assert check_ids(result.err) == [(app, "migrator.E001") for app in shop.django_conflicts()]
    assert (
        "customers: (migrator.E001) conflict: 2 leaf migrations: 0003_customer_loyalty_tier, "
        "0003_customer_phone (customers/migrations/0003_customer_loyalty_tier.py, "
        "customers/migrations/0003_customer_phone.py)\n"
        "\tHINT: run `python manage.py migrator explain customers` to see what each branch "
        "does, then `python manage.py migrator merge customers` (or `rebase`)\n"
    ) in result.err
    assert "System check identified 3 issues (0 silenced)." in result.err


def test_manage_py_check_of_some_apps_reports_only_theirs(shop):
    result = shop.manage("check", "orders", "catalog")
    assert check_ids(result.err) == [("orders", "migrator.E001")]
    assert shop.manage("check", "catalog").code == 0


def test_silenced_checks_stay_silent(shop):
    settings = shop.root / "shop" / "settings.py"
    settings.write_text(settings.read_text() + 'SILENCED_SYSTEM_CHECKS = ["migrator.E001"]\n')
    result = shop.manage("check")
    assert result.code == 0, result.err
    assert "System check identified no issues (3 silenced)." in result.out


def test_the_commands_that_fix_a_conflict_are_not_locked_out(shop, tmp_path):
    """Django checks the whole project before makemigrations: migrator's errors must not
    stop ``makemigrations --merge``, nor ``manage.py migrator merge``/``rebase``, nor
    ``showmigrations``, while ``migrate`` is refused with migrator's hint."""
    twin = shop.twin(tmp_path / "twin")
    migrate = shop.manage("migrate", "--noinput")
    assert migrate.code == 1
    assert "(migrator.E001)" in migrate.err
    shown = shop.manage("showmigrations", "customers")
    assert shown.code == 0, shown.err
    assert "0003_customer_phone" in shown.out

    merged = shop.manage("makemigrations", "--merge", "--noinput")
    assert merged.code == 0, merged.err
    assert "Created new merge migration" in merged.out
    assert shop.django_conflicts() == {}
    assert shop.manage("check").code == 0
    assert shop.manage("migrate", "--noinput").code == 0

    ours = twin.manage("migrator", "merge", "customers", "orders")
    assert ours.code == 0, ours.err
    rebased = twin.manage(
        "migrator", "rebase", "inventory", "--move", "0003_stockitem_quantity_default"
    )
    assert rebased.code == 0, rebased.err
    assert twin.django_conflicts() == {}
    check = twin.manage("check")
    assert (check.code, check.out) == (0, "System check identified no issues (0 silenced).\n")


def test_graph_problems_are_errors_with_their_file_and_line(tmp_path):
    project = small(tmp_path / "p")
    project.add_migration("orders", "0003_c", [("orders", "0002_a"), ("orders", "0002_typo")])
    project.add_migration("orders", "0004_bad", source="class Migration(:\n")
    result = project.manage("check")
    assert result.code == 1
    cli = project.migrator("check", "--format", "json").json()
    kinds = {"missing-dependency": "migrator.E002", "syntax-error": "migrator.E004"}
    assert check_ids(result.err) == [
        (f"{p['path']}:{p['line']}", kinds[p["kind"]]) for p in cli["problems"]
    ]
    assert [p["kind"] for p in cli["problems"]] == ["missing-dependency", "syntax-error"]


def test_a_clean_project_passes_and_migrate_runs(tmp_path):
    project = small(tmp_path / "p")
    project.add_migration("orders", "0003_merge", [("orders", "0002_a"), ("orders", "0002_b")])
    result = project.manage("check")
    assert (result.code, result.err) == (0, "")
    assert project.manage("migrate", "--noinput").code == 0


def test_migrations_that_cannot_be_loaded_are_one_error(tmp_path):
    project = small(tmp_path / "p")
    project.settings_extra = 'MIGRATION_MODULES = {"orders": "nowhere.migrations"}\n'
    project.write_settings()
    result = project.manage("check")
    assert result.code == 1
    line = project.migrator("check").err.splitlines()[0]  # the CLI's own words
    path, number, message = re.match(r"migrator: error: (\S+):(\d+): (.*)", line).groups()
    where = f"{Path(path).relative_to(project.root).as_posix()}:{number}"
    assert where.startswith("project/settings.py:")
    assert f"{where}: (migrator.E009) {message}\n" in result.err
