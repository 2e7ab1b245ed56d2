"""Time every reading command on one app with hundreds of leaves (issue 15).

The project is ``tests/manyleaves.py``'s: ``0001_initial``, then N migrations that each
depend on it, a few of which touch the same fields. Comparing every pair of branches
would be N*(N-1)/2 replays (500 leaves: 20-40 s before); the target is 5 s per command.
Each command runs twice (the first also compiles the project's bytecode); the table shows
the second run's wall-clock and CPU seconds (the CPU seconds stay meaningful when other
work shares the machine) and the size of what it printed. ``graph -o x.mmd`` must be
refused, before the work.

    python benchmarks/bench_many_leaves.py [--leaves 500] [--cycle 50] [--shape S] [--strict]

``--cycle 1`` is the worst case: every leaf alters the same field, so every pair of
branches collides (124,750 pairs at 500 leaves); they are grouped from what each branch
touched, not compared pair by pair (before: about 7 CPU s per command, now about 1.3).
``--shape`` gives every leaf one kind of change instead (tests/manyleaves.py: ``delete``,
``rename-model``, ``rename-field``, ``add-same-model``, and hostile ones such as
``run-python`` or ``chain``, a branch of three migrations per leaf).
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
from pathlib import Path

from _common import common_parser, describe_environment, print_table, project_env, run_timed

REPO = Path(__file__).resolve().parent.parent
TARGET = 5.0  # seconds
COMMANDS = [
    ["check"],
    ["explain"],
    ["explain", "--format", "json"],
    ["show"],
    ["merge", "alpha", "--dry-run"],
    ["graph"],
    ["graph", "-o", "x.svg"],
    ["graph", "-o", "x.html"],
    ["graph", "-o", "x.json"],
    ["graph", "-o", "x.mmd"],  # refused: exit 1
]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = common_parser("Time every reading command on an app with hundreds of leaves.")
    parser.add_argument("--leaves", type=int, default=500)
    parser.add_argument("--cycle", type=int, default=50, help="see tests/manyleaves.py")
    parser.add_argument("--shape", default="alter", help="see tests/manyleaves.py")
    parser.add_argument("--strict", action="store_true", help="exit 1 when over the target")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.djproject import DjangoProject
    from tests.manyleaves import many_leaves

    print(describe_environment(), flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="many-leaves-", dir=args.workdir))
    try:
        project = DjangoProject(workdir / "project")
        many_leaves(project, args.leaves, cycle=args.cycle, shape=args.shape)
        env = project_env(project.root, project.settings_module)
        env["PYTHONPATH"] += f":{REPO}"
        rows, over = [], []
        for command in COMMANDS:
            argv = [sys.executable, "-m", "migrator", *command]
            run_timed(argv, cwd=project.root, env=env, timeout=args.timeout)  # warm up
            cpu = children_cpu()
            result = run_timed(argv, cwd=project.root, env=env, timeout=args.timeout)
            cpu = children_cpu() - cpu
            expected = 1 if command[-1].endswith(".mmd") else None
            ok = result.returncode is not None and (
                result.returncode == expected if expected else result.returncode in (0, 1)
            )
            rows.append(
                [
                    " ".join(command),
                    f"{result.seconds:.2f}",
                    f"{cpu:.2f}",
                    result.returncode,
                    len(result.stdout or ""),
                    "ok" if ok else (result.error or (result.stderr or "")[-200:]),
                ]
            )
            if not ok or result.seconds > TARGET:
                over.append(" ".join(command))
        print(
            f"\n{args.leaves} leaves in one app, shape {args.shape}, cycle {args.cycle} "
            f"(target {TARGET:.0f} s per command)"
        )
        print_table(["command", "wall s", "cpu s", "exit", "stdout bytes", "status"], rows)
        if over:
            print(f"over the target or failed: {', '.join(over)}")
        return 1 if over and args.strict else 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
