"""Time `migrator check --static` against Django's `makemigrations --check --dry-run`.

On the conflict-free 50x200 project (10,000 migrations; ``--sizes`` to change it) each
command runs twice, with the project folder as cwd and
``DJANGO_SETTINGS_MODULE=benchproject.settings``:

* **cold**: no ``__pycache__`` in the project, no ``db.sqlite3``, and for migrator an
  empty parse cache (``MIGRATOR_CACHE_DIR`` points at a fresh temporary folder);
* **repeat**: the run right after, with Django's bytecode and migrator's parse cache
  written by the cold run.

Targets: ``check --static`` at least 4x faster than Django cold, 10x on the repeat run.
Exit 0 unless ``--strict`` and a target is missed (or a command fails).
"""

from __future__ import annotations

import sys
import tempfile

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

TARGETS = {"cold": 4.0, "repeat": 10.0}  # minimum speed-up over Django
DEFAULT_SIZES = ("50x200",)


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
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    migrator = venv_script("migrator")
    if migrator is None:
        print("migrator is not installed in this virtualenv (pip install -e .)", flush=True)
        return 1 if args.strict else 0
    print(f"bench_static: {describe_environment()}", flush=True)
    django_cmd = [*django_admin_command(), "makemigrations", "--check", "--dry-run"]
    static_cmd = [str(migrator), "check", "--static"]
    rows, status = [], 0
    for apps, migrations in args.sizes:
        size = f"{apps}x{migrations}"
        project = ensure_project(
            apps, migrations, seed=args.seed, workdir=args.workdir, regenerate=args.regenerate
        )
        print(f"\n[{size}] {project.describe()}", flush=True)
        env = project_env(project.path)
        timings: dict[tuple[str, str], float] = {}
        with tempfile.TemporaryDirectory(prefix="migrator-cache-") as cache:
            for label, cmd, extra in (
                ("django", django_cmd, {}),
                ("migrator --static", static_cmd, {"MIGRATOR_CACHE_DIR": cache}),
            ):
                reset_project(project.path)
                for mode in ("cold", "repeat"):
                    result = run_timed(
                        cmd, cwd=project.path, env={**env, **extra}, timeout=args.timeout
                    )
                    timings[label, mode] = result.seconds
                    print(
                        f"  {label:<20} {mode:<6} {fmt_seconds(result.seconds):>7}s  "
                        f"exit {result.status}",
                        flush=True,
                    )
                    if result.returncode != 0:
                        print("    | " + result.output_tail().replace("\n", "\n    | "))
                        status = 1 if args.strict else status
        for mode, target in TARGETS.items():
            django_s, static_s = timings["django", mode], timings["migrator --static", mode]
            speedup = django_s / static_s if static_s else float("inf")
            verdict = "PASS" if speedup >= target else "MISS"
            rows.append(
                [
                    size,
                    mode,
                    fmt_seconds(django_s),
                    fmt_seconds(static_s),
                    f"{speedup:.1f}x",
                    f">= {target:.0f}x",
                    verdict,
                ]
            )
            if verdict == "MISS" and args.strict:
                status = 1
    print()
    print_table(
        ["project", "run", "django s", "static s", "speed-up", "target", ""], rows, "llrrrrl"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
