"""A fork server for the tests: ``python -m migrator`` (and ``manage.py``, ``python -c``)
without paying Python's start-up for each of the hundreds of runs.

Starting a fresh interpreter and importing typer, networkx and Django costs about 0.7 s
of CPU per run, most of the suite's time. Each pytest process starts one server: a plain
``python`` that imports those libraries and migrator's modules once (no project code,
Django not set up, single-threaded) and then, for every run, forks a child. The child is
a real process: it gets its own current directory, environment, ``sys.argv``,
``sys.path[0]`` and file descriptors 0/1/2 (pipes read by the test, as with
``subprocess.run``), runs the program as the interpreter would (``runpy``), and exits
with the program's code, or by the signal that killed it. Each child is a fresh copy of
the pristine server, so no run sees what an earlier one imported or changed.

What a fork cannot reproduce falls back to a real interpreter (:func:`can_fork`): an
environment that changes how Python starts (``PYTHON*``, locale), a ``preexec_fn``,
input on stdin. Tests about start-up itself (an early Ctrl-C, the console script,
``python -v``) call the interpreter directly and never come here.

Run as a script, this module is the server; imported, it is the client.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

# Variables read while the interpreter starts (or while the server imports libraries):
# a run that sets any of them differently from the server gets a real interpreter.
STARTUP_PREFIXES = ("PYTHON", "LC_", "LANG", "_TYPER", "TERMINAL_WIDTH", "FORCE_COLOR")
STARTUP_NAMES = {"LANGUAGE", "NO_COLOR", "COLUMNS", "TERM"}
MAX_MESSAGE = 1 << 20


def _startup_env(env: dict[str, str]) -> dict[str, str]:
    """What of ``env`` must be the server's own for a fork to be the same start-up.
    ``PYTHONPATH`` is not: a child puts its entries in ``sys.path`` itself."""
    return {
        k: v
        for k, v in env.items()
        if (k.startswith(STARTUP_PREFIXES) or k in STARTUP_NAMES) and k != "PYTHONPATH"
    }


def _pythonpath(env: dict[str, str]) -> list[str]:
    """``PYTHONPATH`` as the interpreter puts it in ``sys.path`` (after ``sys.path[0]``):
    every entry absolute, an empty one the current directory."""
    value = env.get("PYTHONPATH", "")
    return [os.path.abspath(entry) for entry in value.split(os.pathsep)] if value else []


# -- the server (a child of the test process) ----------------------------------------


def _preload() -> None:
    """Import what every run imports, so children start with it: the CLI (typer,
    click, pydantic through typer), every migrator module, networkx, and the parts of
    Django the loader, the writer and ``manage.py`` use. Nothing here reads settings or
    starts a thread."""
    import importlib
    import pkgutil

    import migrator

    # Not migrator.checks: importing it registers the Django app's system checks in
    # Django's global registry, which only a project that installs the app should have.
    not_preloaded = {"migrator.__main__", "migrator.checks"}
    for module in pkgutil.walk_packages(migrator.__path__, "migrator."):
        if module.name not in not_preloaded:
            importlib.import_module(module.name)
    for name in (
        "networkx",
        "django.core.management",
        "django.core.management.commands.migrate",
        "django.core.management.commands.makemigrations",
        "django.core.management.commands.squashmigrations",
        "django.core.management.commands.showmigrations",
        "django.db.backends.sqlite3.base",
        "django.db.migrations.autodetector",
        "django.db.migrations.executor",
        "django.db.migrations.loader",
        "django.db.migrations.writer",
        "django.db.models",
    ):
        importlib.import_module(name)
    assert threading.active_count() == 1, "the fork server must stay single-threaded"


def _exit_code(exit: SystemExit) -> int:
    """The process exit status the interpreter gives a ``SystemExit``."""
    code = exit.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write(f"{code}\n")
    return 1


def _run_in_child(request: dict) -> int:
    """Run one program the way ``python -m X`` / ``python FILE`` / ``python -c CODE``
    would, in this (forked) process; the exit status."""
    import runpy
    import types

    # sys.path: the program's [0], then PYTHONPATH, then the installation's own
    sys.path[:] = _pythonpath(request["env"]) + _BASE_PATH
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    kind, target, args = request["kind"], request["target"], request["args"]
    try:
        if kind == "module":
            sys.path.insert(0, os.getcwd())
            sys.argv = ["-m", *args]
            runpy._run_module_as_main(target)  # type: ignore[attr-defined]  # what -m runs
        elif kind == "script":
            path = os.path.abspath(target)
            sys.path.insert(0, os.path.dirname(path))
            sys.argv = [target, *args]
            runpy.run_path(path, run_name="__main__")
        else:
            sys.path.insert(0, "")
            sys.argv = ["-c", *args]
            exec(compile(target, "<string>", "exec"), main.__dict__)
        code = 0
    except SystemExit as exit:
        code = _exit_code(exit)
    except KeyboardInterrupt:
        sys.excepthook(*sys.exc_info())
        code = -signal.SIGINT
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    # the interpreter's own shutdown: join threads, atexit, flush what is buffered
    with contextlib.suppress(Exception):
        threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            if stream is sys.stdout and code == 0:
                code = 120
    if code == -signal.SIGINT:  # killed by the uncaught Ctrl-C, as CPython does
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return code


def _fork_one(request: dict, fds: list[int], channel: socket.socket) -> int:
    """Fork the child for ``request``; its pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        channel.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        code = _run_in_child(request)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def serve(channel: socket.socket) -> None:
    """Answer requests until the test process goes away: for each, fork a child, say
    its pid, wait for it, and send its wait status."""
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(channel, MAX_MESSAGE, 3)
        except OSError:
            return
        if not data:
            return
        pid = _fork_one(json.loads(data), fds, channel)
        for fd in fds:
            os.close(fd)
        channel.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        channel.send(json.dumps({"status": status}).encode())


# -- the client (the test process) ----------------------------------------------------


class ForkServer:
    """One server per test process, started on first use."""

    def __init__(self, env: dict[str, str]) -> None:
        self.startup_env = _startup_env(env)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.channel = ours
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), str(theirs.fileno())],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            pass_fds=[theirs.fileno()],
        )
        theirs.close()

    def can_fork(self, env: dict[str, str]) -> bool:
        return self.process.poll() is None and _startup_env(env) == self.startup_env

    def close(self) -> None:
        self.channel.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def run(
        self,
        kind: str,
        target: str,
        args: list[str],
        cwd: str,
        env: dict[str, str],
        timeout: float,
    ) -> tuple[int, str, str]:
        """Exit code (negative: killed by that signal), stdout and stderr of one run."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        request = {"kind": kind, "target": target, "args": args, "cwd": cwd, "env": env}
        try:
            socket.send_fds(self.channel, [json.dumps(request).encode()], [_stdin(), out_w, err_w])
        finally:
            os.close(out_w)
            os.close(err_w)
        pid = json.loads(self.channel.recv(MAX_MESSAGE))["pid"]
        try:
            out, err = _read_both(out_r, err_r, time.monotonic() + timeout)
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            self.channel.recv(MAX_MESSAGE)
            raise subprocess.TimeoutExpired([target, *args], timeout) from None
        status = json.loads(self.channel.recv(MAX_MESSAGE))["status"]
        return os.waitstatus_to_exitcode(status), out, err


def _stdin() -> int:
    """What a subprocess would inherit as its stdin: ours, or nothing (``/dev/null``)."""
    try:
        os.fstat(0)
        return 0
    except OSError:
        global _devnull
        if _devnull is None:
            _devnull = os.open(os.devnull, os.O_RDONLY)
        return _devnull


_devnull: int | None = None


def _read_both(out_fd: int, err_fd: int, deadline: float) -> tuple[str, str]:
    """Both pipes to their end (as ``communicate`` reads them), decoded like
    ``subprocess.run(text=True)`` decodes them."""
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        try:
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise subprocess.TimeoutExpired("", 0)
                for key, _ in selector.select(remaining):
                    data = os.read(key.fd, 65536)
                    if data:
                        chunks[key.fd].append(data)
                    else:
                        selector.unregister(key.fd)
        finally:
            os.close(out_fd)
            os.close(err_fd)
    return tuple(_decode(b"".join(chunks[fd])) for fd in (out_fd, err_fd))  # type: ignore[return-value]


def _decode(data: bytes) -> str:
    """As ``subprocess.run(text=True)``: the locale's encoding, universal newlines."""
    import locale

    encoding = "utf-8" if sys.flags.utf8_mode else locale.getpreferredencoding(False)
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


_server: ForkServer | None = None
_server_pid: int | None = None


def server_for(env: dict[str, str]) -> ForkServer | None:
    """This process's fork server if it can run with ``env``, else ``None`` (run a real
    interpreter). Set ``MIGRATOR_TEST_FORK=0`` to run every program in a real one."""
    global _server, _server_pid
    if os.environ.get("MIGRATOR_TEST_FORK", "1") == "0" or not hasattr(socket, "send_fds"):
        return None
    if _server is None or _server_pid != os.getpid():
        from tests.djproject import clean_env

        _server = ForkServer(clean_env())
        _server_pid = os.getpid()
        atexit.register(_server.close)
    return _server if _server.can_fork(env) else None


#: sys.path after PYTHONPATH's entries: the standard library and site-packages.
_BASE_PATH: list[str] = []

if __name__ == "__main__":
    # sys.path[0] is this folder (tests/): no program's; each child puts its own first
    del sys.path[0]
    own = _pythonpath(dict(os.environ))
    assert sys.path[: len(own)] == own, (sys.path, own)
    _BASE_PATH = sys.path[len(own) :]
    channel = socket.socket(fileno=int(sys.argv[1]))
    _preload()
    serve(channel)
