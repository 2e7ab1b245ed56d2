"""All-or-nothing against signals: a real ``migrator rebase`` or ``merge`` in a child
process, slowed down (``MIGRATOR_TEST_SLOW_WRITES`` sleeps between and inside the steps),
is stopped by a real signal at a random point of its write, many times over. Whatever
the point, once the run (SIGTERM, SIGINT) or the next one (SIGKILL, then ``migrator
recover`` or the next ``rebase``) is over, the project is byte for byte as it was
before, or as a run that finished leaves it.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrator.write.journal import HOLD_ENV, JOURNAL_OUTSIDE_GIT, SLOW_ENV
from tests import forkserver
from tests.djproject import DjangoProject, clean_env, run
from tests.gitrepo import commit_all, git, init_repo
from tests.test_rebase import base, kept_side, moving_side

SLOW = "0.04"  # seconds per pause; a rebase of the project below has about 25 pauses
REBASE = ["rebase", "orders", "--keep", "0003_x"]
SEED = 15  # random, but the same points on every run of the suite


#: The SQLite database and the files SQLite keeps beside it: a killed transaction can
#: leave an empty ``-journal``, which SQLite ignores (and reuses) as it is not hot.
DATABASE_FILES = ("db.sqlite3", "db.sqlite3-journal", "db.sqlite3-wal", "db.sqlite3-shm")


#: every test here waits on the clock: slowed writes, signals at timed points
pytestmark = pytest.mark.waits


def files(root: Path) -> dict[str, bytes | str]:
    """Every file (bytes) and symlink (its target) under ``root``, the database aside
    (its rows are compared through SQL where it matters)."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or path.name in DATABASE_FILES or ".git" in path.parts:
            continue
        if path.is_symlink():
            found[str(path.relative_to(root))] = os.readlink(path)
        elif path.is_file():
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def diverged(root: Path) -> DjangoProject:
    project = DjangoProject(root)
    base(project)
    kept_side(project)
    moving_side(project)
    return project


def as_from_a_terminal() -> None:
    """In the child before exec: Ctrl-C's default action, as a shell gives a command it
    runs in the foreground. A shell starts background jobs with SIGINT ignored (`make
    test` runs one suite so), Python then never raises KeyboardInterrupt, and migrator
    rightly leaves an ignored signal ignored (as under nohup): no SIGINT test would test."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(
    root: Path, args: list[str], slow: str = SLOW, fork: bool = True, hold: str = ""
) -> subprocess.Popen | forkserver.Run:
    """``migrator ARGS`` in its own session, slowed down (:func:`start_session`), and
    held at the points ``hold`` names (``kept=2``: :data:`HOLD_ENV`)."""
    command = [sys.executable, "-m", "migrator", *args]
    env = clean_env(**{SLOW_ENV: slow}, **({HOLD_ENV: hold} if hold else {}))
    return start_session(command, root, env, fork)


def start_session(
    command: list[str], cwd: Path, env: dict[str, str], fork: bool = True
) -> subprocess.Popen | forkserver.Run:
    """``command`` in its own session (a process group the test can kill whole), with a
    terminal's Ctrl-C: forked from :mod:`tests.forkserver`, with what it starts itself
    (a write's fresh check, the rows command) in its group, or with ``fork`` false (or
    a command only a real interpreter can run) a real interpreter."""
    server = forkserver.server_for(env) if fork else None
    forked = server.start(command, str(cwd), env) if server is not None else None
    if forked is not None:
        return forked
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a CI job or a container
        preexec_fn=as_from_a_terminal,
    )


def wait_for_plan(proc: subprocess.Popen | forkserver.Run) -> str:
    """Read stdout up to the line a rebase prints just before it writes."""
    assert proc.stdout is not None
    seen = ""
    while True:
        line = proc.stdout.readline()
        assert line, f"exited before writing: {proc.wait()} {seen}"
        seen += line
        if line.startswith("orders: keeping"):
            return seen


def wait_for_journal(
    root: Path, proc: subprocess.Popen | forkserver.Run, timeout: float = 120.0
) -> None:
    """Wait until the run has opened its journal (outside git, beside ``manage.py``):
    the write has begun, however long loading took on a busy machine."""
    deadline = time.monotonic() + timeout
    while not (root / JOURNAL_OUTSIDE_GIT).exists():
        assert proc.poll() is None, f"exited before writing: {proc.returncode}"
        assert time.monotonic() < deadline, f"no journal after {timeout} s"
        time.sleep(0.01)


def kill_group(proc: subprocess.Popen | forkserver.Run) -> None:
    """SIGKILL the run and whatever it started (the verifying check, a ``git mv``), as
    ``docker kill`` or a torn-down CI runner does; wait until all of it is gone (dead:
    what the run started is left for init to reap, as after a real ``docker kill``)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for _ in range(500):
        if not live_members(proc.pid):
            return
        time.sleep(0.01)


def live_members(group: int) -> list[int]:
    """The processes of process group ``group`` that are not yet dead (zombies are)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:  # a process may end while we look (ESRCH, ENOENT)
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(int(pid))
    return found


def migrator(root: Path, *args: str) -> subprocess.CompletedProcess:
    """A run after the interrupted one (``recover``, the next rebase): the CLI as every
    other test runs it (:func:`tests.djproject.run`)."""
    command = [sys.executable, "-m", "migrator", *args]
    result = run(command, root)
    return subprocess.CompletedProcess(command, result.code, result.out, result.err)


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    """The project before a rebase, after one, and how long its write takes."""
    folder = tmp_path_factory.mktemp("states")
    pristine = folder / "pristine"
    diverged(pristine)
    done = folder / "done"
    shutil.copytree(pristine, done, symlinks=True)
    proc = start(done, REBASE)
    wait_for_plan(proc)
    began = time.monotonic()
    out, err = proc.communicate(timeout=600)
    duration = time.monotonic() - began
    assert proc.returncode == 0, err
    return pristine, files(pristine), files(done), duration


def write_duration(root: Path, args: list[str], slow: str) -> float:
    """Seconds ``migrator ARGS`` takes from opening its journal (the write has begun,
    after loading) to its end, run to completion in ``root``."""
    proc = start(root, args, slow=slow)
    wait_for_journal(root, proc)
    began = time.monotonic()
    _, err = proc.communicate(timeout=600)
    duration = time.monotonic() - began
    assert proc.returncode == 0, err
    return duration


def kill_point(duration: float, attempt: int, points: int, rng: random.Random) -> float:
    """Seconds into a write of ``duration`` to kill attempt ``attempt`` of ``points`` at:
    drawn at random in that attempt's share of 1.5 times the duration (stratified, see
    :func:`test_sigkill_at_random_points_then_recover_leaves_before_or_after`)."""
    return 1.5 * duration * (attempt + rng.random()) / points


def fresh(states, root: Path) -> Path:
    pristine = states[0]
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(pristine, root, symlinks=True)
    return root


def test_sigkill_at_random_points_then_recover_leaves_before_or_after(states, tmp_path):
    """20 runs, each SIGKILLed (with everything it started) at a random point of its
    write; ``migrator recover`` then leaves the project as before, or as done.

    The points are stratified: one drawn at random in each twentieth of 1.5 times the
    write's measured duration, so that they cover the whole write in order whatever the
    draw, and the last ones land after it even when these runs are up to a fifth slower
    than the one measured (a machine's load changes between the two; points drawn
    uniformly over the measured duration alone missed the end of every write in two CI
    runs)."""
    _, before, after, duration = states
    rng = random.Random(SEED)
    outcomes = []
    points = 20
    for attempt in range(points):
        root = fresh(states, tmp_path / "p")
        proc = start(root, REBASE)
        wait_for_plan(proc)
        delay = kill_point(duration, attempt, points, rng)
        time.sleep(delay)
        kill_group(proc)
        recovered = migrator(root, "recover")
        assert recovered.returncode == 0, (attempt, delay, recovered.stderr)
        assert recovered.stderr == ""
        state = files(root)
        assert state in (before, after), (attempt, delay, recovered.stdout)
        assert not (root / JOURNAL_OUTSIDE_GIT).exists()
        outcomes.append("before" if state == before else "after")
        if "rolled back: renamed" in recovered.stdout:
            outcomes.append("rolled back")
        if recovered.stdout != "Nothing to recover.\n":
            assert recovered.stdout.startswith("an interrupted run of rebase orders (pid "), (
                recovered.stdout
            )
    # the points did land inside writes: some runs were rolled back, some had finished
    assert set(outcomes) == {"before", "after", "rolled back"}, outcomes


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_roll_back_in_the_run_itself(states, tmp_path, signum):
    """SIGTERM (``timeout``, CI cancellation, ``docker stop``) is handled like Ctrl-C:
    the run undoes its own changes and exits 130, as for Ctrl-C; nothing is left
    for ``recover``. 8 random points each."""
    _, before, after, duration = states
    rng = random.Random(SEED + signum)
    name = signal.Signals(signum).name
    for attempt in range(8):
        root = fresh(states, tmp_path / "p")
        proc = start(root, REBASE)
        wait_for_plan(proc)
        delay = rng.uniform(0, duration)
        time.sleep(delay)
        proc.send_signal(signum)  # to migrator alone, as `timeout` does
        out, err = proc.communicate(timeout=600)
        state = files(root)
        if proc.returncode in (0, -signum) or "the changes were already verified and kept" in err:
            # done; the signal came after the write was kept (-signum: while Python shut
            # down, when the default handlers are back)
            assert state == after, (attempt, delay, err)
        else:
            assert proc.returncode == 130, (attempt, delay, err)
            assert state == before, (attempt, delay, err)
            assert f"migrator: interrupted ({name})\n" in err
            assert "Traceback" not in err
        recovered = migrator(root, "recover")
        assert (recovered.returncode, recovered.stdout) == (0, "Nothing to recover.\n")


def test_a_signal_once_the_write_is_kept_says_it_was_kept(states, tmp_path):
    """A signal after the write was verified and kept (the journal gone, the run still
    saying what it did) undoes nothing, and the run says so: not a bare "interrupted"
    that reads like a rollback. The run waits two seconds once kept, long enough for the
    signal to land there however busy the machine."""
    _, _, after, _ = states
    root = fresh(states, tmp_path / "p")
    proc = start(root, REBASE, slow="0.3", hold="kept=2")
    wait_for_journal(root, proc)
    while (root / JOURNAL_OUTSIDE_GIT).exists():  # kept once the journal is finished
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, (out, err)
    assert err == "migrator: interrupted (SIGINT)\n  the changes were already verified and kept\n"
    assert files(root) == after
    recovered = migrator(root, "recover")
    assert (recovered.returncode, recovered.stdout) == (0, "Nothing to recover.\n")


def test_the_next_rebase_rolls_back_an_interrupted_one_first(states, tmp_path):
    """Killed after a few steps, the tree is half renamed; the next rebase says so, rolls
    it back, then rebases."""
    _, before, after, _ = states
    root = fresh(states, tmp_path / "p")
    journal = root / JOURNAL_OUTSIDE_GIT
    proc = start(root, REBASE, slow="0.3")
    wait_for_plan(proc)
    while len(list(journal.glob("0*.json"))) < 4:  # two renames done, a third begun
        time.sleep(0.02)
    kill_group(proc)
    assert files(root) not in (before, after)  # half done: what the next run finds

    again = migrator(root, *REBASE)

    assert again.returncode == 0, again.stderr
    assert again.stderr.startswith("migrator: an interrupted run of rebase orders (pid ")
    assert "was found and rolled back: renamed " in again.stderr
    assert files(root) == after
    assert not journal.exists()


def test_a_run_from_a_subfolder_keeps_its_journal_beside_manage_py(states, tmp_path):
    """Outside git, a rebase started in orders/migrations/ keeps its journal in the
    project's folder, never in the migrations package; killed there, it is rolled back
    by `recover` run from the project's root (and the other way round works too)."""
    _, before, _, _ = states
    root = fresh(states, tmp_path / "p")
    inside = root / "orders" / "migrations"
    journal = root / JOURNAL_OUTSIDE_GIT
    proc = subprocess.Popen(
        [sys.executable, "-m", "migrator", *REBASE],
        cwd=inside,
        env=clean_env(**{SLOW_ENV: "0.3"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    wait_for_plan(proc)
    while len(list(journal.glob("0*.json"))) < 4:
        time.sleep(0.02)
    kill_group(proc)
    assert not (inside / JOURNAL_OUTSIDE_GIT).exists()

    recovered = migrator(root, "recover")

    assert recovered.returncode == 0, recovered.stderr
    assert "was found and rolled back: renamed " in recovered.stdout
    assert files(root) == before
    assert not journal.exists()


def test_sigkill_inside_git_is_recovered_with_the_index(tmp_path):
    """In a git work tree the journal lives in ``.git`` and renames are ``git mv``: after
    SIGKILL and ``recover``, the files and ``git status`` are as before."""
    root = tmp_path / "p"
    diverged(root)
    init_repo(root)
    commit_all(root, "diverged")
    before, status = files(root), git(root, "status", "--porcelain").stdout
    journal = root / ".git" / "migrator-journal"
    proc = start(root, REBASE, slow="0.3")
    wait_for_plan(proc)
    while len(list(journal.glob("0*.json"))) < 4:
        time.sleep(0.02)
    assert (journal / "index.before").is_file()
    kill_group(proc)
    assert git(root, "status", "--porcelain").stdout != status

    recovered = migrator(root, "recover")

    assert recovered.returncode == 0, recovered.stderr
    assert files(root) == before
    assert git(root, "status", "--porcelain").stdout == status
    assert not journal.exists()


def big_index(root: Path, entries: int = 100_000) -> None:
    """Commit ``entries`` more files to git's index, marked skip-worktree (none on
    disk): git then takes about half a second to write its index, and its
    ``index.lock`` lives long enough to be seen."""
    blob = git(root, "hash-object", "-w", "manage.py").stdout.strip()
    names = [f"bulk/d{i // 1000}/f{i}.txt" for i in range(entries)]
    info = "".join(f"100644 {blob}\t{name}\n" for name in names)
    for args, data in (
        (["update-index", "--index-info"], info),
        (["update-index", "-z", "--skip-worktree", "--stdin"], "\0".join(names) + "\0"),
    ):
        subprocess.run(["git", *args], cwd=root, input=data, text=True, check=True)
    git(root, "commit", "-q", "-m", "bulk")


def test_sigkill_inside_git_mv_then_the_next_run_removes_its_lock(tmp_path):
    """SIGKILL while ``git mv`` holds git's ``index.lock`` (seen on disk, then the whole
    process group killed at once) leaves the lock behind, which makes every later git
    write fail. The next run's recovery knows the lock is its own (the journal's last
    step is that ``git mv``, recorded before it started; no live process holds the lock),
    restores the index, removes the lock and says so; then git can write again."""
    root = tmp_path / "p"
    diverged(root)
    init_repo(root)
    commit_all(root, "diverged")
    big_index(root)
    before, status = files(root), git(root, "status", "--porcelain").stdout
    journal, lock = root / ".git" / "migrator-journal", root / ".git" / "index.lock"
    for _attempt in range(5):  # git may finish between the look and the kill: again
        proc = start(root, REBASE)
        wait_for_plan(proc)
        while not ((journal / "index.before").is_file() and lock.exists()):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        kill_group(proc)
        if lock.exists():
            break
        assert migrator(root, "recover").returncode == 0
    assert lock.exists()
    assert git(root, "mv", "manage.py", "m.py", check=False).returncode != 0  # what it breaks

    recovered = migrator(root, "recover")

    assert recovered.returncode == 0, recovered.stderr
    assert f"; removed {lock}, left by its own killed `git mv`" in recovered.stdout
    assert not lock.exists()
    assert files(root) == before
    assert git(root, "status", "--porcelain").stdout == status
    again = migrator(root, *REBASE)
    assert again.returncode == 0, again.stderr
    renamed = git(root, "status", "--porcelain").stdout
    assert "RM orders/migrations/0003_a.py -> orders/migrations/0004_a.py\n" in renamed


def test_a_git_lock_not_ours_stops_a_rebase_before_it_writes(tmp_path):
    """git's ``index.lock`` with no journal of ours beside it (another git command is
    running, or some other one was killed): not ours to remove; the rebase, which would
    ``git mv``, stops before writing anything, in one line with a hint."""
    root = tmp_path / "p"
    diverged(root)
    init_repo(root)
    commit_all(root, "diverged")
    before = files(root)
    lock = root / ".git" / "index.lock"
    lock.write_bytes(b"")

    result = migrator(root, *REBASE)

    assert result.returncode == 1
    assert result.stderr == (
        f"migrator: error: {lock}: git's index is locked: {lock} exists; nothing was written\n"
        "  hint: another git command is running, or one was killed: if none is running, "
        "remove that file and run again\n"
    )
    assert files(root) == before
    assert lock.exists()


def test_sigkill_during_merge_then_recover(tmp_path):
    """merge keeps the same journal: 8 runs killed at random points of a two-app merge
    (stratified as above)."""
    pristine = tmp_path / "pristine"
    project = DjangoProject(pristine, ["alpha", "beta"])
    for app in ("alpha", "beta"):
        project.add_migration(app, "0001_initial", [], initial=True)
        for leaf in ("0002_a", "0002_b"):
            project.add_migration(app, leaf, [(app, "0001_initial")])
    before = files(pristine)
    # how long the write takes: two files 0.2 s apart, then the check
    done = tmp_path / "done"
    shutil.copytree(pristine, done)
    duration = write_duration(done, ["merge"], slow="0.2")
    rng = random.Random(SEED)
    reports = []
    points = 8
    for attempt in range(points):
        root = tmp_path / "p"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(pristine, root)
        proc = start(root, ["merge"], slow="0.2")
        wait_for_journal(root, proc)
        time.sleep(kill_point(duration, attempt, points, rng))
        kill_group(proc)
        recovered = migrator(root, "recover")
        assert recovered.returncode == 0, recovered.stderr
        reports.append(recovered.stdout)
        state = files(root)
        new = sorted(set(state) - set(before))
        assert {k: v for k, v in state.items() if k in before} == before, attempt
        assert new in (
            [],
            [
                "alpha/migrations/0003_merge_0002_a_0002_b.py",
                "beta/migrations/0003_merge_0002_a_0002_b.py",
            ],
        ), (attempt, new)
    assert any(" was found and rolled back: removed " in report for report in reports), reports


def test_a_second_run_never_rolls_back_a_live_one(states, tmp_path):
    """While a rebase writes (its journal locked), a second rebase stops with one line
    and exit 1; the first one finishes."""
    _, _, after, _ = states
    root = fresh(states, tmp_path / "p")
    journal = root / JOURNAL_OUTSIDE_GIT
    first = start(root, REBASE, slow="0.3")
    wait_for_plan(first)
    while len(list(journal.glob("0*.json"))) < 2:
        time.sleep(0.02)

    second = migrator(root, *REBASE)

    assert (second.returncode, second.stdout) == (1, "")
    assert second.stderr.startswith(
        f"migrator: error: {journal}: another migrator run (pid {first.pid}, rebase orders) "
        "is writing in this project\n"
    )
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert files(root) == after
