"""The fork server's started runs (:meth:`tests.forkserver.ForkServer.start`, what the
signal tests kill) against real interpreters started the same way: the same session and
process group for the run and what it starts, the same Ctrl-C, and a started process
killed when the run that waits for it is interrupted, as ``subprocess.run`` does; the
same terminal, and a start-up environment of its own (its own server)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests import forkserver
from tests.djproject import clean_env, on_terminal, run
from tests.test_interrupts import live_members, start_session

#: A run that starts a Python process itself and says who is in which group.
GROUPS = """
import json, os, subprocess, sys
child = subprocess.run(
    [sys.executable, "-c", "import os; print(os.getpid(), os.getpgid(0), os.getsid(0))"],
    capture_output=True, text=True,
)
print(json.dumps({"pid": os.getpid(), "pgid": os.getpgid(0), "sid": os.getsid(0),
                  "child": [int(n) for n in child.stdout.split()]}))
"""

#: A Python process that writes its pid to the file it is given, then sleeps a minute.
SLEEPER = (
    "import os, sys, time\n"
    "with open(sys.argv[1], 'w') as said:\n"
    "    said.write(str(os.getpid()))\n"
    "time.sleep(60)\n"
)
#: A run that waits on a sleeper.
WAITS = f"""
import subprocess, sys
subprocess.run([sys.executable, "-c", {SLEEPER!r}, sys.argv[1]], capture_output=True, text=True)
"""


def started(code: str, cwd: Path, how: str, *args: str):
    """``python -c CODE ARGS`` in its own session with a terminal's Ctrl-C: forked, or in
    a real interpreter as ``subprocess.Popen`` starts it."""
    command = [sys.executable, "-c", code, *args]
    env = clean_env()
    if how == "forked" and forkserver.server_for(env) is None:
        pytest.skip("the fork server is off (MIGRATOR_TEST_FORK=0)")
    proc = start_session(command, cwd, env, fork=how == "forked")
    assert isinstance(proc, forkserver.Run) == (how == "forked")
    return proc


@pytest.mark.parametrize("how", ["forked", "real"])
def test_a_started_run_leads_its_own_session_with_what_it_starts(tmp_path, how):
    proc = started(GROUPS, tmp_path, how)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    said = json.loads(out)
    assert said["pid"] == proc.pid == said["pgid"] == said["sid"]
    child_pid, child_group, child_session = said["child"]
    assert child_pid != proc.pid
    assert (child_group, child_session) == (proc.pid, proc.pid)


@pytest.mark.parametrize("ours", ["handled", "ignored"])
@pytest.mark.parametrize("how", ["forked", "real"])
def test_ctrl_c_raises_keyboard_interrupt_in_a_started_run(tmp_path, how, ours):
    """Whatever the test process does with SIGINT (a shell's background job, as one
    suite of ``make test`` is, ignores it), a started run gets a terminal's Ctrl-C."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN) if ours == "ignored" else None
    try:
        code = "import time; print('ready', flush=True); time.sleep(60)"
        proc = started(code, tmp_path, how)
    finally:
        if before is not None:
            signal.signal(signal.SIGINT, before)
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT
    assert err.rstrip().endswith("KeyboardInterrupt"), err


@pytest.mark.parametrize("how", ["forked", "real"])
def test_what_a_run_waits_for_is_killed_when_the_run_is_interrupted(tmp_path, how):
    said = tmp_path / "pid"
    proc = started(WAITS, tmp_path, how, str(said))
    deadline = time.monotonic() + 60
    while not said.exists() or not said.read_text().strip():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    waited = int(said.read_text())
    assert waited in live_members(proc.pid)
    proc.send_signal(signal.SIGINT)  # to the run alone
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT
    # the zygote, if any, ends once it has seen the run end: soon after, not at once
    for _ in range(500):
        if not live_members(proc.pid):
            break
        time.sleep(0.01)
    assert waited not in live_members(proc.pid)
    assert not live_members(proc.pid)


def test_the_group_killed_whole_leaves_nothing_alive(tmp_path):
    """SIGKILL to a forked run's group takes its zygote and what it started along."""
    said = tmp_path / "pid"
    proc = started(WAITS, tmp_path, "forked", str(said))
    while not said.exists() or not said.read_text().strip():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    assert len(live_members(proc.pid)) == 3  # the run, its zygote, the sleeper
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    for _ in range(500):
        if not live_members(proc.pid):
            break
        time.sleep(0.01)
    assert not live_members(proc.pid)


#: A run that blocks SIGINT and ignores SIGHUP, then starts a Python process that says
#: what it blocks and whether it ignores SIGHUP (both go through exec).
MASKED = """
import json, signal, subprocess, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
signal.signal(signal.SIGHUP, signal.SIG_IGN)
said = (
    "import json, signal; print(json.dumps([sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),"
    " signal.getsignal(signal.SIGHUP) == signal.SIG_IGN]))"
)
print(subprocess.run([sys.executable, "-c", said], capture_output=True, text=True).stdout)
"""


@pytest.mark.parametrize("how", ["forked", "real"])
def test_what_a_run_starts_inherits_its_blocked_and_ignored_signals(tmp_path, how):
    """As through ``exec``: a write's rows command, started while the write holds SIGINT,
    finishes its transaction before the interrupt is handled."""
    proc = started(MASKED, tmp_path, how)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert json.loads(out) == [[int(signal.SIGINT)], True]


#: What a run knows of its terminal and how it started; ``forked``: whether migrator was
#: imported before the run began (the server preloads it; a new interpreter has not).
TERMINAL = """
import json, os, sys
forked = "migrator" in sys.modules
answer = input("? ") if sys.argv[1:] == ["ask"] else None
print(json.dumps({
    "forked": forked,
    "tty": [os.isatty(fd) for fd in (0, 1, 2)],
    "line_buffered": [sys.stdin.line_buffering, sys.stdout.line_buffering],
    "encoding": [sys.stdin.encoding, sys.stdout.encoding],
    "answer": answer,
    "term": os.environ.get("TERM"),
}))
"""


def on_a_terminal(tmp_path: Path, env: dict[str, str], typed: bytes | None, fork: bool) -> dict:
    ask = [] if typed is None else ["ask"]
    command = [sys.executable, "-c", TERMINAL, *ask]
    result = on_terminal(command, tmp_path, env, typed=typed, fork=fork)
    assert result.code == 0, result.err
    # typed: the prompt, then what the run printed
    return json.loads(result.out.removeprefix("? "))


@pytest.mark.parametrize("typed", [None, b"yes\n"], ids=["stdout", "stdin"])
def test_a_run_on_a_terminal_is_the_same_forked_and_real(tmp_path, typed):
    env = clean_env()
    if forkserver.server_for(env) is None:
        pytest.skip("the fork server is off (MIGRATOR_TEST_FORK=0)")
    forked = on_a_terminal(tmp_path, env, typed, fork=True)
    real = on_a_terminal(tmp_path, env, typed, fork=False)
    assert (forked.pop("forked"), real.pop("forked")) == (True, False)
    assert forked == real
    # standard input, when not the terminal, is ours (whatever pytest was given)
    assert forked["tty"][1:] == ([True, False] if typed is None else [False, False])
    assert forked["tty"][0] or typed is None
    assert forked["answer"] == (None if typed is None else "yes")


def test_a_start_up_environment_of_its_own_gets_its_own_server(tmp_path):
    """``TERM`` is read as libraries are imported: a run with another one is not forked
    from the tests' server; from its second run on, from a server started with it."""
    env = clean_env(TERM="vt100-migrator-test")
    if forkserver.server_for(clean_env()) is None:
        pytest.skip("the fork server is off (MIGRATOR_TEST_FORK=0)")
    first, second, third = (on_a_terminal(tmp_path, env, None, fork=True) for _ in range(3))
    real = on_a_terminal(tmp_path, env, None, fork=False)
    assert [said.pop("forked") for said in (first, second, third, real)] == [
        False,
        True,
        True,
        False,
    ]
    assert first == second == third == real
    assert real["term"] == "vt100-migrator-test"
    assert forkserver.server_for(env) is not forkserver.server_for(clean_env())


#: A run that starts a Python process which spins for 0.3 CPU seconds.
SPINS = """
import subprocess, sys
spin = "import time\\nend = time.process_time() + 0.3\\nwhile time.process_time() < end: pass"
subprocess.run([sys.executable, "-c", spin], capture_output=True, check=True)
"""


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "real"])
def test_a_runs_cpu_time_counts_what_it_started(tmp_path, fork):
    """As ``RUSAGE_CHILDREN`` counts it for a real process: the tests that bound a
    command's CPU time read it from :attr:`Result.cpu`."""
    result = run([sys.executable, "-c", SPINS], tmp_path, fork=fork)
    assert result.code == 0, result.err
    assert result.cpu is not None and 0.3 <= result.cpu < 5


#: Says its file size limit and whether it may create a file in the folder it is given.
SAYS_LIMITS = (
    "import json, os, resource, sys\n"
    "try:\n"
    "    open(os.path.join(sys.argv[1], 'x'), 'w').close()\n"
    "    writes = True\n"
    "except PermissionError:\n"
    "    writes = False\n"
    "print(json.dumps([resource.getrlimit(resource.RLIMIT_FSIZE)[0], writes]))\n"
)
#: The same, then what a Python process it starts says.
LIMITS = f"""{SAYS_LIMITS}
import subprocess
child = [sys.executable, "-c", {SAYS_LIMITS!r}, sys.argv[1]]
print(subprocess.run(child, capture_output=True, text=True).stdout, end="")
"""


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "real"])
def test_a_runs_file_size_limit_and_permissions_reach_what_it_starts(tmp_path, fork):
    """``file_size`` and ``unprivileged`` hold for the run and for the processes it
    starts, forked or real (as a limit and a capability dropped before ``exec`` do):
    neither may write in a read-only folder, even as root."""
    (tmp_path / "ro").mkdir(mode=0o555)
    result = run(
        [sys.executable, "-c", LIMITS, str(tmp_path / "ro")],
        tmp_path,
        file_size=4096,
        unprivileged=True,
        fork=fork,
    )
    assert result.code == 0, result.err
    assert [json.loads(line) for line in result.out.splitlines()] == [[4096, False]] * 2
    # and without: root writes there (the test is only as strong as that)
    if os.geteuid() == 0:
        free = run([sys.executable, "-c", LIMITS, str(tmp_path / "ro")], tmp_path, fork=fork)
        assert [json.loads(line)[1] for line in free.out.splitlines()] == [True, True]
