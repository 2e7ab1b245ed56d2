"""Time `migrator check` against Django's `makemigrations --check --dry-run`.

For each project size (default 50x200 = 10,000 migrations, then 10x200) a
conflict-free project is generated (or reused from the cache) and each command
is run, with the project folder as cwd and
``DJANGO_SETTINGS_MODULE=benchproject.settings``:

* once "cold": no ``__pycache__`` anywhere in the project (and no db.sqlite3);
  this run compiles and writes the bytecode of settings, models and migrations;
* once "warm": right after, reusing that bytecode.

The project is reset to cold before each command, so both commands see the same
state. The OS file cache is warm in both cases (the project was just written or
read). Target: ``migrator check`` takes at most 0.8x the time of Django's command.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from _common import (
    RunResult,
    common_parser,
    count_pyc,
    describe_environment,
    django_admin_command,
    ensure_project,
    fmt_ratio,
    fmt_seconds,
    parse_size,
    print_table,
    project_env,
    reset_project,
    run_timed,
    venv_script,
)

TARGET_RATIO = 0.8
DEFAULT_SIZES = ("50x200", "10x200")
DJANGO_LABEL = "django makemigrations --check --dry-run"
MIGRATOR_LABEL = "migrator check"
MODES = ("cold", "warm")


@dataclass
class Measurement:
    size: str
    label: str
    mode: str
    result: RunResult


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
        "--strict",
        action="store_true",
        help="exit 1 when migrator is missing or misses the target",
    )
    args = parser.parse_args(argv)

    print(f"bench_check: {describe_environment()}", flush=True)
    commands: list[tuple[str, list[str]]] = [
        (DJANGO_LABEL, [*django_admin_command(), "makemigrations", "--check", "--dry-run"])
    ]
    migrator = venv_script("migrator")
    if migrator is None:
        expected = Path(sys.executable).parent / "migrator"
        print(
            f"NOTE: migrator console script not found ({expected}); it is not installed in "
            "this virtualenv yet (pip install -e .). Timing Django only.",
            flush=True,
        )
    else:
        commands.append((MIGRATOR_LABEL, [str(migrator), "check"]))

    measurements: list[Measurement] = []
    for apps, migrations in args.sizes:
        size = f"{apps}x{migrations}"
        project = ensure_project(
            apps, migrations, seed=args.seed, workdir=args.workdir, regenerate=args.regenerate
        )
        print(f"\n[{size}] {apps * migrations} migrations: {project.describe()}", flush=True)
        env = project_env(project.path)
        for label, cmd in commands:
            reset_project(project.path)
            for mode in MODES:
                result = run_timed(cmd, cwd=project.path, env=env, timeout=args.timeout)
                measurements.append(Measurement(size, label, mode, result))
                pyc = f"  ({count_pyc(project.path)} .pyc in project)" if mode == "cold" else ""
                print(
                    f"  {label:<40} {mode}: {fmt_seconds(result.seconds):>7}s  "
                    f"exit {result.status}{pyc}",
                    flush=True,
                )
                if result.returncode != 0:
                    print("    | " + result.output_tail().replace("\n", "\n    | "), flush=True)

    return report(measurements, migrator_found=migrator is not None, strict=args.strict)


def report(measurements: list[Measurement], *, migrator_found: bool, strict: bool) -> int:
    django = {(m.size, m.mode): m.result for m in measurements if m.label == DJANGO_LABEL}
    rows = []
    for m in measurements:
        reference = django.get((m.size, m.mode))
        rows.append(
            [
                m.size,
                m.label,
                m.mode,
                fmt_seconds(m.result.seconds),
                m.result.status,
                fmt_ratio(m.result.seconds, reference.seconds if reference else None),
            ]
        )
    print()
    print_table(["project", "command", "run", "seconds", "exit", "vs django"], rows, "lllrrr")
    print(
        "\ncold = first run with no __pycache__ in the project (bytecode written during the run);"
        "\nwarm = second run reusing that bytecode. One run each."
    )

    status = 0
    if any(r.returncode != 0 for r in django.values()):
        print(
            "WARNING: Django's command did not exit 0 on a conflict-free project; "
            "the generated project is not clean, timings are not comparable."
        )
        status = 2

    print(f"\ntarget: migrator check <= {TARGET_RATIO:.1f}x Django's makemigrations --check")
    if not migrator_found:
        print("  n/a: migrator console script not installed")
        return status or (1 if strict else 0)
    for m in measurements:
        if m.label != MIGRATOR_LABEL:
            continue
        reference = django[(m.size, m.mode)]
        ratio = m.result.seconds / reference.seconds if reference.seconds else float("inf")
        ok = m.result.returncode == 0 and ratio <= TARGET_RATIO
        note = "" if m.result.returncode == 0 else f" (exit {m.result.status}, expected 0)"
        print(f"  {m.size} {m.mode}: {ratio:.2f}x  {'PASS' if ok else 'MISS'}{note}")
        if not ok and strict:
            status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
