"""``migrator check``: the CI gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from migrator.cli.app import (
    AppLabelsArgument,
    Format,
    PythonPathOption,
    SettingsOption,
    StaticOption,
    TracebackOption,
    app,
    format_option,
    handle_errors,
    project_options,
    warn,
    write,
)
from migrator.errors import EXIT_FOUND, EXIT_OK, UsageError
from migrator.render.escape import terminal_block


@app.command()
def check(
    app_labels: AppLabelsArgument = None,
    output_format: Annotated[
        str,
        format_option(Format.text, Format.json, Format.github, Format.markdown, Format.gitlab),
    ] = Format.text,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            metavar="ALIAS",
            help="Also judge this database's applied migrations (an alias of "
            "DATABASES), as migrate would.",
        ),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            metavar="REF",
            help="Judge the graph a merge of REF (e.g. origin/main) into the working "
            "tree would have; REF is read from git, nothing is checked out.",
        ),
    ] = None,
    heads: Annotated[
        list[str] | None,
        typer.Option(
            "--heads",
            metavar="PATTERN",
            help="With --against BASE: predict the merge into BASE of every head these "
            "revisions or ref patterns name (e.g. 'refs/remotes/pull/*'; repeatable, or "
            "several separated by spaces); always static, from git objects only.",
        ),
    ] = None,
    staged: Annotated[
        bool,
        typer.Option(
            "--staged",
            help="Judge the migrations as the next commit holds them (git's index): a "
            "dependency on a file that is untracked, ignored or not staged is a problem.",
        ),
    ] = False,
    reports: Annotated[
        list[str] | None,
        typer.Option(
            "--report",
            metavar="FORMAT:PATH",
            help="Also write the same result in FORMAT (text, json, github, markdown or "
            "gitlab) to the file PATH, whole or not at all (repeatable); --format still "
            "goes to standard output.",
        ),
    ] = None,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """Find apps with several leaf migrations and every other problem that stops `migrate`.

    Exit 0 when all is well, 1 when conflicts or problems were found, 2 on a usage or
    configuration error.
    """
    from migrator.check import check_facts, graph_facts, require_database
    from migrator.markers import marker_problems
    from migrator.project import choose_apps, load_project, load_static_facts
    from migrator.render import check as render

    with handle_errors(traceback):
        targets = report_targets(reports or [])
        if staged and (against is not None or heads or database is not None):
            raise UsageError(
                "--staged judges the next commit; it cannot be combined with --against, "
                "--heads or --database",
                hint="run them separately",
            )
    formats = {Format(output_format), *(fmt for fmt, _ in targets)}
    if heads:
        check_heads(
            against, heads, app_labels, formats, settings, pythonpath, database, traceback
        ).emit(output_format, targets, traceback)
    if against is not None:
        check_against(
            against, app_labels, formats, settings, pythonpath, static, database, traceback
        ).emit(output_format, targets, traceback)
    with handle_errors(traceback):
        if staged:
            from migrator.staged import check_staged

            report = check_staged(project_options(settings, pythonpath, static), app_labels)
        else:
            options = project_options(settings, pythonpath, static)
            if static and database is None and Format.markdown not in formats:
                # no graph needed (markdown explains conflicts on it): a warm cache has this
                facts, problems = load_static_facts(options)
            else:
                project = load_project(options, database=database, needs_django=False)
                require_database(project.graph)
                facts, problems = graph_facts(project.graph), project.problems
            labels = choose_apps(facts.apps, app_labels or [], only_migrated=True)
            markers = marker_problems(facts, problems, labels, options)
            report = check_facts(facts, problems + markers, labels)
        explanations = []
        if Format.markdown in formats and not staged:
            from migrator.against import explain_conflicts

            explanations = explain_conflicts(project.graph, report)

    def rendered(fmt: Format) -> str:
        if fmt in (Format.markdown, Format.gitlab):
            from migrator.render import ci

            section = ci.Section(report, explanations)
            if fmt == Format.markdown:
                title = "migrator check --staged" if staged else "migrator check"
                return ci.render_markdown(section, Path.cwd(), title)
            return ci.render_gitlab(section, repository_root())
        renderer = {
            Format.text: render.render_text,
            Format.json: render.render_json,
            Format.github: render.render_github,
        }[fmt]
        return renderer(report, Path.cwd())

    Result(rendered, report.ok).emit(output_format, targets, traceback)


@dataclass(frozen=True)
class Result:
    """One run's verdict, ready to be worded in any format."""

    rendered: Callable[[Format], str]
    ok: bool

    def emit(
        self, output_format: str, targets: list[tuple[Format, Path]], traceback: bool
    ) -> NoReturn:
        """The ``--report`` files first (each whole or not at all), then standard
        output; exit 0 or 1. Every rendering is made before anything is written."""
        with handle_errors(traceback):
            files = [(path, terminal_block(self.rendered(fmt))) for fmt, path in targets]
            main = self.rendered(Format(output_format))
            if files:  # the graph writers import networkx, which a warm check never needs
                from migrator.render import graph_files

                for path, text in files:
                    graph_files.write_atomically(path, text.encode("utf-8"))
        write(main, human=output_format == Format.text)
        raise typer.Exit(EXIT_OK if self.ok else EXIT_FOUND)


REPORT_FORMATS = (Format.text, Format.json, Format.github, Format.markdown, Format.gitlab)


def report_targets(values: list[str]) -> list[tuple[Format, Path]]:
    """``--report FORMAT:PATH`` values, checked before any work: a known format, a
    file (not a folder) in a folder that exists, no path named twice."""
    if not values:
        return []
    from migrator.render import graph_files

    names = ", ".join(f.value for f in REPORT_FORMATS)
    targets: list[tuple[Format, Path]] = []
    for value in values:
        name, colon, path = value.partition(":")
        if not colon or not path or name not in {f.value for f in REPORT_FORMATS}:
            raise UsageError(
                f"--report {value!r}: expected FORMAT:PATH, FORMAT one of {names}",
                hint="e.g. --report markdown:summary.md --report json:report.json",
            )
        target = Path(path)
        folder = target.parent if str(target.parent) else Path(".")
        if not folder.is_dir():
            raise UsageError(
                f"--report {value!r}: folder {str(folder)!r} does not exist",
                hint="create the folder first",
            )
        graph_files.check_target(target, example=f"report.{name}")
        if any(target.resolve() == other.resolve() for _, other in targets):
            raise UsageError(
                f"--report {value!r}: {path!r} is named twice",
                hint="give each report its own file",
            )
        targets.append((Format(name), target))
    return targets


def repository_root() -> Path:
    """Where GitLab reads report paths from: the top of the git work tree."""
    from migrator import git

    return git.toplevel(Path.cwd()) or Path.cwd()


def check_against(
    ref: str,
    app_labels: list[str] | None,
    formats: set[Format],
    settings: str | None,
    pythonpath: list[str] | None,
    static: bool,
    database: str | None,
    traceback: bool,
) -> Result:
    """``check --against REF``: the conflicts a merge of REF would create."""
    from migrator.against import explain_conflicts, predict
    from migrator.check import check_graph
    from migrator.project import select_apps
    from migrator.render import against as render_against

    with handle_errors(traceback):
        if database is not None:
            raise UsageError(
                "--against judges migration files; it cannot use --database",
                hint="run without --database",
            )
        prediction = predict(project_options(settings, pythonpath, static), ref)
        labels = select_apps(prediction.graph, app_labels or [], only_migrated=True)
        report = check_graph(prediction.graph, prediction.problems, labels)
        explanations = (
            explain_conflicts(prediction.graph, report) if Format.markdown in formats else []
        )

    def rendered(fmt: Format) -> str:
        if fmt in (Format.markdown, Format.gitlab):
            from migrator.render import ci

            section = ci.Section(
                report,
                explanations if fmt == Format.markdown else [],
                prediction.changes,
                ref,
                prediction.side_of,
            )
            if fmt == Format.markdown:
                title = f"Predicted merge of {ci.md_code(ref)}"
                return ci.render_markdown(section, Path.cwd(), title)
            return ci.render_gitlab(section, repository_root())
        renderer = {
            Format.text: render_against.render_text,
            Format.json: render_against.render_json,
            Format.github: render_against.render_github,
        }[fmt]
        return renderer(report, prediction, Path.cwd())

    return Result(rendered, prediction.is_ok(report))


def check_heads(
    ref: str | None,
    patterns: list[str],
    app_labels: list[str] | None,
    formats: set[Format],
    settings: str | None,
    pythonpath: list[str] | None,
    database: str | None,
    traceback: bool,
) -> Result:
    """``check --against BASE --heads PATTERN...``: every head's merge into BASE."""
    from migrator.against import predict_heads
    from migrator.render import against as render_against

    with handle_errors(traceback):
        if ref is None:
            raise UsageError(
                "--heads needs --against BASE, the branch the heads would merge into",
                hint="e.g. --against origin/main --heads 'refs/remotes/pull/*'",
            )
        if database is not None:
            raise UsageError(
                "--heads judges migration files; it cannot use --database",
                hint="run without --database",
            )
        names = [name for value in patterns for name in value.split()]
        prediction = predict_heads(
            project_options(settings, pythonpath, True),
            ref,
            names,
            app_labels,
            explain=Format.markdown in formats,
        )
    for pattern in prediction.unmatched:
        warn(f"--heads: no ref matches {pattern!r}")

    def rendered(fmt: Format) -> str:
        from migrator.render import ci

        if fmt == Format.markdown:
            return ci.render_heads_markdown(prediction, Path.cwd())
        if fmt == Format.gitlab:
            return ci.render_heads_gitlab(prediction, repository_root())
        renderer = {
            Format.text: render_against.render_heads_text,
            Format.json: render_against.render_heads_json,
            Format.github: render_against.render_heads_github,
        }[fmt]
        return renderer(prediction, Path.cwd())

    return Result(rendered, prediction.ok)
