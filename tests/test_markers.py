"""Marker files (django-linear-migrations' ``max_migration.txt``): ``migrator lock``,
``merge``/``rebase`` keeping them current, and ``check`` reporting drift, with the real
django-linear-migrations installed beside migrator as the oracle: its system checks
(dlm.E001-E005) must pass after every migrator write, and name the same apps as
migrator's check."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.djproject import DjangoProject, run_unprivileged
from tests.gitrepo import commit_all, git, init_repo

pytest.importorskip("django_linear_migrations")

DLM = "django_linear_migrations"
MARKER = "max_migration.txt"


def project_with(root: Path, *, dlm: bool = True, app: bool = False) -> DjangoProject:
    """Three apps: ``orders`` (a chain), ``shipping`` (one migration), ``notes`` (no
    migrations); django-linear-migrations and the migrator app when asked."""
    project = DjangoProject(root, ["orders", "shipping"])
    project.chain("orders", ["0001_initial", "0002_order_total", "0003_order_note"])
    project.chain("shipping", ["0001_initial"], start=("orders", "0002_order_total"))
    project.add_app("notes", migrations=False)
    project.apps += ([DLM] if dlm else []) + (["migrator"] if app else [])
    project.write_settings()
    return project


def marker(project: DjangoProject, app: str) -> Path:
    return project.root / app / "migrations" / MARKER


def dlm_ids(project: DjangoProject) -> list[str]:
    """The apps and ids django-linear-migrations' checks report (``manage.py check``)."""
    result = project.manage("check")
    found = re.findall(r"\((dlm\.E\d{3})\) (?:(\w+)'s|Conflicting migrations)", result.err)
    assert (result.code == 0) == (not found), result.err
    return sorted(found)


def test_lock_writes_what_django_linear_migrations_writes(tmp_path):
    ours = project_with(tmp_path / "ours")
    theirs = ours.twin(tmp_path / "theirs")
    assert theirs.manage("create_max_migration_files").code == 0
    result = ours.migrator("lock")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "orders: created orders/migrations/max_migration.txt: 0003_order_note\n"
        "shipping: created shipping/migrations/max_migration.txt: 0001_initial\n"
        "Wrote 2 marker files; reloaded in a new process, each names its app's leaf.\n"
    )
    assert ours.snapshot() == theirs.snapshot()
    assert ours.manage("check").code == 0
    again = ours.migrator("lock")
    assert (again.code, again.out) == (
        0,
        "orders: current: 0003_order_note\nshipping: current: 0001_initial\n"
        "Every marker file is current (2 apps).\n",
    )


def test_lock_dry_run_writes_nothing_and_names_what_it_would(tmp_path):
    project = project_with(tmp_path / "p")
    marker(project, "orders").write_text("0001_initial\n")
    before = project.snapshot()
    result = project.migrator("lock", "--dry-run", "--format", "json", "orders")
    assert result.code == 0, result.err
    assert project.snapshot() == before
    assert result.json() == {
        "ok": True,
        "dry_run": True,
        "apps": [
            {
                "app": "orders",
                "outcome": "update",
                "path": "orders/migrations/max_migration.txt",
                "leaf": "0003_order_note",
                "before": ["0001_initial"],
                "reason": None,
            }
        ],
        "written": [],
    }


def test_lock_refuses_an_app_in_conflict_and_writes_the_others(tmp_path):
    project = project_with(tmp_path / "p")
    project.add_migration("orders", "0003_other", [("orders", "0002_order_total")])
    result = project.migrator("lock")
    assert result.code == 1
    assert result.out.splitlines()[:2] == [
        "orders: refused: it has 2 leaf migrations: 0003_order_note, 0003_other",
        "  hint: resolve the conflict first: `migrator merge orders` or `migrator rebase "
        "orders` (each rewrites the marker file)",
    ]
    assert not marker(project, "orders").exists()
    assert marker(project, "shipping").read_text() == "0001_initial\n"
    assert project.migrator("lock", "notes").out == "notes: refused: it has no migrations\n" + (
        "Did not lock 1 app (notes).\n"
    )
    assert project.migrator("lock", "nosuch").code == 2


@pytest.mark.parametrize(
    ("content", "kind", "dlm_id"),
    [
        (None, "marker-missing", "dlm.E001"),
        ("0002_order_total\n0003_order_note\n", "marker-lines", "dlm.E002"),
        ("0004_gone\n", "marker-dangling", "dlm.E003"),
        ("0002_order_total\n", "marker-stale", "dlm.E004"),
    ],
)
def test_check_reports_the_marker_drift_django_linear_migrations_reports(
    tmp_path, content, kind, dlm_id
):
    project = project_with(tmp_path / "p")
    assert project.migrator("lock").code == 0
    if content is None:
        marker(project, "orders").unlink()
    else:
        marker(project, "orders").write_text(content)
    assert dlm_ids(project) == [(dlm_id, "orders")]
    result = project.migrator("check", "--format", "json")
    assert result.code == 1
    problems = result.json()["problems"]
    assert [(p["kind"], p["app"], p["path"]) for p in problems] == [
        (kind, "orders", "orders/migrations/max_migration.txt")
    ]
    fixed = project.migrator("lock", "orders")
    assert fixed.code == 0, fixed.out + fixed.err
    assert dlm_ids(project) == []
    assert project.migrator("check").code == 0


def test_an_app_uses_marker_files_when_its_file_exists_or_the_project_says_so(tmp_path):
    project = project_with(tmp_path / "p", dlm=False)
    assert project.migrator("check").code == 0  # nobody uses them: nothing is missing
    marker(project, "orders").write_text("0002_order_total\n")
    kinds = [
        (p["kind"], p["app"]) for p in project.migrator("check", "-f", "json").json()["problems"]
    ]
    assert kinds == [("marker-stale", "orders")]
    (project.root / "pyproject.toml").write_text("[tool.migrator]\nmax-migration-files = true\n")
    kinds = [
        (p["kind"], p["app"]) for p in project.migrator("check", "-f", "json").json()["problems"]
    ]
    assert kinds == [("marker-stale", "orders"), ("marker-missing", "shipping")]
    static = project.migrator("check", "--static", "-f", "json").json()["problems"]
    assert [(p["kind"], p["app"]) for p in static] == kinds


def test_system_checks_report_marker_drift_unless_django_linear_migrations_does(tmp_path):
    project = project_with(tmp_path / "p", dlm=False, app=True)
    marker(project, "orders").write_text("0004_gone\n")
    result = project.manage("check")
    assert result.code == 1
    assert re.findall(r"^(\S+): \((migrator\.E\d+)\)", result.err, re.M) == [
        ("orders/migrations/max_migration.txt:1", "migrator.E012")
    ]
    project.apps.insert(0, DLM)
    project.write_settings()
    both = project.manage("check")
    assert "migrator.E0" not in both.err
    assert "(dlm.E003) orders's max_migration.txt points to non-existent" in both.err


# -- after a real git merge -----------------------------------------------------------------


def diverged(root: Path) -> DjangoProject:
    """orders with marker files on two branches that each add a migration: ``git merge
    feature`` stops on max_migration.txt (the migration files merge cleanly)."""
    project = project_with(root)
    init_repo(root)
    assert project.migrator("lock").code == 0
    commit_all(root, "base")
    git(root, "checkout", "-q", "-b", "feature")
    project.add_migration("orders", "0004_order_gift", [("orders", "0003_order_note")])
    assert project.migrator("lock", "orders").code == 0
    commit_all(root, "gift")
    git(root, "checkout", "-q", "main")
    project.add_migration("orders", "0004_order_discount", [("orders", "0003_order_note")])
    assert project.migrator("lock", "orders").code == 0
    commit_all(root, "discount")
    merged = git(root, "merge", "feature", check=False)
    assert (
        merged.returncode == 1
        and f"CONFLICT (content): Merge conflict in orders/migrations/{MARKER}" in merged.stdout
    )
    return project


def test_merge_after_a_git_merge_rewrites_the_marker_and_dlm_passes(tmp_path):
    project = diverged(tmp_path / "p")
    assert "<<<<<<<" in marker(project, "orders").read_text()
    assert dlm_ids(project) == [("dlm.E005", "")]  # a conflict: nothing else is judged
    result = project.migrator("merge", "orders")
    assert result.code == 0, result.out + result.err
    assert result.out.splitlines()[:2] == [
        "orders: wrote orders/migrations/0005_merge_0004_order_discount_0004_order_gift.py, "
        "merging 0004_order_discount, 0004_order_gift",
        "  wrote orders/migrations/max_migration.txt: "
        "0005_merge_0004_order_discount_0004_order_gift",
    ]
    assert (
        marker(project, "orders").read_text() == "0005_merge_0004_order_discount_0004_order_gift\n"
    )
    assert dlm_ids(project) == []
    assert project.migrator("check").code == 0


def test_rebase_after_a_git_merge_rewrites_the_marker_and_dlm_passes(tmp_path):
    project = diverged(tmp_path / "p")
    result = project.migrator("rebase", "orders")
    assert result.code == 0, result.out + result.err
    assert marker(project, "orders").read_text() == "0005_order_gift\n"
    assert dlm_ids(project) == []
    assert project.migrator("check").code == 0


def test_lock_is_all_or_nothing(tmp_path):
    """One marker cannot be written (a read-only folder): the one already written is
    removed, exit 1, one error line, the project byte for byte as before."""
    project = project_with(tmp_path / "p", dlm=False)
    before = project.snapshot()
    folder = project.root / "shipping" / "migrations"
    folder.chmod(0o555)
    try:
        result = run_unprivileged([sys.executable, "-m", "migrator", "lock"], project.root)
    finally:
        folder.chmod(0o755)
    assert result.code == 1, result.out + result.err
    assert result.err.startswith("migrator: error: ")
    assert "Traceback" not in result.err
    assert project.snapshot() == before


def same_field_diverged(project: DjangoProject) -> DjangoProject:
    """tests/test_resolve.py's project (orders: both branches alter Order.qty; customers:
    each adds a field) with django-linear-migrations and a marker file on each branch:
    ``git merge feature`` stops on both marker files."""
    from tests.test_resolve import diverged_repo

    project.apps.append(DLM)
    diverged_repo(project)
    for branch in ("feature", "main"):
        git(project.root, "checkout", "-q", branch)
        assert project.migrator("lock").code == 0
        commit_all(project.root, f"{branch}: lock")
    merged = git(project.root, "merge", "feature", check=False)
    assert merged.returncode == 1
    for app in ("customers", "orders"):
        assert f"Merge conflict in {app}/migrations/{MARKER}" in merged.stdout
    return project


def test_regenerate_after_a_git_merge_names_the_generated_migration_and_dlm_passes(project):
    same_field_diverged(project)
    assert project.migrator("merge", "customers").code == 0
    before = project.snapshot()
    dry = project.migrator("rebase", "orders", "--regenerate", "--dry-run")
    assert dry.code == 0, dry.out + dry.err
    assert project.snapshot() == before
    assert "  then   orders/migrations/max_migration.txt: names the new leaf\n" in dry.out
    assert "+++ b/orders/migrations/0004_alter_order_qty.py\n" in dry.out
    assert "+++ b/orders/migrations/max_migration.txt\n" in dry.out
    assert (
        dry.out.split("+++ b/orders/migrations/max_migration.txt\n")[1]
        .split("Dry run")[0]
        .endswith("+0004_alter_order_qty\n")
    )

    result = project.migrator("rebase", "orders", "--regenerate")

    assert result.code == 0, result.out + result.err
    assert "orders/migrations/max_migration.txt names 0004_alter_order_qty.\n" in result.out
    generated = "0004_alter_order_qty"
    assert project.migration_path("orders", generated).is_file()
    assert marker(project, "orders").read_text() == generated + "\n"
    assert dlm_ids(project) == []
    assert project.migrator("check").code == 0


def test_resolve_after_a_git_merge_rewrites_every_marker_and_dlm_passes(project):
    """resolve merges customers and regenerates orders: both markers name the new leaves,
    in the one write."""
    same_field_diverged(project)

    result = project.migrator("resolve", "--yes")

    assert result.code == 0, result.out + result.err
    assert marker(project, "customers").read_text() == "0003_merge_0002_phone_0002_tier\n"
    assert marker(project, "orders").read_text() == "0004_alter_order_qty\n"
    assert dlm_ids(project) == []
    assert project.migrator("check").code == 0


def test_a_regenerate_that_fails_verification_puts_the_marker_back(project):
    """The marker is edited in the makemigrations step; a failed check afterwards (here
    makemigrations --check, which a model change made after the plan breaks) restores it
    with everything else."""
    same_field_diverged(project)
    assert project.migrator("merge", "customers").code == 0
    models = project.root / "orders" / "models.py"
    models.write_text(
        models.read_text()
        + '\nimport sys\nif "--check" in sys.argv:\n    Order.add_to_class("late", '
        "models.IntegerField(default=0))\n"
    )
    before = project.snapshot()

    result = project.migrator("rebase", "orders", "--regenerate")

    assert result.code == 1, result.out + result.err
    assert "`makemigrations --check orders` failed" in result.err
    assert "restored the bytes of 1 edited file" in result.err
    after = project.snapshot()
    after.pop("db.sqlite3", None)  # the check's Django opened the (empty) database
    assert after == before
    assert "<<<<<<<" in marker(project, "orders").read_text()
