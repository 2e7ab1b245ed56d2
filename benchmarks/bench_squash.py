"""Time `migrator squash` on a generated project (default 50x200 = 10,000 migrations).

Runs, with the project folder as cwd and ``DJANGO_SETTINGS_MODULE=benchproject.settings``:

* ``migrator check`` (loading the graph, the floor for any command) and
  ``migrator squash --format json``, each cold (no ``__pycache__``) then warm;
* in one process, after loading: the pure analysis (``migrator.squash.analyse``) and
  the cost of every window (``MigrationOptimizer``), timed separately, then the costs
  again through the cost cache ``squash`` keeps (warm: every window a hit).

The ratio squash / check (warm) is the figure to watch: the target is at most 2x.

The generated project only has dependencies on lower-numbered apps, so no path leaves
an app and comes back: ``--mutual N`` also times the pure analysis on a synthetic graph
of the same size where every app reaches every other one (the worst case).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import (
    common_parser,
    describe_environment,
    ensure_project,
    fmt_seconds,
    parse_size,
    print_table,
    project_env,
    reset_project,
    run_timed,
    venv_script,
)

DEFAULT_SIZE = "50x200"
MODES = ("cold", "warm")

IN_PROCESS = """
import json, time
from migrator.settings import ProjectOptions
from migrator.project import load_project
from migrator.analysis.squash import analyse
from migrator.django.optimizer import squashes_squashed, window_cost
from migrator.squash import window_costs
t0 = time.perf_counter()
project = load_project(ProjectOptions())
t1 = time.perf_counter()
report = analyse(project.graph, None, 10, allow_squashed=squashes_squashed())
t2 = time.perf_counter()
costs = [window_cost(project.graph, w) for w in report.windows]
t3 = time.perf_counter()
window_costs(project, report.windows)
t4 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "analyse": t2 - t1, "costs": t3 - t2, "cached": t4 - t3,
                  "windows": len(report.windows), "blocked": len(report.blocked),
                  "nodes": project.graph.number_of_nodes()}))
"""

MUTUAL = """
import json, random, time
import networkx as nx
from migrator.analysis.squash import analyse
apps, per = {apps}, {per}
rng = random.Random(0)
graph = nx.DiGraph()
labels = [f"app_{{i:03d}}" for i in range(apps)]
count = dict.fromkeys(labels, 0)
made = []
for step in range(apps * per):
    app = labels[step % apps]
    count[app] += 1
    key = (app, f"{{count[app]:04d}}")
    graph.add_node(key)
    if count[app] > 1:
        graph.add_edge((app, f"{{count[app] - 1:04d}}"), key, kind="dependency")
    if made and rng.random() < 0.1:
        other = made[rng.randrange(max(0, len(made) - 3 * apps), len(made))]
        if other[0] != app:
            graph.add_edge(other, key, kind="dependency")
    made.append(key)
t0 = time.perf_counter()
report = analyse(graph, None, 10)
print(json.dumps({{"analyse": time.perf_counter() - t0, "windows": len(report.windows),
                  "blocked": len(report.blocked), "nodes": graph.number_of_nodes()}}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = common_parser(__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--size",
        type=parse_size,
        default=parse_size(DEFAULT_SIZE),
        metavar="APPSxMIGRATIONS",
        help=f"project size (default {DEFAULT_SIZE})",
    )
    args = parser.parse_args(argv)
    print(f"bench_squash: {describe_environment()}", flush=True)
    migrator = venv_script("migrator")
    if migrator is None:
        print("NOTE: migrator console script not found (pip install -e .)", flush=True)
        return 1
    apps, migrations = args.size
    project = ensure_project(
        apps, migrations, seed=args.seed, workdir=args.workdir, regenerate=args.regenerate
    )
    print(f"[{apps}x{migrations}] {apps * migrations} migrations: {project.describe()}", flush=True)
    env = project_env(project.path)
    # squash's cost cache (and --static's parse cache) in a folder of this run: "cold"
    # starts without it, "warm" finds what the cold run stored
    caches = Path(tempfile.mkdtemp(prefix="bench-squash-cache-"))
    env["MIGRATOR_CACHE_DIR"] = str(caches)
    rows = []
    seconds: dict[tuple[str, str], float] = {}
    for label, cmd in (
        ("migrator check", [str(migrator), "check"]),
        ("migrator squash --format json", [str(migrator), "squash", "--format", "json"]),
    ):
        reset_project(project.path)
        shutil.rmtree(caches, ignore_errors=True)
        for mode in MODES:
            result = run_timed(cmd, cwd=project.path, env=env, timeout=args.timeout)
            rows.append([label, mode, fmt_seconds(result.seconds), result.status])
            seconds[label, mode] = result.seconds
            if result.returncode != 0:
                print("    | " + result.output_tail().replace("\n", "\n    | "), flush=True)
    print()
    print_table(["command", "run", "seconds", "exit"], rows, "llrr")
    for mode in MODES:
        check = seconds.get(("migrator check", mode))
        report = seconds.get(("migrator squash --format json", mode))
        if check and report:
            print(f"squash / check ({mode}): {report / check:.2f}x (target: at most 2x warm)")

    parts = _python(IN_PROCESS, project.path, env)
    print(
        f"\nin one process (warm): load {parts['load']:.2f}s, analyse {parts['analyse']:.3f}s "
        f"({parts['windows']} windows, {parts['blocked']} blocked, {parts['nodes']} nodes), "
        f"window costs {parts['costs']:.2f}s (from the cache: {parts['cached']:.3f}s)"
    )
    mutual = _python(MUTUAL.format(apps=apps, per=migrations), project.path, env)
    print(
        f"synthetic worst case ({apps} apps all reaching each other, {mutual['nodes']} "
        f"nodes): analyse {mutual['analyse']:.3f}s ({mutual['windows']} windows, "
        f"{mutual['blocked']} blocked)"
    )
    shutil.rmtree(caches, ignore_errors=True)
    return 0


def _python(code: str, cwd, env) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
