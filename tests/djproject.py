"""Real throwaway Django projects for tests, and ways to run migrator and Django on them.

Django's settings are process-global, so both migrator and Django always run in a
subprocess with the project folder as the current directory.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import pty
import re
import resource
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import migrator
from tests import forkserver

SAMPLE_APPS = Path(__file__).resolve().parent.parent / "sample_apps"
NOT_COPIED = shutil.ignore_patterns("__pycache__", "db.sqlite3")
#: PYTHONPATH for a child that runs migrator or the tests' own modules: first the folder
#: migrator is imported from (the checkout, or site-packages when the suite runs against
#: the installed wheel, `make test-wheel`), so both runs test the code they mean to; then
#: the checkout, for the ``tests`` package.
MIGRATOR_PYTHONPATH = os.pathsep.join(
    dict.fromkeys([str(Path(migrator.__file__).resolve().parent.parent), str(SAMPLE_APPS.parent)])
)

SETTINGS = """\
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "tests"
DEBUG = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = {apps!r}
DATABASES = {{
    "default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
}}
{extra}
"""

MANAGE_PY = """\
#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

MIGRATION = """\
from django.db import migrations, models


class Migration(migrations.Migration):
{attributes}
    dependencies = {dependencies}

    operations = [
{operations}
    ]
"""


@dataclass
class Result:
    """A finished subprocess: exit code, stdout and stderr kept apart."""

    code: int
    out: str
    err: str
    #: CPU seconds of the process and of those it started (``RUSAGE_CHILDREN``'s count;
    #: forked: the server's, :meth:`tests.forkserver.ForkServer.run`), where measured
    cpu: float | None = field(default=None, compare=False, repr=False)

    def json(self):
        return json.loads(self.out)


def clean_env(**extra: str) -> dict[str, str]:
    # FORCE_COLOR (some CI runners set it) would colour the output the tests compare
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "FORCE_COLOR")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # files are rewritten fast: no stale .pyc
    env.update(extra)
    return env


def run(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    input: str | None = None,
    *,
    file_size: int | None = None,
    unprivileged: bool = False,
    fork: bool = True,
) -> Result:
    """``args`` in ``cwd``, as ``subprocess.run`` runs them. A Python program on our
    interpreter is forked from :mod:`tests.forkserver` (the same process, without the
    start-up) unless ``fork`` is false or the run needs what only a new interpreter
    gives. ``file_size``: the largest file the run (and what it starts) may write
    (``RLIMIT_FSIZE``: a write past it fails with EFBIG, as on a full disk);
    ``unprivileged``: run as root, a read-only folder is read-only to it
    (:func:`tests.forkserver.drop_permission_overrides`)."""
    env = env or clean_env()
    unprivileged = unprivileged and os.geteuid() == 0
    process: dict = {}
    if file_size is not None:
        process["file_size"] = [file_size, resource.getrlimit(resource.RLIMIT_FSIZE)[1]]
    if unprivileged:
        process["overrides_dropped"] = True
    program = forkserver.python_program(args)
    if fork and program is not None and input is None:
        kind, target, program_args, flags = program
        server = forkserver.server_for(env) if "-I" not in flags else None
        if server is not None:
            code, out, err, cpu = server.run(
                kind, target, program_args, str(cwd), env, 600, flags, process=process
            )
            assert isinstance(out, str) and isinstance(err, str)
            return Result(code, out, err, cpu)

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        args,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        input=input,
        timeout=600,
        preexec_fn=functools.partial(forkserver.take_inherited, process) if process else None,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum((after.ru_utime, after.ru_stime, -before.ru_utime, -before.ru_stime))
    return Result(proc.returncode, proc.stdout, proc.stderr, cpu)


def start_with(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    stdin: int | None = None,
    stdout: int | None = None,
    fork: bool = True,
) -> subprocess.Popen | forkserver.Run:
    """``args`` started in ``cwd`` with ``stdin`` and ``stdout`` (file descriptors)
    instead of ours and a pipe; standard error is a pipe. Forked from
    :mod:`tests.forkserver` as :func:`run` forks, or (``fork`` false, or what only a new
    interpreter can run) a real interpreter."""
    server = forkserver.server_for(env) if fork else None
    started = (
        None
        if server is None
        else server.start(args, str(cwd), env, session=False, stdin=stdin, stdout=stdout)
    )
    return started or subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_to(args: list[str], cwd: Path, stdout: int, env: dict[str, str] | None = None) -> Result:
    """``args`` in ``cwd`` with ``stdout`` (a file descriptor: ``/dev/full``, a pipe
    nobody reads) as its standard output, as a shell's redirection gives it; standard
    error is a pipe, read back (:func:`start_with`)."""
    proc = start_with(args, cwd, env or clean_env(), stdout=stdout)
    _, err = proc.communicate(timeout=600)
    return Result(proc.returncode, "", err)


def on_terminal(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    *,
    typed: bytes | None = None,
    fork: bool = True,
) -> Result:
    """``args`` in ``cwd`` with a real pseudo-terminal: its standard output (what the
    terminal shows, its line discipline's ``\r\n`` read back as ``\n``), or, when
    ``typed`` is given, its standard input, ``typed`` being what is typed at it (standard
    output then a pipe). Standard error is a pipe. Started as :func:`start_with` starts it."""
    env = env or clean_env()
    primary, secondary = pty.openpty()
    stdin, stdout = (secondary, None) if typed is not None else (None, secondary)
    try:
        proc = start_with(args, cwd, env, stdin=stdin, stdout=stdout, fork=fork)
        os.close(secondary)
        secondary = -1
        if typed is not None:
            os.write(primary, typed)
            out, err = proc.communicate(timeout=600)
            return Result(proc.returncode, out, err)
        shown = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other side was closed
                break
            if not chunk:
                break
            shown.append(chunk)
        assert proc.stderr is not None
        err = proc.stderr.read()
        proc.stderr.close()
        code = proc.wait(timeout=600)
    finally:
        os.close(primary)
        if secondary >= 0:
            os.close(secondary)
    return Result(code, b"".join(shown).decode(errors="replace").replace("\r\n", "\n"), err)


class DjangoProject:
    """A Django project on disk: ``manage.py``, a settings package and apps."""

    def __init__(
        self,
        root: Path,
        apps: list[str] | None = None,
        *,
        contrib: bool = False,
        settings_extra: str = "",
    ) -> None:
        self.root = root
        self.settings_module = "project.settings"
        self.contrib = contrib
        self.settings_extra = settings_extra
        self.apps: list[str] = []
        root.mkdir(parents=True, exist_ok=True)
        (root / "manage.py").write_text(MANAGE_PY.format(settings=self.settings_module))
        (root / "project").mkdir(exist_ok=True)
        (root / "project" / "__init__.py").write_text("")
        for label in apps or []:
            self.add_app(label)
        self.write_settings()

    @classmethod
    def open(cls, root: Path, settings_module: str | None = None) -> DjangoProject:
        """A project already on disk (a copy of ``sample_apps/``, a generated one), its
        settings module read from its ``manage.py`` unless given. Its settings are its own:
        don't add apps to it."""
        project = cls.__new__(cls)
        if settings_module is None:
            manage_py = (root / "manage.py").read_text()
            found = re.search(r"""["']DJANGO_SETTINGS_MODULE["'], ["']([^"']+)""", manage_py)
            assert found, f"no settings module in {root / 'manage.py'}"
            settings_module = found.group(1)
        project.root = root
        project.settings_module = settings_module
        project.contrib = False
        project.settings_extra = ""
        project.apps = []
        return project

    def twin(self, root: Path) -> DjangoProject:
        """The same project, byte for byte, in ``root`` (without its SQLite database and
        caches): run migrator on this one and Django's own command on the twin, then
        compare what each wrote or says."""
        shutil.copytree(self.root, root, ignore=NOT_COPIED)
        twin = copy.copy(self)
        twin.root = root
        twin.apps = list(self.apps)
        return twin

    def write_settings(self) -> None:
        installed = (
            ["django.contrib.contenttypes", "django.contrib.auth"] if self.contrib else []
        ) + self.apps
        (self.root / "project" / "settings.py").write_text(
            SETTINGS.format(apps=installed, extra=self.settings_extra)
        )

    def add_app(self, label: str, *, migrations: bool = True, models: str = "") -> Path:
        folder = self.root / label
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").write_text("")
        (folder / "models.py").write_text("from django.db import models\n" + models)
        if migrations:
            (folder / "migrations").mkdir(exist_ok=True)
            (folder / "migrations" / "__init__.py").write_text("")
        if label not in self.apps:
            self.apps.append(label)
            self.write_settings()
        return folder

    def migration_path(self, app: str, name: str) -> Path:
        return self.root / app / "migrations" / f"{name}.py"

    def add_migration(
        self,
        app: str,
        name: str,
        dependencies: list[tuple[str, str]] | None = None,
        *,
        operations: str | list[str] = "",
        replaces: list[tuple[str, str]] | None = None,
        run_before: list[tuple[str, str]] | None = None,
        initial: bool | None = None,
        atomic: bool | None = None,
        source: str | None = None,
    ) -> Path:
        """Write a migration file like makemigrations would (or ``source`` as it is)."""
        if app not in self.apps:
            self.add_app(app)
        path = self.migration_path(app, name)
        if source is None:
            attributes = ""
            if initial is not None:
                attributes += f"    initial = {initial!r}\n\n"
            if atomic is not None:
                attributes += f"    atomic = {atomic!r}\n\n"
            if replaces:
                attributes += f"    replaces = {[tuple(r) for r in replaces]!r}\n\n"
            if run_before:
                attributes += f"    run_before = {[tuple(r) for r in run_before]!r}\n\n"
            if isinstance(operations, list):
                operations = "\n".join(f"{op}," for op in operations)
            source = MIGRATION.format(
                attributes=attributes,
                dependencies=repr([tuple(d) for d in dependencies or []]),
                operations=textwrap.indent(textwrap.dedent(operations).strip(), " " * 8),
            )
        path.write_text(source)
        return path

    def chain(self, app: str, names: list[str], start: tuple[str, str] | None = None) -> None:
        """A linear chain of empty migrations, the first depending on ``start``."""
        previous = start
        for name in names:
            self.add_migration(app, name, [previous] if previous else [])
            previous = (app, name)

    # -- running things ------------------------------------------------------------

    def migrator(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """The real CLI (``python -m migrator``) in the project folder."""
        return run([sys.executable, "-m", "migrator", *args], self.root, env)

    def manage(self, *args: str) -> Result:
        return run([sys.executable, "manage.py", *args], self.root)

    def django(self, code: str) -> Result:
        """Run Python code with Django set up on this project's settings."""
        script = (
            "import django, json, sys\n"
            f"sys.path.insert(0, {str(self.root)!r})\n"
            "django.setup()\n" + textwrap.dedent(code)
        )
        return run(
            [sys.executable, "-c", script],
            self.root,
            clean_env(DJANGO_SETTINGS_MODULE=self.settings_module),
        )

    def django_conflicts(self) -> dict[str, list[str]]:
        """Django's own verdict: ``MigrationLoader.detect_conflicts()`` as makemigrations
        builds it."""
        result = self.django(
            """
            from django.db.migrations.loader import MigrationLoader
            loader = MigrationLoader(None, ignore_no_migrations=True)
            print(json.dumps({k: sorted(v) for k, v in loader.detect_conflicts().items()}))
            """
        )
        assert result.code == 0, result.err
        return dict(sorted(json.loads(result.out).items()))

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the project (to assert nothing was written)."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }


GENERATED_ON = re.compile(r"(Generated by Django \S+ on )\d{4}-\d\d-\d\d \d\d:\d\d")


def undated(text: str) -> str:
    """``text`` without the minute Django's writer dates each migration with: two runs a
    moment apart may straddle a minute and differ only there."""
    return GENERATED_ON.sub(r"\1<when>", text)


def undated_files(snapshot: dict[str, bytes]) -> dict[str, bytes]:
    """:meth:`DjangoProject.snapshot` with every migration source :func:`undated`."""
    return {
        path: undated(data.decode()).encode() if path.endswith(".py") else data
        for path, data in snapshot.items()
    }


def sample_project(root: Path) -> DjangoProject:
    """A copy of ``sample_apps/`` (the demo shop, three apps in conflict) in ``root``."""
    shutil.copytree(SAMPLE_APPS, root, ignore=NOT_COPIED)
    return DjangoProject.open(root)


def run_unprivileged(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Result:
    """:func:`run`, but a read-only folder is read-only even when the tests run as root."""
    return run(args, cwd, env, unprivileged=True)
