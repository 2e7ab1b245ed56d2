"""Time ``migrator check --against main --heads 'refs/heads/pr/*'``: many pull requests
predicted in one run.

A generated project (default 10x200 = 2,000 migrations) is copied into a fresh git
repository (``main``), then N branches (default 50) are made from it with git plumbing,
as pull requests would be: each adds one migration to one app; every fifth adds it
beside the same parent as another branch's (those heads conflict with ``main`` after
``main`` takes the first of them), and ``main`` then moves on by one commit. As many
branches under ``refs/heads/other/`` change no migration (most pull requests): their
merges hold BASE's migration files and share one verdict. Each command is run twice
(the first run fills the parse cache, as a CI cache would), and the time per head is
reported. Not part of the tests: a measurement.
"""

from __future__ import annotations

import json
import os
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
    run_timed,
)

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

MIGRATION = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [({app!r}, {parent!r})]

    operations = []
"""


def git(cwd: Path, *args: str, input: str | None = None) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        input=input,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def leaves(project: Path) -> dict[str, str]:
    """Each app's last migration name (the generated chains are linear)."""
    found = {}
    for folder in sorted(project.glob("app_*/migrations")):
        names = sorted(p.stem for p in folder.glob("0*.py"))
        found[folder.parent.name] = names[-1]
    return found


def commit_file(repo: Path, parent: str, path: str, content: str, message: str) -> str:
    """A commit on ``parent`` that adds one file, without touching the work tree."""
    blob = git(repo, "hash-object", "-w", "--stdin", input=content)
    index = repo / ".git" / "bench-index"
    env_index = {"GIT_INDEX_FILE": str(index)}
    run = subprocess.run
    base_env = {**os.environ, **GIT_ENV, **env_index}
    run(["git", "read-tree", parent], cwd=repo, env=base_env, check=True)
    run(
        ["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"],
        cwd=repo,
        env=base_env,
        check=True,
    )
    tree = run(["git", "write-tree"], cwd=repo, env=base_env, capture_output=True, text=True)
    return git(repo, "commit-tree", tree.stdout.strip(), "-p", parent, "-m", message)


def build_repository(source: Path, repo: Path, heads: int) -> None:
    shutil.copytree(source, repo, ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "generated project")
    root = git(repo, "rev-parse", "HEAD")
    tips = leaves(repo)
    apps = sorted(tips)
    first_on: dict[str, str] = {}
    for number in range(heads):
        app = apps[number % len(apps)]
        name = f"0900_pr_{number:03d}"
        path = f"{app}/migrations/{name}.py"
        sha = commit_file(
            repo, root, path, MIGRATION.format(app=app, parent=tips[app]), f"pr {number}"
        )
        git(repo, "update-ref", f"refs/heads/pr/{number:03d}", sha)
        if number % 5 == 0:
            first_on.setdefault(app, sha)
    for number in range(heads):
        sha = commit_file(repo, root, f"docs/note_{number:03d}.txt", f"note {number}\n", "doc")
        git(repo, "update-ref", f"refs/heads/other/{number:03d}", sha)
    # main moves on: it merged the first pull request on some apps, so every later head
    # that adds a migration to those apps conflicts with it.
    for app in sorted(first_on)[:2]:
        git(repo, "merge", "-q", "--no-edit", first_on[app])


def main(argv: list[str] | None = None) -> int:
    parser = common_parser(__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", type=parse_size, default=(10, 200), help="APPSxMIGRATIONS")
    parser.add_argument("--heads", type=int, default=50, help="number of heads (default 50)")
    args = parser.parse_args(argv)
    print(describe_environment())
    apps, migrations = args.size
    project = ensure_project(apps, migrations, seed=args.seed, workdir=args.workdir)
    rows = []
    with tempfile.TemporaryDirectory(prefix="migrator-bench-heads-") as tmp:
        repo = Path(tmp) / "repo"
        build_repository(project.path, repo, args.heads)
        env = {**project_env(repo), "MIGRATOR_CACHE_DIR": str(Path(tmp) / "cache")}
        for label, pattern in (
            ("add a migration", "refs/heads/pr/*"),
            ("change none", "refs/heads/other/*"),
        ):
            cmd = [sys.executable, "-m", "migrator", "check", "--against", "main"]
            cmd += ["--heads", pattern, "--format", "json"]
            for mode in ("cold cache", "warm cache"):
                result = run_timed(cmd, cwd=repo, env=env, timeout=args.timeout)
                if result.returncode not in (0, 1):
                    print(result.output_tail())
                    return 1
                report = json.loads(result.stdout)
                broken = sum(not h["ok"] for h in report["heads"])
                count = len(report["heads"])
                rows.append(
                    [
                        f"{apps}x{migrations}",
                        label,
                        mode,
                        str(count),
                        str(broken),
                        fmt_seconds(result.seconds),
                        f"{result.seconds / max(count, 1) * 1000:.0f} ms",
                    ]
                )
    print_table(
        ["project", "heads that", "run", "heads", "would break", "total s", "per head"],
        rows,
        "lllrrrr",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
