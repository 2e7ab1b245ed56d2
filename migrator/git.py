"""A few small git functions. Each takes ``cwd`` explicitly and never raises because a
folder is not a repository: it returns ``None`` (or an empty result) instead.

Within :func:`one_view` (a command's run) each question about refs and commits is
asked of git once."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: git commands that only read refs and commits (the work tree's root, HEAD, a merge's
#: parents, ancestry), which no migrator command changes: it never commits, fetches or
#: moves a ref (a rebase's ``git mv`` changes the index). ``symbolic-ref`` and ``branch``
#: read only in the forms in :func:`_about_refs`.
_READ_REFS = frozenset({"rev-parse", "merge-base", "rev-list"})
#: Inside :func:`one_view`: those answers so far, by (arguments, folder).
_view: dict[tuple[tuple[str, ...], str], str | None] | None = None


@contextmanager
def one_view() -> Iterator[None]:
    """Within, each question about refs and commits is asked of git once, then answered
    from memory: provenance asks the same ones for each app and each migration (a
    ``resolve`` of one project asked ``rev-parse --show-toplevel`` 16 times). A
    command's run holds one view; a process that lives on (the Django app's checks in
    ``runserver``, while commits are made) asks git each time."""
    global _view
    outer = _view
    if outer is None:
        _view = {}
    try:
        yield
    finally:
        _view = outer


def _git(
    args: list[str], cwd: Path, *, input: str | bytes | None = None, text: bool = True
) -> subprocess.CompletedProcess | None:
    """Run ``git ARGS`` in ``cwd``; ``None`` when git is missing or cannot be started.
    The exit code is the caller's to judge (some commands use 1 for an answer)."""
    if shutil.which("git") is None:
        return None
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, input=input, capture_output=True, text=text, check=False
        )
    except OSError:
        return None


def _about_refs(args: list[str]) -> bool:
    """``git ARGS`` only reads refs and commits: its answer holds for a command's run."""
    if args[0] in _READ_REFS:
        return True
    if args[0] == "symbolic-ref":  # with a second name, it would point HEAD there
        return len([a for a in args[1:] if not a.startswith("-")]) == 1
    return args[0] == "branch" and any(a.startswith("--points-at") for a in args)


def run_git(args: list[str], cwd: Path) -> str | None:
    """``git ARGS`` in ``cwd``: its stdout, or ``None`` when git is missing or fails."""
    view = _view if _about_refs(args) else None
    key = (tuple(args), os.fspath(cwd))
    if view is not None and key in view:
        return view[key]
    proc = _git(args, cwd)
    out = proc.stdout if proc is not None and proc.returncode == 0 else None
    if view is not None:
        view[key] = out
    return out


def git_mv(source: Path, target: Path) -> str | None:
    """``git mv SOURCE TARGET``: ``None`` when it moved the file, else why not (git's
    stderr; empty when git is missing)."""
    proc = _git(["mv", "--", str(source), str(target)], source.parent)
    if proc is None:
        return ""
    return None if proc.returncode == 0 else proc.stderr


def toplevel(cwd: Path) -> Path | None:
    """The root of the work tree ``cwd`` is in, or ``None`` outside git."""
    out = run_git(["rev-parse", "--show-toplevel"], cwd)
    return Path(out.strip()) if out else None


# -- provenance: which commit added a file, and which side of a merge it came from ---------

#: Sides of a merge a commit can be on.
OURS = "ours"  # HEAD's first parent (or HEAD itself during an unfinished merge)
THEIRS = "theirs"  # the merged-in side (HEAD's other parents, or MERGE_HEAD)
BASE = "base"  # on both sides: before the histories forked
MERGE = "merge"  # on neither: added by the merge commit itself
UNCOMMITTED = "uncommitted"  # not in any commit (untracked, or only staged)


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    email: str
    date: str  # author date, ISO 8601
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:10]


@dataclass(frozen=True)
class MergeState:
    """The merge HEAD is in (``merging``: MERGE_HEAD exists) or is (``merged``)."""

    state: str  # "merging" | "merged"
    ours: str  # the tip of our side
    theirs: tuple[str, ...]  # the tips merged in
    ours_name: str | None = None  # the current branch (None when HEAD is detached)
    theirs_names: tuple[str | None, ...] = ()  # a branch at each tip, when one points there


@dataclass(frozen=True)
class Origin:
    """Where a file came from: the commit that added it and the side of the merge."""

    path: str
    commit: Commit | None
    side: str | None  # one of the sides above, None when HEAD is no merge


_FORMAT = "%H%x1f%an%x1f%ae%x1f%aI%x1f%s"


def rev_parse(rev: str, cwd: Path) -> str | None:
    out = run_git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd)
    return out.strip() if out else None


def is_ancestor(ancestor: str, descendant: str, cwd: Path) -> bool:
    """``ancestor`` is ``descendant`` or in its history."""
    return run_git(["merge-base", "--is-ancestor", ancestor, descendant], cwd) is not None


def branch_name(sha: str, cwd: Path) -> str | None:
    """A local branch whose tip is ``sha`` (sorted, the first), else ``None``."""
    out = run_git(["branch", "--format=%(refname:short)", "--points-at", sha], cwd)
    names = sorted(line.strip() for line in (out or "").splitlines() if line.strip())
    names = [name for name in names if not name.startswith("(")]  # "(HEAD detached ...)"
    return names[0] if names else None


def merge_state(cwd: Path) -> MergeState | None:
    """The merge in progress (MERGE_HEAD), else the merge commit at HEAD, else ``None``."""
    head = rev_parse("HEAD", cwd)
    if head is None:
        return None
    merge_heads = _merge_heads(cwd)
    if merge_heads:
        state, ours, theirs = "merging", head, merge_heads
    else:
        parents = (run_git(["rev-list", "--parents", "-n", "1", head], cwd) or "").split()[1:]
        if len(parents) < 2:
            return None
        state, ours, theirs = "merged", parents[0], tuple(parents[1:])
    current = run_git(["symbolic-ref", "--short", "-q", "HEAD"], cwd)
    return MergeState(
        state,
        ours,
        theirs,
        current.strip() if current else None,
        tuple(branch_name(sha, cwd) for sha in theirs),
    )


def is_shallow(cwd: Path) -> bool:
    """The clone lacks history (``git clone --depth``, CI checkouts by default): a merge
    commit's parents may be missing, so HEAD looks like no merge."""
    return (run_git(["rev-parse", "--is-shallow-repository"], cwd) or "").strip() == "true"


def _merge_heads(cwd: Path) -> tuple[str, ...]:
    path = run_git(["rev-parse", "--git-path", "MERGE_HEAD"], cwd)
    if not path:
        return ()
    merge_head = Path(path.strip())
    merge_head = merge_head if merge_head.is_absolute() else cwd / merge_head
    try:
        lines = merge_head.read_text().split()
    except OSError:
        return ()
    return tuple(sha for sha in lines if rev_parse(sha, cwd))


def commits_adding(paths: list[Path], cwd: Path, revs: list[str]) -> dict[Path, Commit]:
    """For each path, the newest commit reachable from ``revs`` that added it there.

    One ``git log`` for all paths; renames count as additions at the new path.
    """
    top = toplevel(cwd)
    if top is None or not paths or not revs:
        return {}
    relative = {}
    for path in paths:
        try:
            relative[Path(path).resolve().relative_to(top.resolve()).as_posix()] = path
        except ValueError:
            continue  # outside this work tree (an installed package)
    if not relative:
        return {}
    out = run_git(
        # --cc: a merge commit counts only for files it adds against every parent.
        [
            "log",
            "--no-renames",
            "--cc",
            "--diff-filter=A",
            "--name-only",
            "-z",
            f"--format=%x1e{_FORMAT}",
            *revs,
            "--",
            *sorted(relative),
        ],
        top,
    )
    found: dict[Path, Commit] = {}
    for record in (out or "").split("\x1e")[1:]:
        # -z ends the header and each name with NUL (a newline may start the names).
        header, *names = record.split("\x00")
        fields = header.split("\x1f")
        if len(fields) != 5:
            continue
        commit = Commit(*fields)
        for name in names:
            name = name.strip("\n")
            if name in relative and relative[name] not in found:
                found[relative[name]] = commit  # log is newest first
    return found


def side_of(sha: str, merge: MergeState, cwd: Path) -> str:
    """Which side of ``merge`` the commit ``sha`` is on."""
    on_ours = is_ancestor(sha, merge.ours, cwd)
    on_theirs = any(is_ancestor(sha, tip, cwd) for tip in merge.theirs)
    if on_ours and on_theirs:
        return BASE
    if on_ours:
        return OURS
    if on_theirs:
        return THEIRS
    return MERGE


def origins(paths: list[Path], cwd: Path) -> dict[Path, Origin] | None:
    """Where each file came from, or ``None`` when ``cwd`` is not in a git work tree.

    Files outside the work tree are left out; a file no commit added is
    ``uncommitted``. The side is only known when HEAD is a merge or one is in progress.
    """
    top = toplevel(cwd)
    if top is None:
        return None
    # Git-ignored files (a scratch copy inside another project's tree) have no history here.
    paths = [p for p in paths if Path(p).resolve().is_relative_to(top.resolve())]
    skipped = ignored(paths, top)
    paths = [p for p in paths if Path(p) not in skipped]
    if not paths:
        return None
    merge = merge_state(cwd)
    revs = ["HEAD", *(merge.theirs if merge and merge.state == "merging" else ())]
    if rev_parse("HEAD", cwd) is None:
        revs = []  # a repository without commits
    added = commits_adding(paths, cwd, revs)
    top = top.resolve()
    sides: dict[str, str] = {}
    found = {}
    for path in paths:
        if not Path(path).resolve().is_relative_to(top):
            continue
        commit = added.get(path)
        if commit is None:
            side = UNCOMMITTED
        elif merge is None:
            side = None
        else:
            if commit.sha not in sides:
                sides[commit.sha] = side_of(commit.sha, merge, cwd)
            side = sides[commit.sha]
        found[path] = Origin(str(path), commit, side)
    return found


def ignored(paths: list[Path], cwd: Path) -> set[Path]:
    """The paths git ignores (``.gitignore`` and friends) in the work tree of ``cwd``."""
    if not paths:
        return set()
    names = "\0".join(str(p) for p in paths) + "\0"
    proc = _git(["check-ignore", "-z", "--stdin"], cwd, input=names)
    if proc is None or proc.returncode not in (0, 1):  # 1: none ignored; else: no repository
        return set()
    return {Path(name) for name in proc.stdout.split("\0") if name}


def path_in_tree(rev: str, path: Path, cwd: Path) -> bool:
    """The file ``path`` (in this work tree) exists in the tree of commit ``rev``."""
    top = toplevel(cwd)
    if top is None:
        return False
    try:
        relative = Path(path).resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        return False
    return run_git(["cat-file", "-e", f"{rev}:{relative}"], top) is not None


def is_tracked(path: Path, cwd: Path) -> bool:
    """``path`` is in git's index (so ``git mv`` can move it)."""
    return run_git(["ls-files", "--error-unmatch", "--", str(path)], cwd) is not None


def to_add(paths: list[Path], cwd: Path) -> list[Path]:
    """Of the files a write changed, those to give ``git add -A``, sorted: each that
    exists, and each removed one git still tracks (an untracked one git never knew:
    naming it would make ``git add`` fail). Empty outside git."""
    if toplevel(cwd) is None:
        return []
    return sorted({p for p in paths if os.path.lexists(p) or is_tracked(p, cwd)})


# -- reading another revision without touching the work tree (check --against) -------------


def merge_base(first: str, second: str, cwd: Path) -> str | None:
    """The best common ancestor of two commits, or ``None`` (unrelated histories)."""
    out = run_git(["merge-base", first, second], cwd)
    return out.strip() if out else None


def tree_blobs(rev: str, folders: list[str], cwd: Path) -> dict[str, str]:
    """Files directly inside ``folders`` (paths relative to the top of the work tree) at
    ``rev``: relative path -> blob id. Empty when the revision or folders do not exist."""
    if not folders:
        return {}
    out = run_git(["ls-tree", "-z", "--full-tree", rev, "--", *(f"{f}/" for f in folders)], cwd)
    found = {}
    for record in (out or "").split("\0"):
        meta, _, path = record.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob":
            found[path] = parts[2]
    return found


def read_blobs(blob_ids: list[str], cwd: Path) -> dict[str, bytes]:
    """The contents of many blobs in one ``git cat-file --batch`` process."""
    wanted = sorted(set(blob_ids))
    if not wanted:
        return {}
    request = "".join(f"{b}\n" for b in wanted).encode()
    proc = _git(["cat-file", "--batch"], cwd, input=request, text=False)
    if proc is None:
        return {}
    data, found, offset = proc.stdout, {}, 0
    for blob in wanted:
        end = data.find(b"\n", offset)
        if end < 0:
            break
        header = data[offset:end].split()
        offset = end + 1
        if len(header) != 3:  # "<id> missing"
            continue
        size = int(header[2])
        found[blob] = data[offset : offset + size]
        offset += size + 1  # the content is followed by a newline
    return found


def merge_file(
    ours: bytes, base: bytes, theirs: bytes, labels: tuple[str, str, str], cwd: Path
) -> tuple[bytes, bool] | None:
    """Git's three-way merge of one file's contents: ``(merged, has_conflicts)``, or
    ``None`` when git cannot be run. Conflicting hunks get git's conflict markers."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="migrator-merge-") as tmp:
        names = []
        for name, content in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(tmp) / name
            path.write_bytes(content)
            names.append(str(path))
        args = ["merge-file", "-p"]
        for label in labels:
            args += ["-L", label]
        proc = _git([*args, *names], cwd, text=False)
    if proc is None or proc.returncode < 0 or proc.returncode > 127:
        return None
    return proc.stdout, proc.returncode > 0


# -- many heads at once (check --against BASE --heads PATTERN) ------------------------------

_GLOB = set("*?[")


@dataclass(frozen=True)
class Head:
    """A commit to predict the merge of: the name it was asked by and its commit."""

    name: str  # the short ref name (``pull/12/head``), or the name as given
    sha: str


def is_ref_pattern(text: str) -> bool:
    """``text`` has glob characters (``for-each-ref`` matches it against ref names)."""
    return bool(_GLOB & set(text))


def matching_refs(pattern: str, cwd: Path) -> list[Head]:
    """Refs matching a ``git for-each-ref`` pattern (a glob, or a prefix up to a slash),
    trying it as given and under ``refs/heads/``, ``refs/remotes/`` and ``refs/tags/``;
    each peeled to its commit (tags of other objects are left out)."""
    candidates = [pattern]
    if not pattern.startswith("refs/"):
        candidates += [f"refs/heads/{pattern}", f"refs/remotes/{pattern}", f"refs/tags/{pattern}"]
    out = run_git(
        [
            "for-each-ref",
            "--format=%(objecttype) %(objectname) %(*objecttype) %(*objectname) %(refname)",
            *candidates,
        ],
        cwd,
    )
    found: dict[str, Head] = {}
    for line in (out or "").splitlines():
        parts = line.split(" ")
        if len(parts) != 5:
            continue
        kind, sha, peeled_kind, peeled, refname = parts
        if kind == "commit" or peeled_kind == "commit":
            found[refname] = Head(_short_ref(refname), sha if kind == "commit" else peeled)
    return [found[name] for name in sorted(found)]


def _short_ref(refname: str) -> str:
    for prefix in ("refs/heads/", "refs/remotes/", "refs/tags/", "refs/"):
        if refname.startswith(prefix):
            return refname[len(prefix) :]
    return refname


def resolve_heads(patterns: list[str], cwd: Path) -> tuple[list[Head], list[str]]:
    """The commits ``patterns`` name (revisions, or ref patterns), sorted by name and
    without repeats; and the patterns that named nothing."""
    heads: dict[str, Head] = {}
    unmatched = []
    for pattern in patterns:
        if not is_ref_pattern(pattern):
            sha = rev_parse(pattern, cwd)
            if sha is not None:
                heads.setdefault(pattern, Head(pattern, sha))
                continue
        found = matching_refs(pattern, cwd)
        if not found:
            unmatched.append(pattern)
        for head in found:
            heads.setdefault(head.name, head)
    return [heads[name] for name in sorted(heads)], unmatched


@dataclass(frozen=True)
class Change:
    """A file changed between two trees: ``status`` is git's letter (M, D, R, A, T)."""

    status: str
    old: str | None  # path relative to the top of the work tree (None: added)
    new: str | None  # None: deleted
    old_blob: str | None = None
    new_blob: str | None = None  # None: deleted, or only in the working tree


def changed_files(old: str, new: str | None, folders: list[str], cwd: Path) -> list[Change]:
    """Files directly inside ``folders`` that differ between commit ``old`` and commit
    ``new`` (``None``: the working tree's tracked and staged files), renames detected,
    with their blob ids (``git diff --raw``: no file contents are read)."""
    if not folders:
        return []
    out = run_git(
        [
            "diff",
            "--no-ext-diff",
            "--no-textconv",
            "--raw",
            "-M",
            "-z",
            old,
            *([new] if new else []),
            "--",
            *(f"{f}/" for f in folders),
        ],
        cwd,
    )
    fields = (out or "").split("\0")
    found = []
    inside = set(folders)
    position = 0
    while position < len(fields) - 1:
        # ":100644 100644 <old blob> <new blob> <status><score>", then one or two paths
        meta = fields[position].lstrip(":").split()
        if len(meta) != 5:
            break
        status = meta[4][:1]
        before: str | None = fields[position + 1]
        if status in "RC":
            after = fields[position + 2]
            position += 3
        else:
            after = fields[position + 1]
            position += 2
        if status == "C":  # a copy leaves the original where it was
            status, before = "A", None
        old_blob, new_blob = (None if set(b) == {"0"} else b for b in meta[2:4])
        change = Change(
            status,
            None if status == "A" else before,
            None if status == "D" else after,
            old_blob,
            None if status == "D" else new_blob,
        )
        paths = [p for p in (change.old, change.new) if p]
        if any(p.rpartition("/")[0] in inside for p in paths):
            found.append(change)
    return found


def index_blobs(folders: list[str], cwd: Path) -> dict[str, str]:
    """Files directly inside ``folders`` in git's index (what the next commit holds):
    relative path -> blob id; a file with a merge conflict not yet resolved (no stage 0)
    maps to ``""``: the index holds no single version of it."""
    if not folders:
        return {}
    out = run_git(["ls-files", "-s", "-z", "--full-name", "--", *(f"{f}/" for f in folders)], cwd)
    found = {}
    for record in (out or "").split("\0"):
        meta, _, path = record.partition("\t")
        parts = meta.split()
        if len(parts) == 3:
            if parts[2] == "0":
                found[path] = parts[1]
            else:
                found.setdefault(path, "")
    return found


def ignore_rule(path: Path, cwd: Path) -> str | None:
    """``source:line:pattern`` of the rule that makes git ignore ``path``, else ``None``."""
    proc = _git(["check-ignore", "-v", "--no-index", "--", str(path)], cwd)
    if proc is None or proc.returncode != 0:
        return None
    rule, _, _ = proc.stdout.partition("\t")
    return rule.strip() or None
