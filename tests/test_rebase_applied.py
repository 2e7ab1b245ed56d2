"""``migrator rebase --database ALIAS --update-applied``: the rows of ``django_migrations``
move with the files, all or nothing, on real SQLite files and real PostgreSQL databases,
after real git merges; Django (``showmigrations``, ``migrate``, its recorder) judges."""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import forkserver
from tests.djproject import DjangoProject, run, run_unprivileged
from tests.gitrepo import commit_all, git, init_repo
from tests.test_interrupts import files, kill_group, migrator, start, wait_for_plan
from tests.test_rebase import base, kept_side, moving_side
from tests.test_security import plant

UPDATE = ["rebase", "orders", "--database", "default", "--update-applied"]


def rows(project: DjangoProject, app: str = "orders") -> list[str]:
    """The app's rows in django_migrations, as Django's recorder reads them."""
    result = project.django(
        "from django.db import connection\n"
        "from django.db.migrations.recorder import MigrationRecorder\n"
        "print(json.dumps(sorted(n for a, n in MigrationRecorder(connection)"
        f".applied_migrations() if a == {app!r})))"
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def pending(project: DjangoProject) -> list[str]:
    """What ``migrate`` would apply now: Django's executor plan to every leaf."""
    result = project.django(
        "from django.db import connection\n"
        "from django.db.migrations.executor import MigrationExecutor\n"
        "executor = MigrationExecutor(connection)\n"
        "plan = executor.migration_plan(executor.loader.graph.leaf_nodes())\n"
        "print(json.dumps(sorted(f'{m.app_label}.{m.name}' for m, _ in plan)))"
    )
    assert result.code == 0, result.err
    return json.loads(result.out)


def migrate(project: DjangoProject, *args: str) -> None:
    result = project.manage("migrate", *args, "--noinput")
    assert result.code == 0, result.err


def developer_database(project: DjangoProject) -> DjangoProject:
    """A developer's database that applied main's 0003_x, then (on feature) 0003_a and
    0004_b; then main merges feature:

    orders: 0001 - 0002_base - 0003_x                       main, applied
                            \\- 0003_a - 0004_b - 0005_c     feature, applied up to 0004_b
    """
    base(project)
    (project.root / ".gitignore").write_text("db.sqlite3\n")
    init_repo(project.root)
    commit_all(project.root, "base")
    git(project.root, "checkout", "-q", "-b", "feature")
    moving_side(project)
    commit_all(project.root, "feature: a, b, c")
    git(project.root, "checkout", "-q", "main")
    kept_side(project)
    commit_all(project.root, "main: x")
    migrate(project)
    git(project.root, "checkout", "-q", "feature")
    migrate(project, "orders", "0004_b")
    git(project.root, "checkout", "-q", "main")
    git(project.root, "merge", "-q", "--no-edit", "feature")
    return project


def test_the_rows_step_and_its_check_never_run_the_projects_own_migrator(db_project, tmp_path):
    """The row renames and the fresh read of the database are migrator processes too:
    like the graph check, they start isolated, so a project's migrator.py, typer.py (and
    the rest of tests/test_security.py's layout) never runs."""
    project = developer_database(db_project)
    marker = tmp_path / "hostile-code-ran"
    plant(project, "modules", marker)
    # as the installed script runs: its own folder first, never the project's (-P)
    # a real interpreter: what a fork of the test server starts has migrator's imported
    result = run([sys.executable, "-P", "-m", "migrator", *UPDATE], project.root, fork=False)
    assert result.code == 0, result.err
    assert "Database 'default': renamed 2 applied rows" in result.out
    assert not marker.exists(), marker.read_text()
    assert rows(project) == ["0001_initial", "0002_base", "0003_x", "0004_a", "0005_b"]


def test_applied_rows_move_with_the_files_and_migrate_applies_only_what_is_new(db_project):
    project = developer_database(db_project)
    assert rows(project) == ["0001_initial", "0002_base", "0003_a", "0003_x", "0004_b"]

    result = project.migrator(*UPDATE)

    assert result.code == 0, result.err
    assert result.err == ""
    assert result.out.startswith("orders: keeping 0003_x (on the mainline (HEAD^1)); moving 0005_c")
    assert "  row    database 'default': orders.0003_a -> orders.0004_a\n" in result.out
    assert "  row    database 'default': orders.0004_b -> orders.0005_b\n" in result.out
    assert result.out.endswith(
        "Database 'default': renamed 2 applied rows; a fresh process sees them applied under "
        "their new names, no row left without a file.\n"
    )
    assert rows(project) == ["0001_initial", "0002_base", "0003_x", "0004_a", "0005_b"]
    shown = project.manage("showmigrations", "orders")
    assert shown.code == 0, shown.err
    assert [line.strip() for line in shown.out.splitlines()[1:]] == [
        "[X] 0001_initial",
        "[X] 0002_base",
        "[X] 0003_x",
        "[X] 0004_a",
        "[X] 0005_b",
        "[ ] 0006_c",
    ]
    # only what this database never applied: the old rows are not run again
    assert pending(project) == ["audit.0001_initial", "orders.0006_c", "shipping.0001_initial"]
    migrate(project)
    assert project.migrator("check", "--database", "default").code == 0
    assert project.manage("makemigrations", "--check", "--dry-run").code == 0
    # and from an empty database (a SQLite twin)
    twin = project.twin(project.root.parent / "empty")
    twin.settings_extra = ""
    twin.write_settings()
    migrate(twin)
    assert rows(twin)[-1] == "0006_c"


def test_without_update_applied_the_refusal_names_the_option(db_project):
    project = developer_database(db_project)
    before = project.snapshot()

    result = project.migrator("rebase", "orders")

    assert result.code == 1
    assert result.err.splitlines() == [
        "migrator: error: database 'default' has applied orders.0003_a, orders.0004_b; "
        "renamed, they would look unapplied and `migrate` would run them again",
        "  hint: rename their rows too (`migrator rebase orders --database default "
        "--update-applied`), merge instead (`migrator merge orders`), or rebase with --force "
        "and fix the django_migrations rows by hand",
    ]
    assert project.snapshot() == before


def test_a_new_position_that_breaks_the_history_is_refused_naming_the_database(db_project):
    """The database applied feature's 0003_a but never main's 0003_x: after the rebase
    0004_a would be applied before its new parent 0003_x, which is not."""
    project = db_project
    base(project)
    moving_side(project)
    migrate(project, "orders", "0003_a")
    kept_side(project)
    before = project.snapshot()

    result = project.migrator(*UPDATE, "--keep", "0003_x")

    assert result.code == 1
    assert result.out == ""
    assert result.err.splitlines() == [
        "migrator: error: database 'default': after the rebase orders.0004_a (was 0003_a) "
        "would be applied there before orders.0003_x, which is not: an inconsistent history "
        "`migrate` refuses",
        "  hint: keep the branch that database applied instead (`migrator rebase orders "
        "--keep 0005_c`), or merge (`migrator merge orders`)",
    ]
    assert project.snapshot() == before
    assert rows(project) == ["0001_initial", "0002_base", "0003_a"]
    # the hint works
    kept = project.migrator(*UPDATE, "--keep", "0005_c")
    assert kept.code == 0, kept.err
    assert rows(project) == ["0001_initial", "0002_base", "0003_a"]  # nothing applied moved
    migrate(project)


def test_update_applied_needs_a_named_database(project):
    base(project)
    kept_side(project)
    moving_side(project)

    result = project.migrator("rebase", "orders", "--keep", "0003_x", "--update-applied")

    assert result.code == 2
    assert result.err.startswith("migrator: error: --update-applied needs --database ALIAS")


def applied_both(project: DjangoProject) -> DjangoProject:
    """Without git: the database applied 0003_x, and the other branch up to 0004_b."""
    base(project)
    kept_side(project)
    migrate(project)
    kept = project.migration_path("orders", "0003_x")
    source = kept.read_text()
    kept.unlink()
    moving_side(project)
    migrate(project, "orders", "0004_b")
    kept.write_text(source)
    return project


def test_a_failed_verification_puts_the_rows_back_too(project):
    """A name in a variable is a reference rebase cannot see: the fresh check fails after
    the rows were renamed; files and rows both come back."""
    applied_both(project)
    project.add_migration(
        "shipping",
        "0002_dynamic",
        source="from django.db import migrations\n\nNAME = '0004_b'\n\n\n"
        "class Migration(migrations.Migration):\n"
        "    dependencies = [('shipping', '0001_initial'), ('orders', NAME)]\n"
        "    operations = []\n",
    )
    before, applied = project.snapshot(), rows(project)

    result = project.migrator(*UPDATE, "--keep", "0003_x")

    assert result.code == 1
    assert "verification failed" in result.err
    assert "put back the applied rows on database 'default'" in result.err
    assert project.snapshot() == {**before, "db.sqlite3": project.snapshot()["db.sqlite3"]}
    assert rows(project) == applied


def test_a_database_that_cannot_be_written_puts_the_files_back(project):
    """The rows' transaction fails (a read-only SQLite file): every file is restored."""
    applied_both(project)
    database = project.root / "db.sqlite3"
    before, applied = project.snapshot(), rows(project)
    os.chmod(database, 0o444)

    result = run_unprivileged(
        [sys.executable, "-m", "migrator", *UPDATE, "--keep", "0003_x"], project.root
    )

    assert result.code == 1
    assert result.err.startswith(
        "migrator: error: cannot update the applied rows on database 'default': "
        "OperationalError: attempt to write a readonly database; renamed 3 files back and "
        "restored the bytes of 5 edited files\n"
    ), result.err
    assert project.snapshot() == before
    os.chmod(database, 0o644)
    assert rows(project) == applied


@pytest.mark.waits
def test_sigkill_at_random_points_then_recover_keeps_files_and_rows_together(tmp_path):
    """8 runs SIGKILLed (with the row-renaming process they started) at random points of
    the write; after ``migrator recover`` the files and the rows are both as before, or
    both as after: never renamed files with old rows, or the reverse."""
    pristine = applied_both(DjangoProject(tmp_path / "pristine"))
    done = tmp_path / "done"
    shutil.copytree(pristine.root, done)
    args = [*UPDATE, "--keep", "0003_x"]
    proc = start(done, args)
    wait_for_plan(proc)
    began = time.monotonic()
    out, err = proc.communicate(timeout=600)
    duration = time.monotonic() - began
    assert proc.returncode == 0, err
    before = (files(pristine.root), rows(pristine))
    after = (files(done), rows(DjangoProject.open(done)))
    assert before[1] != after[1]
    rng = random.Random(20)
    seen = set()
    for attempt in range(8):
        root = tmp_path / "p"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(pristine.root, root)
        proc = start(root, args)
        wait_for_plan(proc)
        time.sleep(rng.uniform(0, duration))
        kill_group(proc)
        recovered = migrator(root, "recover")
        assert recovered.returncode == 0, (attempt, recovered.stderr)
        state = (files(root), rows(DjangoProject.open(root)))
        assert state in (before, after), (attempt, recovered.stdout)
        seen.add("before" if state == before else "after")
        if "put back the applied rows" in recovered.stdout:
            seen.add("rows put back")
    # the points did land after the rows were renamed: some rollbacks put them back
    assert {"before", "rows put back"} <= seen, seen


@pytest.mark.waits
def test_recover_puts_the_rows_back_after_a_kill_before_verification(tmp_path):
    """Killed once the rows were renamed (the journal holds the rows step): the next
    ``migrator recover`` renames them back and restores the files. The run waits two
    seconds before it verifies, long enough for the kill to land however busy the machine."""
    project = applied_both(DjangoProject(tmp_path / "p"))
    before = (files(project.root), rows(project))
    journal = project.root / ".migrator-journal"
    proc = start(project.root, [*UPDATE, "--keep", "0003_x"], slow="0.2", hold="verify=2")
    wait_for_plan(proc)
    while True:  # wait for the rows step to be recorded and run
        steps = [json.loads(p.read_text()) for p in sorted(journal.glob("0*.json"))]
        if any(s["kind"] == "command" for s in steps) and rows(project) != before[1]:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    kill_group(proc)
    assert rows(project) != before[1]

    recovered = migrator(project.root, "recover")

    assert recovered.returncode == 0, recovered.stderr
    assert "put back the applied rows on database 'default'" in recovered.stdout
    assert (files(project.root), rows(project)) == before
    assert not journal.exists()


def test_the_hidden_rows_command_is_idempotent(tmp_path):
    project = applied_both(DjangoProject(tmp_path / "p"))
    command = ["rename-applied-rows", "--", "orders.0003_a=orders.0009_a"]
    first = project.migrator(*command)
    again = project.migrator(*command)
    assert (first.code, first.out, again.code, again.out) == (0, "1\n", 0, "0\n")
    assert "0009_a" in rows(project)


def test_unknown_database_alias_is_a_usage_error(project):
    base(project)
    kept_side(project)
    moving_side(project)

    result = project.migrator(*UPDATE[:2], "--keep", "0003_x", "--database", "other")

    assert result.code == 2
    assert "unknown database alias 'other'" in result.err


def rows_child(proc: subprocess.Popen | forkserver.Run) -> int | None:
    """The pid of the ``rename-applied-rows`` process ``proc`` started, while it runs."""
    if isinstance(proc, forkserver.Run):
        started = proc.programs()
    else:
        started = []
        try:  # the run may end while we look
            tasks = os.listdir(f"/proc/{proc.pid}/task")
        except OSError:
            tasks = []
        for task in tasks:
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{proc.pid}/task/{task}/children").read_text().split()
                for child in children:
                    with contextlib.suppress(OSError):
                        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                        started.append((int(child), os.fsdecode(cmdline).split("\0")))
    for pid, argv in started:
        if "rename-applied-rows" in argv and Path(f"/proc/{pid}").exists():
            return pid
    return None


@pytest.mark.waits
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("target", ["migrator", "group"])
def test_a_signal_during_the_rows_step_puts_files_and_rows_back(tmp_path, signum, target):
    """SIGTERM or SIGINT while the rows of django_migrations are being renamed, sent to
    migrator alone (``timeout``, ``kill``) or to its whole process group, the row-renaming
    process included (Ctrl-C on a terminal): the run exits 130 with files and rows both
    as before, and leaves nothing to recover. The rows process holds its transaction
    open a second before it commits, long enough to be seen running however busy the
    machine (it is over in a blink otherwise, and a run once ended unseen)."""
    project = applied_both(DjangoProject(tmp_path / "p"))
    before = (files(project.root), rows(project))
    args = [*UPDATE, "--keep", "0003_x"]
    proc = start(project.root, args, slow="0.2", hold="rows=1")
    wait_for_plan(proc)
    while (child := rows_child(proc)) is None:  # the rows step is running
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.005)
    if target == "group":
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    out, err = proc.communicate(timeout=600)

    assert proc.returncode == 130, (out, err)
    assert f"migrator: interrupted ({signal.Signals(signum).name})\n" in err
    assert "Traceback" not in err
    assert "and put back the applied rows on database 'default'\n" in err
    assert (files(project.root), rows(project)) == before
    assert not Path(f"/proc/{child}").exists()
    recovered = migrator(project.root, "recover")
    assert (recovered.returncode, recovered.stdout) == (0, "Nothing to recover.\n")
