"""The GitHub Action (``action.yml``) and the documented workflows (``docs/workflows``),
run step by step on real repositories: a bare "remote" with ``main`` and pull-request
refs (``refs/pull/N/head``, as GitHub keeps them), a clone checked out as
``actions/checkout`` leaves it, and migrator installed by the action's own step into a
fresh virtualenv. Each verdict is compared with a real ``git merge`` judged by Django.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.actionrunner import Runner
from tests.djproject import DjangoProject
from tests.gitrepo import commit_all, git, init_repo

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOWS = ROOT / "docs" / "workflows"
ADD = "migrations.AddField(model_name='item', name='{name}', field=models.IntegerField(default=0))"


@pytest.fixture(scope="module")
def python(tmp_path_factory) -> Path:
    """A fresh virtualenv that sees this one's packages (Django and migrator's
    dependencies) but not migrator: the action's step installs it."""
    venv = tmp_path_factory.mktemp("action-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    found = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(found.stdout.strip(), "shared.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin" / "python"


def add(project: DjangoProject, app: str, name: str, parent: str, field: str | None = None):
    ops = [ADD.format(name=field)] if field else []
    project.add_migration(app, name, [(app, parent)], operations=ops)


@pytest.fixture
def github(tmp_path) -> dict:
    """A bare remote: main (shop.0001, catalog.0001, then shop.0002_item_size merged)
    and three open pull requests: 1 adds catalog.0002 (fine), 2 adds shop.0002_item_color
    (conflicts with main now), 3 edits shop.0001_initial (published on main)."""
    seed = DjangoProject(tmp_path / "seed", ["shop", "catalog"])
    seed.add_migration(
        "shop",
        "0001_initial",
        [],
        operations=[
            "migrations.CreateModel(name='Item', "
            "fields=[('id', models.AutoField(primary_key=True))])"
        ],
    )
    seed.add_migration("catalog", "0001_initial", [])
    (seed.root / ".gitignore").write_text("db.sqlite3\n__pycache__/\n")
    init_repo(seed.root)
    commit_all(seed.root, "initial")
    heads = {}
    for number, change in (
        (1, lambda: add(seed, "catalog", "0002_more", "0001_initial")),
        (2, lambda: add(seed, "shop", "0002_item_color", "0001_initial", "color")),
        (
            3,
            lambda: seed.migration_path("shop", "0001_initial").write_text(
                seed.migration_path("shop", "0001_initial")
                .read_text()
                .replace("primary_key=True", "primary_key=True, serialize=False")
            ),
        ),
        (4, lambda: add(seed, "shop", "0002_item_size", "0001_initial", "size")),
    ):
        git(seed.root, "checkout", "-q", "-B", f"pr{number}", "main")
        change()
        commit_all(seed.root, f"pull request {number}")
        heads[number] = git(seed.root, "rev-parse", "HEAD").stdout.strip()
    git(seed.root, "checkout", "-q", "main")
    git(seed.root, "merge", "-q", "--no-edit", "pr4")  # main moves on
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed.root), str(remote))
    for number, sha in heads.items():
        git(remote, "update-ref", f"refs/pull/{number}/head", sha)
    return {"remote": remote, "heads": heads, "tmp": tmp_path}


def checkout(github: dict, name: str, ref: str | None = None) -> Path:
    """What actions/checkout with fetch-depth: 0 leaves: a clone, at ``ref``."""
    clone = github["tmp"] / name
    git(github["tmp"], "clone", "-q", str(github["remote"]), str(clone))
    if ref:
        git(clone, "checkout", "-q", "--detach", ref)
    return clone


def runner(workspace: Path, python: Path, **github) -> Runner:
    run = Runner(workspace, workspace.parent / f"{workspace.name}-runner")
    run.github = {"repository": "team/shop", "token": "t0ken", **github}
    run.python = python  # type: ignore[attr-defined]
    return run


def with_python(step_inputs: dict, python: Path) -> dict:
    return {**step_inputs, "python": str(python)}


def django_after_merge(github: dict, base: str, sha: str) -> dict:
    """Merge for real in a scratch clone and ask Django."""
    scratch = checkout(github, f"oracle-{sha[:7]}", base)
    git(scratch, "fetch", "-q", "origin", sha)
    git(scratch, "merge", "-q", "--no-edit", sha, check=False)
    return DjangoProject.open(scratch).django_conflicts()


def test_pull_request_workflow(github, python):
    sha = github["heads"][2]
    workspace = checkout(github, "pr2", sha)
    run = runner(
        workspace,
        python,
        event_name="pull_request",
        base_ref="main",
        event={"pull_request": {"head": {"sha": sha}}},
    )
    run.env["GITHUB_BASE_REF"] = "main"
    workflow = WORKFLOWS / "pull-request.yml"
    steps = yaml_steps(workflow)
    assert [s.get("uses", "run").split("@")[0] for s in steps] == [
        "actions/checkout",
        "actions/setup-python",
        "./",
    ]
    assert steps[0]["with"]["fetch-depth"] == 0
    outputs, results = run.run_action(ACTION, with_python({}, python))
    install, check = results
    assert install.code == 0, install.err
    assert check.code == 1, check.err
    assert outputs["exit-code"] == "1"
    annotations = [line for line in check.out.splitlines() if line.startswith("::error")]
    assert [a.split("::")[1] for a in annotations] == [
        "error file=shop/migrations/0002_item_color.py,line=4,title=Migration conflict with "
        "origin/main in shop%3A 0002_item_color",
        # main's leaf is not in this checkout: no line to point at
        "error file=shop/migrations/0002_item_size.py,title=Migration conflict with "
        "origin/main in shop%3A 0002_item_size",
    ]
    summary = run.summary.read_text()
    assert summary.startswith("### ❌ Predicted merge of `origin/main`: 1 conflict")
    assert "```sh\ngit merge origin/main\nmigrator merge shop\n```" in summary
    report = json.loads(Path(outputs["report"]).read_text())
    predicted = {c["app"]: c["leaves"] for c in report["conflicts"]}
    assert predicted == {"shop": ["0002_item_color", "0002_item_size"]}
    assert predicted == django_after_merge(github, "origin/main", sha)


def test_push_to_main_rechecks_every_open_pull_request(github, python, tmp_path):
    workspace = checkout(github, "main")
    run = runner(workspace, python, event_name="push", ref_name="main")
    run.env["GITHUB_REPOSITORY"] = "team/shop"
    # gh talks to GitHub: a stand-in lists the open pull requests and records statuses.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "gh.log"
    (bin_dir / "gh").write_text(
        "#!/bin/bash\n"
        f'echo "$*" >> {log}\n'
        'if [ "$1 $2" = "pr list" ]; then printf "1\\n2\\n3\\n"; fi\n'
    )
    (bin_dir / "gh").chmod(0o755)
    run.env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    workflow = WORKFLOWS / "push-recheck.yml"
    results = run.run_job(workflow, "migrator", ACTION, python_input=python)
    assert [r.code for r in results] == [0, 0, 0, 0], [r.err for r in results]
    assert run.steps["migrator"]["outputs"]["exit-code"] == "1"
    report = json.loads(Path(run.steps["migrator"]["outputs"]["report"]).read_text())
    verdicts = {h["head"]: h["ok"] for h in report["heads"]}
    assert verdicts == {"pull/1": True, "pull/2": False, "pull/3": False}
    statuses = [line.split() for line in log.read_text().splitlines() if line.startswith("api")]
    heads = github["heads"]
    assert [(s[3], s[5], s[7]) for s in statuses] == [
        (
            f"repos/team/shop/statuses/{heads[n]}",
            f"state={state}",
            "context=migrator/merge-into-main",
        )
        for n, state in ((1, "success"), (2, "failure"), (3, "failure"))
    ]
    for number, head in ((1, heads[1]), (2, heads[2])):
        django = django_after_merge(github, "origin/main", head)
        entry = next(h for h in report["heads"] if h["head"] == f"pull/{number}")
        assert {c["app"]: c["leaves"] for c in entry["conflicts"]} == django
    published = next(h for h in report["heads"] if h["head"] == "pull/3")
    assert [(c["migration"], c["change"]) for c in published["published_changes"]] == [
        ("0001_initial", "operations")
    ]


def test_merge_queue_checks_the_merged_tree(github, python):
    base = git(github["remote"], "rev-parse", "main").stdout.strip()
    for number, expected in ((1, "0"), (2, "1")):
        workspace = checkout(github, f"queue{number}", base)
        git(workspace, "fetch", "-q", "origin", github["heads"][number])
        git(workspace, "merge", "-q", "--no-edit", github["heads"][number])
        run = runner(
            workspace, python, event_name="merge_group", event={"merge_group": {"base_sha": base}}
        )
        results = run.run_job(
            WORKFLOWS / "merge-queue.yml", "migrator", ACTION, python_input=python
        )
        check = results[-1]
        tree = DjangoProject.open(workspace).django_conflicts()
        assert (check.code == 0) == (tree == {}) == (expected == "0"), check.out + check.err


def yaml_steps(workflow: Path) -> list[dict]:
    import yaml

    jobs = yaml.safe_load(workflow.read_text())["jobs"]
    (job,) = jobs.values()
    return job["steps"]


def zizmor(*paths: Path) -> subprocess.CompletedProcess:
    found = Path(sys.executable).parent / "zizmor"
    if not found.exists():
        pytest.skip("zizmor is not installed (pip install -e '.[dev]')")
    return subprocess.run(
        [
            str(found),
            "--offline",
            "--strict-collection",
            "--min-severity",
            "medium",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
    )


def test_the_action_and_workflows_pass_zizmor(tmp_path):
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert [w.name for w in workflows] == [
        "merge-queue.yml",
        "pull-request.yml",
        "push-recheck.yml",
    ]
    result = zizmor(ACTION, *workflows)
    assert result.returncode == 0, result.stdout + result.stderr
    # and it does check: an injectable expression in a run step is refused
    bad = tmp_path / "bad.yml"
    bad.write_text(
        (WORKFLOWS / "pull-request.yml")
        .read_text()
        .replace("      - uses: ./\n", "      - run: echo ${{ github.event.pull_request.title }}\n")
    )
    refused = zizmor(bad)
    assert refused.returncode != 0 and "template-injection" in refused.stdout
