"""Time ``migrator graph -o graph.svg`` on generated projects.

Targets (issue 6): the 10,000-migration project (50 apps x 200) drawn to SVG in at most
15 s with the automatic collapse, the 2,000-migration one (10 x 200) in at most 3 s.
Issue 16: the default picture takes at most 1.1x ``migrator check`` on the same project;
both are timed ``--repeat`` times more (default 3), alternating, after the warm run, and
the best of each compared, in wall-clock seconds (the target: ``--strict`` fails past
1.1x) and in CPU seconds (what a busy machine changes least).
Each size runs twice (the first run also compiles the project's bytecode); the table
shows wall-clock seconds and the CPU seconds of migrator and Graphviz together, which
stay meaningful when other work shares the machine.

    python benchmarks/bench_graph.py [--sizes 50x200 10x200] [--format svg] [--repeat 3]
                                     [--strict]
"""

from __future__ import annotations

import os
import re
import resource
import sys
import tempfile
from pathlib import Path

from _common import (
    common_parser,
    describe_environment,
    ensure_project,
    parse_size,
    print_table,
    project_env,
    reset_project,
    run_timed,
    venv_script,
)

TARGETS = {10_000: 15.0, 2_000: 3.0}  # migrations -> seconds
CHECK_RATIO = 1.1  # the default picture against `migrator check`, best of two each


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = common_parser("Time `migrator graph` to SVG on generated projects.")
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=parse_size,
        default=[(50, 200), (10, 200)],
        metavar="APPSxMIGRATIONS",
    )
    parser.add_argument("--format", default="svg", choices=["svg", "png", "pdf", "html", "dot"])
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of check and of the default picture, alternating, compared best to best",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    migrator = venv_script("migrator")
    if migrator is None:
        print("migrator is not installed in this virtualenv: nothing to time")
        return 1 if args.strict else 0
    print(describe_environment())
    rows, missed = [], False
    ratios: list[str] = []
    out_dir = Path(tempfile.mkdtemp(prefix="bench-graph-"))
    for apps, migrations in args.sizes:
        project = ensure_project(
            apps, migrations, seed=args.seed, workdir=args.workdir, regenerate=args.regenerate
        )
        print(f"project {apps}x{migrations}: {project.describe()}", flush=True)
        reset_project(project.path)
        total = apps * migrations
        target = TARGETS.get(total)
        for run in ("cold", "warm"):
            output = out_dir / f"graph-{apps}x{migrations}-{run}.{args.format}"
            before = children_cpu()
            result = run_timed(
                [migrator, "graph", "-o", output],
                cwd=project.path,
                env=project_env(project.path),
                timeout=args.timeout,
            )
            cpu = children_cpu() - before
            found = re.search(r"(\d+) nodes after (?:collapsing|summarising)", result.stdout)
            verdict = "-"
            if target is not None and result.returncode == 0:
                verdict = "PASS" if result.seconds <= target else "MISS"
                missed = missed or verdict == "MISS"
            if result.returncode != 0:
                print(result.output_tail(), file=sys.stderr)
                missed = True
            size = output.stat().st_size if output.exists() else 0
            rows.append(
                [
                    f"{apps}x{migrations}",
                    total,
                    run,
                    f"{result.seconds:.2f}",
                    f"{cpu:.2f}",
                    found.group(1) if found else "-",
                    f"{size / 1e6:.1f}",
                    result.status,
                    f"<= {target:.0f}s" if target else "-",
                    verdict,
                ]
            )
        missed = compare_with_check(migrator, project, out_dir, args, ratios) or missed
    print()
    print_table(
        [
            "project",
            "migrations",
            "run",
            "wall s",
            "cpu s",
            "nodes",
            "MB",
            "exit",
            "target",
            "wall",
        ],
        rows,
        "llrrrrrrll",
    )
    print("\n" + "\n".join(ratios))
    print(
        f"\noutputs in {out_dir}; load average now {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs (wall-clock times suffer when it is higher)"
    )
    return 1 if (missed and args.strict) else 0


def compare_with_check(migrator, project, out_dir: Path, args, ratios: list[str]) -> bool:
    """Time `migrator check` and the default picture side by side; True when missed."""
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for _ in range(max(args.repeat, 1)):
        for name, command in (
            ("check", [migrator, "check"]),
            ("graph", [migrator, "graph", "-o", out_dir / f"side.{args.format}"]),
        ):
            before = children_cpu()
            result = run_timed(
                command, cwd=project.path, env=project_env(project.path), timeout=args.timeout
            )
            used = children_cpu() - before
            if name == "graph" and result.returncode != 0:
                print(result.output_tail(), file=sys.stderr)
                return True
            wall[name] = min(wall.get(name, result.seconds), result.seconds)
            cpu[name] = min(cpu.get(name, used), used)
    ratio = wall["graph"] / wall["check"]
    verdict = "PASS" if ratio <= CHECK_RATIO else "MISS"
    cpu_ratio = cpu["graph"] / cpu["check"]
    cpu_verdict = "PASS" if cpu_ratio <= CHECK_RATIO else "MISS"
    ratios.append(
        f"{project.path.name}, best of {max(args.repeat, 1)} each (target <= {CHECK_RATIO}x):\n"
        f"  wall: graph {wall['graph']:.2f} s, check {wall['check']:.2f} s: "
        f"{ratio:.2f}x check {verdict}\n"
        f"  cpu:  graph {cpu['graph']:.2f} s, check {cpu['check']:.2f} s: "
        f"{cpu_ratio:.2f}x check {cpu_verdict}"
    )
    return verdict == "MISS"


if __name__ == "__main__":
    sys.exit(main())
