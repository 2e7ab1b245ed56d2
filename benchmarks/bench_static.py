"""Time `migrator check --static` against the floor (reading and parsing the files) and Django.

On the conflict-free 50x200 project (10,000 migrations; ``--sizes`` to change it), with
the project folder as cwd and ``DJANGO_SETTINGS_MODULE=benchproject.settings``:

* **floor**, each in a fresh ``python``: import networkx (the least ``check --static``
  imports), read every migration file, and read and ``ast.parse`` every one on one core;
* **django** ``makemigrations --check --dry-run``: ``cold`` (no ``__pycache__`` in the
  project, no ``db.sqlite3``) then ``warm`` (its bytecode written), once each (slow);
* **migrator** ``check --static``: ``cold`` (an empty parse cache: ``MIGRATOR_CACHE_DIR``
  points at a fresh folder), ``warm`` (the cache the run before wrote) and ``touched``
  (every migration file touched just before: new modification times, the same bytes).

Everything but Django's command runs ``--repeat`` times (default 5; the machine may be
busy): the table gives the minimum and the median, and every ratio compares minimums
taken in this one run. ``nproc`` and the load average are printed before and after.

Targets (on the reference 2-core machine, where the parse floor is 0.6 s): ``check
--static`` warm at most 0.4 s and touched at most 1.0 s, also judged scaled by this run's
parse floor (a busy machine slows both alike); at least 4x faster than Django cold and
10x warm. Exit 0 unless ``--strict`` and a target is missed (or a command fails).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    common_parser,
    describe_environment,
    django_admin_command,
    ensure_project,
    fmt_seconds,
    parse_size,
    print_table,
    project_env,
    reset_project,
    run_timed,
    venv_script,
)

SECONDS = {"warm": 0.4, "touched": 1.0}  # at most, wall clock
# The parse floor on the reference machine: on a busier or slower one, the targets above
# are also judged scaled by this run's floor over it.
REFERENCE_FLOOR = 0.6
SPEEDUP = {"cold": 4.0, "warm": 10.0}  # at least, against Django in the same mode
DEFAULT_SIZES = ("50x200",)

# The floor, in a fresh interpreter each, over the files check --static reads.
_FILES = (
    "import os\n"
    "files = sorted(os.path.join(d, f) for d, _, names in os.walk('.')\n"
    "    if os.path.basename(d) == 'migrations' for f in names if f.endswith('.py'))\n"
)
FLOOR = {
    "python: import networkx": "import networkx",
    "python: read every file": _FILES + "for f in files: open(f, 'rb').read()",
    "python: read + ast.parse every file (1 core)": (
        "import ast\n" + _FILES + "for f in files: ast.parse(open(f, 'rb').read(), f)"
    ),
}
PARSE_FLOOR = "python: read + ast.parse every file (1 core)"


def machine() -> str:
    load = (
        " ".join(Path("/proc/loadavg").read_text().split()[:3])
        if os.path.exists("/proc/loadavg")
        else "?"
    )
    return f"nproc {os.cpu_count()}, load average {load}"


def touch_migrations(project: Path) -> int:
    """Give every migration file a new modification time, its bytes unchanged."""
    count = 0
    for folder, _, names in os.walk(project):
        if os.path.basename(folder) == "migrations":
            for name in names:
                if name.endswith(".py"):
                    os.utime(os.path.join(folder, name))
                    count += 1
    return count


class Timer:
    """Runs commands in the project, keeping every wall-clock time by (label, mode)."""

    def __init__(self, project: Path, env: dict[str, str], timeout: float) -> None:
        self.project, self.env, self.timeout = project, env, timeout
        self.runs: dict[tuple[str, str], list[float]] = {}
        self.failed = False

    def run(self, label: str, mode: str, cmd: list[str], extra: dict[str, str] | None = None):
        env = {**self.env, **(extra or {})}
        result = run_timed(cmd, cwd=self.project, env=env, timeout=self.timeout)
        self.runs.setdefault((label, mode), []).append(result.seconds)
        seconds = fmt_seconds(result.seconds)
        print(f"  {label:<46} {mode:<8} {seconds:>7}s  exit {result.status}", flush=True)
        if result.returncode != 0:
            print("    | " + result.output_tail().replace("\n", "\n    | "), flush=True)
            self.failed = True


def main(argv: list[str] | None = None) -> int:
    parser = common_parser(__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=parse_size,
        default=[parse_size(s) for s in DEFAULT_SIZES],
        metavar="APPSxMIGRATIONS",
        help=f"project sizes (default {' '.join(DEFAULT_SIZES)})",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="runs of each cheap command (default 5)"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    migrator = venv_script("migrator")
    if migrator is None:
        print("migrator is not installed in this virtualenv (pip install -e .)", flush=True)
        return 1 if args.strict else 0
    print(f"bench_static: {describe_environment()}", flush=True)
    print(f"bench_static: {machine()}", flush=True)
    django_cmd = [*django_admin_command(), "makemigrations", "--check", "--dry-run"]
    static_cmd = [str(migrator), "check", "--static"]
    status = 0
    for apps, migrations in args.sizes:
        size = f"{apps}x{migrations}"
        project = ensure_project(
            apps, migrations, seed=args.seed, workdir=args.workdir, regenerate=args.regenerate
        )
        print(f"\n[{size}] {project.describe()}", flush=True)
        timer = Timer(project.path, project_env(project.path), args.timeout)
        for label, code in FLOOR.items():
            for _ in range(args.repeat):
                timer.run(label, "", [sys.executable, "-c", code])
        reset_project(project.path)
        for mode in ("cold", "warm"):
            timer.run("django", mode, django_cmd)
        with tempfile.TemporaryDirectory(prefix="migrator-cache-") as cache:
            extra = {"MIGRATOR_CACHE_DIR": cache}
            for _ in range(args.repeat):
                for entry in os.scandir(cache):  # an empty cache for each cold run
                    os.unlink(entry.path)
                timer.run("migrator check --static", "cold", static_cmd, extra)
            time.sleep(2.1)  # a file changed within 2 s of its reading is checked byte by byte
            for _ in range(args.repeat):
                timer.run("migrator check --static", "warm", static_cmd, extra)
            for _ in range(args.repeat):
                touch_migrations(project.path)
                timer.run("migrator check --static", "touched", static_cmd, extra)
        failed = timer.failed and args.strict
        status = max(status, int(failed), report(size, timer.runs, args.strict))
    print(f"\nbench_static: {machine()}", flush=True)
    return status


def report(size: str, runs: dict[tuple[str, str], list[float]], strict: bool) -> int:
    """The table of minimums and medians, ratios to the parse floor and to Django."""
    best = {key: min(values) for key, values in runs.items()}
    floor = best[PARSE_FLOOR, ""]
    rows, status = [], 0
    for (label, mode), values in runs.items():
        seconds = best[label, mode]
        against_django = ""
        verdicts = []
        if label.startswith("migrator"):
            django = best.get(("django", "cold" if mode == "cold" else "warm"))
            if django:
                against_django = f"{django / seconds:.1f}x faster"
            if mode in SPEEDUP and django:
                verdicts.append(
                    ("PASS" if django / seconds >= SPEEDUP[mode] else "MISS")
                    + f" >= {SPEEDUP[mode]:.0f}x"
                )
            if mode in SECONDS:
                target = SECONDS[mode]
                scaled = target * floor / REFERENCE_FLOOR
                verdicts.append(("PASS" if seconds <= target else "MISS") + f" <= {target} s")
                verdicts.append(
                    ("PASS" if seconds <= scaled else "MISS")
                    + f" <= {scaled:.2f} s ({target / REFERENCE_FLOOR:.2f}x floor)"
                )
        if any(v.startswith("MISS") for v in verdicts) and strict:
            status = 1
        rows.append(
            [
                size,
                label,
                mode,
                len(values),
                fmt_seconds(seconds),
                fmt_seconds(statistics.median(values)),
                f"{seconds / floor:.2f}x",
                against_django,
                ", ".join(verdicts),
            ]
        )
    print()
    print_table(
        ["project", "command", "run", "n", "min s", "median s", "x parse floor", "vs django", ""],
        rows,
        "lllrrrrll",
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
