"""``migrator merge``: write the merge migrations Django would, refuse the unsafe ones."""

from __future__ import annotations

import os
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
    recover_interrupted,
    warn,
    write,
)
from migrator.errors import EXIT_FOUND, EXIT_OK, UsageError


@app.command()
def merge(
    app_labels: AppLabelsArgument = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print each file that would be written; write nothing."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Merge even when both branches change the same field.")
    ] = False,
    name: Annotated[
        str | None,
        typer.Option("--name", metavar="NAME", help="Name the merge migrations NNNN_NAME."),
    ] = None,
    output_format: Annotated[str, format_option(Format.text, Format.json)] = Format.text,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """Write one merge migration per conflicting app, as `makemigrations --merge` would,
    then reload the graph in a new process to verify it; remove everything written when
    anything fails. Refuses an app whose branches change the same field (see `migrator
    explain`) unless --force.

    Exit 0 when merged or nothing to merge, 1 when an app was refused or writing failed
    (nothing written then), 2 on a usage or configuration error.
    """
    from migrator.markers import marker_apps
    from migrator.merge import plan_merges, refuse_uncertain
    from migrator.project import load_project, select_apps
    from migrator.recover import journal_for
    from migrator.render import merge as render
    from migrator.render.paths import display_path
    from migrator.write.plan import apply_plan, name_limit
    from migrator.write.verify import single_leaf_verifier

    with handle_errors(traceback):
        recover_interrupted(Path.cwd())
        if name is not None and not name.isidentifier():
            raise UsageError(
                f"--name {name!r} is not a valid Python identifier",
                hint="use letters, digits and underscores, e.g. --name merge_gift",
            )
        options = project_options(settings, pythonpath, static)
        project = load_project(options)
        labels = select_apps(project.graph, app_labels or [])
        refuse_uncertain(project.problems, "merge")
        report = plan_merges(
            project.graph,
            project.problems,
            labels,
            name=name,
            force=force,
            cwd=options.cwd,
            dry_run=dry_run,
            markers=marker_apps(project.graph, options),
        )
        _warn_hidden(project, labels)
        plan = report.plan()
        for path in plan.paths:
            limit = name_limit(path)
            if limit is not None:
                raise UsageError(
                    f"--name {name!r} makes the file name {len(os.fsencode(path.name))} bytes "
                    f"long; {display_path(str(path.parent), options.cwd)} allows {limit}",
                    hint="choose a shorter --name",
                )
        if plan and not dry_run:
            merged = [m.app_label for m in report.to_write]
            verify = single_leaf_verifier(options, project.settings, merged, project.problems)
            report.written = apply_plan(
                plan, verify, journal=journal_for(options.cwd), command="merge"
            )
    renderer = render.render_json if output_format == Format.json else render.render_text
    write(renderer(report, Path.cwd()), human=output_format == Format.text)
    raise typer.Exit(EXIT_FOUND if report.refused else EXIT_OK)


def _warn_hidden(project, labels: list[str]) -> None:
    """A migration that failed to load can hide a conflict (a leaf Django cannot see):
    say so for the apps merged nothing in, rather than a plain 'no conflicts'."""
    from migrator.analysis.leaves import conflicts
    from migrator.render.words import plural

    conflicting = set(conflicts(project.graph))
    problems = [p for p in project.problems if p.app in labels and p.app not in conflicting]
    if problems:
        apps = ", ".join(repr(app) for app in sorted({p.app for p in problems}))
        warn(
            f"{plural(len(problems), 'problem')} while loading {apps} may hide a conflict "
            "there; `migrator check` lists them"
        )
