"""Run every ``benchmarks/bench_*.py`` in order, each as a subprocess.

Used by ``make bench`` as ``python benchmarks/run.py``. Each script runs with the
same interpreter as this one (so the same virtualenv, Django and ``migrator``).

    python benchmarks/run.py                     # all bench scripts
    python benchmarks/run.py -k check            # only scripts whose name contains "check"
    python benchmarks/run.py --workdir DIR       # cache generated projects in DIR
    python benchmarks/run.py -- --regenerate     # pass options to every script

Exit status: 0 if every script exited 0, else 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
WORKDIR_ENV = "MIGRATOR_BENCH_WORKDIR"  # read by _common.default_workdir()


def discover(pattern: str | None = None) -> list[Path]:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if pattern:
        scripts = [s for s in scripts if pattern in s.stem]
    return scripts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run all migrator benchmarks.")
    parser.add_argument("-k", dest="pattern", help="only scripts whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the scripts and exit")
    parser.add_argument(
        "--workdir", type=Path, help=f"cache folder for generated projects (sets ${WORKDIR_ENV})"
    )
    parser.add_argument(
        "script_args", nargs="*", help="arguments passed to every script (after --)"
    )
    args = parser.parse_args(argv)

    scripts = discover(args.pattern)
    if args.list:
        print("\n".join(s.name for s in scripts))
        return 0
    if not scripts:
        print("no benchmark scripts matched", file=sys.stderr)
        return 1

    env = dict(os.environ)
    if args.workdir:
        env[WORKDIR_ENV] = str(args.workdir.resolve())

    summary: list[tuple[str, int, float]] = []
    for script in scripts:
        print(f"==> {script.name}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *args.script_args], env=env)
        summary.append((script.name, code, time.perf_counter() - start))
        print(flush=True)

    print("benchmark scripts:")
    for name, code, seconds in summary:
        print(f"  {name:<30} exit {code:<3} {seconds:8.1f}s")
    return 0 if all(code == 0 for _, code, _ in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
