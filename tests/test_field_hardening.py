"""Hostile and unlucky inputs from issue 15: every command answers them with a problem or
one line on stderr and the right exit code, never a traceback or a wrong answer.

Real throwaway projects, the real CLI in a subprocess (see :mod:`tests.djproject`).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import textwrap

import pytest

from migrator.problems import HINTS
from tests.djproject import DjangoProject, Result, clean_env, run, run_to, run_unprivileged
from tests.gitrepo import commit_all, git, init_repo
from tests.manyleaves import INITIAL, many_leaves

WRITE_HINT = "free some space or choose a folder you can write to; nothing was written"

BAD_CLASS = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("alpha", "0001_initial")]
{body}"""

# name -> (class body, line of the problem, what is wrong)
UNBUILDABLE = {
    "operations_none": ("    operations = None\n", 6, "operations = None is not a list"),
    "replaces_int": ("    operations = []\n    replaces = 7\n", 7, "replaces = 7 is not a list"),
    "dependency_not_a_pair": (
        '    operations = []\n    dependencies = [("a",)]\n',
        7,
        "dependencies holds ('a',), which is not an (app_label, migration_name) pair",
    ),
    "init_raises": (
        "    operations = []\n\n    def __init__(self, *args):\n"
        '        raise RuntimeError("boom")\n',
        9,
        "RuntimeError: boom",
    ),
}


def unbuildable(project: DjangoProject, case: str) -> None:
    project.chain("alpha", ["0001_initial"])
    project.add_migration("alpha", "0002_bad", source=BAD_CLASS.format(body=UNBUILDABLE[case][0]))


@pytest.mark.parametrize("case", sorted(UNBUILDABLE))
def test_a_migration_django_cannot_build_is_a_problem(project, case):
    """alpha: 0001_initial <- 0002_bad, whose Migration class fails when Django builds it."""
    unbuildable(project, case)
    _, line, what = UNBUILDABLE[case]
    result = project.migrator("check")
    assert (result.code, result.err) == (1, "")
    assert result.out == (
        f"alpha/migrations/0002_bad.py:{line}: invalid-migration: Django cannot build "
        f"migration '0002_bad' in app 'alpha': {what}\n"
        f"  hint: {HINTS['invalid-migration']}\n"
        "Found 0 conflicts and 1 problem in 1 app (1 migration).\n"
    )


@pytest.mark.parametrize(
    "command",
    [
        ["explain"],
        ["show"],
        ["graph", "-o", "graph.dot"],
        ["merge", "alpha", "--dry-run"],
        ["rebase", "alpha", "--dry-run"],
        ["squash", "alpha"],
    ],
)
def test_every_command_survives_a_migration_django_cannot_build(project, command):
    unbuildable(project, "dependency_not_a_pair")
    result = project.migrator(*command)
    assert "Traceback" not in result.err
    assert result.code in (0, 1), result.err


# -- standard output that cannot be written, interrupts before any command runs ----------


def run_shell(project: DjangoProject, command: str) -> Result:
    """``command`` in a shell, in the project folder, ``migrator`` being this checkout."""
    migrator = f"{shlex.quote(sys.executable)} -m migrator"
    proc = subprocess.run(
        ["bash", "-c", command.replace("migrator", migrator, 1)],
        cwd=project.root,
        env=clean_env(PYTHONPATH=os.pathsep.join(sys.path)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def migrator_to(project: DjangoProject, command: str, stdout: str) -> Result:
    """``migrator COMMAND`` with standard output ``stdout``: ``/dev/full`` (no space
    left), ``closed`` before Python starts (the shell's ``>&-``: a real interpreter, which
    then has no ``sys.stdout``), or a ``pipe`` whose reader is gone before the write."""
    if stdout == "closed":
        said = run_shell(project, f"migrator {command} >&-; echo $? >&2")
        *err, code = said.err.splitlines(keepends=True)
        return Result(int(code), said.out, "".join(err))
    args = [sys.executable, "-m", "migrator", *command.split()]
    if stdout == "/dev/full":
        fd = os.open("/dev/full", os.O_WRONLY)
    else:
        reader, fd = os.pipe()
        os.close(reader)
    try:
        return run_to(args, project.root, fd, clean_env(PYTHONPATH=os.pathsep.join(sys.path)))
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("stdout", "reason"),
    [
        ("/dev/full", "No space left on device"),
        ("closed", "it is closed"),
        ("pipe", "Broken pipe"),
    ],
)
@pytest.mark.parametrize(
    "command", ["check", "check --format json", "explain", "--help", "check --help", "--version"]
)
def test_standard_output_that_cannot_be_written_is_one_line(project, command, stdout, reason):
    """A clean project: only the output itself can fail (click prints --help through a
    check of the stream's type that swallows the first failure)."""
    project.chain("alpha", ["0001_initial"])
    result = migrator_to(project, command, stdout)
    assert result == Result(1, "", f"migrator: error: cannot write to standard output: {reason}\n")


# -- graph -o: a file that cannot be written -------------------------------------------


def test_graph_output_that_is_a_folder_is_a_usage_error(project):
    project.chain("alpha", ["0001_initial"])
    (project.root / "out.svg").mkdir()
    result = project.migrator("graph", "-o", "out.svg")
    assert result == Result(
        2,
        "",
        "migrator: error: cannot write 'out.svg': it is a folder\n"
        "  hint: name a file, e.g. 'out.svg/migrations.svg'\n",
    )


def test_graph_on_a_full_disk_writes_nothing(project):
    """A real write error: files may not grow past 100 bytes (``RLIMIT_FSIZE``, EFBIG)."""
    project.chain("alpha", ["0001_initial"])
    before = project.snapshot()

    result = run(
        [sys.executable, "-m", "migrator", "graph", "-o", "graph.dot"], project.root, file_size=100
    )
    assert result == Result(
        1,
        "",
        f"migrator: error: cannot write 'graph.dot': File too large\n  hint: {WRITE_HINT}\n",
    )
    assert project.snapshot() == before


def test_graph_into_a_read_only_folder_writes_nothing(project):
    project.chain("alpha", ["0001_initial"])
    (project.root / "docs").mkdir()
    (project.root / "docs").chmod(0o555)
    result = run_unprivileged(
        [sys.executable, "-m", "migrator", "graph", "-o", "docs/graph.dot"], project.root
    )
    assert result == Result(
        1,
        "",
        "migrator: error: cannot write 'docs/graph.dot': Permission denied\n"
        f"  hint: {WRITE_HINT}\n",
    )
    assert list((project.root / "docs").iterdir()) == []


# -- Ctrl-C before any command runs ----------------------------------------------------

# A real SIGINT, sent by the process to itself at a point before any command's
# handle_errors: while typer is imported, or while typer parses the command line.
EARLY_SIGINT = {
    "importing typer": """
        import builtins
        real_import = builtins.__import__
        def hook(name, *args, **kwargs):
            if name == "typer":
                os.kill(os.getpid(), signal.SIGINT)
            return real_import(name, *args, **kwargs)
        builtins.__import__ = hook
    """,
    "parsing the command line": """
        import migrator.cli.app
        migrator.cli.app.install_signal_handlers = lambda: os.kill(os.getpid(), signal.SIGINT)
    """,
}


@pytest.mark.parametrize("moment", sorted(EARLY_SIGINT))
def test_a_very_early_ctrl_c_says_interrupted(project, moment):
    project.chain("alpha", ["0001_initial"])
    # A shell starts background jobs (make test runs one suite so) with SIGINT ignored,
    # and Python then keeps it ignored; a terminal's Ctrl-C reaches a foreground process.
    script = (
        "import os, signal, sys\n"
        + "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        + textwrap.dedent(EARLY_SIGINT[moment])
        + "sys.argv = ['migrator', 'check']\n"
        + "from migrator.cli import main\nmain()\n"
    )
    # a new interpreter: in the tests' fork server, typer is imported already
    result = run([sys.executable, "-c", script], project.root, fork=False)
    assert result == Result(130, "", "migrator: interrupted (SIGINT)\n")


# -- settings that print or exit -----------------------------------------------------


def forked(project: DjangoProject) -> None:
    """alpha: 0001_initial -> 0002_a, 0001_initial -> 0002_b (a real conflict)."""
    project.chain("alpha", ["0001_initial", "0002_a"])
    project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")])


CONFLICT_JSON = {
    "ok": False,
    "conflicts": [
        {
            "app": "alpha",
            "leaves": ["0002_a", "0002_b"],
            "paths": ["alpha/migrations/0002_a.py", "alpha/migrations/0002_b.py"],
        }
    ],
    "problems": [],
    "migrations": {"alpha": 3},
}


def test_what_settings_print_goes_to_stderr(tmp_path):
    project = DjangoProject(
        tmp_path / "proj",
        settings_extra='print("settings loaded")\nimport os\nos.write(1, b"raw fd\\n")\n',
    )
    forked(project)
    result = project.migrator("check", "--format", "json")
    assert (result.code, result.json()) == (1, CONFLICT_JSON)
    assert result.err == "settings loaded\nraw fd\n"


def test_a_merge_verifies_although_settings_print(tmp_path):
    project = DjangoProject(tmp_path / "proj", settings_extra='print("settings loaded")\n')
    forked(project)
    result = project.migrator("merge", "alpha", "--name", "merge")
    assert result.code == 0, result.err
    assert project.migration_path("alpha", "0003_merge").exists()


@pytest.mark.parametrize(
    ("code", "exit"),
    [
        ("raise SystemExit(0)", "SystemExit(0)"),
        ('import sys\nsys.exit("msg")', "SystemExit('msg')"),
        ("import os\nos._exit(0)", "os._exit(0)"),
    ],
)
def test_settings_that_exit_are_a_configuration_error(tmp_path, code, exit):
    """Not a silent exit 0 over a real conflict."""
    project = DjangoProject(tmp_path / "proj", settings_extra=code + "\n")
    forked(project)
    line = 12 + code.count("\n")
    result = project.migrator("check")
    settings = project.root / "project" / "settings.py"
    assert result == Result(
        2,
        "",
        f"migrator: error: {settings}:{line}: the project's code exited the interpreter, "
        f"{exit}, while migrator loaded it with settings 'project.settings'\n"
        "  hint: settings, AppConfig.ready() and migration modules must not exit when "
        'imported; guard that code (`if __name__ == "__main__":`)\n',
    )


def test_migration_modules_naming_a_missing_package_is_an_error(tmp_path):
    """makemigrations takes alpha for an app without migrations; migrate crashes."""
    project = DjangoProject(
        tmp_path / "proj", settings_extra='MIGRATION_MODULES = {"alpha": "alpha.migrashuns"}\n'
    )
    forked(project)
    result = project.migrator("check")
    settings = project.root / "project" / "settings.py"
    assert result == Result(
        2,
        "",
        f"migrator: error: {settings}:12: MIGRATION_MODULES names 'alpha.migrashuns' for "
        "app 'alpha', which cannot be imported: No module named 'alpha.migrashuns'\n"
        "  hint: fix the module path in MIGRATION_MODULES, or map the app to None if it "
        "has no migrations\n",
    )


# -- conflicts beside a missing dependency ---------------------------------------------


def test_a_conflict_beside_a_typo_is_reported(project):
    """alpha: 0001_initial -> 0002_a, 0001_initial -> 0002_b; 0003_c depends on the
    misspelt 0002_tpyo. The conflict holds however the typo is fixed."""
    forked(project)
    project.add_migration("alpha", "0003_c", [("alpha", "0002_tpyo")])
    result = project.migrator("check", "--format", "json")
    assert result.code == 1
    report = result.json()
    assert [c["leaves"] for c in report["conflicts"]] == [["0002_a", "0002_b", "0003_c"]]
    assert [p["kind"] for p in report["problems"]] == ["missing-dependency"]


def test_a_migration_cut_off_by_a_typo_is_no_conflict(project):
    """alpha: 0001_initial -> 0002_a; 0003_c depends on the misspelt 0003_cc (did you
    mean... never 0003_c itself, it is the one asking)."""
    project.chain("alpha", ["0001_initial", "0002_a"])
    project.add_migration("alpha", "0003_c", [("alpha", "0003_cc")])
    result = project.migrator("check")
    assert (result.code, result.err) == (1, "")
    assert result.out == (
        "alpha/migrations/0003_c.py:6: missing-dependency: 'alpha.0003_c' depends on "
        "('alpha', '0003_cc'), which does not exist; did you mean '0002_a'?\n"
        f"  hint: {HINTS['missing-dependency']}\n"
        "Found 0 conflicts and 1 problem in 1 app (3 migrations).\n"
    )


# -- small ones -------------------------------------------------------------------------


def test_a_symlinked_migrations_folder_gives_relative_paths(tmp_path):
    """alpha/migrations is a link to a folder outside the project: the files are still
    named as the project has them."""
    shared = DjangoProject(tmp_path / "shared")
    forked(shared)
    project = DjangoProject(tmp_path / "proj")
    project.add_app("alpha", migrations=False)
    (project.root / "alpha" / "migrations").symlink_to(shared.root / "alpha" / "migrations")
    result = project.migrator("check", "--format", "json")
    assert (result.code, result.json()) == (1, CONFLICT_JSON)


def test_the_html_title_without_settings_names_the_folder(tmp_path):
    """--static, no manage.py nor settings: the page is titled after the folder."""
    project = DjangoProject(tmp_path / "shop")
    project.chain("alpha", ["0001_initial"])
    (project.root / "manage.py").unlink()
    shutil.rmtree(project.root / "project")
    result = project.migrator("graph", "--static", "-o", "graph.html")
    assert result.code == 0, result.err
    page = (project.root / "graph.html").read_text()
    assert "<title>Migrations in shop/</title>" in page


# -- pathological sizes ----------------------------------------------------------------


def test_mermaid_too_big_is_refused_before_the_work(project):
    """alpha: 0001_initial and 500 leaves after it. The branches' verdicts are work
    (they replayed every pair, tens of seconds, before the index); the refusal comes
    first. CPU seconds, not wall-clock: the machine may be shared."""
    project.chain("alpha", ["0001_initial"])
    for index in range(500):
        project.add_migration("alpha", f"0002_b{index:03d}", [("alpha", "0001_initial")])
    result = project.migrator("graph", "-o", "graph.mmd")
    cpu = result.cpu
    assert cpu is not None and cpu > 0.1  # the measure does measure
    assert result.code == 1
    assert result.err.startswith("migrator: error: the Mermaid diagram would have 500 edges")
    assert cpu < 5, f"refused after {cpu:.1f} CPU seconds"
    assert not (project.root / "graph.mmd").exists()


# An app with hundreds of leaves (tests/manyleaves.py): the verdict compares only the
# pairs that can collide, and the output is grouped by what they collide on.

BOTH_WAYS = """\
import json
from pathlib import Path

from migrator.analysis.overlap import collision_groups
from migrator.django.overlap import branch_overlap
from migrator.explain import explain_app
from migrator.project import load_project
from migrator.settings import ProjectOptions

project = load_project(ProjectOptions(cwd=Path.cwd()))
x = explain_app(project.graph, "alpha")
every_pair = branch_overlap(project.graph, x.branches, exhaustive=True)


def dump(overlap):
    groups = collision_groups(overlap)
    return {
        "level": overlap.level,
        "data_migrations": overlap.data_migrations,
        "groups": [repr(group) for group in groups],
        "pairs": sorted([g.target, g.kind, *pair] for g in groups for pair in g.pairs),
    }


print(
    json.dumps(
        {
            "indexed": dump(x.overlap),
            "every_pair": dump(every_pair),
            "grouped_directly": bool(x.overlap.groups) and not x.overlap.collisions,
        }
    )
)
"""


def both_ways(project: DjangoProject) -> dict:
    """The verdict as `explain` works it out (past a handful of leaves, grouped
    directly from what each branch touched where it can be), and with every pair
    replayed both ways, then grouped: the groups, each with its branches, what they do
    there and the pairs."""
    result = run([sys.executable, "-c", BOTH_WAYS], project.root)
    assert result.code == 0, result.err
    verdicts = result.json()
    assert verdicts["every_pair"]["groups"], "the comparison needs collisions"
    return verdicts


def grouped_pairs(explained: dict) -> list[list[str]]:
    """[target, kind, leaf, leaf] for each colliding pair, from `explain --format json`'s
    groups (``"pairs": null``: every pair of the group's branches)."""
    found = []
    for group in explained["overlap"]["collision_groups"]:
        leaves = [side["leaf"] for side in group["branches"]]
        pairs = group["pairs"] or [[a, b] for i, a in enumerate(leaves) for b in leaves[i + 1 :]]
        assert group["pair_count"] == len(pairs)
        found += [[group["target"], group["kind"], *pair] for pair in pairs]
    return sorted(found)


def test_explain_on_500_leaves_is_bounded(project):
    """alpha: 0001_initial, then 500 leaves, a few of which touch the same fields: every
    pair would be 124,750 entries; the collisions are grouped instead."""
    many_leaves(project, 500)
    text = project.migrator("explain")
    assert (text.code, text.err) == (1, "")
    assert len(text.out) < 200_000
    assert "    480 pairs of the 124750 pairs of branches collide" in text.out
    assert (
        "    alpha.Item.title: same-field: both branches alter, remove or rename this field; "
        "the one applied last wins: 10 branches, 45 pairs\n"
    ) in text.out
    explained = project.migrator("explain", "--format", "json")
    assert explained.code == 1
    (x,) = explained.json()["conflicts"]
    assert len(json.dumps(x["overlap"])) < 200_000
    assert x["overlap"]["collisions"] is None
    assert len(grouped_pairs(x)) == 480
    merge = project.migrator("merge", "alpha", "--dry-run")
    assert merge.code == 1
    assert len(merge.out) < 200_000


def test_explain_on_500_leaves_that_all_collide_is_bounded(project):
    """alpha: 0001_initial, then 500 leaves that each alter Item.name to a length of
    their own: all 124,750 pairs collide (about 7 CPU seconds per command when each
    pair was compared). One group, every pair; each command well under 5 CPU seconds
    (CPU, not wall-clock: the machine may be shared)."""
    many_leaves(project, 500, cycle=1)

    def timed(*argv: str):
        result = project.migrator(*argv)
        assert result.cpu is not None and result.cpu < 4, f"{' '.join(argv)}: {result.cpu}"
        return result

    text = timed("explain")
    assert (text.code, text.err) == (1, "")
    assert "    124750 pairs of the 124750 pairs of branches collide" in text.out
    assert (
        "    alpha.Item.name: same-field: both branches alter, remove or rename this field; "
        "the one applied last wins: 500 branches, 124750 pairs\n"
        "      branch 0002_b000: 0002_b000: Alter field name on item\n"
    ) in text.out
    assert "      pairs: every pair of these branches\n" in text.out
    explained = timed("explain", "--format", "json")
    (x,) = explained.json()["conflicts"]
    (group,) = x["overlap"]["collision_groups"]
    assert (group["pairs"], group["pair_count"], len(group["branches"])) == (None, 124750, 500)
    assert x["overlap"]["collisions"] is None
    merge = timed("merge", "alpha", "--dry-run")
    assert merge.code == 1
    assert "alpha.Item.name" in merge.out + merge.err
    graph = timed("graph")
    assert graph.code == 0


def test_the_grouped_pairs_are_those_every_pair_replayed_finds(project):
    """12 leaves, five shapes (tests/manyleaves.py): summarised, since past a handful;
    the groups name exactly the pairs, targets and kinds that replaying every pair in
    both orders finds."""
    many_leaves(project, 12, cycle=5)
    explained = project.migrator("explain", "--format", "json")
    (x,) = explained.json()["conflicts"]
    verdicts = both_ways(project)
    assert verdicts["grouped_directly"]
    assert verdicts["indexed"] == verdicts["every_pair"]
    assert grouped_pairs(x) == verdicts["every_pair"]["pairs"]
    kinds = {(target, kind) for target, kind, *_ in verdicts["every_pair"]["pairs"]}
    assert kinds == {
        ("alpha.Item", "same-model"),
        ("alpha.Item.name", "same-field"),
        ("alpha.Item.title", "same-field"),
        ("alpha.Order", "same-model"),
    }
    text = project.migrator("explain").out
    assert "alpha.Order: same-model: both branches change this model (different fields): 2 " in text
    assert "      pairs: every pair of these branches\n" in text


def test_every_pair_colliding_is_grouped_as_every_pair_replayed_finds(project):
    """12 leaves that each alter Item.name to a length of their own (the worst case at
    scale: every pair collides): one group of every pair, built without comparing the
    pairs, the same as replaying every pair gives."""
    many_leaves(project, 12, cycle=1)
    verdicts = both_ways(project)
    assert verdicts["grouped_directly"]
    assert verdicts["indexed"] == verdicts["every_pair"]
    assert len(verdicts["every_pair"]["pairs"]) == 66
    (x,) = project.migrator("explain", "--format", "json").json()["conflicts"]
    (group,) = x["overlap"]["collision_groups"]
    assert (group["target"], group["kind"], group["pairs"], group["pair_count"]) == (
        "alpha.Item.name",
        "same-field",
        None,
        66,
    )
    text = project.migrator("explain").out
    assert "    66 pairs of the 66 pairs of branches collide" in text
    assert "      pairs: every pair of these branches\n" in text


def test_field_level_shapes_are_grouped_as_every_pair_replayed_finds(project):
    """12 leaves of field operations only (no pair's order needs replaying): alters of
    one field, three to one definition; removals and a rename of a field others use
    through a foreign key's to_field; two adds of one field name. Grouped directly, the
    same groups (branches, what they do, pairs) as replaying every pair gives."""
    project.add_migration("alpha", "0001_initial", [], operations=INITIAL, initial=True)

    def field_op(kind: str, model: str, name: str, field: str) -> str:
        return f"migrations.{kind}(model_name={model!r}, name={name!r}, field={field})"

    by_title = (
        "models.ForeignKey(on_delete=models.CASCADE, to='alpha.item', to_field='title', null=True)"
    )
    leaves = [
        field_op("AlterField", "item", "name", "models.CharField(max_length=150)"),
        field_op("AlterField", "item", "name", "models.CharField(max_length=150)"),
        field_op("AlterField", "item", "name", "models.CharField(max_length=150)"),
        field_op("AlterField", "item", "name", "models.CharField(max_length=300)"),
        field_op("AlterField", "item", "name", "models.TextField()"),
        "migrations.RemoveField(model_name='item', name='title')",
        "migrations.RenameField('item', old_name='title', new_name='heading')",
        field_op("AddField", "order", "by_title", by_title),
        field_op("AddField", "order", "other_title", by_title),
        field_op("AddField", "order", "extra", "models.IntegerField(default=0)"),
        field_op("AddField", "order", "extra", "models.TextField(default='')"),
        field_op("AlterField", "order", "code", "models.CharField(max_length=20)"),
    ]
    for index, operation in enumerate(leaves):
        project.add_migration(
            "alpha", f"0002_{index:02d}", [("alpha", "0001_initial")], operations=[operation]
        )
    verdicts = both_ways(project)
    assert verdicts["grouped_directly"]
    assert verdicts["indexed"] == verdicts["every_pair"]
    kinds = {(target, kind) for target, kind, *_ in verdicts["every_pair"]["pairs"]}
    assert {
        ("alpha.Item.name", "same-field"),
        ("alpha.Item.title", "field-removed"),
        ("alpha.Item.title", "field-renamed"),
        ("alpha.Order.extra", "same-field-name"),
        ("alpha.Order", "same-model"),
    } <= kinds
    (x,) = project.migrator("explain", "--format", "json").json()["conflicts"]
    assert grouped_pairs(x) == verdicts["every_pair"]["pairs"]


def test_option_shapes_are_grouped_as_every_pair_replayed_finds(project):
    """12 leaves that change Meta options: one option set to different values by many
    (grouped directly: the replay of both orders adds nothing there), options that
    replace each other (AlterModelOptions resets the keys it does not name: only the
    replay of both orders shows it), one index name added twice, and field changes
    beside them. The same groups as replaying every pair gives."""
    project.add_migration("alpha", "0001_initial", [], operations=INITIAL, initial=True)

    def options(model: str, **values: object) -> str:
        return f"migrations.AlterModelOptions(name={model!r}, options={values!r})"

    def index(fields: list[str]) -> str:
        return (
            f"migrations.AddIndex(model_name='order', "
            f"index=models.Index(fields={fields!r}, name='code_idx'))"
        )

    leaves = [
        options("item", verbose_name="one"),
        options("item", verbose_name="two"),
        options("item", verbose_name="three"),
        options("item", verbose_name="three"),
        options("item", verbose_name="four"),
        options("order", ordering=["code"]),
        options("order", verbose_name="o"),
        index(["code"]),
        index(["id", "code"]),
        "migrations.AlterField(model_name='item', name='name', "
        "field=models.CharField(max_length=300))",
        "migrations.AlterField(model_name='item', name='name', "
        "field=models.CharField(max_length=400))",
        "migrations.AlterField(model_name='order', name='code', "
        "field=models.CharField(max_length=30))",
    ]
    for number, operation in enumerate(leaves):
        project.add_migration(
            "alpha", f"0002_{number:02d}", [("alpha", "0001_initial")], operations=[operation]
        )
    verdicts = both_ways(project)
    assert verdicts["grouped_directly"]
    assert verdicts["indexed"] == verdicts["every_pair"]
    kinds = {(target, kind) for target, kind, *_ in verdicts["every_pair"]["pairs"]}
    assert {
        ("alpha.Item.Meta.verbose_name", "same-option"),
        ("alpha.Order.Meta.ordering", "order-dependent"),
        ("alpha.Order.Meta.indexes['code_idx']", "same-option"),
        ("alpha.Item.name", "same-field"),
    } <= kinds
    (x,) = project.migrator("explain", "--format", "json").json()["conflicts"]
    assert grouped_pairs(x) == verdicts["every_pair"]["pairs"]


CUSTOM_OPERATION = """\
from django.db import migrations


class SetTable(migrations.operations.base.Operation):
    def state_forwards(self, app_label, state):
        state.models[app_label, "order"].options["db_table"] = "orders"

    def database_forwards(self, *args):
        pass

    def describe(self):
        return "Set the table of order"


class Migration(migrations.Migration):
    dependencies = [("alpha", "0001_initial")]
    operations = [SetTable()]
"""


def test_the_index_finds_what_every_pair_replayed_finds(project):
    """alpha: 0001_initial (Item, Order with foreign keys to Item and beta.Target), then
    leaves that rename, use through foreign keys, set options that replace each other,
    create one name twice, run data migrations, run a custom operation, or pull in a
    rename of beta.Target (which repoints alpha's foreign key: a side effect): the pairs
    the index compares find every collision that comparing every pair finds."""

    def fk(to: str) -> str:
        return f"models.ForeignKey(on_delete=models.CASCADE, to={to!r}, null=True)"

    def field_op(kind: str, model: str, name: str, field: str) -> str:
        return f"migrations.{kind}(model_name={model!r}, name={name!r}, field={field})"

    def model_op(name: str) -> str:
        return f"migrations.CreateModel({name!r}, [('id', models.AutoField(primary_key=True))])"

    def options(**values: object) -> str:
        return f"migrations.AlterModelOptions(name='order', options={values!r})"

    project.add_migration("beta", "0001_initial", operations=[model_op("Target")])
    project.add_migration(
        "beta",
        "0002_rename",
        [("beta", "0001_initial")],
        operations=['migrations.RenameModel(old_name="Target", new_name="Goal")'],
    )
    project.add_migration(
        "alpha",
        "0001_initial",
        [("beta", "0001_initial")],
        operations=[
            *INITIAL,
            field_op("AddField", "order", "item", fk("alpha.item")),
            field_op("AddField", "order", "target", fk("beta.target")),
        ],
    )
    index = "models.Index(fields=['code'], name='code_idx')"
    leaves = {
        "rename_item": "migrations.RenameModel(old_name='Item', new_name='Product')",
        "fk_to_item": field_op("AddField", "order", "other", fk("alpha.item")),
        "ordering": options(ordering=["code"]),
        "verbose": options(verbose_name="o"),
        "rename_name": "migrations.RenameField('item', old_name='name', new_name='label')",
        "alter_title": field_op("AlterField", "item", "title", "models.TextField()"),
        "thing_one": model_op("Thing"),
        "thing_two": model_op("thing"),
        "data_one": "migrations.RunPython(migrations.RunPython.noop)",
        "data_two": "migrations.RunSQL('SELECT 1')",
        "index": f"migrations.AddIndex(model_name='order', index={index})",
        "drop_fk": "migrations.RemoveField(model_name='order', name='item')",
        "alter_target": field_op("AlterField", "order", "target", fk("beta.target")),
    }
    for index, (name, operation) in enumerate(sorted(leaves.items())):
        project.add_migration(
            "alpha", f"0002_{index:02d}_{name}", [("alpha", "0001_initial")], operations=[operation]
        )
    project.add_migration("alpha", "0002_20_custom", source=CUSTOM_OPERATION)
    project.add_migration(
        "alpha", "0002_21_beta_renamed", [("alpha", "0001_initial"), ("beta", "0002_rename")]
    )
    verdicts = both_ways(project)
    # Grouped directly, but for the pairs whose order is replayed (compared one by one).
    assert verdicts["grouped_directly"]
    assert verdicts["indexed"] == verdicts["every_pair"]
    pairs = {tuple(p) for p in verdicts["every_pair"]["pairs"]}
    # Collisions that only the replay of both orders, a created name or a custom
    # operation show are among them.
    assert (
        "alpha.Order.Meta.ordering",
        "order-dependent",
        "0002_07_ordering",
        "0002_12_verbose",
    ) in pairs
    assert ("alpha.Thing", "same-model-name", "0002_10_thing_one", "0002_11_thing_two") in pairs
    assert ("alpha.Order", "same-model", "0002_06_index", "0002_20_custom") in pairs


@pytest.mark.parametrize(
    ("shape", "kinds"),
    [
        ("delete", {("alpha.Item", "model-deleted")}),
        ("rename-model", {("alpha.Item", "model-renamed")}),
        ("rename-field", {("alpha.Item.name", "same-field")}),
        ("add-same-model", {("alpha.Thing", "same-model-name")}),
        ("delete-alter", {("alpha.Item", "model-deleted"), ("alpha.Item.name", "same-field")}),
    ],
)
def test_model_level_shapes_are_grouped_as_every_pair_replayed_finds(project, shape, kinds):
    """12 leaves of one shape (tests/manyleaves.py): each deletes Item, renames it or
    its field to a name of its own, creates a model Thing, or deletes Item and alters
    it in turn. Every pair collides; the groups (branches, what they do, pairs) are
    those that replaying every pair in both orders gives."""
    many_leaves(project, 12, shape=shape)
    verdicts = both_ways(project)
    assert verdicts["grouped_directly"]
    assert verdicts["indexed"] == verdicts["every_pair"]
    assert len(verdicts["every_pair"]["pairs"]) >= 66
    assert {(target, kind) for target, kind, *_ in verdicts["every_pair"]["pairs"]} == kinds
    (x,) = project.migrator("explain", "--format", "json").json()["conflicts"]
    assert grouped_pairs(x) == verdicts["every_pair"]["pairs"]


def test_model_level_collisions_beside_replayed_orders(project):
    """alpha: 0001_initial (Item, Order with a foreign key to Item), then leaves that
    delete or rename Item (two to one name), rename it and create a new Item, only use
    it through a foreign key (on Order, on a model of their own: a rename of Item
    repoints that one in one order only), alter it, or create a model named like a
    rename's target. Where one order cannot be replayed (a branch changes a model the
    other deleted or renamed) the groups are built directly; the rest are replayed:
    the same groups as replaying every pair gives."""

    def fk(to: str) -> str:
        return f"models.ForeignKey(on_delete=models.CASCADE, to={to!r}, null=True)"

    def model_op(name: str, *fields: str) -> str:
        columns = "".join(f", ({f!r}, {fk('alpha.item')})" for f in fields)
        key = "('id', models.AutoField(primary_key=True))"
        return f"migrations.CreateModel({name!r}, [{key}{columns}])"

    def rename(new: str) -> str:
        return f"migrations.RenameModel(old_name='Item', new_name={new!r})"

    project.add_migration(
        "alpha",
        "0001_initial",
        operations=[
            *INITIAL,
            f"migrations.AddField(model_name='order', name='item', field={fk('alpha.item')})",
        ],
    )
    leaves = {
        "delete_one": ["migrations.DeleteModel('Item')"],
        "delete_two": ["migrations.DeleteModel('Item')"],
        "rename_product": [rename("Product")],
        "rename_product_too": [rename("Product")],
        "rename_goods": [rename("Goods")],
        "rename_recreate": [rename("Old"), model_op("Item")],
        "fk_on_order": [
            f"migrations.AddField(model_name='order', name='other', field={fk('alpha.item')})"
        ],
        "fk_on_own": [model_op("Foo", "item")],
        "alter_name": [
            "migrations.AlterField(model_name='item', name='name', "
            "field=models.CharField(max_length=300))"
        ],
        "create_product": [model_op("Product")],
        "options": ["migrations.AlterModelOptions(name='item', options={'ordering': ['name']})"],
        "delete_order": ["migrations.DeleteModel('Order')"],
    }
    for index, (name, operations) in enumerate(sorted(leaves.items())):
        project.add_migration(
            "alpha", f"0002_{index:02d}_{name}", [("alpha", "0001_initial")], operations=operations
        )
    verdicts = both_ways(project)
    assert verdicts["grouped_directly"]
    assert verdicts["indexed"] == verdicts["every_pair"]
    kinds = {(target, kind) for target, kind, *_ in verdicts["every_pair"]["pairs"]}
    assert {
        ("alpha.Item", "model-deleted"),
        ("alpha.Item", "model-renamed"),
        ("alpha.Product", "same-model-name"),
        ("alpha.Order", "model-deleted"),
        ("alpha.Foo.item", "order-dependent"),  # only the replay shows it
    } <= kinds


def test_explain_on_500_leaves_that_all_delete_one_model_is_bounded(project):
    """alpha: 0001_initial, then 500 leaves that each delete Item: all 124,750 pairs
    collide (model-deleted). Each pair's order was replayed (about 25 CPU seconds);
    one order cannot be replayed (the model is gone), so the group is built directly:
    well under 4 CPU seconds."""
    many_leaves(project, 500, shape="delete")
    text = project.migrator("explain")
    cpu = text.cpu
    assert cpu is not None
    assert (text.code, text.err) == (1, "")
    assert (
        "    alpha.Item: model-deleted: one branch deletes this model, the other changes or "
        "uses it: 500 branches, 124750 pairs\n"
    ) in text.out
    assert cpu < 4, f"explain: {cpu:.1f} CPU seconds"


# -- beyond the list -------------------------------------------------------------


def test_a_migration_that_depends_on_itself(project):
    """alpha: 0001_initial <- 0002_self, which also depends on itself. Django refuses
    the graph (CircularDependencyError); check reports the cycle at the file, and show
    does not call the migration a merge (its second parent is itself)."""
    project.chain("alpha", ["0001_initial"])
    project.add_migration("alpha", "0002_self", [("alpha", "0001_initial"), ("alpha", "0002_self")])
    django = project.django(
        "from django.db.migrations.loader import MigrationLoader\nMigrationLoader(None)"
    )
    assert "CircularDependencyError: alpha.0002_self" in django.err
    result = project.migrator("check")
    assert result.code == 1
    assert result.out.startswith(
        "alpha/migrations/0002_self.py:6: circular-dependency: migrations form a cycle: "
        "alpha.0002_self -> alpha.0002_self\n"
    )
    shown = project.migrator("show", "--format", "json").json()
    (alpha,) = [a for a in shown["apps"] if a["app"] == "alpha"]
    assert [m["merge"] for m in alpha["migrations"]] == [False, False]


NON_UTF8 = os.fsdecode(b"0003_caf\xe9")  # a Latin-1 file name: not UTF-8


@pytest.fixture
def non_utf8_name(project):
    """alpha: 0001_initial <- 0002_a <- 0003_caf\\xe9, and 0001_initial <- 0002_b:
    Django imports the Latin-1 file name (Python keeps its byte as a lone surrogate)."""
    project.chain("alpha", ["0001_initial", "0002_a"])
    project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")])
    project.add_migration("alpha", NON_UTF8, [("alpha", "0002_a")])
    return project


def test_a_file_name_that_is_not_utf8_is_drawn(non_utf8_name):
    """Every graph format is written, where the encoders failed on the surrogate before:
    JSON keeps the real name (its escape decodes back to the file's bytes), the pictures
    show the byte as a visible escape, as the terminal does (render/escape.py)."""
    project = non_utf8_name
    assert project.django_conflicts() == {"alpha": ["0002_b", NON_UTF8]}
    for suffix in ("dot", "json", "html", "mmd", "svg"):
        result = project.migrator("graph", "-o", f"graph.{suffix}")
        assert (result.code, result.err) == (0, ""), suffix
    drawn = json.loads((project.root / "graph.json").read_text(encoding="utf-8"))
    names = {node["name"] for node in drawn["nodes"]}
    assert NON_UTF8 in names
    assert os.fsencode(NON_UTF8) == b"0003_caf\xe9"
    assert "0003_caf\\\\udce9" in (project.root / "graph.dot").read_text(encoding="utf-8")


def test_a_file_name_that_is_not_utf8_on_a_strict_terminal(non_utf8_name):
    """A UTF-8 locale other than C makes Python's stdout strict: the conflict is still
    listed (the byte shown as a visible escape), not 'cannot write to standard output'."""
    result = non_utf8_name.migrator("check", env=clean_env(PYTHONIOENCODING="utf-8:strict"))
    assert (result.code, result.err) == (1, "")
    assert result.out.startswith("alpha: conflict: 2 leaf migrations: 0002_b, 0003_caf\\udce9\n")


def test_run_from_a_subfolder_of_the_project(project):
    """From alpha/migrations/, every command finds the project through the nearest
    manage.py above, as from its root (before: 'no Django settings found', and
    --static said 'No conflicts ... in 0 apps', exit 0, over a real conflict)."""
    project.chain("alpha", ["0001_initial", "0002_a"])
    project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")])
    inside = project.root / "alpha" / "migrations"
    expected = "alpha: conflict: 2 leaf migrations: 0002_a, 0002_b\n  0002_a.py\n  0002_b.py\n"
    for static in ([], ["--static"]):
        result = run([sys.executable, "-m", "migrator", "check", *static], inside)
        assert (result.code, result.err) == (1, ""), static
        assert result.out.startswith(expected), static
    rebased = run([sys.executable, "-m", "migrator", "rebase", "alpha", "--keep", "0002_a"], inside)
    assert rebased.code == 0, rebased.err
    assert sorted(p.name for p in inside.glob("0*.py")) == [
        "0001_initial.py",
        "0002_a.py",
        "0003_b.py",
    ]
    assert project.django_conflicts() == {}
    assert not (inside / ".migrator-journal").exists()


@pytest.mark.parametrize("static", [[], ["--static"]])
@pytest.mark.parametrize(
    ("module", "hint"),
    [
        ("project", "did you mean 'project.settings'? Name the settings module itself"),
        ("alpha", "name the settings module itself (the file that sets INSTALLED_APPS)"),
    ],
)
def test_settings_naming_a_package_is_a_configuration_error(project, module, hint, static):
    """--settings project (the package, not project.settings): Django would boot it with
    no apps and find nothing; migrator said 'No conflicts ... in 0 apps', exit 0."""
    project.chain("alpha", ["0001_initial", "0002_a"])
    project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")])
    result = project.migrator("check", "--settings", module, *static)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        f"migrator: error: {project.root / module / '__init__.py'}: settings module "
        f"{module!r} is a package "
        f"that sets no INSTALLED_APPS\n  hint: {hint}\n"
    )


def test_a_rebase_of_a_migration_with_a_name_near_the_limit(project):
    """0003_xxx...x.py, 253 bytes: the temporary names beside it would pass 255 bytes.
    The rebase used to fail, then could not roll its journal back ('File name too
    long'), blocking every later write; it now renames and verifies."""
    long_name = "0003_" + "x" * 245
    project.chain("alpha", ["0001_initial", "0002_a", long_name])
    project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")])
    result = project.migrator("rebase", "alpha", "--keep", "0002_b")
    assert result.code == 0, result.err
    names = sorted(p.name for p in (project.root / "alpha" / "migrations").glob("0*.py"))
    assert names == ["0001_initial.py", "0002_b.py", "0003_a.py", f"0004_{'x' * 245}.py"]
    assert project.django_conflicts() == {}
    assert not (project.root / ".migrator-journal").exists()


def test_a_shallow_clone_of_a_merge_says_so(tmp_path):
    """CI checks out one commit (`git clone --depth 1`, actions/checkout's default): the
    merge commit at HEAD has no parents there. rebase cannot find the mainline, and
    says why, with the fix, instead of 'HEAD is not a merge'."""
    origin = DjangoProject(tmp_path / "origin")
    origin.chain("alpha", ["0001_initial"])
    init_repo(origin.root)
    commit_all(origin.root, "base")
    git(origin.root, "checkout", "-q", "-b", "feature")
    origin.add_migration("alpha", "0002_feature", [("alpha", "0001_initial")])
    commit_all(origin.root, "feature")
    git(origin.root, "checkout", "-q", "main")
    origin.add_migration("alpha", "0002_main", [("alpha", "0001_initial")])
    commit_all(origin.root, "main")
    git(origin.root, "merge", "-q", "--no-edit", "feature")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin.root}", str(clone))

    rebased = run([sys.executable, "-m", "migrator", "rebase", "alpha"], clone)
    assert (rebased.code, rebased.out) == (1, "")
    assert rebased.err == (
        "migrator: error: HEAD is no merge in this shallow clone (its parents may not have "
        "been fetched), so the mainline is unknown\n"
        "  hint: fetch the history (`git fetch --unshallow`; `fetch-depth: 0` for "
        "actions/checkout), or pass --onto REF, --keep LEAF or --move LEAF\n"
    )
    explained = run([sys.executable, "-m", "migrator", "explain"], clone)
    assert (
        "  git: shallow clone: HEAD's parents may not have been fetched "
        "(git fetch --unshallow): sides unknown\n"
    ) in explained.out
    assert run([sys.executable, "-m", "migrator", "rebase", "alpha"], origin.root).code == 0


def test_a_manage_py_with_a_byte_order_mark(project):
    """Windows editors save manage.py with a UTF-8 BOM; Python runs it all the same (it
    is Django's way to the settings here), so its settings are found."""
    project.chain("alpha", ["0001_initial", "0002_a"])
    project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")])
    manage_py = project.root / "manage.py"
    manage_py.write_bytes(b"\xef\xbb\xbf" + manage_py.read_bytes().replace(b"\n", b"\r\n"))
    assert project.manage("showmigrations", "alpha").code == 0
    result = project.migrator("check")
    assert (result.code, result.err) == (1, "")
    assert result.out.startswith("alpha: conflict: 2 leaf migrations: 0002_a, 0002_b\n")


def test_unreadable_migrations_read_alike_in_both_modes(project):
    """beta/migrations/ without any permission, and one of alpha's migrations
    unreadable: --static tracebacked on the folder; now, as Python's import system,
    it sees no package there (Django: an unmigrated app), and both modes report the
    unreadable migration the same way."""
    project.chain("alpha", ["0001_initial", "0002_a"])
    project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")])
    project.chain("beta", ["0001_initial"])
    (project.migration_path("alpha", "0002_b")).chmod(0)
    (project.root / "beta" / "migrations").chmod(0)
    try:
        results = [
            run_unprivileged([sys.executable, "-m", "migrator", "check", *static], project.root)
            for static in ([], ["--static"])
        ]
    finally:
        (project.root / "beta" / "migrations").chmod(0o755)
    django_mode, static_mode = results
    assert (django_mode.code, django_mode.err) == (1, "")
    assert (static_mode.code, static_mode.out, static_mode.err) == (1, django_mode.out, "")
    assert django_mode.out.startswith(
        "alpha/migrations/0002_b.py: import-error: cannot import migration '0002_b' in app "
        "'alpha': PermissionError: [Errno 13] Permission denied"
    )


def test_merge_warns_of_a_conflict_a_broken_migration_may_hide(project):
    """alpha: 0002_a and 0002_b after 0001_initial, 0002_b with a syntax error: Django
    sees one leaf. merge has nothing to merge, and says a conflict may be hidden."""
    project.chain("alpha", ["0001_initial", "0002_a"])
    path = project.add_migration("alpha", "0002_b", [("alpha", "0001_initial")])
    path.write_text(path.read_text() + "this is not python(\n")
    before = project.snapshot()
    result = project.migrator("merge")
    assert (result.code, result.out) == (0, "No conflicts to merge in 1 app.\n")
    assert result.err == (
        "migrator: warning: 1 problem while loading 'alpha' may hide a conflict there; "
        "`migrator check` lists them\n"
    )
    assert project.snapshot() == before
