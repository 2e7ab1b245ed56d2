"""Hostile projects: names that try to break out of every output format, and project
files that try to run in place of migrator.

Nothing from a project is trusted: an app label (static mode reads ``apps.py``), a
migration's file name (Django loads ``0002_x\\x1b[31m.py`` as it is), a path. Each
format is checked by parsing it back as its consumer would (Graphviz, an HTML parser,
JSON, the Actions runner's workflow-command syntax, the grammar of the Mermaid we
write), never by looking for one bad string.
"""

from __future__ import annotations

import html as html_module
import json
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from migrator.drawing import MigrationDetail
from migrator.git import Commit
from migrator.render import escape, graph_json, html, mermaid
from migrator.render.dot import render_dot
from migrator.render.viewmodel import build_view
from tests import browser
from tests.djproject import DjangoProject, Result, run
from tests.gitrepo import commit_all, git, init_repo
from tests.graphs import graph_of

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")

#: A label that, written raw into Mermaid, closes the subgraph title and adds a link.
EVIL_LABEL = 'x"]\n    click n0 href "javascript:alert(1)"\n    subgraph y["'
#: Migration names a file system and Django both take (no dot, no slash).
EVIL_NAMES = [
    "0002_a",
    "0002_b\x1b[31mred\x1b[0m",
    "0002_c\n::error file=x::pwned",
    "0002_d \u202eevil\u202c",
    "0002_e%0A::warning::%",
    '0002_f"]<b>&amp;<script>',
    "0002_g\r\x9b2J\x7f",
]


def cli(project: DjangoProject, *args: str, fork: bool = True) -> Result:
    """The CLI as the installed ``migrator`` script runs it: its ``sys.path`` starts with
    the script's own folder, never the project's (``-P``). ``python -m migrator`` from a
    project folder that holds a ``migrator/`` package would run that package instead,
    before any of migrator's code could refuse it. ``fork=False`` when the project holds
    modules named like migrator's (:func:`plant`): a fork of the test server has imported
    migrator's already, and so would every process it starts, so only a real interpreter
    can show that no process of the run imports the project's."""
    return run([sys.executable, "-P", "-m", "migrator", *args], project.root, fork=fork)


def printable_lines(text: str) -> list[str]:
    """The lines of ``text``, asserting none holds a character a terminal acts on."""
    lines = text.split("\n")
    for line in lines:
        assert line.isprintable(), repr(line)
    return lines


# -- the escaping functions ---------------------------------------------------------------


def test_terminal_shows_every_unprintable_character_as_an_escape():
    assert escape.terminal("a\x1b[31mb\nc\rd\te\x7f\x9b\u202e\u2028\U000e0001") == (
        "a\\x1b[31mb\\nc\\rd\\te\\x7f\\x9b\\u202e\\u2028\\U000e0001"
    )
    assert escape.terminal("plain é 名前 [x] %") == "plain é 名前 [x] %"


def test_terminal_block_keeps_line_breaks_and_tabs_only():
    text = "one\tx\r\ntwo\x1b[2J\nthree\rover\n"
    assert escape.terminal_block(text) == "one\tx\r\ntwo\\x1b[2J\nthree\\rover\n"


def test_json_dumps_escapes_what_json_dumps_leaves_raw_and_keeps_the_value():
    value = {"name": "a\x7f\x9b\u202e\U000e0001 é", "n": [1, "\n"]}
    text = escape.json_dumps(value)
    assert text.isprintable() or text.replace("\n", "").isprintable()
    assert "\\u202e" in text and "\\udb40\\udc01" in text and "é" in text
    assert json.loads(text) == value


def test_script_json_cannot_close_the_script_element():
    text = escape.script_json({"name": "</script><script>alert(1)</script><!--"})
    assert "<" not in text and ">" not in text
    assert json.loads(text) == {"name": "</script><script>alert(1)</script><!--"}


def parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command as the Actions runner reads it: ``::name k=v,k=v::data``,
    percent escapes decoded (``%25``, ``%0D``, ``%0A``, and ``%3A``/``%2C`` in
    properties)."""
    found = re.fullmatch(r"::(\w+)(?: ([^:]*))?::(.*)", line)
    assert found, line

    def decode(text: str, prop: bool) -> str:
        pairs = [("%0D", "\r"), ("%0A", "\n")]
        if prop:
            pairs += [("%3A", ":"), ("%2C", ",")]
        for code, char in [*pairs, ("%25", "%")]:
            text = text.replace(code, char)
        return text

    props = {}
    for item in (found.group(2) or "").split(","):
        key, _, value = item.partition("=")
        props[key] = decode(value, True)
    return found.group(1), props, decode(found.group(3), False)


def test_github_escaping_keeps_one_command_per_line():
    from migrator.render.check import annotation

    line = annotation("bad%0A\n::error::x, y: z", title="t: a,b %", path="app/m i,g:r.py", line=3)
    assert "\n" not in line and "\r" not in line
    name, props, data = parse_workflow_command(line)
    assert name == "error"
    assert props == {"file": "app/m i,g:r.py", "line": "3", "title": "t: a,b %"}
    assert data == "bad%0A\\n::error::x, y: z"


def test_dot_and_mermaid_ids_fall_back_for_anything_but_plain_names():
    assert escape.dot_id("shop.0001_initial", "n0") == "shop.0001_initial"
    for bad in ['a"b', "a\\", "<b>", "a\nb", "a\x1bb", "a:b", ""]:
        assert escape.dot_id(bad, "n0") == "n0"
    assert escape.mermaid_id("app_shop", "app0") == "app_shop"
    for bad in ["app_x y", 'app_x"', "app_é", "app_a\nb", "app_a;b"]:
        assert escape.mermaid_id(bad, "app0") == "app0"


# -- every format of `graph`, from a graph with a hostile label and names ----------------


@pytest.fixture
def hostile_view():
    """shop (a hostile label): 0001_initial -> each of EVIL_NAMES (a conflict), plus a
    plain app called ``legend`` (a name the DOT legend uses) depending on it."""
    deps: dict[str, list[str]] = {f"{EVIL_LABEL}.0001_initial": []}
    for name in EVIL_NAMES:
        deps[f"{EVIL_LABEL}.{name}"] = [f"{EVIL_LABEL}.0001_initial"]
    deps["legend.0001_initial"] = [f"{EVIL_LABEL}.0001_initial"]
    return build_view(graph_of(deps))


MERMAID_LABEL = r"[A-Za-z0-9_\-.() #;]*"
MERMAID_TEXT = rf"{MERMAID_LABEL}(?:<br/>{MERMAID_LABEL})*"
MERMAID_GRAMMAR = re.compile(
    "|".join(
        [
            r"flowchart (?:LR|TB|RL|BT)",
            rf' {{4}}subgraph \w+\["{MERMAID_LABEL}"\]',
            rf' {{8}}n\d+(?:\["{MERMAID_TEXT}"\]|\[\["{MERMAID_TEXT}"\]\]'
            rf'|\{{\{{"{MERMAID_TEXT}"\}}\}}|\(\["{MERMAID_TEXT}"\]\))',
            r" {4}end",
            r" {4}n\d+ (?:-->|-\.->) n\d+",
            r" {4}classDef \w+ [\w:#,. -]+",
            r" {4}class n\d+(?:,n\d+)* \w+",
            r" {4}style \w+ fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}",
        ]
    )
)


def test_mermaid_with_a_hostile_label_is_only_statements_we_write(hostile_view):
    source = mermaid.render_mermaid(hostile_view)
    for line in source.rstrip("\n").split("\n"):
        assert MERMAID_GRAMMAR.fullmatch(line), repr(line)
    titles = re.findall(r'subgraph (\w+)\["([^"]*)"\]', source)
    decoded = {
        sid: re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), title) for sid, title in titles
    }
    assert decoded == {"app_legend": "legend", "app1": escape.terminal(EVIL_LABEL)}
    assert re.findall(r"^    style (\w+) ", source, re.MULTILINE) == ["app_legend", "app1"]


class Elements(HTMLParser):
    """Every element of a page, with its attributes, and the text of each script."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def assert_svg_is_inert(svg: str) -> None:
    """The SVG parses as XML and holds no link, image, foreign object or script."""
    root = ET.fromstring(svg[svg.index("<svg") :])
    for element in root.iter():
        tag = element.tag.rpartition("}")[2]
        assert tag not in {"script", "image", "foreignObject", "iframe"}, tag
        for attribute in element.attrib:
            name = attribute.rpartition("}")[2]
            assert name != "href" and not name.startswith("on"), (tag, attribute)


@needs_dot
def test_dot_with_a_hostile_label_parses_and_says_the_names(hostile_view):
    source = render_dot(hostile_view)
    drawn = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True)
    assert drawn.returncode == 0 and drawn.stderr == "", drawn.stderr
    assert_svg_is_inert(drawn.stdout)
    root = ET.fromstring(drawn.stdout[drawn.stdout.index("<svg") :])
    # Graphviz writes a run of spaces as a space and no-break spaces.
    texts = {
        "".join(t.itertext()).replace("\xa0", " ")
        for t in root.iter("{http://www.w3.org/2000/svg}text")
    }
    for name in EVIL_NAMES:
        assert escape.terminal(name) in texts
    assert escape.terminal(EVIL_LABEL) + " (conflict" not in texts  # no verdict asked
    assert escape.terminal(EVIL_LABEL) in texts
    clusters = re.findall(r"^\tsubgraph (\S+) \{", source, re.MULTILINE)
    assert clusters == ["cluster0", "cluster1", "cluster_legend"]  # legend's own: the last


@needs_dot
def test_html_with_a_hostile_label_has_no_element_or_script_of_its_own(hostile_view, tmp_path):
    source = render_dot(hostile_view)
    svg = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True).stdout
    page = html.render_html(hostile_view, svg, tmp_path, title=EVIL_LABEL + "</title><script>")
    parsed = Elements()
    parsed.feed(page)
    parsed.close()
    assert [tag for tag, _ in parsed.tags if tag == "script"] == ["script", "script"]
    assert [attrs.get("type") for tag, attrs in parsed.tags if tag == "script"] == [
        "application/json",
        None,
    ]
    assert parsed.scripts[1] == "\n" + html.SCRIPT  # the page's own code, nothing else
    data = json.loads(parsed.scripts[0])
    assert {node["app_label"] for node in data["nodes"]} == {EVIL_LABEL, "legend"}
    assert sorted(node["name"] for node in data["nodes"] if node["app_label"] == EVIL_LABEL) == (
        sorted(["0001_initial", *EVIL_NAMES])
    )
    for tag, attrs in parsed.tags:
        assert tag not in {"iframe", "img", "object", "embed", "b"}, tag
        assert not any(name.startswith("on") or name == "href" for name in attrs), (tag, attrs)
    assert_svg_is_inert(svg)


def test_lane_svg_with_a_hostile_label_is_inert(hostile_view):
    from migrator.render import lanes
    from migrator.render.dot import node_ids, node_texts

    svg = lanes.render_svg(hostile_view, node_texts(hostile_view), node_ids(hostile_view))
    assert_svg_is_inert(svg)


def test_json_with_a_hostile_label_round_trips(hostile_view, tmp_path):
    text = graph_json.render_json(hostile_view, tmp_path)
    assert text.replace("\n", "").isprintable()
    assert json.loads(text) == json.loads(json.dumps(graph_json.graph_data(hostile_view, tmp_path)))


# -- a hostile app label in apps.py: refused in both modes, as Django refuses it --------


@pytest.fixture
def evil_label(project):
    project.add_app("shop")
    (project.root / "shop" / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\n"
        f"class ShopConfig(AppConfig):\n    name = 'shop'\n    label = {EVIL_LABEL!r}\n"
    )
    project.add_migration("shop", "0001_initial", [], initial=True)
    return project


@pytest.mark.parametrize("args", [["check"], ["graph", "-o", "g.mmd"], ["merge"]])
def test_a_label_that_is_no_identifier_is_refused_in_both_modes(evil_label, args):
    before = evil_label.snapshot()
    static = cli(evil_label, *args, "--static")
    django = cli(evil_label, *args)
    for result in (static, django):
        assert (result.code, result.out) == (2, ""), result.err
        first, hint = printable_lines(result.err.rstrip("\n"))
        assert first == (
            f"migrator: error: {evil_label.root / 'project' / 'settings.py'}: cannot set up "
            "Django 'project.settings': ImproperlyConfigured: The app label "
            f"'{escape.terminal(EVIL_LABEL)}' "
            "is not a valid Python identifier."
        )
        assert hint.startswith("  hint: ")
    assert evil_label.snapshot() == before
    django_says = evil_label.manage("check")
    assert "is not a valid Python identifier" in django_says.err


def test_a_label_that_is_no_identifier_is_refused_without_settings(evil_label):
    """Static mode with no settings finds apps by scanning the tree: the label still
    has to be one Django could take."""
    (evil_label.root / "manage.py").unlink()
    shutil.rmtree(evil_label.root / "project")
    result = cli(evil_label, "check", "--static")
    assert (result.code, result.out) == (2, ""), result.err
    first, hint = printable_lines(result.err.rstrip("\n"))
    assert first == (
        f"migrator: error: {evil_label.root / 'shop' / 'apps.py'}: the app label "
        f"'{escape.terminal(EVIL_LABEL)}' is not a valid Python identifier"
    )
    assert hint.startswith("  hint: Django refuses such a label")


def test_a_configured_label_that_is_no_identifier_is_refused(evil_label):
    (evil_label.root / "pyproject.toml").write_text(
        f'[tool.migrator.apps]\n{json.dumps(EVIL_LABEL)} = "shop/migrations"\n'
    )
    result = cli(evil_label, "check", "--static")
    assert (result.code, result.out) == (2, ""), result.err
    first, _ = printable_lines(result.err.rstrip("\n"))
    assert first == (
        f"migrator: error: [tool.migrator.apps] '{escape.terminal(EVIL_LABEL)}' is not a "
        "valid app label"
    )


# -- migration file names that hold escapes, newlines and markup, both modes -----------


@pytest.fixture
def evil_names(project):
    """shop: 0001_initial -> each of EVIL_NAMES: a conflict of seven leaves."""
    project.add_migration("shop", "0001_initial", [], initial=True)
    for name in EVIL_NAMES:
        project.add_migration("shop", name, [("shop", "0001_initial")])
    return project


@pytest.mark.parametrize("mode", [["--static"], []], ids=["static", "django"])
def test_hostile_file_names_stay_inert_in_text_json_and_annotations(evil_names, mode):
    assert evil_names.django_conflicts() == {"shop": sorted(EVIL_NAMES)}

    text = cli(evil_names, "check", *mode)
    assert text.code == 1, text.err
    lines = printable_lines(text.out.rstrip("\n"))
    assert len(lines) == 1 + len(EVIL_NAMES) + 2  # conflict, one path per leaf, hint, total
    assert not any(line.startswith("::") for line in lines)
    assert lines[0] == "shop: conflict: 7 leaf migrations: " + ", ".join(
        escape.terminal(name) for name in sorted(EVIL_NAMES)
    )

    data = cli(evil_names, "check", "--format", "json", *mode).json()
    assert data["conflicts"][0]["leaves"] == sorted(EVIL_NAMES)  # the real names, exactly

    github = cli(evil_names, "check", "--format", "github", *mode)
    annotations = printable_lines(github.out.rstrip("\n"))
    assert len(annotations) == len(EVIL_NAMES)
    for line, name in zip(annotations, sorted(EVIL_NAMES), strict=True):
        command, props, message = parse_workflow_command(line)
        assert command == "error"
        assert props["file"] == f"shop/migrations/{escape.terminal(name)}.py"
        assert props["title"] == f"Migration conflict in shop: {escape.terminal(name)}"
        assert message.startswith("'shop' has 7 leaf migrations")

    explain = cli(evil_names, "explain", *mode)
    assert explain.code in (0, 1), explain.err
    assert not any(line.startswith("::") for line in printable_lines(explain.out))

    merge = cli(evil_names, "merge", "--dry-run", *mode)
    assert not any(line.startswith("::") for line in printable_lines(merge.out))
    assert printable_lines(merge.err)


@pytest.mark.parametrize("mode", [["--static"], []], ids=["static", "django"])
def test_hostile_file_names_in_every_graph_format(evil_names, mode):
    for output in ("g.mmd", "g.json", "g.dot"):
        result = cli(evil_names, "graph", "-o", output, *mode)
        assert result.code == 0, result.err
        printable_lines(result.out)
    source = (evil_names.root / "g.mmd").read_text(encoding="utf-8")
    for line in source.rstrip("\n").split("\n"):
        assert MERMAID_GRAMMAR.fullmatch(line), repr(line)
    nodes = json.loads((evil_names.root / "g.json").read_text(encoding="utf-8"))["nodes"]
    assert sorted(node["name"] for node in nodes) == sorted(["0001_initial", *EVIL_NAMES])
    if shutil.which("dot") is not None:
        dot_source = (evil_names.root / "g.dot").read_text(encoding="utf-8")
        drawn = subprocess.run(["dot", "-Tsvg"], input=dot_source, capture_output=True, text=True)
        assert drawn.returncode == 0 and drawn.stderr == "", drawn.stderr
        assert_svg_is_inert(drawn.stdout)
        page = cli(evil_names, "graph", "-o", "g.html", *mode)
        assert page.code == 0, page.err
        parsed = Elements()
        parsed.feed((evil_names.root / "g.html").read_text(encoding="utf-8"))
        assert [tag for tag, _ in parsed.tags if tag == "script"] == ["script", "script"]
        data = json.loads(parsed.scripts[0])
        assert sorted(node["name"] for node in data["nodes"]) == sorted(
            ["0001_initial", *EVIL_NAMES]
        )


# -- a project's own migrator.py, typer.py or migrator/ never runs -------------------------

HOSTILE_MODULE = (
    "import pathlib\npathlib.Path({marker!r}).write_text('ran ' + __name__)\nraise SystemExit(99)\n"
)
#: Files that shadow migrator or what it runs on, as the project holds them.
LAYOUTS = {
    "modules": ["migrator.py", "typer.py", "click.py", "rich.py", "networkx.py", "graphviz.py"],
    "package": ["migrator/__init__.py", "migrator/__main__.py", "migrator/cli/__init__.py"],
}


def plant(project: DjangoProject, layout: str, marker: Path) -> None:
    for relative in LAYOUTS[layout]:
        path = project.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HOSTILE_MODULE.format(marker=str(marker)))


@pytest.fixture
def forked(project):
    """shop: 0001_initial -> 0002_a | 0002_b."""
    project.add_migration("shop", "0001_initial", [], initial=True)
    project.add_migration("shop", "0002_a", [("shop", "0001_initial")])
    project.add_migration("shop", "0002_b", [("shop", "0001_initial")])
    return project


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("mode", [["--static"], []], ids=["static", "django"])
def test_merge_verifies_without_running_the_projects_own_migrator(forked, tmp_path, layout, mode):
    marker = tmp_path / "hostile-code-ran"
    plant(forked, layout, marker)
    result = cli(forked, "merge", *mode, fork=False)
    assert result.code == 0, result.err
    assert "reloaded in a new process, each merged app has one leaf (shop)" in result.out
    assert not marker.exists(), marker.read_text()
    assert forked.migration_path("shop", "0003_merge_0002_a_0002_b").is_file()
    assert forked.django_conflicts() == {}
    assert not marker.exists()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("mode", [["--static"], []], ids=["static", "django"])
def test_rebase_verifies_without_running_the_projects_own_migrator(forked, tmp_path, layout, mode):
    marker = tmp_path / "hostile-code-ran"
    plant(forked, layout, marker)
    result = cli(forked, "rebase", "shop", "--keep", "0002_a", *mode, fork=False)
    assert result.code == 0, result.err
    assert "Verified in a fresh process: 'shop' has one leaf (0003_b)" in result.out
    assert not marker.exists(), marker.read_text()
    assert forked.django_conflicts() == {}


def test_verification_still_fails_when_the_result_is_wrong(forked, tmp_path):
    """The isolated check is a real check: a project whose settings refuse to load once
    a merge exists fails it, and the merge is removed (with a hostile typer.py there)."""
    marker = tmp_path / "hostile-code-ran"
    plant(forked, "modules", marker)
    settings = forked.root / "project" / "settings.py"
    settings.write_text(
        settings.read_text() + "\nimport glob as _glob\n"
        "if _glob.glob(str(BASE_DIR / 'shop' / 'migrations' / '*_merge_*.py')):\n"
        "    raise RuntimeError('no merges here')\n"
    )
    before = forked.snapshot()
    result = cli(forked, "merge", fork=False)
    assert result.code == 1
    assert "verification failed" in result.err and "no merges here" in result.err
    assert forked.snapshot() == before
    assert not marker.exists()


@pytest.mark.parametrize("mode", [["--static"], []], ids=["static", "django"])
def test_suggested_squash_command_quotes_names_for_the_shell(project, mode):
    """A name with ``$(...)``, quotes and a space, pasted from the suggestion, is one
    argument to ``squashmigrations``, never a command of its own."""
    weird = "0003_$(touch pwned) 'q'"
    project.chain("shop", ["0001_initial", "0002_b", weird])
    data = cli(project, "squash", "--min-length", "2", "--format", "json", *mode).json()
    (window,) = data["windows"]
    assert shlex.split(window["command"])[2:] == ["squashmigrations", "shop", weird]
    text = cli(project, "squash", "--min-length", "2", *mode)
    assert text.code == 0, text.err
    assert f"  {shlex.join(['python', 'manage.py', 'squashmigrations', 'shop', weird])}" in (
        printable_lines(text.out)
    )


@pytest.mark.parametrize("mode", [["--static"], []], ids=["static", "django"])
def test_against_and_explain_with_hostile_names_and_commit_subjects(project, mode):
    """check --against and explain's git lines (a commit subject may hold anything)."""
    evil = "0002_b\x1b[31mred\n::error::x"
    subject = "feature \x1b]8;;http://evil\x07link\x1b]8;;\x07 \u202egnp.exe"
    project.add_migration("shop", "0001_initial", [], initial=True)
    (project.root / ".gitignore").write_text("db.sqlite3\n__pycache__/\n")
    init_repo(project.root)
    commit_all(project.root, "initial")
    git(project.root, "checkout", "-q", "-b", "feat")
    project.add_migration("shop", evil, [("shop", "0001_initial")])
    commit_all(project.root, subject)
    git(project.root, "checkout", "-q", "main")
    project.add_migration("shop", "0002_a", [("shop", "0001_initial")])
    commit_all(project.root, "main side")

    text = cli(project, "check", "--against", "feat", *mode)
    assert text.code == 1, text.err
    lines = printable_lines(text.out.rstrip("\n"))
    assert not any(line.startswith("::") for line in lines)
    assert f"  {escape.terminal(evil)}  from feat: shop/migrations/{escape.terminal(evil)}.py" in (
        lines
    )
    github = cli(project, "check", "--against", "feat", "--format", "github", *mode)
    annotations = printable_lines(github.out.rstrip("\n"))
    assert [parse_workflow_command(line)[0] for line in annotations] == ["error", "error"]
    report = cli(project, "check", "--against", "feat", "--format", "json", *mode).json()
    assert report["conflicts"][0]["leaves"] == sorted(["0002_a", evil])

    git(project.root, "merge", "--no-edit", "-q", "feat")
    explain = cli(project, "explain", *mode)
    assert explain.code == 1, explain.err
    lines = printable_lines(explain.out)
    assert not any(line.startswith("::") for line in lines)
    assert any(line.endswith(escape.terminal(subject)) for line in lines), explain.out


#: Markup that would mark the page if a browser ever ran it.
PWN = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"


@needs_dot
@browser.needs_chromium
def test_html_page_run_in_chromium_shows_hostile_text_as_text(hostile_view, tmp_path):
    """The page's script builds the app list, the conflicts and the clicked migration's
    panel from hostile names, operations, paths and commit subjects: after it ran, they
    are text, no element of theirs exists and no handler of theirs ran."""
    source = render_dot(hostile_view)
    svg = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True).stdout
    leaf = (EVIL_LABEL, EVIL_NAMES[5])
    commit = Commit("f" * 40, PWN, "a@example.com", "2026-01-01T00:00:00+00:00", PWN)
    detail = MigrationDetail(
        f"/x/{PWN}.py", (PWN,), ((EVIL_LABEL, "0001_initial"),), (), None, commit
    )
    page = html.render_html(
        hostile_view, svg, tmp_path, title=PWN, details={leaf: detail}, in_git=True
    )
    (tmp_path / "g.html").write_text(page, encoding="utf-8")
    url = (tmp_path / "g.html").as_uri() + "#select=" + quote(f"{EVIL_LABEL}.{EVIL_NAMES[5]}")
    document = browser.dom(url)
    assert not re.search(r"<[^<>]*\sdata-pwned=", document)  # no element has it
    assert "<img" not in document
    panel = re.search(r'<aside id="details">(.*?)</aside>', document, re.DOTALL).group(1)
    assert set(re.findall(r"<(\w+)", panel)) <= {"button", "h3", "dl", "dt", "dd", "ul", "li", "a"}
    texts = [html_module.unescape(t) for t in re.findall(r">([^<]+)<", panel)]
    assert f"/x/{PWN}.py" in texts and PWN in texts
    assert any(t.endswith(f"{PWN}: {PWN}") for t in texts)  # the commit's author and subject
    side = re.search(r'<nav id="side">(.*?)</nav>', document, re.DOTALL).group(1)
    assert set(re.findall(r"<(\w+)", side)) <= {"p", "h2", "button", "label", "input", "span"}
    assert browser.page_report(document)["apps"] == 2
