"""``migrator graph`` output: the format chosen by the file's extension, graph_models
style, rendered to bytes and written in one step."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import networkx as nx

from migrator.errors import UsageError, WriteError
from migrator.render import dot, fit, graph_json, html, lanes, mermaid
from migrator.render.words import readable

FORMATS = {
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
}


def format_for(path: Path) -> str:
    """The output format for a file name; a usage error for an unknown extension."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"cannot tell the format of {str(path)!r} from its extension",
            hint="use one of " + ", ".join(sorted(FORMATS)),
        )
    return fmt


#: Formats that are not text: written to stdout only when it is not a terminal.
BINARY = ("png", "pdf")


def choose_format(path: Path | None, chosen: str | None) -> str:
    """The format to write: ``chosen`` (``--format``), which must agree with the
    extension of ``path`` when it has a known one; else the extension's; else DOT."""
    if chosen is None:
        return format_for(path) if path is not None else "dot"
    if path is not None:
        implied = FORMATS.get(path.suffix.lower())
        if implied is not None and implied != chosen:
            raise UsageError(
                f"--format {_OPTION_NAMES.get(chosen, chosen)} disagrees with the "
                f"extension of {str(path)!r} ({implied})",
                hint="leave out --format (the extension picks it) or change the extension",
            )
    return chosen


_OPTION_NAMES = {"mermaid": "mmd"}

LAYOUTS = ("auto", "dot", "lanes")


def uses_lanes(view: nx.DiGraph, choice: str) -> bool:
    """``auto``: Graphviz's ``dot`` lays the picture out unless that would take it more
    than a few seconds (see :data:`migrator.render.lanes.DOT_BUDGET`)."""
    if "summarised_apps" in view.graph:
        return False  # a summary is small, and its other apps have no band of their own
    if choice == "auto":
        return lanes.dot_cost(view) > lanes.DOT_BUDGET
    return choice == "lanes"


def render(
    view: nx.DiGraph,
    fmt: str,
    *,
    rankdir: str,
    legend: bool,
    base: Path,
    title: str,
    layout_choice: str = "auto",
    details: tuple[dict, bool] | None = None,
) -> tuple[bytes, str | None]:
    """The file's bytes, and a note for the user (or ``None``). ``details``: what the
    HTML page shows of a clicked migration, as
    :func:`migrator.drawing.migration_details` returns it."""
    if fmt == "json":
        return readable(graph_json.render_json(view, base)).encode(), None
    if fmt == "mermaid":
        return readable(mermaid.render_mermaid(view, rankdir=rankdir)).encode(), None
    placed = None
    if uses_lanes(view, layout_choice):
        placed = lanes.lane_layout(view, dot.node_texts(view), rankdir)
    wrap = None
    if placed is None and view.graph.get("fit") and rankdir in ("LR", "RL"):
        wrap = fit.plan(view, dot.node_texts(view), legend=legend)
    source = readable(dot.render_dot(view, rankdir=rankdir, legend=legend, lanes=placed, wrap=wrap))
    if fmt == "dot":
        return source.encode(), None
    positioned = placed is not None
    if fmt == "html":
        note = None
        try:
            svg = dot.render_image(source, "svg", positioned=positioned).decode()
        except dot.DotMissingError:
            # The page still works: the lane layout, drawn here.
            svg = lanes.render_svg(view, dot.node_texts(view), dot.node_ids(view), rankdir)
            note = (
                "Graphviz 'dot' is not installed: drawn with migrator's lane layout; "
                "install Graphviz for the full layout"
            )
        found, in_git = details or ({}, False)
        page = html.render_html(
            view, svg, base, title=title, notice=note, details=found, in_git=in_git
        )
        return readable(page).encode(), note
    return dot.render_image(source, fmt, positioned=positioned), None


def write_atomically(path: Path, content: bytes) -> None:
    """Write through a temporary file in the same folder: a failure never leaves a
    half-written file behind."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(
            f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist",
            hint="create the folder first",
        )
    check_target(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        # mkstemp makes the file private; give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException as exc:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from exc
        raise


def check_target(path: Path, example: str = "migrations.svg") -> None:
    """Refuse an output path that names a folder, before any work is done."""
    if path.is_dir():
        raise UsageError(
            f"cannot write {str(path)!r}: it is a folder",
            hint="name a file, e.g. " + repr(str(path / example)),
        )


def _cannot_write(path: Path, exc: OSError) -> WriteError:
    return WriteError(
        f"cannot write {str(path)!r}: {exc.strerror or exc}",
        hint="free some space or choose a folder you can write to; nothing was written",
    )
