"""Compare two versions of a migration file by their syntax trees, never by their text:
what changed in its graph attributes (``dependencies``, ``run_before``, ``replaces``),
what changed in the rest (operations and the code they call), or only formatting and
comments (the trees are equal).

Each version is rewritten as *meaningful lines*: every statement unparsed from its tree
(so quotes, spacing, line breaks, trailing commas and comments are gone, and docstrings
are dropped), each element of a list attribute of ``class Migration`` on its own line.
The diff of those lines is the part of a change that matters.
"""

from __future__ import annotations

import ast
import copy
import difflib
from dataclasses import dataclass

#: The attributes that place a migration in the graph.
GRAPH_ATTRIBUTES = ("dependencies", "run_before", "replaces")
DEPENDENCIES = "dependencies"  # any of GRAPH_ATTRIBUTES changed
OPERATIONS = "operations"  # anything else that runs changed
FORMATTING = "formatting"  # nothing but formatting, comments or docstrings

Line = tuple[str, int]  # meaningful text, line in the file


@dataclass(frozen=True)
class Comparison:
    """What differs between two versions of one migration file."""

    changed: tuple[str, ...]  # DEPENDENCIES and/or OPERATIONS; empty: only FORMATTING
    diff: tuple[str, ...]  # "-old" / "+new" meaningful lines
    line: int | None  # in the new version: the first changed meaningful line

    @property
    def kind(self) -> str:
        return self.changed[0] if self.changed else FORMATTING


def compare(old: bytes, new: bytes) -> Comparison:
    old_sections, new_sections = meaningful(old), meaningful(new)
    changed: list[str] = []
    diff: list[str] = []
    line = None
    for section in (DEPENDENCIES, OPERATIONS):
        before, after = old_sections[section], new_sections[section]
        if [t for t, _ in before] == [t for t, _ in after]:
            continue
        changed.append(section)
        lines, first = _diff(before, after)
        diff += lines
        if line is None:
            line = first
    return Comparison(tuple(changed), tuple(diff), line)


def meaningful(source: bytes) -> dict[str, list[Line]]:
    """The meaningful lines of a migration file, by section. A file that does not parse
    is its text lines, all in the operations section."""
    sections: dict[str, list[Line]] = {DEPENDENCIES: [], OPERATIONS: []}
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        text = source.decode("utf-8", "replace").splitlines()
        sections[OPERATIONS] = [(t.rstrip(), n) for n, t in enumerate(text, 1) if t.strip()]
        return sections
    for node in _statements(tree.body):
        if isinstance(node, ast.ClassDef) and node.name == "Migration":
            sections[OPERATIONS].append((_class_header(node), node.lineno))
            for statement in _statements(node.body):
                name = _assigned_name(statement)
                section = DEPENDENCIES if name in GRAPH_ATTRIBUTES else OPERATIONS
                sections[section] += _statement_lines(statement, name)
        else:
            sections[OPERATIONS] += _unparsed(node)
    return sections


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements without docstrings (string expressions do nothing)."""
    return [
        s
        for s in body
        if not (
            isinstance(s, ast.Expr)
            and isinstance(s.value, ast.Constant)
            and isinstance(s.value.value, str)
        )
    ]


def _class_header(node: ast.ClassDef) -> str:
    bases = ", ".join(ast.unparse(b) for b in (*node.bases, *node.keywords))
    return f"class {node.name}({bases}):"


def _assigned_name(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target = statement.targets[0]
    elif isinstance(statement, ast.AnnAssign):
        target = statement.target
    else:
        return None
    return target.id if isinstance(target, ast.Name) else None


def _statement_lines(statement: ast.stmt, name: str | None) -> list[Line]:
    """A list or tuple attribute one element a line; anything else unparsed."""
    value = getattr(statement, "value", None)
    if name is not None and isinstance(value, ast.List | ast.Tuple):
        open_, close = ("[", "]") if isinstance(value, ast.List) else ("(", ")")
        lines = [(f"    {name} = {open_}", statement.lineno)]
        lines += [(f"        {ast.unparse(e)},", e.lineno) for e in value.elts]
        lines.append((f"    {close}", getattr(statement, "end_lineno", None) or statement.lineno))
        return lines
    return [("    " + text, n) for text, n in _unparsed(statement)]


def _unparsed(node: ast.stmt) -> list[Line]:
    return [(text, node.lineno) for text in ast.unparse(_without_docstrings(node)).splitlines()]


def _without_docstrings(node: ast.stmt) -> ast.stmt:
    class Strip(ast.NodeTransformer):
        def generic_visit(self, item: ast.AST) -> ast.AST:
            super().generic_visit(item)
            body = getattr(item, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                kept = _statements(body)
                item.body = kept or [ast.Pass()]  # type: ignore[attr-defined]
            return item

    return Strip().visit(copy.deepcopy(node))


def _diff(before: list[Line], after: list[Line]) -> tuple[list[str], int | None]:
    """``-``/``+`` lines (with one line of context as `` ``), and the new version's line
    of the first change."""
    old_text, new_text = [t for t, _ in before], [t for t, _ in after]
    lines: list[str] = []
    first = None
    matcher = difflib.SequenceMatcher(a=old_text, b=new_text, autojunk=False)
    for group in matcher.get_grouped_opcodes(1):
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [" " + t for t in old_text[i1:i2]]
                continue
            lines += ["-" + t for t in old_text[i1:i2]]
            lines += ["+" + t for t in new_text[j1:j2]]
            if first is None:
                first = after[j1][1] if j1 < len(after) else (after[-1][1] if after else None)
    return lines, first
