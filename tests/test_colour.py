"""Colour on a terminal (Rich), never in a pipe or machine output; shell completion."""

from __future__ import annotations

import re
import sys

import pytest

from tests.djproject import DjangoProject, Result, clean_env, on_terminal, run, undated

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def conflicted(tmp_path) -> DjangoProject:
    project = DjangoProject(tmp_path / "p", ["orders", "shipping"])
    project.chain("orders", ["0001_initial", "0002_a"])
    project.add_migration("orders", "0002_b", [("orders", "0001_initial")])
    project.chain("shipping", ["0001_initial"])
    project.add_migration(
        "shipping", "0002_x", [("shipping", "0001_initial"), ("shipping", "0009_gone")]
    )
    return project


def in_terminal(project: DjangoProject, *args: str, **env: str) -> Result:
    """The CLI with its standard output on a real pseudo-terminal."""
    environment = clean_env()
    environment.pop("NO_COLOR", None)
    environment.pop("FORCE_COLOR", None)
    environment.update({"TERM": "xterm", **env})
    return on_terminal([sys.executable, "-m", "migrator", *args], project.root, environment)


@pytest.mark.parametrize(
    "args",
    [["check"], ["explain", "orders"], ["merge", "--dry-run"], ["lock", "--dry-run", "shipping"]],
    ids=" ".join,
)
def test_a_terminal_gets_colour_that_strips_back_to_the_plain_output(conflicted, args):
    plain = conflicted.migrator(*args)
    assert not ANSI.search(plain.out)
    shown = in_terminal(conflicted, *args)
    assert shown.code == plain.code
    assert ANSI.search(shown.out), shown.out
    # a merge's source says when Django wrote it: the two runs may straddle a minute
    assert undated(ANSI.sub("", shown.out)) == undated(plain.out)


def test_conflicts_problems_and_hints_are_emphasised(conflicted):
    out = in_terminal(conflicted, "check").out
    assert "\x1b[1morders\x1b[0m: \x1b[1;31mconflict\x1b[0m: 2 leaf migrations: " in out
    assert "\x1b[35m0002_a, 0002_b\x1b[0m" in out
    assert ": \x1b[31mmissing-dependency\x1b[0m: " in out
    assert "\x1b[36m  hint:\x1b[0m " in out
    assert "\x1b[1;31mFound 1 conflict and 1 problem" in out


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["check", "--format", "json"], {}),
        (["check", "--format", "github"], {}),
        (["merge", "--dry-run", "--format", "json"], {}),
        (["check"], {"NO_COLOR": "1"}),
        (["check"], {"TERM": "dumb"}),
    ],
)
def test_no_colour_in_machine_output_or_when_asked(conflicted, args, env):
    shown = in_terminal(conflicted, *args, **env)
    assert not ANSI.search(shown.out), shown.out
    # a merge's source says when Django wrote it: the two runs may straddle a minute
    assert undated(shown.out) == undated(conflicted.migrator(*args).out)


def test_force_color_colours_a_pipe_but_never_json_and_no_color_wins(conflicted):
    forced = conflicted.migrator("check", env=clean_env(FORCE_COLOR="1"))
    assert ANSI.search(forced.out)
    assert ANSI.sub("", forced.out) == conflicted.migrator("check").out
    as_json = conflicted.migrator("check", "-f", "json", env=clean_env(FORCE_COLOR="1"))
    assert not ANSI.search(as_json.out)
    as_json.json()
    both = conflicted.migrator("check", env=clean_env(FORCE_COLOR="1", NO_COLOR="1"))
    assert not ANSI.search(both.out)


def complete(words: str, cwd) -> list[str]:
    """What bash completion offers for ``words`` (the last one being typed)."""
    env = clean_env(
        _MIGRATOR_COMPLETE="complete_bash",
        COMP_WORDS=words,
        COMP_CWORD=str(len(words.split()) - 1),
    )
    code = "from migrator.cli import main; main([], prog_name='migrator')"
    result = run([sys.executable, "-c", code], cwd, env, fork=False)
    assert result.code == 0, result.err
    return result.out.split()


def test_shell_completion_installs_and_completes(tmp_path):
    # The script --install-completion writes, asked for by name: `--show-completion`
    # alone detects the shell from the parent processes, which a CI runner may not have
    # (then typer says "Shell  not supported"), and it takes no shell argument.
    code = "from migrator.cli import main; main([], prog_name='migrator')"
    # completion is driven by variables typer reads as the program starts: a new
    # interpreter each (not the tests' fork server)
    script = run(
        [sys.executable, "-c", code],
        tmp_path,
        clean_env(_MIGRATOR_COMPLETE="source_bash"),
        fork=False,
    )
    assert script.code == 0, script.err
    assert "complete -o default -F _migrator_completion migrator" in script.out
    assert "_MIGRATOR_COMPLETE=complete_bash" in script.out
    assert complete("migrator ch", tmp_path) == ["check"]
    assert complete("migrator l", tmp_path) == ["lock"]
    assert complete("migrator check --fo", tmp_path) == ["--format"]
    help_text = run([sys.executable, "-m", "migrator", "--help"], tmp_path).out
    assert "--install-completion" in help_text
