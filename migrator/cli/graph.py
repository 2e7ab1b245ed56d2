"""``migrator graph``: draw the migration graph (SVG, PNG, PDF, DOT, Mermaid, HTML, JSON)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from migrator.cli.app import (
    Format,
    PythonPathOption,
    SettingsOption,
    StaticOption,
    TracebackOption,
    app,
    format_option,
    handle_errors,
    project_options,
    stdout_is_terminal,
    warn,
    write,
    write_bytes,
)
from migrator.errors import EXIT_OK, UsageError
from migrator.render.words import plural

if TYPE_CHECKING:
    from migrator.graph import DatabaseInfo, Key
    from migrator.review import Review


#: The formats of ``--format``, as :mod:`migrator.render.graph_files` names them.
FORMATS = {
    Format.svg: "svg",
    Format.png: "png",
    Format.pdf: "pdf",
    Format.dot: "dot",
    Format.mmd: "mermaid",
    Format.html: "html",
    Format.json: "json",
}

#: The formats drawn fitted to a screen unless --full (the HTML page pans and zooms).
FITTED = ("svg", "png", "pdf", "dot")


class RankDir(StrEnum):
    LR = "LR"
    TB = "TB"
    RL = "RL"
    BT = "BT"


class Layout(StrEnum):
    auto = "auto"
    dot = "dot"
    lanes = "lanes"


class Squashed(StrEnum):
    used = "used"
    all = "all"


@app.command()
def graph(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write FILE; its extension picks "
            "the format: .svg .png .pdf (need Graphviz), .dot/.gv, .mmd (Mermaid), "
            ".html (one offline page), .json. Default: stdout.",
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        format_option(
            *FORMATS,
            aliases={"mermaid": Format.mmd, "gv": Format.dot},
            default="the extension of -o, else dot",
        ),
    ] = None,
    apps: Annotated[
        bool,
        typer.Option(
            "--apps",
            help="The project at a glance: one node per app (migrations, leaves, "
            "conflicts, squashed), its dependencies on other apps weighted by count, "
            "apps that depend on each other both ways outlined.",
        ),
    ] = False,
    focus: Annotated[
        list[str] | None,
        typer.Option(
            "--focus",
            metavar="APP[.MIGRATION]",
            help="Only this app and its "
            "neighbours, or this migration, its ancestors and descendants "
            "(repeatable; a unique prefix of the name is enough).",
        ),
    ] = None,
    depth: Annotated[
        int | None,
        typer.Option(
            "--depth",
            metavar="N",
            help="With --focus: at most N edges away (default: 1 for an app, all for a migration).",
        ),
    ] = None,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            "-I",
            metavar="PATTERN",
            show_default=False,
            help="Only apps matching (wildcards * ? [..]; repeatable).",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            "-X",
            metavar="PATTERN",
            show_default=False,
            help="Leave out apps matching (wildcards; repeatable).",
        ),
    ] = None,
    all_apps: Annotated[
        bool, typer.Option("--all", help="Also Django's contrib and third-party apps.")
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Draw every migration in long rows, as it comes. Default for pictures "
            "(svg, png, pdf, dot): fitted to a screen, long chains wrapped into rows, and, "
            "when the project is too big for that, the conflicts' story with the rest "
            "summarised.",
        ),
    ] = False,
    collapse: Annotated[
        bool | None,
        typer.Option(
            "--collapse/--no-collapse",
            help="Draw each linear run of one app's "
            "migrations as one node. Default: when more than 200 are drawn.",
            show_default=False,
        ),
    ] = None,
    squashed: Annotated[
        Squashed,
        typer.Option(
            "--squashed",
            help="'used': the graph migrate uses (squashed "
            "migrations instead of the ones they replace); 'all': both.",
        ),
    ] = Squashed.used,
    squash: Annotated[
        bool, typer.Option("--squash", help="Outline the ranges `migrator squash` finds.")
    ] = False,
    min_length: Annotated[
        int,
        typer.Option(
            "--min-length",
            metavar="N",
            min=2,
            help="With --squash: ranges of at least N migrations.",
        ),
    ] = 10,
    rankdir: Annotated[
        RankDir, typer.Option("--rankdir", help="Direction of the chains.")
    ] = RankDir.LR,
    layout: Annotated[
        Layout,
        typer.Option(
            "--layout",
            help="Who places the migrations: Graphviz's 'dot', or "
            "'lanes' (one band per app, fast on any size); 'auto' takes dot unless "
            "the graph is too big for it.",
        ),
    ] = Layout.auto,
    legend: Annotated[bool, typer.Option("--legend/--no-legend", help="Draw a legend.")] = True,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain/--no-explain",
            help="Say next to each conflicting app what `migrator explain` finds: whether "
            "the branches change the same models or fields (replays their model states).",
        ),
    ] = True,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            metavar="ALIAS",
            help="Fill applied migrations, leave "
            "unapplied ones white, as this database's django_migrations says.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="REF",
            help="Outline the migrations this branch adds over its merge base with REF "
            "(read from git).",
        ),
    ] = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            metavar="REF",
            help="Draw the graph a merge of REF would give, as `check --against` "
            "predicts it: the conflict it would create, this branch's migrations and REF's "
            "outlined.",
        ),
    ] = None,
    settings: SettingsOption = None,
    pythonpath: PythonPathOption = None,
    static: StaticOption = False,
    traceback: TracebackOption = False,
) -> None:
    """Draw the migration graph: one box per app, conflicting leaves in red.

    Without -o, the picture goes to stdout (--format, default DOT; PNG and PDF only
    when stdout is not a terminal).

    Exit 0 when drawn, 1 when refused (a Mermaid diagram too big for GitHub, nothing
    to draw but hidden apps), 2 on a usage or configuration error (including a missing
    Graphviz `dot` for images).
    """
    from migrator import drawing
    from migrator.graph import database_info
    from migrator.project import load_project
    from migrator.render import graph_files, summary
    from migrator.render.escape import terminal
    from migrator.render.viewmodel import build_view, drawn_apps

    with handle_errors(traceback):
        if output is not None:
            graph_files.check_target(output)
        chosen = FORMATS[Format(output_format)] if output_format else None
        fmt = graph_files.choose_format(output, chosen)
        if output is None and fmt in graph_files.BINARY and stdout_is_terminal():
            raise UsageError(
                f"will not write {fmt.upper()} bytes to the terminal",
                hint=f"redirect it (> graph.{fmt}) or pass -o graph.{fmt}",
            )
        if squash and squashed is Squashed.all:
            raise UsageError(
                "--squash outlines ranges of the graph migrate uses",
                hint="leave out --squashed all",
            )
        if apps:
            _check_app_options(
                fmt,
                focus=bool(focus),
                depth=depth is not None,
                squash=squash,
                collapse=collapse is not None,
                database=database is not None,
                layout=layout is not Layout.auto,
            )
        _check_review_options(since, against, apps=apps, database=database, squashed=squashed)
        options = project_options(settings, pythonpath, static)
        review = None
        if against is not None:
            from migrator.review import predicted_merge  # git and check --against

            project, review = predicted_merge(options, against)
        else:
            project = load_project(
                options, replace_migrations=squashed is Squashed.used, database=database
            )
        if since is not None:
            from migrator.review import added_since

            review = added_since(project.graph, options.cwd, since)
        _warn_unread_database(database_info(project.graph))
        if project.problems:  # drawn anyway: the picture helps to find them
            count = len(project.problems)
            warn(
                f"{count} problem{'s' if count > 1 else ''} while loading "
                "the migrations; `migrator check` lists them"
            )
        if apps:
            _draw_apps(
                project.graph,
                fmt,
                output,
                include=include or (),
                exclude=exclude or (),
                all_apps=all_apps,
                verdicts=(
                    drawing.verdicts(project.graph)
                    if explain and squashed is Squashed.used
                    else None
                ),
                rankdir=rankdir.value,
                legend=legend,
            )
            return
        windows = drawing.squash_windows(project.graph, min_length) if squash else ()
        view_of = functools.partial(
            build_view,
            project.graph,
            include=include or (),
            exclude=exclude or (),
            all_apps=all_apps,
            focus=focus or (),
            depth=depth,
            collapse_runs=collapse,
            windows=windows,
            review=_review_marks(review),
        )
        if fmt == "mermaid" and explain:
            # Refuse a diagram too big for GitHub before the verdicts, the costly part
            # (every pair of branches is replayed): the same view without them is as big.
            plain = view_of()
            graph_files.render(
                plain, fmt, rankdir=rankdir.value, legend=legend, base=Path.cwd(), title=""
            )
        verdicts = (
            drawing.verdicts(project.graph) if explain and squashed is Squashed.used else None
        )
        if full or fmt not in FITTED:
            view = view_of(verdicts=verdicts)
        else:
            view = summary.readable(
                project.graph,
                functools.partial(view_of, verdicts=verdicts),
                collapse_runs=collapse,
                legend=legend,
            )
        if review is not None:
            view.graph["review"] = {
                "against" if against else "since": review.ref,
                "merge_base": review.base_sha,
            }
        content, note = graph_files.render(
            view,
            fmt,
            rankdir=rankdir.value,
            legend=legend,
            base=Path.cwd(),
            title=_title(project.settings.module, project.settings.root)
            + (f", merged with {against} (predicted)" if against else ""),
            layout_choice=layout.value,
            details=_details(project.graph, view) if fmt == "html" else None,
        )
        if output is None:
            if fmt in graph_files.BINARY:
                write_bytes(content)
            else:
                write(content.decode())
            if note:
                warn(note)
            raise typer.Exit(EXIT_OK)
        graph_files.write_atomically(output, content)
    shown = sum(len(data["members"]) for _, data in view.nodes(data=True))
    how = "summarising" if "summarised_apps" in view.graph else "collapsing"
    after = f", {view.number_of_nodes()} nodes after {how}" if view.graph["collapsed"] else ""
    app_count = plural(len(drawn_apps(view)), "app")
    write(f"wrote {terminal(output)}: {plural(shown, 'migration')} in {app_count}{after}\n")
    if note:
        write(f"note: {note}\n")


def _check_review_options(
    since: str | None, against: str | None, *, apps: bool, database: str | None, squashed: Squashed
) -> None:
    if since is not None and against is not None:
        raise UsageError(
            "--since marks this branch's migrations, --against draws a predicted merge",
            hint="give one of them (--against also outlines this branch's migrations)",
        )
    given = "--since" if since is not None else "--against" if against is not None else None
    if given and apps:
        raise UsageError(f"{given} marks migrations: --apps draws apps", hint="leave out --apps")
    if against is not None and (database is not None or squashed is Squashed.all):
        raise UsageError(
            "--against predicts the merge from the migration files alone",
            hint="leave out --database and --squashed all",
        )


def _review_marks(review: Review | None) -> dict[Key, str] | None:
    """``--since`` / ``--against``: each migration's mark in the view."""
    from migrator.render.viewmodel import ADDED, INCOMING

    if review is None:
        return None
    return {key: ADDED for key in review.added} | {key: INCOMING for key in review.incoming}


def _check_app_options(fmt: str, **given: bool) -> None:
    """``--apps`` draws apps, not migrations: refuse what only migrations have."""
    names = {"focus": "--focus", "depth": "--depth", "squash": "--squash"}
    names |= {"collapse": "--collapse", "database": "--database", "layout": "--layout"}
    clashing = [names[option] for option, value in given.items() if value]
    if clashing:
        raise UsageError(
            f"--apps draws one node per app: {', '.join(clashing)} draws migrations",
            hint="leave out --apps to draw the migrations",
        )
    if fmt == "html":
        raise UsageError(
            "--apps draws svg, png, pdf, dot, mmd or json, not html",
            hint="e.g. -o apps.svg",
        )


def _draw_apps(
    graph,
    fmt: str,
    output: Path | None,
    *,
    include: Sequence[str],
    exclude: Sequence[str],
    all_apps: bool,
    verdicts: dict[str, str] | None,
    rankdir: str,
    legend: bool,
) -> None:
    """``--apps``: the app overview, on stdout or in ``output``."""
    from migrator.render import app_overview, graph_files

    overview = app_overview.build_overview(
        graph, include=include, exclude=exclude, all_apps=all_apps, verdicts=verdicts
    )
    content = app_overview.render(overview, fmt, rankdir=rankdir, legend=legend)
    if output is None:
        if fmt in graph_files.BINARY:
            write_bytes(content)
        else:
            write(content.decode())
        return
    graph_files.write_atomically(output, content)
    count = overview.number_of_nodes()
    edges = overview.number_of_edges()
    drawn = len(app_overview.drawn_edges(overview))
    shown = f"{edges}" if drawn == edges else f"{drawn} of {edges}"
    write(
        f"wrote {output}: {count} app{'s' if count != 1 else ''}, "
        f"{shown} dependenc{'ies' if edges != 1 else 'y'} between them drawn\n"
    )


def _details(graph, view):
    """What the HTML page shows of each drawn migration when it is clicked."""
    from migrator.drawing import migration_details

    members = [member for _, data in view.nodes(data=True) for member in data["members"]]
    return migration_details(graph, members, Path.cwd())


def _title(settings_module: str, root: Path | None) -> str:
    """The page's title: the settings it was drawn with, else (``--static`` without
    settings) the project's folder."""
    if settings_module:
        return f"Migrations of {settings_module}"
    return f"Migrations in {(root or Path.cwd()).resolve().name}/"


def _warn_unread_database(info: DatabaseInfo | None) -> None:
    if info is not None and info.is_unavailable:
        warn(f"cannot read database {info.alias!r} ({info.error}): drawn without applied state")
