"""Helpers shared by the ``bench_*.py`` scripts.

* generated-project cache (``ensure_project``) under ``default_workdir()``;
* "cold" reset of a project (``reset_project``) and the environment the
  benchmarked commands run in (``project_env``);
* timed subprocesses (``run_timed``) and plain-text tables (``format_table``);
* the command-line options every bench script accepts (``common_parser``).

The bench scripts are run as ``python benchmarks/bench_x.py``, so this module is
imported as ``_common`` (the script's folder is ``sys.path[0]``).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType

BENCH_DIR = Path(__file__).resolve().parent
GENERATOR_PATH = BENCH_DIR / "generate.py"
WORKDIR_ENV = "MIGRATOR_BENCH_WORKDIR"
SETTINGS_MODULE = "benchproject.settings"
DEFAULT_TIMEOUT = 1800.0


# -- environment ---------------------------------------------------------------
def default_workdir() -> Path:
    """``$MIGRATOR_BENCH_WORKDIR`` or ``$TMPDIR/migrator-bench``."""
    env = os.environ.get(WORKDIR_ENV)
    return Path(env) if env else Path(tempfile.gettempdir()) / "migrator-bench"


def venv_script(name: str) -> Path | None:
    """A console script installed next to the running interpreter, if any."""
    bindir = Path(sys.executable).parent  # not resolved: keep the venv's bin/
    for candidate in (bindir / name, bindir / f"{name}.exe"):
        if candidate.is_file():
            return candidate
    return None


def django_admin_command() -> list[str]:
    """``django-admin`` of this virtualenv, or ``python -m django`` as a fallback."""
    script = venv_script("django-admin")
    return [str(script)] if script else [sys.executable, "-m", "django"]


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe_environment() -> str:
    return (
        f"python {platform.python_version()} ({sys.executable}), "
        f"Django {package_version('django')}, migrator {package_version('migrator')}"
    )


def project_env(project: Path, settings: str = SETTINGS_MODULE) -> dict[str, str]:
    """Environment for commands run inside a generated project.

    ``PYTHONDONTWRITEBYTECODE`` is removed so that a first ("cold") run writes the
    project's ``__pycache__`` and the following ("warm") run can use it.
    ``PYTHONPATH`` gets the project folder: ``django-admin`` does not put the
    current directory on ``sys.path`` the way ``python manage.py`` does.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["DJANGO_SETTINGS_MODULE"] = settings
    extra = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(project), extra] if extra else [str(project)])
    return env


# -- generated projects --------------------------------------------------------
@functools.cache
def load_generator() -> ModuleType:
    """Import ``benchmarks/generate.py`` whatever the current ``sys.path`` is."""
    spec = importlib.util.spec_from_file_location("_migrator_bench_generate", GENERATOR_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def generator_fingerprint() -> str:
    """Changes whenever generate.py changes, so stale cached projects are not reused."""
    return hashlib.sha256(GENERATOR_PATH.read_bytes()).hexdigest()[:10]


@dataclass
class Project:
    path: Path
    reused: bool
    seconds: float  # generation time (0 when reused)

    def describe(self) -> str:
        how = "reused from cache" if self.reused else f"generated in {self.seconds:.2f}s"
        return f"{self.path} ({how})"


def ensure_project(
    apps: int,
    migrations: int,
    *,
    conflicts: int = 0,
    seed: int = 0,
    workdir: Path | None = None,
    regenerate: bool = False,
) -> Project:
    """Return a generated project for these parameters, generating it if needed.

    Projects are cached as ``<workdir>/p<apps>x<migrations>-c<K>-s<seed>-<fingerprint>``;
    a project is complete once its ``bench_meta.json`` exists (generation happens in
    a temporary sibling folder that is renamed at the end).
    """
    workdir = (workdir or default_workdir()).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    generator = load_generator()
    prefix = f"p{apps}x{migrations}-c{conflicts}-s{seed}-"
    target = workdir / f"{prefix}{generator_fingerprint()}"

    # drop caches made by older versions of generate.py (only our own folders)
    for stale in workdir.glob(f"{prefix}*"):
        if stale != target and stale.is_dir() and (stale / generator.META_FILE).is_file():
            shutil.rmtree(stale, ignore_errors=True)

    if (target / generator.META_FILE).is_file() and not regenerate:
        return Project(target, reused=True, seconds=0.0)

    tmp = workdir / f".{target.name}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    start = time.perf_counter()
    generator.generate_project(tmp, apps, migrations, conflicts=conflicts, seed=seed)
    seconds = time.perf_counter() - start
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return Project(target, reused=False, seconds=seconds)


def reset_project(project: Path) -> None:
    """Put a generated project back in its just-generated ("cold") state.

    Removes every ``__pycache__`` folder (no bytecode for settings, apps,
    models or migrations) and the SQLite database that ``makemigrations``
    creates while checking the migration history.
    """
    for cache in list(project.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    for name in ("db.sqlite3", "db.sqlite3-journal"):
        (project / name).unlink(missing_ok=True)


def count_pyc(project: Path) -> int:
    return sum(1 for _ in project.rglob("*.pyc"))


# -- timing ----------------------------------------------------------------------
@dataclass
class RunResult:
    cmd: list[str]
    seconds: float
    returncode: int | None  # None: timed out or could not start
    stdout: str = ""
    stderr: str = ""
    error: str | None = None

    @property
    def status(self) -> str:
        if self.returncode is not None:
            return str(self.returncode)
        return self.error or "error"

    def output_tail(self, lines: int = 8) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return "\n".join(text[-lines:])


def run_timed(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> RunResult:
    """Run ``cmd`` once and measure its wall-clock time (output captured)."""
    argv = [str(part) for part in cmd]
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        return RunResult(argv, time.perf_counter() - start, None, error=f"timeout>{exc.timeout}s")
    except OSError as exc:
        return RunResult(argv, time.perf_counter() - start, None, error=f"oserror: {exc}")
    return RunResult(argv, time.perf_counter() - start, proc.returncode, proc.stdout, proc.stderr)


def fmt_seconds(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


def fmt_ratio(value: float | None, reference: float | None) -> str:
    if value is None or not reference:
        return "-"
    return f"{value / reference:.2f}x"


# -- output ----------------------------------------------------------------------
def format_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None
) -> str:
    """A plain-text table; ``align`` has one ``l``/``r`` per column (default: left)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    align = (align or "").ljust(len(headers), "l")[: len(headers)]

    def line(row: list[str]) -> str:
        parts = [
            cell.rjust(width) if how == "r" else cell.ljust(width)
            for cell, width, how in zip(row, widths, align, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], align: str | None = None
) -> None:
    print(format_table(headers, rows, align), flush=True)


def parse_size(text: str) -> tuple[int, int]:
    """``"50x200"`` -> ``(50, 200)``."""
    try:
        apps, migrations = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected APPSxMIGRATIONS, got {text!r}") from None
    if apps < 1 or migrations < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive: {text!r}")
    return apps, migrations


def common_parser(description: str | None) -> argparse.ArgumentParser:
    """Options shared by all bench scripts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help=f"cache folder for generated projects (default ${WORKDIR_ENV} or "
        "$TMPDIR/migrator-bench)",
    )
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument(
        "--regenerate", action="store_true", help="regenerate projects even if cached"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds allowed per timed command (default {DEFAULT_TIMEOUT:.0f})",
    )
    return parser
