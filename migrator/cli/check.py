"""``migrator check``: the CI gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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

    if staged and (against is not None or heads or database is not None):
        with handle_errors(traceback):
            raise UsageError(
                "--staged judges the next commit; it cannot be combined with --against, "
                "--heads or --database",
                hint="run them separately",
            )
    if heads:
        check_heads(
            against, heads, app_labels, output_format, settings, pythonpath, database, traceback
        )
    if against is not None:
        check_against(
            against, app_labels, output_format, settings, pythonpath, static, database, traceback
        )
    with handle_errors(traceback):
        if staged:
            from migrator.staged import check_staged

            report = check_staged(project_options(settings, pythonpath, static), app_labels)
        else:
            options = project_options(settings, pythonpath, static)
            if static and database is None and output_format != Format.markdown:
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
        if output_format == Format.markdown and not staged:
            from migrator.against import explain_conflicts

            explanations = explain_conflicts(project.graph, report)
    if output_format in (Format.markdown, Format.gitlab):
        from migrator.render import ci

        section = ci.Section(report, explanations)
        if output_format == Format.markdown:
            title = "migrator check --staged" if staged else "migrator check"
            write(ci.render_markdown(section, Path.cwd(), title))
        else:
            write(ci.render_gitlab(section, repository_root()))
        raise typer.Exit(EXIT_OK if report.ok else EXIT_FOUND)
    renderer = {
        Format.text: render.render_text,
        Format.json: render.render_json,
        Format.github: render.render_github,
    }[Format(output_format)]
    write(renderer(report, Path.cwd()), human=output_format == Format.text)
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FOUND)


def repository_root() -> Path:
    """Where GitLab reads report paths from: the top of the git work tree."""
    from migrator import git

    return git.toplevel(Path.cwd()) or Path.cwd()


def check_against(
    ref: str,
    app_labels: list[str] | None,
    output_format: str,
    settings: str | None,
    pythonpath: list[str] | None,
    static: bool,
    database: str | None,
    traceback: bool,
) -> None:
    """``check --against REF``: the conflicts a merge of REF would create."""
    from migrator.against import predict
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
        if output_format in (Format.markdown, Format.gitlab):
            from migrator.against import explain_conflicts
            from migrator.render import ci

            section = ci.Section(
                report,
                explain_conflicts(prediction.graph, report)
                if output_format == Format.markdown
                else [],
                prediction.changes,
                ref,
                prediction.side_of,
            )
    if output_format == Format.markdown:
        title = f"Predicted merge of {ci.md_code(ref)}"
        write(ci.render_markdown(section, Path.cwd(), title))
    elif output_format == Format.gitlab:
        write(ci.render_gitlab(section, repository_root()))
    else:
        renderer = {
            Format.text: render_against.render_text,
            Format.json: render_against.render_json,
            Format.github: render_against.render_github,
        }[Format(output_format)]
        write(renderer(report, prediction, Path.cwd()))
    raise typer.Exit(EXIT_OK if prediction.is_ok(report) else EXIT_FOUND)


def check_heads(
    ref: str | None,
    patterns: list[str],
    app_labels: list[str] | None,
    output_format: str,
    settings: str | None,
    pythonpath: list[str] | None,
    database: str | None,
    traceback: bool,
) -> None:
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
            explain=output_format == Format.markdown,
        )
    for pattern in prediction.unmatched:
        warn(f"--heads: no ref matches {pattern!r}")
    if output_format in (Format.markdown, Format.gitlab):
        from migrator.render import ci

        if output_format == Format.markdown:
            write(ci.render_heads_markdown(prediction, Path.cwd()))
        else:
            write(ci.render_heads_gitlab(prediction, repository_root()))
        raise typer.Exit(EXIT_OK if prediction.ok else EXIT_FOUND)
    renderer = {
        Format.text: render_against.render_heads_text,
        Format.json: render_against.render_heads_json,
        Format.github: render_against.render_heads_github,
    }[Format(output_format)]
    write(renderer(prediction, Path.cwd()), human=output_format == Format.text)
    raise typer.Exit(EXIT_OK if prediction.ok else EXIT_FOUND)
