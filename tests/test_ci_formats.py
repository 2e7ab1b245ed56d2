"""``--format markdown`` and ``--format gitlab`` for ``check``, ``check --against`` and
``check --heads``: what CI pages show, with every identifier escaped."""

from __future__ import annotations

import json
import re

import pytest

from tests.djproject import DjangoProject, sample_project
from tests.gitrepo import commit_all, git, init_repo


def outside_code(md: str) -> str:
    """The markdown with fenced blocks and code spans taken out (CommonMark: a span
    closes at the next run of exactly as many backticks)."""
    md = re.sub(r"^(`{3,})[^\n]*\n.*?^\1$", "", md, flags=re.M | re.S)
    out, position = [], 0
    for run in re.finditer(r"(?<!\\)`+", md):  # an escaped backtick opens nothing
        if run.start() < position:
            continue
        close = re.compile(r"(?<!`)" + run.group() + r"(?!`)").search(md, run.end())
        if close is None:
            continue
        out.append(md[position : run.start()])
        position = close.end()
    return "".join(out) + md[position:]


GITLAB_KEYS = {"description", "check_name", "fingerprint", "severity", "location"}


def test_markdown_each_conflict_with_the_verdict_and_command_of_explain(tmp_path):
    project = sample_project(tmp_path / "shop")
    result = project.migrator("check", "--format", "markdown")
    assert (result.code, result.err) == (1, "")
    explained = project.migrator("explain", "--format", "json").json()
    md = result.out
    assert md.startswith("### ❌ migrator check: 3 conflicts, 0 problems\n")
    sections = md.split("#### Conflict in ")[1:]
    assert [s.split("\n", 1)[0] for s in sections] == ["`customers`", "`inventory`", "`orders`"]
    for section, x in zip(sections, explained["conflicts"], strict=True):
        command = re.search(r"```sh\n(.*)\n```", section).group(1)
        # the command is the one explain's recommendation names
        assert f"`{command}`" in x["recommendation"], (command, x["recommendation"])
        mermaid = re.search(r"```mermaid\n(.*?)\n```", section, re.S).group(1).splitlines()
        assert mermaid[0] == "flowchart TB"
        for leaf in x["leaves"]:
            assert any(f'["{leaf}"]' in line for line in mermaid), leaf
        for fork in x["fork_points"]:
            assert any(f'["{x["app"]}.{fork}"]' in line for line in mermaid)
    assert "migrator rebase inventory --move 0003_stockitem_quantity_default" in md
    assert "```sh\nmigrator merge orders\n```" in md


def test_gitlab_code_quality(tmp_path):
    """The project sits in src/ of the repository: GitLab wants paths from the top."""
    project = sample_project(tmp_path / "repo" / "src")
    init_repo(tmp_path / "repo")
    commit_all(tmp_path / "repo", "initial")
    bad = project.root / "orders" / "migrations" / "0004_order_gift_wrap.py"
    bad.write_text(bad.read_text().replace("0003_order_gift_note", "0003_order_gift_nte"))
    first = project.migrator("check", "--static", "--format", "gitlab")
    again = project.migrator("check", "--static", "--format", "gitlab")
    assert first.code == 1 and first.out == again.out
    issues = json.loads(first.out)
    assert all(set(issue) == GITLAB_KEYS for issue in issues)
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert {(i["check_name"], i["location"]["path"]) for i in issues} == {
        ("migration-conflict", "src/customers/migrations/0003_customer_loyalty_tier.py"),
        ("migration-conflict", "src/customers/migrations/0003_customer_phone.py"),
        ("migration-conflict", "src/inventory/migrations/0003_alter_stockitem_quantity.py"),
        ("migration-conflict", "src/inventory/migrations/0003_stockitem_quantity_default.py"),
        # the typo cuts 0004 from its parent: orders has three leaves however it is fixed
        ("migration-conflict", "src/orders/migrations/0003_order_gift_note.py"),
        ("migration-conflict", "src/orders/migrations/0003_orderline_discount.py"),
        ("migration-conflict", "src/orders/migrations/0004_order_gift_wrap.py"),
        ("missing-dependency", "src/orders/migrations/0004_order_gift_wrap.py"),
    }
    missing = next(i for i in issues if i["check_name"] == "missing-dependency")
    assert missing["location"]["lines"]["begin"] == next(
        n for n, line in enumerate(bad.read_text().splitlines(), 1) if "gift_nte" in line
    )
    assert {i["severity"] for i in issues} == {"major"}
    clean = DjangoProject(tmp_path / "clean", ["shop"])
    clean.add_migration("shop", "0001_initial", [])
    ok = clean.migrator("check", "--static", "--format", "gitlab")
    assert (ok.code, ok.out) == (0, "[]\n")


@pytest.fixture
def branches(tmp_path) -> DjangoProject:
    project = DjangoProject(tmp_path / "repo", ["shop"])
    project.add_migration("shop", "0001_initial", [])
    (project.root / ".gitignore").write_text("db.sqlite3\n__pycache__/\n")
    init_repo(project.root)
    commit_all(project.root, "initial")
    evil = "x<img/src=y>|`@team&$1"
    git(project.root, "checkout", "-q", "-b", evil)
    project.add_migration("shop", '0002_a"b<c>', [("shop", "0001_initial")])
    commit_all(project.root, "evil")
    git(project.root, "checkout", "-q", "-b", "mine", "main")
    project.add_migration("shop", "0002_mine", [("shop", "0001_initial")])
    path = project.migration_path("shop", "0001_initial")
    path.write_text(
        path.read_text().replace(
            "operations = [", "operations = [\n        migrations.RunSQL('SELECT 1'),"
        )
    )
    commit_all(project.root, "mine")
    project.evil = evil  # type: ignore[attr-defined]
    return project


def test_against_markdown_escapes_names_and_shows_the_published_change(branches):
    evil = branches.evil  # type: ignore[attr-defined]
    result = branches.migrator("check", "--static", "--against", evil, "--format", "markdown")
    assert result.code == 1, result.err
    md = result.out
    # in code spans (as text) or escaped, never markup
    assert "<img" in md and not re.search(r"(?<!\\)<img", outside_code(md))
    assert "```sh\ngit merge 'x<img/src=y>|`@team&$1'\nmigrator merge shop\n```" in md
    assert '["0002_a#34;b#60;c#62;"]' in md  # the Mermaid label
    assert not re.search(r"(?<!\\)<c", outside_code(md))
    # mine changed shop.0001_initial, which the merge base already had
    assert "#### Published migrations changed" in md
    assert "+        migrations.RunSQL('SELECT 1')," in md


def test_heads_markdown_and_gitlab(branches):
    evil = branches.evil  # type: ignore[attr-defined]
    git(branches.root, "checkout", "-q", "main")
    md = branches.migrator(
        "check", "--against", "main", "--heads", f"mine {evil}", "-f", "markdown"
    )
    assert md.code == 1, md.err
    assert not re.search(r"(?<!\\)<img", outside_code(md.out))
    rows = [line for line in md.out.splitlines() if line.startswith("| `")]
    assert len(rows) == 2
    # each row has exactly three cells: the | in the ref name is escaped
    assert all(len(re.split(r"(?<!\\)\|", row)) == 5 for row in rows)
    assert "<summary>x&lt;img/src=y&gt;|`@team&amp;$1</summary>" not in md.out  # evil is ok
    assert "<summary>mine</summary>" in md.out
    assert "```diff\n" in md.out and "+        migrations.RunSQL('SELECT 1')," in md.out
    lab = branches.migrator("check", "--against", "main", "--heads", "mine", "-f", "gitlab")
    issues = json.loads(lab.out)
    assert [(i["check_name"], i["severity"], i["location"]["path"]) for i in issues] == [
        ("published-migration-changed", "major", "shop/migrations/0001_initial.py")
    ]
    assert issues[0]["description"].startswith("merging mine: 'shop.0001_initial' is published")


def test_escapers():
    from migrator.render.ci import md_block, md_code, md_text, mermaid_label

    assert md_code("0002_a") == "`0002_a`"
    assert md_code("a`b") == "`` a`b ``"
    assert md_code("a|b") == "`a|b`"
    assert md_code("a|b", in_table=True) == "`a\\|b`"
    assert md_text("<b>@team *x* [l](u)\nnext") == "\\<b\\>\\@team \\*x\\* \\[l\\](u) next"
    assert md_block(["```", "x"]) == "````\n```\nx\n````"
    assert mermaid_label('a"b]<c>;#') == "a#34;b#93;#60;c#62;#59;#35;"


FORMATS = ("text", "json", "github", "markdown", "gitlab")


@pytest.mark.parametrize(
    "args",
    [
        ("check",),
        ("check", "--static"),
        ("check", "--static", "--against", "EVIL"),
        ("check", "--against", "main", "--heads", "mine EVIL"),
    ],
    ids=["check", "static", "against", "heads"],
)
def test_one_run_writes_every_rendering_a_separate_run_would(branches, tmp_path, args):
    """``--report FORMAT:PATH``: each file byte for byte what ``--format FORMAT`` prints,
    and standard output and the exit code those of ``--format`` alone."""
    evil = branches.evil  # type: ignore[attr-defined]
    args = tuple(a.replace("EVIL", evil) for a in args)
    git(branches.root, "checkout", "-q", "mine" if "--heads" not in args else "main")
    if args == ("check",) or args == ("check", "--static"):
        # a conflict and a problem in the working tree, for every format to show
        branches.add_migration("shop", "0003_x", [("shop", "0001_initial")])
        branches.add_migration("shop", "0004_y", [("shop", "0003_nope")])
    alone = {fmt: branches.migrator(*args, "--format", fmt) for fmt in FORMATS}
    assert {r.code for r in alone.values()} == {1}, [r.err for r in alone.values()]
    reports = tmp_path / "reports"
    reports.mkdir()
    for main in ("github", "text"):
        flags = [f"--report={fmt}:{reports / (main + '.' + fmt)}" for fmt in FORMATS]
        together = branches.migrator(
            *args, "--format", main, *flags[:2], "--report", flags[2][9:], *flags[3:]
        )
        assert (together.code, together.out, together.err) == (
            alone[main].code,
            alone[main].out,
            alone[main].err,
        )
        for fmt in FORMATS:
            assert (reports / f"{main}.{fmt}").read_bytes() == alone[fmt].out.encode(), fmt
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        f"{m}.{f}" for m in ("github", "text") for f in FORMATS
    )  # no temporary file left behind


def test_report_refused_before_any_work(branches, tmp_path):
    """A bad --report is a usage error (exit 2) and nothing is written anywhere."""
    existing = tmp_path / "kept.json"
    existing.write_text("before\n")
    for bad, said in (
        ("xml:out.xml", "expected FORMAT:PATH, FORMAT one of text, json, github, markdown"),
        ("json", "expected FORMAT:PATH"),
        ("json:", "expected FORMAT:PATH"),
        (f"json:{tmp_path / 'nope' / 'r.json'}", "does not exist"),
        (f"json:{tmp_path}", "it is a folder"),
    ):
        result = branches.migrator(
            "check", "--static", "--report", f"markdown:{existing}", "--report", bad
        )
        assert (result.code, result.out) == (2, ""), bad
        assert said in result.err, (bad, result.err)
        assert existing.read_text() == "before\n"
    twice = branches.migrator(
        "check", "--report", f"json:{existing}", "--report", f"text:{existing}"
    )
    assert (twice.code, existing.read_text()) == (2, "before\n")
    assert "is named twice" in twice.err


def test_report_never_leaves_a_partial_file(branches, tmp_path):
    """A report that cannot be written whole (the file size limit, as a full disk would
    stop it) fails the run with the error and nothing on stdout: the old file intact,
    no temporary file left."""
    import sys

    from tests.djproject import run

    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "r.md").write_text("old\n")
    full = branches.migrator("check", "--static", "--format", "markdown")
    assert len(full.out.encode()) > 32

    result = run(
        [sys.executable, "-m", "migrator", "check", "--static", f"--report=markdown:{folder}/r.md"],
        branches.root,
        file_size=32,
    )
    assert (result.code, result.out) == (1, "")
    assert f"cannot write '{folder}/r.md'" in result.err
    assert [p.name for p in folder.iterdir()] == ["r.md"]
    assert (folder / "r.md").read_text() == "old\n"
