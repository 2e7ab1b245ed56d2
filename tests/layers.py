"""The package's layers, read from its source: which module imports which.

Every ``import`` and ``from ... import`` counts, wherever it stands (a function-level
import is still a dependency; only its timing differs), except those under
``if TYPE_CHECKING:``, which never run and may name any layer for annotations.

The layers, from the bottom (ARCHITECTURE.md draws them):

``analysis``  pure graph analyses: the standard library, networkx and the graph contract
``contract``  errors, graph, problems, git, sourcefiles, settings, collector
``django``    the only package that imports Django
``static``    reads migration files without running them
``write``     plan, journal, source edits, verification
``core``      one module per command, and ``project`` (the one way to a graph)
``render``    words and pictures of what a core returned
``cli``       options in, text and exit code out
``app``       the Django app (apps, checks, management): Django's hooks into the cli and cores
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "migrator"

CONTRACTS = {"errors", "graph", "problems", "git", "sourcefiles", "settings", "collector"}

# The migrator layers each layer may import (its own included).
ALLOWED = {
    "analysis": {"analysis"},  # and the two contracts without I/O: _ANALYSIS_OK
    "contract": {"contract", "analysis"},
    "django": {"django", "contract", "analysis"},
    "static": {"static", "contract", "analysis", "django"},
    "write": {"write", "contract", "analysis"},
    "core": {"core", "contract", "analysis", "django", "static", "write"},
    "render": {"render", "core", "contract", "analysis"},
    "cli": {"cli", "render", "core", "contract", "analysis", "django", "static", "write"},
    "entry": {"cli"},
    "app": {"app", "cli", "render", "core", "contract", "analysis", "django"},
}

# The Django app's modules, at the package's top level where Django looks for them.
APP_MODULES = ("apps", "checks", "management")

# Third-party or standard modules only some layers may import: module -> layers allowed.
# ``static`` may build Django operation objects (static/operations.py); nothing else
# outside ``django`` may import Django.
EXTERNAL = {
    "django": {"django", "app"},
    "typer": {"cli"},
    "graphviz": {"render"},
    "subprocess": {"contract", "django", "static", "write", "core", "cli"},
}
EXTERNAL_EXCEPTIONS = {("django", "migrator.static.operations")}

# Contracts a layer may not use though its rank allows: renderers are pure functions of
# data, so they read no files (sourcefiles finds lines in files).
FORBIDDEN = {("render", f"{PACKAGE}.sourcefiles"), ("render", f"{PACKAGE}.git")}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # what it imports, dotted (a module or a module's attribute)
    line: int


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(root: Path) -> list[Import]:
    """Every import in the package under ``root`` (the folder of ``__init__.py``)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skipped = _type_checking_lines(tree)
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skipped:
                continue
            if isinstance(node, ast.Import):
                found += [Import(module, alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found += [
                    Import(module, f"{base}.{alias.name}", node.lineno) for alias in node.names
                ]
                found.append(Import(module, base, node.lineno))
    return found


def layer(module: str) -> str | None:
    """The layer of a module of the package (``None`` outside it)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    if len(parts) == 1 or parts[1] in ("__init__", "__main__"):
        return "entry"
    if parts[1] in ("analysis", "django", "static", "write", "render", "cli"):
        return parts[1]
    if parts[1] in APP_MODULES:
        return "app"
    if parts[1] in CONTRACTS:
        return "contract"
    return "core"


def own_module(target: str, modules: set[str]) -> str | None:
    """The package module an import target names (``a.b.name`` -> ``a.b``)."""
    while target:
        if target in modules:
            return target
        target = target.rpartition(".")[0]
    return None


def violations(root: Path) -> list[str]:
    """Every import that breaks a layer rule, as ``module:line: why``."""
    found = imports(root)
    modules = {module_name(path, root) for path in root.rglob("*.py")}
    problems = []
    for imp in found:
        mine = layer(imp.module)
        assert mine is not None
        top = imp.target.split(".")[0]
        if top == PACKAGE:
            target = own_module(imp.target, modules)
            theirs = layer(target) if target else None
            if theirs is None or target == PACKAGE:
                continue
            allowed = ALLOWED[mine]
            if theirs not in allowed and not (mine == "analysis" and target in _ANALYSIS_OK):
                problems.append(f"{imp.module}:{imp.line}: {mine} imports {theirs} ({target})")
            elif (mine, target) in FORBIDDEN:
                problems.append(f"{imp.module}:{imp.line}: {mine} may not use {target}")
        elif (
            top in EXTERNAL
            and mine not in EXTERNAL[top]
            and (top, imp.module) not in EXTERNAL_EXCEPTIONS
        ):
            problems.append(f"{imp.module}:{imp.line}: {mine} imports {top}")
    return sorted(set(problems))


# analysis may use the two contracts that hold no I/O: the graph's types and errors.
_ANALYSIS_OK = {f"{PACKAGE}.graph", f"{PACKAGE}.errors"}


def cycles(root: Path) -> list[list[str]]:
    """Import cycles between the package's modules (package ``__init__`` files aside,
    which Python imports on the way to any submodule)."""
    import networkx as nx

    modules = {module_name(path, root) for path in root.rglob("*.py")}
    graph = nx.DiGraph()
    for imp in imports(root):
        target = own_module(imp.target, modules)
        if target and target != imp.module and target in modules:
            if (root / Path(*target.split(".")[1:]) / "__init__.py").exists():
                continue  # importing a package, not a module
            graph.add_edge(imp.module, target)
    return sorted(sorted(cycle) for cycle in nx.simple_cycles(graph))
