"""The bytecode head start: the helper writes what ``import`` would, for the files the
loader imports, and never outlives the command.

The rest of the suite runs the CLI with ``PYTHONDONTWRITEBYTECODE=1`` (files are
rewritten within the same second there), which also switches the helper off; these
tests run it for real.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from migrator.settings import ProjectOptions
from migrator.static import bytecode
from tests.djproject import DjangoProject, clean_env, run, run_unprivileged


def writing_env() -> dict[str, str]:
    env = clean_env()
    env.pop("PYTHONDONTWRITEBYTECODE")
    return env


def long_chain(tmp_path: Path, length: int, apps: tuple[str, ...] = ("shop",)) -> DjangoProject:
    project = DjangoProject(tmp_path / "proj", list(apps))
    for app in apps:
        project.chain(app, [f"{i:04d}_step" for i in range(1, length + 1)])
    return project


def pyc_files(project: DjangoProject) -> list[Path]:
    return sorted(project.root.rglob("__pycache__/*.pyc"))


def leftovers(project: DjangoProject) -> list[Path]:
    """Temporary files of an interrupted bytecode write (``x.pyc.<number>``)."""
    return sorted(p for p in project.root.rglob("__pycache__/*") if p.suffix != ".pyc")


@pytest.fixture
def may_write_bytecode(monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def in_a_fresh_process(body, *args) -> None:
    """Run ``body(*args)`` (its asserts included) in a new interpreter that may write
    bytecode. The helper is forked from the command's single-threaded process; a
    pytest-xdist worker has a thread talking to the controller, and a fork there is
    not the fork the CLI makes (Python 3.12+ warns that the child may deadlock)."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        pool.submit(body, *args).result()


def test_files_are_the_local_migration_modules_django_imports(tmp_path):
    """Apps in INSTALLED_APPS order, names sorted; contrib apps (site-packages) left out;
    MIGRATION_MODULES followed; ``_private`` and ``~backup`` modules skipped, as Django
    skips them."""
    project = DjangoProject(tmp_path / "proj", contrib=True)
    project.add_app("orders")
    project.add_app("billing", migrations=False)
    (project.root / "billing" / "schema").mkdir()
    (project.root / "billing" / "schema" / "__init__.py").write_text("")
    project.settings_extra = 'MIGRATION_MODULES = {"billing": "billing.schema"}'
    project.write_settings()
    project.chain("orders", ["0001_initial", "0002_total"])
    (project.root / "orders" / "migrations" / "_helpers.py").write_text("")
    (project.root / "billing" / "schema" / "0001_initial.py").write_text(
        project.migration_path("orders", "0001_initial").read_text()
    )

    found = bytecode.local_migration_files(ProjectOptions(cwd=project.root))

    loaded = project.django(
        """
        from django.db.migrations.loader import MigrationLoader
        loader = MigrationLoader(None, ignore_no_migrations=True)
        files = set()
        for migration in loader.disk_migrations.values():
            module = sys.modules[type(migration).__module__]
            files.add(module.__file__)
            files.add(sys.modules[module.__package__].__file__)
        print(json.dumps(sorted(files)))
        """
    )
    assert loaded.code == 0, loaded.err
    local = {f for f in loaded.json() if f.startswith(str(project.root))}
    assert {str(f) for f in found} == local
    orders = project.root / "orders" / "migrations"
    billing = project.root / "billing" / "schema"
    assert found == [
        orders / "__init__.py",
        orders / "0001_initial.py",
        orders / "0002_total.py",
        billing / "__init__.py",
        billing / "0001_initial.py",
    ]


def test_import_takes_the_written_bytecode_as_it_is(tmp_path):
    """``python -v`` says where each module's code came from: after compile_file, the
    import system loads every migration from its cache and writes nothing."""
    project = long_chain(tmp_path, 5)
    files = bytecode.local_migration_files(ProjectOptions(cwd=project.root))
    assert all(bytecode.compile_file(f) for f in files)
    assert all(bytecode.is_compiled(f) for f in files)
    written = {p: p.read_bytes() for p in pyc_files(project)}

    script = (
        "import importlib, sys\n"
        f"sys.path.insert(0, {str(project.root)!r})\n"
        "for i in range(1, 6):\n"
        "    importlib.import_module(f'shop.migrations.{i:04d}_step')\n"
    )
    result = run([sys.executable, "-v", "-c", script], project.root, writing_env())

    assert result.code == 0, result.err
    for source in files:
        cached = Path(bytecode.importlib.util.cache_from_source(str(source)))
        assert f"code object from '{cached}'" in result.err
    migrations = str(project.root / "shop" / "migrations")
    assert f"# created '{migrations}" not in result.err
    assert {p: p.read_bytes() for p in written} == written  # not rewritten


def test_stale_bytecode_is_not_taken_for_compiled(tmp_path):
    project = long_chain(tmp_path, 1)
    source = project.migration_path("shop", "0001_step")
    assert not bytecode.is_compiled(source)
    bytecode.compile_file(source)
    assert bytecode.is_compiled(source)
    source.write_text(source.read_text() + "\n# changed\n")  # another size
    assert not bytecode.is_compiled(source)


def test_helper_compiles_the_project_while_the_body_runs(tmp_path):
    in_a_fresh_process(_helper_compiles_the_project_while_the_body_runs, tmp_path)


def _helper_compiles_the_project_while_the_body_runs(tmp_path):
    sys.dont_write_bytecode = False
    project = long_chain(tmp_path, 60, apps=("shop", "stock"))
    files = bytecode.local_migration_files(ProjectOptions(cwd=project.root))
    assert len(files) == 122

    with bytecode.compiling_ahead(ProjectOptions(cwd=project.root)) as pid:
        assert pid is not None
        deadline = time.monotonic() + 60
        while not all(bytecode.is_compiled(f) for f in files):
            assert time.monotonic() < deadline, "the helper compiled nothing in a minute"
            time.sleep(0.05)

    with pytest.raises(ChildProcessError):  # reaped: no zombie, no orphan
        os.waitpid(pid, os.WNOHANG)
    assert leftovers(project) == []


def test_helper_is_stopped_when_the_body_ends(tmp_path):
    """Stopped between two files: whatever it wrote is whole, and no temporary file of a
    half-done write is left."""
    in_a_fresh_process(_helper_is_stopped_when_the_body_ends, tmp_path)


def _helper_is_stopped_when_the_body_ends(tmp_path):
    sys.dont_write_bytecode = False
    project = long_chain(tmp_path, 800)
    files = bytecode.local_migration_files(ProjectOptions(cwd=project.root))

    with bytecode.compiling_ahead(ProjectOptions(cwd=project.root)) as pid:
        assert pid is not None
        time.sleep(0.05)
    written = {p: p.stat().st_mtime_ns for p in pyc_files(project)}
    time.sleep(0.3)

    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    assert {p: p.stat().st_mtime_ns for p in pyc_files(project)} == written  # nothing after
    compiled = [f for f in files if bytecode.is_compiled(f)]
    assert len(written) == len(compiled)  # everything written is whole and valid
    assert leftovers(project) == []


@pytest.mark.parametrize("how", ["PYTHONDONTWRITEBYTECODE", "MIGRATOR_COMPILE_AHEAD=off"])
def test_no_helper_when_switched_off(tmp_path, monkeypatch, how):
    if how == "PYTHONDONTWRITEBYTECODE":
        monkeypatch.setattr(sys, "dont_write_bytecode", True)
    else:
        monkeypatch.setattr(sys, "dont_write_bytecode", False)
        monkeypatch.setenv("MIGRATOR_COMPILE_AHEAD", "off")
    project = long_chain(tmp_path, 20)
    with bytecode.compiling_ahead(ProjectOptions(cwd=project.root)) as pid:
        time.sleep(0.2)
    assert pid is None
    assert pyc_files(project) == []


def test_no_helper_when_fork_fails(tmp_path, may_write_bytecode, monkeypatch):
    """The process may not start another (a container's pids limit gives EAGAIN; root
    is exempt from RLIMIT_NPROC, so the failure is injected): the command goes on
    without a head start."""

    def no_more_processes():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_more_processes)
    project = long_chain(tmp_path, 5)
    with bytecode.compiling_ahead(ProjectOptions(cwd=project.root)) as pid:
        assert pid is None
    assert pyc_files(project) == []


def test_cli_answers_the_same_with_and_without_the_helper(tmp_path):
    """The real CLI with bytecode writing on (the helper runs) and off: the same output,
    also for a migration with a syntax error, which the helper leaves to the import."""
    project = long_chain(tmp_path, 150, apps=("shop", "stock"))
    project.add_migration("stock", "0151_extra", [("stock", "0150_step")])
    project.add_migration("stock", "0151_other", [("stock", "0150_step")])
    project.add_migration("shop", "0151_broken", source="class Migration(:\n")

    without = project.migrator("check", "--format", "json")
    with_helper = project.migrator("check", "--format", "json", env=writing_env())
    again = project.migrator("check", "--format", "json", env=writing_env())

    assert without.code == 1
    assert (with_helper.code, with_helper.out, with_helper.err) == (
        without.code,
        without.out,
        without.err,
    )
    assert (again.code, again.out, again.err) == (without.code, without.out, without.err)
    report = without.json()
    assert [c["app"] for c in report["conflicts"]] == ["stock"]
    assert [p["kind"] for p in report["problems"]] == ["syntax-error"]
    files = bytecode.local_migration_files(ProjectOptions(cwd=project.root))
    assert [f.name for f in files if not bytecode.is_compiled(f)] == ["0151_broken.py"]
    assert leftovers(project) == []


def test_read_only_migration_folders_are_left_alone(tmp_path):
    """The project's folders are read-only (tests run as root, so without the
    capabilities that ignore permission bits): the helper writes nothing there and the
    answer is the same."""
    project = long_chain(tmp_path, 100, apps=("shop", "stock"))
    without = project.migrator("check", "--format", "json")
    folders = [project.root / app / "migrations" for app in ("shop", "stock")]
    for folder in folders:
        folder.chmod(0o555)
    try:
        result = run_unprivileged(
            [sys.executable, "-m", "migrator", "check", "--format", "json"],
            project.root,
            writing_env(),
        )
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert (result.code, result.out, result.err) == (without.code, without.out, without.err)
    assert not any((folder / "__pycache__").exists() for folder in folders)
