"""The GitHub Action (``action.yml``) and the documented workflows (``docs/workflows``),
run step by step on real repositories: a bare "remote" with ``main`` and pull-request
refs (``refs/pull/N/head``, as GitHub keeps them), a clone checked out as
``actions/checkout`` leaves it, and a fresh virtualenv first on ``PATH`` as
``actions/setup-python`` leaves it. The action installs migrator from its own checkout;
the workflows install the pinned release by name (``pip install migrator-django==X``).
pip looks in a local folder instead of PyPI (tests/release.py): a wheel of this checkout
as the release, and the build backend the action's install builds with. The real ``gh`` talks to a
stand-in for GitHub's API. Each verdict is compared with a real ``git merge`` judged by
Django.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import migrator
from tests.actionrunner import Runner
from tests.djproject import DjangoProject
from tests.gitrepo import commit_all, git, init_repo
from tests.release import pip_env, source_copy

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
WORKFLOWS = ROOT / "docs" / "workflows"
ADD = "migrations.AddField(model_name='item', name='{name}', field=models.IntegerField(default=0))"
INSTALL = re.compile(r'python -m pip install --disable-pip-version-check "migrator-django==(.+)"')


@pytest.fixture(scope="module")
def python(tmp_path_factory) -> Path:
    """A fresh virtualenv that sees this one's packages (Django and migrator's
    dependencies, pip) but not migrator, which the steps install: every entry of this
    environment's site-packages but migrator's own, linked into a folder on its path.
    pip is this environment's too (``--without-pip``: ensurepip would install and compile
    a copy of it, seconds of CPU for each worker); run by the new interpreter, it
    installs into the new environment."""
    venv = tmp_path_factory.mktemp("action-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    shared = tmp_path_factory.mktemp("shared-site-packages")
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("migrator", "__editable__")):
            (shared / entry.name).symlink_to(entry)
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
    Path(found.stdout.strip(), "shared.pth").write_text(f"{shared}\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    unseen = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import migrator"],
        cwd=venv,
        env=clean,
        capture_output=True,
    )
    assert unseen.returncode != 0  # the steps' install is what makes migrator importable
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


def runner(workspace: Path, python: Path, wheelhouse: Path, **github) -> Runner:
    """The runner for a job in ``workspace``: setup-python's interpreter first on
    ``PATH``; pip finds the pinned release, and the build backend that builds the
    action's checkout, in ``wheelhouse`` (PyPI's stand-in)."""
    run = Runner(workspace, workspace.parent / f"{workspace.name}-runner")
    run.github = {"repository": "team/shop", "token": "t0ken", **github}
    run.env["PATH"] = f"{python.parent}{os.pathsep}{os.environ['PATH']}"
    run.env.update(pip_env(wheelhouse))
    return run


def django_after_merge(github: dict, base: str, sha: str) -> dict:
    """Merge for real in a scratch clone and ask Django."""
    scratch = checkout(github, f"oracle-{sha[:7]}", base)
    git(scratch, "fetch", "-q", "origin", sha)
    git(scratch, "merge", "-q", "--no-edit", sha, check=False)
    return DjangoProject.open(scratch).django_conflicts()


def annotated_conflicts(out: str) -> dict[str, list[str]]:
    """``{app: leaves}`` from the ``::error`` annotations of migration conflicts."""
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        match = re.match(r"::error file=(\w+)/migrations/(\w+)\.py.*title=Migration conflict", line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return {app: sorted(leaves) for app, leaves in found.items()}


def installed(python: Path, run: Runner, *args: str) -> subprocess.CompletedProcess:
    """What the migrator the steps installed says, run by hand in the workspace."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PYTHON"))}
    return subprocess.run(
        [str(python.parent / "migrator"), *args],
        cwd=run.workspace,
        env=env,
        capture_output=True,
        text=True,
    )


def test_the_action_on_a_pull_request(github, python, wheelhouse):
    """action.yml, as this repository runs it (``uses: ./``): installed from its own
    checkout (a copy of this one: pip builds in the tree it installs, with the build
    backend from PyPI's stand-in), one ``migrator check`` run for annotations, summary
    and JSON report."""
    sha = github["heads"][2]
    workspace = checkout(github, "pr2", sha)
    run = runner(workspace, python, wheelhouse, event_name="pull_request", base_ref="main")
    action = source_copy(github["tmp"] / "action-checkout") / ACTION.name
    outputs, results = run.run_action(action, {"python": str(python)})
    assert results[0].code == 0, results[0].err  # the install
    check = results[1]
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
    # one run gave what three separate runs give
    args = ("check", "--static", "--against", "origin/main")
    assert installed(python, run, *args, "--format", "markdown").stdout == summary
    assert (
        installed(python, run, *args, "--format", "json").stdout
        == Path(outputs["report"]).read_text()
    )
    assert check.script.count("-m migrator") == 1


def pinned_release(workflow: Path) -> str:
    (version,) = INSTALL.findall(workflow.read_text())
    return version


def test_pull_request_workflow(github, python, wheelhouse):
    sha = github["heads"][2]
    workspace = checkout(github, "pr2", sha)
    run = runner(workspace, python, wheelhouse, event_name="pull_request", base_ref="main")
    workflow = WORKFLOWS / "pull-request.yml"
    assert pinned_release(workflow) == migrator.__version__
    install, check = run.run_job(workflow, "migrator")
    assert install.code == 0, install.out + install.err
    assert (python.parent / "migrator").exists()  # the steps' own install, by name
    assert check.code == 1, check.err
    assert check.err == ""
    predicted = annotated_conflicts(check.out)
    assert predicted == {"shop": ["0002_item_color", "0002_item_size"]}
    assert predicted == django_after_merge(github, "origin/main", sha)
    summary = run.summary.read_text()
    assert summary.startswith("### ❌ Predicted merge of `origin/main`: 1 conflict")
    # a clean pull request: the step passes, the summary says so
    clean = checkout(github, "pr1", github["heads"][1])
    run = runner(clean, python, wheelhouse, event_name="pull_request", base_ref="main")
    assert [r.code for r in run.run_job(workflow, "migrator")] == [0, 0]
    assert run.summary.read_text().startswith("### ✅ Predicted merge of `origin/main`")
    assert django_after_merge(github, "origin/main", github["heads"][1]) == {}


class FakeGitHub:
    """GitHub's API as ``gh`` reaches it for the host ``github.localhost``
    (``http://api.github.localhost/``, through ``HTTP_PROXY``): the open pull requests
    (GraphQL) and commit statuses (REST). Every request is recorded."""

    def __init__(self, pulls: list[int]) -> None:
        self.requests: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                from urllib.parse import urlsplit

                url = urlsplit(self.path)
                size = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(size) or b"null")
                api.requests.append(
                    {
                        "method": self.command,
                        "host": url.netloc,
                        "path": url.path,
                        "auth": self.headers.get("Authorization"),
                        "body": body,
                    }
                )
                if url.path == "/graphql":
                    nodes = [{"number": n} for n in pulls]
                    info = {"hasNextPage": False, "endCursor": None}
                    answer: object = {
                        "data": {
                            "repository": {
                                "pullRequests": {
                                    "totalCount": len(nodes),
                                    "nodes": nodes,
                                    "pageInfo": info,
                                }
                            }
                        }
                    }
                    status = 200
                elif "/statuses/" in url.path and self.command == "POST":
                    answer, status = {"id": len(api.requests), **body}, 201
                else:
                    answer, status = {"message": "Not Found"}, 404
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def env(self, config: Path) -> dict[str, str]:
        proxy = f"http://127.0.0.1:{self.server.server_address[1]}"
        return {
            "GH_HOST": "github.localhost",  # gh speaks plain http to api.github.localhost
            "GH_CONFIG_DIR": str(config),
            "GH_NO_UPDATE_NOTIFIER": "1",
            "GH_PROMPT_DISABLED": "1",
            **{name: proxy for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY")},
            **{name: "" for name in ("NO_PROXY", "no_proxy", "https_proxy")},
        }

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_push_to_main_rechecks_every_open_pull_request(github, python, wheelhouse, tmp_path):
    if shutil.which("gh") is None:
        pytest.skip("the GitHub CLI (gh) is not installed: `make system-deps` installs it")
    workspace = checkout(github, "main")
    run = runner(workspace, python, wheelhouse, event_name="push", ref_name="main")
    workflow = WORKFLOWS / "push-recheck.yml"
    assert pinned_release(workflow) == migrator.__version__
    api = FakeGitHub([3, 2, 1])
    run.env.update(api.env(tmp_path / "gh-config"))
    try:
        results = run.run_job(workflow, "migrator")
    finally:
        api.close()
    assert [r.code for r in results] == [0, 0, 0, 0], [r.out + r.err for r in results]
    listing, *statuses = api.requests
    assert (listing["method"], listing["host"], listing["path"], listing["auth"]) == (
        "POST",
        "api.github.localhost",
        "/graphql",
        "token t0ken",
    )
    assert "pullRequests(" in listing["body"]["query"]
    variables = listing["body"]["variables"]
    assert (variables["owner"], variables["repo"], variables["baseBranch"]) == (
        "team",
        "shop",
        "main",
    )
    assert variables["state"] == ["OPEN"]
    report = json.loads((run.temp / "migrator.json").read_text())
    verdicts = {h["head"]: h["ok"] for h in report["heads"]}
    assert verdicts == {"pull/1": True, "pull/2": False, "pull/3": False}
    heads = github["heads"]
    assert [(s["method"], s["path"], s["auth"], s["body"]) for s in statuses] == [
        (
            "POST",
            f"/repos/team/shop/statuses/{heads[number]}",
            "token t0ken",
            {"state": state, "context": "migrator/merge-into-main", "description": words},
        )
        for number, state, words in (
            (1, "success", "migrator: merges cleanly into main"),
            (2, "failure", "migrator: 1 finding(s) after merging into main"),
            (3, "failure", "migrator: 1 finding(s) after merging into main"),
        )
    ]
    for number in (1, 2):
        django = django_after_merge(github, "origin/main", heads[number])
        entry = next(h for h in report["heads"] if h["head"] == f"pull/{number}")
        assert {c["app"]: c["leaves"] for c in entry["conflicts"]} == django
    published = next(h for h in report["heads"] if h["head"] == "pull/3")
    assert [(c["migration"], c["change"]) for c in published["published_changes"]] == [
        ("0001_initial", "operations")
    ]
    assert run.summary.read_text().startswith("### ❌")


def test_merge_queue_checks_the_merged_tree(github, python, wheelhouse):
    base = git(github["remote"], "rev-parse", "main").stdout.strip()
    workflow = WORKFLOWS / "merge-queue.yml"
    assert pinned_release(workflow) == migrator.__version__
    for number, expected in ((1, 0), (2, 1)):
        workspace = checkout(github, f"queue{number}", base)
        git(workspace, "fetch", "-q", "origin", github["heads"][number])
        git(workspace, "merge", "-q", "--no-edit", github["heads"][number])
        run = runner(
            workspace,
            python,
            wheelhouse,
            event_name="merge_group",
            event={"merge_group": {"base_sha": base}},
        )
        install, check = run.run_job(workflow, "migrator")
        assert install.code == 0, install.err
        tree = DjangoProject.open(workspace).django_conflicts()
        assert (check.code, tree == {}) == (expected, expected == 0), check.out + check.err
        assert run.summary.read_text().startswith("### ✅" if expected == 0 else "### ❌")


def test_the_documented_workflows_are_the_tested_ones():
    """The README shows each workflow as it is in docs/workflows (which the tests run),
    and none names this repository (``uses: ./``) or anything a user must fill in."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    for workflow in sorted(WORKFLOWS.glob("*.yml")):
        text = workflow.read_text()
        assert text in blocks, f"{workflow.name} is not in the README as it is"
        assert "uses: ./" not in text
        for step in yaml_steps(workflow):
            if "uses" in step:  # third-party actions pinned to a commit
                assert re.fullmatch(r"actions/[\w-]+@[0-9a-f]{40}", step["uses"]), step
    for block in blocks:
        assert not re.search(r"\b(OWNER|REPOSITORY|REF)\b", block), block
        for version in re.findall(r"migrator-django==([\w.]+)", block):
            assert version == migrator.__version__


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
        .replace(
            "      - name: Install migrator\n",
            "      - run: echo ${{ github.event.pull_request.title }}\n"
            "      - name: Install migrator\n",
        )
    )
    refused = zizmor(bad)
    assert refused.returncode != 0 and "template-injection" in refused.stdout
