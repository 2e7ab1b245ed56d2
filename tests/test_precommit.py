"""The pre-commit hooks of ``.pre-commit-hooks.yaml``, used by URL as a project would:
pre-commit clones this repository at HEAD, installs it in its own environment and runs
the hooks on a real repository (a staged migration depending on an untracked one; a
branch that edits a migration its base branch already has). Django judges each case
on a clone of what was committed. pip, in pre-commit's environments, installs from a
local folder instead of PyPI (tests/release.py): migrator's dependencies and build
backend, and a wheel of this checkout as the release the README's configuration names.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.djproject import DjangoProject, clean_env, run
from tests.gitrepo import commit_all, git, init_repo
from tests.release import pip_env

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / ".pre-commit-hooks.yaml"


def hooks() -> dict[str, dict]:
    return {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text())}


@pytest.fixture
def project(tmp_path) -> DjangoProject:
    """A bare remote with main (shop.0001_initial), cloned, on branch ``feature``."""
    seed = DjangoProject(tmp_path / "seed", ["shop"])
    seed.add_migration("shop", "0001_initial", [])
    (seed.root / ".gitignore").write_text("db.sqlite3\n__pycache__/\n")
    init_repo(seed.root)
    commit_all(seed.root, "initial")
    git(tmp_path, "clone", "-q", "--bare", str(seed.root), str(tmp_path / "remote.git"))
    git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(tmp_path / "clone"))
    project = DjangoProject.open(tmp_path / "clone")
    project.apps = ["shop"]
    git(project.root, "checkout", "-q", "-b", "feature")
    return project


def hook_command(hook: dict, *extra_args: str) -> list[str]:
    """The command pre-commit runs for a hook (``pass_filenames: false``)."""
    assert hook["pass_filenames"] is False and hook["language"] == "python"
    entry = hook["entry"].split()
    assert entry[0] == "migrator"
    return [sys.executable, "-m", "migrator", *entry[1:], *(extra_args or hook.get("args", []))]


def test_the_hooks_as_defined(project):
    defined = hooks()
    assert sorted(defined) == ["migrator-check", "migrator-published"]
    project.add_migration("shop", "0002_a", [("shop", "0001_initial")])
    project.add_migration("shop", "0003_b", [("shop", "0002_a")])
    git(project.root, "add", "shop/migrations/0003_b.py")
    staged = run(hook_command(defined["migrator-check"]), project.root)
    assert staged.code == 1, staged.out + staged.err
    assert "unstaged-dependency" in staged.out
    git(project.root, "add", "-A")
    assert run(hook_command(defined["migrator-check"]), project.root).code == 0

    commit_all(project.root, "two")
    published = run(hook_command(defined["migrator-published"]), project.root)
    assert published.code == 0, published.out + published.err  # origin/main by default
    path = project.migration_path("shop", "0001_initial")
    path.write_text(
        path.read_text().replace("dependencies = []", "dependencies = []\n    atomic = False")
    )
    edited = run(hook_command(defined["migrator-published"]), project.root)
    assert edited.code == 1
    assert (
        "'shop.0001_initial' is published on origin/main and this branch changes its operations"
        in edited.out
    )
    # the base is the hook's argument: against this branch itself, nothing is published
    # that the commit changes
    commit_all(project.root, "not atomic")
    other = run(hook_command(defined["migrator-published"], "feature"), project.root)
    assert (other.code, "published-migration-changed" in other.out) == (0, False)
    again = run(hook_command(defined["migrator-published"]), project.root)
    assert (again.code, "published-migration-changed" in again.out) == (1, True)


def pre_commit() -> str:
    found = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which(
        "pre-commit"
    )
    if found is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[dev]')")
    if git(ROOT, "rev-parse", "HEAD", check=False).returncode != 0:
        pytest.skip("this checkout is not a git repository: pre-commit cannot clone it")
    return found


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    """One hook environment for the module: pre-commit installs migrator once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def run_pre_commit(project: DjangoProject, home: Path, wheelhouse: Path, *args: str):
    """``pre-commit run``; the hook environments it creates install from ``wheelhouse``."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("PYTHON")}
    env["PRE_COMMIT_HOME"] = str(home)
    env.update(pip_env(wheelhouse))
    # pip installs the hook environment without compiling every module of every package
    # (pip reads this variable inverted: 0 means --no-compile); the hooks compile, and
    # cache, what they import. Most of an install's CPU time went to compiling Django.
    env["PIP_NO_COMPILE"] = "0"
    return subprocess.run(
        [pre_commit(), "run", *args],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_pre_commit_by_url(project, pre_commit_home, wheelhouse, tmp_path):
    sha = git(ROOT, "rev-parse", "HEAD").stdout.strip()
    (project.root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {sha}\n    hooks:\n"
        "      - id: migrator-check\n"
        "      - id: migrator-published\n"
    )
    git(project.root, "add", ".pre-commit-config.yaml")
    project.add_migration("shop", "0002_a", [("shop", "0001_initial")])
    project.add_migration("shop", "0003_b", [("shop", "0002_a")])
    git(project.root, "add", "shop/migrations/0003_b.py")
    result = run_pre_commit(project, pre_commit_home, wheelhouse)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "migrator check (the migrations being committed)" in result.stdout
    assert "unstaged-dependency: 'shop.0003_b' depends on ('shop', '0002_a')" in result.stdout
    # Django agrees: the commit, cloned, cannot load.
    git(project.root, "commit", "-q", "--no-verify", "-m", "as staged")
    git(tmp_path, "clone", "-q", str(project.root), str(tmp_path / "elsewhere"))
    loaded = DjangoProject.open(tmp_path / "elsewhere").django(
        "from django.db.migrations.loader import MigrationLoader\n"
        "try:\n    MigrationLoader(None)\nexcept Exception as e:\n    print(type(e).__name__)\n"
    )
    assert loaded.out.strip() == "NodeNotFoundError"

    git(project.root, "add", "-A")
    git(project.root, "commit", "-q", "--no-verify", "-m", "fixed")
    path = project.migration_path("shop", "0001_initial")
    path.write_text(path.read_text().replace("dependencies = []", "dependencies = []  # fine"))
    git(project.root, "add", "-A")
    clean = run_pre_commit(project, pre_commit_home, wheelhouse)
    assert clean.returncode == 0, clean.stdout + clean.stderr  # formatting only: a warning
    path.write_text(
        path.read_text().replace(
            "operations = [", "operations = [\n        migrations.RunSQL('SELECT 1'),"
        )
    )
    git(project.root, "add", "-A")
    edited = run_pre_commit(project, pre_commit_home, wheelhouse)
    assert edited.returncode == 1
    assert (
        "published-migration-changed: 'shop.0001_initial' is published on origin/main"
        in edited.stdout
    )


def test_the_readme_configuration_as_pasted(project, wheelhouse, tmp_path_factory):
    """The README's ``.pre-commit-config.yaml``, word for word: pre-commit installs
    ``migrator-django==X`` by name (a wheel of this checkout, found with its
    dependencies in PyPI's stand-in) and both hooks judge the commit."""
    import migrator

    pre_commit()
    readme = (ROOT / "README.md").read_text()
    (config,) = [
        block
        for block in re.findall(r"```yaml\n(.*?)```", readme, re.S)
        if block.startswith("repos:\n  - repo: local\n")
    ]
    assert set(re.findall(r"migrator-django==([\w.]+)", config)) == {migrator.__version__}
    defined = {hook["id"]: hook for hook in yaml.safe_load(config)["repos"][0]["hooks"]}
    for name, hook in hooks().items():  # the same hooks as .pre-commit-hooks.yaml's
        assert (defined[name]["files"], defined[name]["pass_filenames"]) == (
            hook["files"],
            hook["pass_filenames"],
        )
        assert defined[name]["entry"] == " ".join([hook["entry"], *hook.get("args", [])])
    (project.root / ".pre-commit-config.yaml").write_text(config)
    git(project.root, "add", ".pre-commit-config.yaml")
    home = tmp_path_factory.mktemp("pre-commit-home-readme")

    def pre_commit_run():
        return run_pre_commit(project, home, wheelhouse)

    project.add_migration("shop", "0002_a", [("shop", "0001_initial")])
    project.add_migration("shop", "0003_b", [("shop", "0002_a")])
    git(project.root, "add", "shop/migrations/0003_b.py")
    result = pre_commit_run()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "unstaged-dependency: 'shop.0003_b' depends on ('shop', '0002_a')" in result.stdout
    git(project.root, "add", "-A")
    clean = pre_commit_run()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    git(project.root, "commit", "-q", "--no-verify", "-m", "two")
    path = project.migration_path("shop", "0001_initial")
    path.write_text(
        path.read_text().replace(
            "operations = [", "operations = [\n        migrations.RunSQL('SELECT 1'),"
        )
    )
    git(project.root, "add", "-A")
    edited = pre_commit_run()
    assert edited.returncode == 1
    assert (
        "published-migration-changed: 'shop.0001_initial' is published on origin/main"
        in edited.stdout
    )
