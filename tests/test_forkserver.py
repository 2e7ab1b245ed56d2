"""The fork server's started runs (:meth:`tests.forkserver.ForkServer.start`, what the
signal tests kill) against real interpreters started the same way: the same session and
process group for the run and what it starts, the same Ctrl-C, and a started process
killed when the run that waits for it is interrupted, as ``subprocess.run`` does."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests import forkserver
from tests.djproject import clean_env
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


@pytest.mark.parametrize("how", ["forked", "real"])
def test_ctrl_c_raises_keyboard_interrupt_in_a_started_run(tmp_path, how):
    proc = started("import time; print('ready', flush=True); time.sleep(60)", tmp_path, how)
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
    for _ in range(500):
        if waited not in live_members(proc.pid):
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
