"""``check`` for CI pages: ``--format markdown`` (``$GITHUB_STEP_SUMMARY``, pull-request
comments) and ``--format gitlab`` (GitLab's Code Quality report).

Markdown: each conflict with the verdict of ``explain``, the exact command that resolves
it, and a small Mermaid picture of its neighbourhood (the fork point and each branch);
each problem and each changed published migration with its hint. GitLab: one issue per
conflicting leaf, problem and changed published migration, each with a fingerprint that
stays the same while the finding does (GitLab tells new findings from fixed ones by it).

Every identifier that reaches the page is escaped here (the small escapers below), as
it may come from a file or a ref name someone else chose.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from migrator.against import HeadPrediction, HeadsPrediction
from migrator.check import CheckReport, Conflict
from migrator.explain import AppExplanation, resolving_command
from migrator.published import KIND as PUBLISHED
from migrator.published import PublishedChange
from migrator.render.against import change_hint, change_message, change_path
from migrator.render.check import conflict_hint
from migrator.render.explain import recommend
from migrator.render.paths import display_path
from migrator.render.words import plural

# -- escaping (kept to this block so it can move to a shared module) -----------------------

# ASCII punctuation markdown, GitHub (mentions) or HTML may read as markup; CommonMark
# takes any ASCII punctuation escaped with a backslash as itself.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]#!|<>~&@$])")


def md_text(value: str) -> str:
    """Plain text in markdown: every character markdown or HTML could read as markup is
    backslash-escaped, and line breaks become spaces."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).splitlines()))


def md_words(value: str) -> str:
    """Text whose `backticked` parts are commands or names: those become code spans,
    the rest plain text."""
    parts = str(value).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: all plain text
        return md_text(value)
    return "".join(md_code(p) if i % 2 else md_text(p) for i, p in enumerate(parts))


def md_code(value: str, *, in_table: bool = False) -> str:
    """An inline code span that holds ``value`` as it is, whatever backticks it has; in a
    table cell ``|`` is escaped (GitHub reads ``\\|`` there as ``|``, also in code)."""
    value = " ".join(str(value).splitlines())
    if in_table:
        value = value.replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or longest else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def md_block(lines: Sequence[str], language: str = "") -> str:
    """A fenced code block longer than any run of backticks inside it."""
    longest = max((len(m) for line in lines for m in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([f"{fence}{language}", *lines, fence])


def mermaid_label(value: str) -> str:
    """A Mermaid label: anything but ASCII letters, digits, space and ``_.-`` is written
    as an entity code (``#35;``), so no quote, bracket or ``<`` ends it or adds markup."""
    return "".join(
        c if (c.isascii() and c.isalnum()) or c in "_.- " else f"#{ord(c)};" for c in value
    )


# -- what a page shows --------------------------------------------------------------------


@dataclass
class Section:
    """One check's findings: a plain check, a predicted merge, or one head's merge."""

    report: CheckReport
    explanations: Sequence[AppExplanation] = ()
    changes: Sequence[PublishedChange] = ()
    ref: str | None = None  # the branch merged (--against), for the commands shown
    side_of: Callable[[str | None], str | None] = field(default=lambda path: None)

    @property
    def errors(self) -> int:
        return sum(c.is_error for c in self.changes)

    @property
    def ok(self) -> bool:
        return self.report.ok and not self.errors


MAX_BRANCH_NODES = 4  # per branch in a picture; more are counted in one box


def _conflict_markdown(section: Section, conflict: Conflict, base: Path) -> list[str]:
    explanation = next((x for x in section.explanations if x.app == conflict.app), None)
    lines = [f"#### Conflict in {md_code(conflict.app)}", ""]
    for name, path in zip(conflict.leaves, conflict.paths, strict=True):
        side = section.side_of(path)
        origin = f" from {md_code(side)}" if side else ""
        lines.append(f"- leaf {md_code(name)}{origin}: {md_code(display_path(path, base) or '')}")
    lines.append("")
    commands = [f"git merge {section.ref}"] if section.ref else []
    if explanation is not None:
        lines += [f"**Verdict:** {md_words(recommend(explanation))}", ""]
        commands.append(resolving_command(explanation))
    else:
        commands.append(f"migrator merge {conflict.app}")
        lines += [md_words(conflict_hint(conflict)), ""]
    lines += ["Resolve with:", "", md_block([_shell_line(c) for c in commands], "sh"), ""]
    if explanation is not None:
        lines += [md_block(_picture(explanation), "mermaid"), ""]
    return lines


def _shell_line(command: str) -> str:
    """A command with each word that is not plain quoted for the shell."""
    return " ".join(w if re.fullmatch(r"[\w./:@=-]+", w) else _quote(w) for w in command.split())


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\"'\"'") + "'"


def _picture(x: AppExplanation) -> list[str]:
    """The fork point(s) and each branch up to its leaf, parents above children."""
    lines = ["flowchart TB"]
    ids: dict[str, str] = {}

    def node(name: str, label: str | None = None, shape: str = '["{}"]') -> str:
        if name not in ids:
            ids[name] = f"n{len(ids)}"
            lines.append(f"  {ids[name]}" + shape.format(mermaid_label(label or name)))
        return ids[name]

    forks = [node(f, f"{x.app}.{f}") for f in x.fork_points] or [
        node("(no common ancestor)", shape='(["{}"])')
    ]
    for branch in x.branches:
        shown = list(branch.migrations)
        if len(shown) > MAX_BRANCH_NODES:
            hidden = len(shown) - MAX_BRANCH_NODES + 1
            more = node(f"{branch.leaf} ...", f"{hidden} more", '(["{}"])')
            chain = [more, *(node(n) for n in shown[hidden:])]
        else:
            chain = [node(n) for n in shown]
        for fork in forks:
            lines.append(f"  {fork} --> {chain[0]}")
        lines += [f"  {a} --> {b}" for a, b in zip(chain, chain[1:], strict=False)]
        lines.append(f"  style {ids[branch.leaf]} stroke:#c62828,stroke-width:3px")
    return lines


def _problems_markdown(section: Section, base: Path) -> list[str]:
    if not section.report.problems:
        return []
    lines = ["#### Problems", "", "| file | kind | problem |", "| --- | --- | --- |"]
    for p in section.report.problems:
        where = display_path(p.path, base) or ""
        if where and p.line:
            where += f":{p.line}"
        message = md_text(p.message) + (f"<br>hint: {md_words(p.hint)}" if p.hint else "")
        cell = md_code(where, in_table=True) if where else ""
        lines.append(f"| {cell} | {md_code(p.kind, in_table=True)} | {message} |")
    return [*lines, ""]


def _changes_markdown(section: Section, base: Path) -> list[str]:
    shown = [c for c in section.changes if not c.allowed]
    if not shown:
        return []
    lines = ["#### Published migrations changed", ""]
    for c in shown:
        where = display_path(change_path(c), base) or ""
        if c.line:
            where += f":{c.line}"
        level = "error" if c.is_error else "warning"
        message = md_text(change_message(c, section.ref or "the base"))
        lines.append(f"- **{level}** {md_code(where)}: {message}")
        if c.diff:
            lines += ["", md_block(list(c.diff), "diff"), ""]
        lines += [f"  hint: {md_words(change_hint(c))}", ""]
    return lines


def section_markdown(section: Section, base: Path) -> list[str]:
    lines: list[str] = []
    for conflict in section.report.conflicts:
        lines += _conflict_markdown(section, conflict, base)
    lines += _problems_markdown(section, base)
    lines += _changes_markdown(section, base)
    return lines


def _verdict(section: Section) -> str:
    report = section.report
    if section.ok:
        return f"no conflicts or problems in {plural(len(report.apps), 'app')}"
    parts = [plural(len(report.conflicts), "conflict"), plural(len(report.problems), "problem")]
    if section.errors:
        parts.append(plural(section.errors, "published migration") + " changed")
    return ", ".join(parts)


def render_markdown(section: Section, base: Path, title: str) -> str:
    icon = "✅" if section.ok else "❌"
    lines = [f"### {icon} {title}: {_verdict(section)}", ""]
    lines += section_markdown(section, base)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_heads_markdown(prediction: HeadsPrediction, base: Path) -> str:
    broken = [h for h in prediction.heads if not h.ok]
    icon = "✅" if not broken else "❌"
    lines = [
        f"### {icon} Predicted merges into {md_code(prediction.ref)}: "
        f"{len(broken)} of {plural(len(prediction.heads), 'head')} would break it",
        "",
        "| head | commit | verdict |",
        "| --- | --- | --- |",
    ]
    for head in prediction.heads:
        section = head_section(head, prediction.ref)
        verdict = "ok" if head.ok else md_text("would break: " + _verdict(section))
        name = md_code(head.head.name, in_table=True)
        lines.append(f"| {name} | {md_code(head.head.sha[:10])} | {verdict} |")
    lines.append("")
    for head in broken:
        lines += [
            "<details>",
            f"<summary>{html.escape(head.head.name)}</summary>",
            "",
            *section_markdown(head_section(head, prediction.ref), base),
            "</details>",
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def head_section(head: HeadPrediction, ref: str) -> Section:
    return Section(head.report, head.explanations, head.changes, ref, head.side_of)


# -- GitLab Code Quality ------------------------------------------------------------------


def _issue(
    check: str, description: str, path: str | None, line: int | None, severity: str, identity: str
) -> dict:
    return {
        "description": description,
        "check_name": check,
        # the same finding keeps its fingerprint across runs (no line: lines move)
        "fingerprint": hashlib.sha256(f"{check}\0{path}\0{identity}".encode()).hexdigest(),
        "severity": severity,
        "location": {"path": path or ".", "lines": {"begin": line or 1}},
    }


def gitlab_issues(section: Section, base: Path, prefix: str = "") -> list[dict]:
    issues = []
    for c in section.report.conflicts:
        for name, path, line in zip(c.leaves, c.paths, c.lines, strict=True):
            shown = display_path(path, base)
            issues.append(
                _issue(
                    "migration-conflict",
                    f"{prefix}{c.app!r} has {len(c.leaves)} leaf migrations "
                    f"({', '.join(c.leaves)}); {conflict_hint(c)}",
                    shown,
                    line,
                    "major",
                    f"{prefix}{c.app}\0{name}",
                )
            )
    for p in section.report.problems:
        issues.append(
            _issue(
                p.kind,
                f"{prefix}{p.message}" + (f". Hint: {p.hint}" if p.hint else ""),
                display_path(p.path, base),
                p.line,
                "major",
                f"{prefix}{p.app}\0{p.migration}\0{p.message}",
            )
        )
    for ch in section.changes:
        if ch.allowed:
            continue
        issues.append(
            _issue(
                PUBLISHED,
                f"{prefix}{change_message(ch, section.ref or 'the base')}. Hint: {change_hint(ch)}",
                display_path(change_path(ch), base),
                ch.line,
                "major" if ch.is_error else "info",
                f"{prefix}{ch.key}\0{ch.change}",
            )
        )
    return issues


def render_gitlab(section: Section, base: Path) -> str:
    return json.dumps(gitlab_issues(section, base), indent=2, sort_keys=True) + "\n"


def render_heads_gitlab(prediction: HeadsPrediction, base: Path) -> str:
    issues = []
    for head in prediction.heads:
        issues += gitlab_issues(
            head_section(head, prediction.ref), base, f"merging {head.head.name}: "
        )
    return json.dumps(issues, indent=2, sort_keys=True) + "\n"
