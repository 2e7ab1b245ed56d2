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

A run whose environment changes how the libraries start (a terminal's ``TERM``, the
locale, ``NO_COLOR``) is forked from a server started in that environment, from the
second such run on (:func:`server_for`). What a fork cannot reproduce falls back to a
real interpreter: an environment that changes how Python itself starts (``PYTHON*``),
a ``preexec_fn``, input on stdin. Tests about start-up itself (an early Ctrl-C, the
console script, ``python -v``) call the interpreter directly and never come here. A
run may be given a terminal for its stdin or stdout (:meth:`ForkServer.start`): it
buffers them as a new interpreter would.

The Python processes a forked run starts itself with ``subprocess.run`` (a write's
fresh ``migrator check`` in isolated mode, ``python -m django makemigrations``, the
rows command) are forked from the server too (:func:`_run_routed`), each again a fresh
copy of the pristine server, not of the run that asked for it: the run has set Django
up on its project and imported its migrations, the new process has not. The same rules
apply (anything else runs for real), and ``-I`` / ``-B`` / ``-P`` are honoured: an
isolated child gets neither ``PYTHONPATH`` nor its current folder on ``sys.path``; it
inherits what ``exec`` would pass on from its caller: the signals it blocks or ignores,
its file size limit, the permission capabilities it gave up (:func:`_inherited`; a
test's run can be given the last two, ``file_size`` and ``unprivileged`` in
:func:`tests.djproject.run`). A test about
what such a process does *not* import (a project's own ``migrator.py``) must
start the run in a real interpreter (``fork=False``, as tests/test_security.py does
where it plants such modules), so that what it starts is real too: a fork has imported
migrator's own already. The server answers its test process and every child at once;
each child has its own channel to it.

The signal tests talk to a run while it runs and kill its whole process group
(:meth:`ForkServer.start`, a :class:`Run`): such a run leads its own session, as with
``start_new_session=True``, with a terminal's Ctrl-C. What it starts itself must be in
that group, which a process forked by the server (in the server's session) cannot join;
so the run first forks a copy of itself, still pristine, its zygote (:func:`_start_zygote`),
which forks those processes inside the session. When the run is interrupted while it
waits for one, that process is killed, as ``subprocess.run`` kills it.

The server imports once what every run imports (:func:`_preload`: the CLI with typer's
pydantic adapters, every migrator module, networkx, what ``django.setup()`` imports
before any project module), then freezes it out of the collector's sight, so that no
child's collection walks, and copies, the server's pages.

Run as a script, this module is the server; imported, it is the client.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import json
import os
import resource
import select
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
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


#: Interpreter options a fork reproduces: isolated mode, no bytecode, no unsafe path.
FLAGS = ("-I", "-B", "-P")


def python_program(args: list[str]) -> tuple[str, str, list[str], list[str]] | None:
    """``python [-I] [-B] [-P] -m MODULE ...``, ``python FILE ...`` or ``python -c CODE
    ...`` (with our own interpreter) as (kind, target, arguments, options) for the fork
    server; ``None`` for anything else."""
    if not args or args[0] != sys.executable:
        return None
    flags, rest = [], list(args[1:])
    while rest and rest[0] in FLAGS:
        flags.append(rest.pop(0))
    if len(rest) > 1 and rest[0] == "-m":
        return "module", rest[1], rest[2:], flags
    if len(rest) > 1 and rest[0] == "-c":
        return "code", rest[1], rest[2:], flags
    if rest and not rest[0].startswith("-"):
        return "script", rest[0], rest[1:], flags
    return None


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
        # what django.setup() imports before reading any project module: logging's
        # configuration (mail, the debug views, templates) and the URL resolvers
        "django.utils.log",
        "django.urls",
        "django.views.debug",
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
    # typer (0.2x) turns each option's value through pydantic, imported on first use
    with contextlib.suppress(ImportError):
        importlib.import_module("typer._adapters")
    assert threading.active_count() == 1, "the fork server must stay single-threaded"
    # What is loaded now lives as long as the server: out of the collector's sight, so a
    # child's first full collection neither walks it nor copies its pages
    gc.collect()
    gc.freeze()


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

    # -I: no PYTHON* variable read (so none writes bytecode), nothing of the program's
    # own (its folder, the current one) first on sys.path; -P: only the latter;
    # -B: no bytecode written
    flags = request.get("flags", [])
    isolated = "-I" in flags
    own_first = not isolated and "-P" not in flags
    if isolated:
        sys.dont_write_bytecode = "-B" in flags
    elif "-B" in flags:
        sys.dont_write_bytecode = True
    # sys.path: the program's [0], then PYTHONPATH, then the installation's own
    sys.path[:] = ([] if isolated else _pythonpath(request["env"])) + _BASE_PATH
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = __builtins__
    sys.modules["__main__"] = main
    kind, target, args = request["kind"], request["target"], request["args"]
    try:
        if kind == "module":
            if own_first:
                sys.path.insert(0, os.getcwd())
            sys.argv = ["-m", *args]
            runpy._run_module_as_main(target)  # type: ignore[attr-defined]  # what -m runs
        elif kind == "script":
            path = os.path.abspath(target)
            if own_first:
                sys.path.insert(0, os.path.dirname(path))
            sys.argv = [target, *args]
            runpy.run_path(path, run_name="__main__")
        else:
            if own_first:
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


def _fork_one(
    request: dict, fds: list[int], selector: selectors.BaseSelector
) -> tuple[int, socket.socket]:
    """Fork the child for ``request``; its pid, and the server's end of the child's own
    channel (for the processes it starts itself)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sys.stdout.flush()
    sys.stderr.flush()
    # The child starts with SIGINT and SIGTERM held, until it has the mask of its caller
    # (``exec`` passes it on as the process starts: a signal that finds the rows command
    # of a write that holds them, just started, must wait as it would there).
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        theirs.close()
        return pid, ours
    code = 1
    try:
        global _channel
        # nothing of the server's stays open in the child: its channels, its children's,
        # where it sends their ends
        for key in list(selector.get_map().values()):
            if isinstance(key.fileobj, int):
                os.close(key.fileobj)
            else:
                key.fileobj.close()  # type: ignore[attr-defined]
            if key.data[0] == "ended":
                key.data[2].close()  # where a running child's status goes
        selector.close()
        ours.close()
        _channel = theirs
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        _stdio_as_at_start()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        if request.get("session"):
            os.setsid()  # start_new_session=True
            global _programs
            _programs = request.get("programs")
            _start_zygote()
        # A process a run starts: handled signals back to their default, as exec does,
        # then what the run passes on (what it ignores stays ignored). A run of its own
        # session: what the test process passes on, then a terminal's Ctrl-C, as
        # ``preexec_fn`` gives it (a test process may ignore SIGINT: a background job).
        if _in_session and not request.get("session"):
            _signals_as_after_exec()
        take_inherited(request)
        if request.get("session"):
            _signals_as_after_exec()
        signal.pthread_sigmask(signal.SIG_SETMASK, request.get("blocked", []))
        code = _run_in_child(request)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


#: In a session's zygote and what it forks: they belong to a run's own session.
_in_session = False
#: In a session's zygote: the file it writes the command line of each process it forks
#: to (:meth:`Run.programs`).
_programs: str | None = None


def _stdio_as_at_start() -> None:
    """Standard input and output buffered as a new interpreter buffers them for the
    files it starts with (the server's were ``/dev/null``): line by line on a terminal,
    unless unbuffered (``-u``, ``PYTHONUNBUFFERED``). Standard error always is."""
    for stream in (sys.stdin, sys.stdout):
        # write_through: the server's were made unbuffered, as every new one would be
        if stream is not None and not stream.write_through and os.isatty(stream.fileno()):
            stream.reconfigure(line_buffering=True)  # type: ignore[attr-defined]


def _signals_as_after_exec() -> None:
    """SIGINT and SIGTERM as a new interpreter has them when a migrator run (which
    handles both) starts it, or a terminal (``preexec_fn`` restoring SIGINT's default):
    Ctrl-C raises ``KeyboardInterrupt``, SIGTERM ends the process."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start_zygote() -> None:
    """For a run in its own session: a pristine copy of this process (nothing run yet)
    that forks the Python processes the run starts, so that they are in the run's
    process group, as real ones are, and a signal to the group reaches them. It holds
    none of the run's output pipes, ignores the signals sent to the group, and ends
    when the run does."""
    global _channel, _in_session
    if _channel is not None:
        _channel.close()  # the run's processes are the zygote's, not the server's
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if os.fork():
        theirs.close()
        _channel = ours
        return
    try:
        ours.close()
        _channel = None
        _in_session = True
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        serve(theirs)
    finally:
        os._exit(0)


def _send(channel: socket.socket, message: dict) -> None:
    """``message`` to whoever asked, unless it has gone (a child killed meanwhile)."""
    with contextlib.suppress(OSError):
        channel.send(json.dumps(message).encode())


def serve(channel: socket.socket) -> None:
    """Answer requests until the test process goes away: for each, from the test
    process or from a child, fork a child, say its pid, and send its wait status when it
    ends, with the CPU seconds it and the processes forked for it used (as
    ``RUSAGE_CHILDREN`` counts a real process's). Requests from several channels are
    answered as they come. A request may bring its own socket for the answers (a run the
    test talks to while it runs, :class:`Run`)."""
    selector = selectors.DefaultSelector()
    selector.register(channel, selectors.EVENT_READ, ("asks", None))
    #: a child's pid -> the pid of the child it was forked for, and CPU seconds used by
    #: what was forked for a child that still runs
    forked_for: dict[int, int] = {}
    spent: dict[int, float] = {}
    running: set[int] = set()
    while True:
        for key, _ in selector.select():
            if key.data[0] == "ended":
                _, pid, asked, own = key.data
                selector.unregister(key.fileobj)
                os.close(key.fileobj)  # type: ignore[arg-type]
                _, status, usage = os.wait4(pid, 0)
                cpu = usage.ru_utime + usage.ru_stime + spent.pop(pid, 0.0)
                running.discard(pid)
                caller = forked_for.pop(pid, None)
                if caller in running:  # else it has ended (killed) and been answered
                    spent[caller] = spent.get(caller, 0.0) + cpu
                _send(asked, {"status": status, "cpu": cpu})
                if own:
                    asked.close()
                continue
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            try:
                data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 4)
            except OSError:
                data, fds = b"", []
            if not data:
                if sock is channel:
                    return
                selector.unregister(sock)  # that child has ended
                sock.close()
                continue
            reply = socket.socket(fileno=fds.pop()) if len(fds) == 4 else None
            request = json.loads(data)
            pid, private = _fork_one(request, fds, selector)
            running.add(pid)
            if key.data[1] is not None:
                forked_for[pid] = key.data[1]
            if _programs is not None:
                with open(_programs, "a") as said:
                    said.write(json.dumps([pid, command_line(request)]) + "\n")
            for fd in fds:
                os.close(fd)
            asked = reply or sock
            _send(asked, {"pid": pid})
            selector.register(
                os.pidfd_open(pid), selectors.EVENT_READ, ("ended", pid, asked, reply is not None)
            )
            selector.register(private, selectors.EVENT_READ, ("asks", pid))


# -- in a child: the Python processes it starts ---------------------------------------

#: In a forked child, its own channel to the server; ``None`` elsewhere.
_channel: socket.socket | None = None
#: What of the server's environment changed how it started (:func:`_startup_env`).
_server_startup: dict[str, str] = {}
_real_run = subprocess.run
#: ``subprocess.run`` arguments a forked process reproduces.
_ROUTED = {"cwd", "env", "capture_output", "text", "timeout", "check"}
ISOLATED_HARMLESS = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}


def _routed_request(args: object, kwargs: dict) -> dict | None:
    """The request that forks what ``subprocess.run(args, **kwargs)`` would start, or
    ``None`` when a fork cannot be the same: not our interpreter, an option other than
    ``-I``/``-B``, output not captured, stdin or another argument given, an
    environment that changes how Python starts."""
    if _channel is None or not set(kwargs) <= _ROUTED or not kwargs.get("capture_output"):
        return None
    if not isinstance(args, list | tuple) or not all(isinstance(a, str) for a in args):
        return None
    program = python_program(list(args))
    if program is None:
        return None
    flags = program[3]
    env = dict(os.environ if kwargs.get("env") is None else kwargs["env"])
    startup, server = _startup_env(env), _server_startup
    if "-I" in flags:
        # PYTHON* variables are not read: of the server's, only those whose effect the
        # child undoes (bytecode) or that change nothing a caller of subprocess.run sees
        # (unbuffered output: both pipes are read to their end all the same)
        startup, server = (
            {k: v for k, v in e.items() if not k.startswith("PYTHON")}
            for e in (startup, _server_startup)
        )
        if set(_server_startup) - set(server) - ISOLATED_HARMLESS:
            return None
    if startup != server:
        return None
    cwd = os.path.abspath(os.fspath(kwargs.get("cwd") or os.getcwd()))
    return _fork_request(program, cwd, env)


def command_line(request: dict) -> list[str]:
    """The command line a real interpreter would have for ``request``'s program."""
    kind, target = request["kind"], request["target"]
    program = {"module": ["-m", target], "code": ["-c", target]}.get(kind, [target])
    return [sys.executable, *request.get("flags", []), *program, *request["args"]]


def _fork_request(
    program: tuple[str, str, list[str], list[str]], cwd: str, env: dict[str, str]
) -> dict:
    """What the server is sent to fork ``program`` (:func:`python_program`)."""
    kind, target, args, flags = program
    return {
        "kind": kind,
        "target": target,
        "args": args,
        "cwd": cwd,
        "env": env,
        "flags": flags,
        **_inherited(),
    }


#: The signals whose disposition a new process keeps when it is ignored.
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: The capabilities that let root ignore permission bits: CAP_DAC_OVERRIDE,
#: CAP_DAC_READ_SEARCH, CAP_FOWNER.
PERMISSION_OVERRIDES = (1, 2, 3)
PR_CAPBSET_DROP = 24  # <linux/prctl.h>
_CAPABILITY_VERSION_3 = 0x20080522  # <linux/capability.h>


def _inherited() -> dict:
    """What of this process a process it starts inherits through ``exec``: the signals
    it blocks (a write holds SIGINT and SIGTERM while its rows command runs) and those it
    ignores (``nohup``), its file size limit, and, run as root, whether it has given up
    the capabilities that override permission bits."""
    return {
        "blocked": sorted(int(signum) for signum in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "ignored": [int(s) for s in _STOP_SIGNALS if signal.getsignal(s) == signal.SIG_IGN],
        "file_size": list(resource.getrlimit(resource.RLIMIT_FSIZE)),
        "overrides_dropped": os.geteuid() == 0 and not _has_capability(PERMISSION_OVERRIDES[0]),
    }


def take_inherited(request: dict) -> None:
    """Become what ``request``'s caller would have started (:func:`_inherited`), but for
    the signal mask, which the caller sets last: in a forked child, or between fork and
    exec (``preexec_fn``, given a test's ``file_size`` or ``unprivileged``)."""
    for signum in request.get("ignored", []):
        signal.signal(signum, signal.SIG_IGN)
    limit = tuple(request.get("file_size", ()))
    if limit and limit != resource.getrlimit(resource.RLIMIT_FSIZE):
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
    if request.get("overrides_dropped"):
        drop_permission_overrides()


def _has_capability(capability: int) -> bool:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> capability & 1)
    return False


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_permission_overrides() -> None:
    """Run as root, give up :data:`PERMISSION_OVERRIDES`, so that a read-only folder is
    read-only: from the bounding set (what a program this process runs may have:
    called between fork and exec, as ``preexec_fn``, that is all it takes) and from the
    capabilities this process has now (a forked run, which starts no new program)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in PERMISSION_OVERRIDES:
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    mask = ~sum(1 << capability for capability in PERMISSION_OVERRIDES) & 0xFFFFFFFF
    for field in ("effective", "permitted", "inheritable"):
        setattr(data[0], field, getattr(data[0], field) & mask)
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def _run_routed(args, *popenargs, **kwargs):  # noqa: ANN001, ANN202  (subprocess.run's)
    """``subprocess.run`` in a forked child: a Python program it can reproduce is forked
    from the server (:func:`_routed_request`), anything else runs as usual."""
    request = None if popenargs else _routed_request(args, kwargs)
    if request is None or _channel is None:
        return _real_run(args, *popenargs, **kwargs)
    timeout = kwargs.get("timeout")
    try:
        code, out, err, _ = _request(_channel, request, timeout, text=bool(kwargs.get("text")))
    except subprocess.TimeoutExpired:
        raise subprocess.TimeoutExpired(args, timeout) from None
    proc = subprocess.CompletedProcess(args, code, out, err)
    if kwargs.get("check"):
        proc.check_returncode()
    return proc


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

    def start(
        self,
        args: list[str],
        cwd: str,
        env: dict[str, str],
        *,
        session: bool = True,
        stdin: int | None = None,
        stdout: int | None = None,
    ) -> Run | None:
        """``args`` (a Python program, :func:`python_program`) started, with
        ``session`` in its own session with a terminal's signals, as
        ``subprocess.Popen(..., start_new_session=True)`` from a shell starts it;
        ``None`` when only a real interpreter can run it. ``stdin`` and ``stdout``: a
        file descriptor the run gets instead of ours and a pipe (a terminal's)."""
        program = python_program(args)
        if program is None or not self.can_fork(env) or "-I" in program[3]:
            return None
        request = {**_fork_request(program, cwd, env), "session": session}
        if session:
            said, request["programs"] = tempfile.mkstemp(prefix="migrator-run-programs-")
            os.close(said)
        return Run(self.channel, request, args, stdin, stdout)

    def run(
        self,
        kind: str,
        target: str,
        args: list[str],
        cwd: str,
        env: dict[str, str],
        timeout: float,
        flags: list[str] | None = None,
        text: bool = True,
        process: dict | None = None,
    ) -> tuple[int, str | bytes, str | bytes, float]:
        """Exit code (negative: killed by that signal), stdout and stderr of one run
        (decoded when ``text``, as ``subprocess.run(text=...)``), and the CPU seconds
        it and the processes forked for it used. ``process``: what the run starts with
        that is not ours (:func:`_inherited`'s keys: a file size limit, say)."""
        request = {**_fork_request((kind, target, args, flags or []), cwd, env), **(process or {})}
        try:
            return _request(self.channel, request, timeout, text)
        except subprocess.TimeoutExpired:
            raise subprocess.TimeoutExpired([target, *args], timeout) from None


def _request(
    channel: socket.socket, request: dict, timeout: float | None, text: bool = True
) -> tuple[int, str | bytes, str | bytes, float]:
    """Have the server fork ``request``'s program: its exit code (negative: killed by
    that signal), stdout and stderr (decoded when ``text``), CPU seconds (its own and
    those of the processes forked for it). Past ``timeout`` seconds it is killed and
    :class:`subprocess.TimeoutExpired` raised."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    # an interrupt between the request and the answer with its pid would leave the
    # process running unseen: it waits until the pid is known, then is raised below
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        socket.send_fds(channel, [json.dumps(request).encode()], [_stdin(), out_w, err_w])
        pid = json.loads(channel.recv(MAX_MESSAGE))["pid"]
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(out_r)
        os.close(err_r)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        out, err = _read_both(out_r, err_r, deadline)
    except BaseException:
        # as subprocess.run does: past the timeout, or when the caller is interrupted
        # (a signal to a run that waits for its check), the process is killed first
        os.kill(pid, signal.SIGKILL)
        channel.recv(MAX_MESSAGE)
        raise
    ended = json.loads(channel.recv(MAX_MESSAGE))
    code = os.waitstatus_to_exitcode(ended["status"])
    if text:
        return code, _decode(out), _decode(err), ended["cpu"]
    return code, out, err, ended["cpu"]


class Run:
    """A forked run the test talks to while it runs: what of ``subprocess.Popen``
    (text pipes for stdout and stderr) the tests use. The server answers on a channel of
    this run's own, so other runs can be asked for meanwhile."""

    def __init__(
        self,
        channel: socket.socket,
        request: dict,
        args: list[str],
        stdin: int | None = None,
        stdout: int | None = None,
    ) -> None:
        self.args = args
        self.returncode: int | None = None
        out_r, out_w = os.pipe() if stdout is None else (None, stdout)
        err_r, err_w = os.pipe()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            fds = [_stdin() if stdin is None else stdin, out_w, err_w, theirs.fileno()]
            socket.send_fds(channel, [json.dumps(request).encode()], fds)
        finally:
            for fd in (out_w, err_w) if stdout is None else (err_w,):
                os.close(fd)
            theirs.close()
        self._answers = ours
        self._programs: str | None = request.get("programs")
        self.pid: int = json.loads(ours.recv(MAX_MESSAGE))["pid"]
        self.stdout = None if out_r is None else _text(out_r)
        self.stderr = _text(err_r)

    def _status(self, timeout: float | None) -> int | None:
        if self.returncode is None:
            ready, _, _ = select.select([self._answers], [], [], timeout)
            if ready:
                status = json.loads(self._answers.recv(MAX_MESSAGE))["status"]
                self.returncode = os.waitstatus_to_exitcode(status)
                self._answers.close()
                if self._programs is not None:
                    os.unlink(self._programs)
        return self.returncode

    def programs(self) -> list[tuple[int, list[str]]]:
        """The Python processes a run in its own session has started so far (a write's
        check, the rows command), each with the command line a real one would have in
        ``/proc/PID/cmdline`` (a forked one has the server's there)."""
        if self._programs is None or self.returncode is not None:
            return []
        with open(self._programs) as said:
            lines = said.read().splitlines(keepends=True)
        # a line being written is not one yet
        return [tuple(json.loads(line)) for line in lines if line.endswith("\n")]  # type: ignore[misc]

    def poll(self) -> int | None:
        return self._status(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._status(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout)  # type: ignore[arg-type]
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Both pipes to their end, then the exit status; past ``timeout`` the run is
        killed and :class:`subprocess.TimeoutExpired` raised."""
        read: dict[str, str] = {"out": ""}
        readers = [
            threading.Thread(target=lambda n, f: read.update({n: f.read()}), args=(name, stream))
            for name, stream in (("out", self.stdout), ("err", self.stderr))
            if stream is not None
        ]
        deadline = None if timeout is None else time.monotonic() + timeout
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(None if deadline is None else max(deadline - time.monotonic(), 0))
        if any(reader.is_alive() for reader in readers):
            self.kill()
            for reader in readers:
                reader.join()
            raise subprocess.TimeoutExpired(self.args, timeout)  # type: ignore[arg-type]
        self.wait(timeout)
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        return read["out"], read["err"]


def _text(fd: int):  # noqa: ANN202  (a text stream)
    """A pipe's read end as ``subprocess.Popen(text=True)`` wraps it: the locale's
    encoding, universal newlines."""
    return open(fd, encoding=_encoding())  # noqa: SIM115  (closed by communicate)


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


def _read_both(out_fd: int, err_fd: int, deadline: float | None) -> tuple[bytes, bytes]:
    """Both pipes to their end (as ``communicate`` reads them)."""
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    with selectors.DefaultSelector() as selector:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        try:
            while selector.get_map():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
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
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])


def _encoding() -> str:
    """The encoding ``subprocess`` decodes text output with: the locale's."""
    import locale

    return "utf-8" if sys.flags.utf8_mode else locale.getpreferredencoding(False)


def _decode(data: bytes) -> str:
    """As ``subprocess.run(text=True)``: the locale's encoding, universal newlines."""
    return data.decode(_encoding()).replace("\r\n", "\n").replace("\r", "\n")


#: This test process's fork servers, by the start-up environment (:func:`_startup_env`)
#: each was started with.
_servers: dict[frozenset[tuple[str, str]], ForkServer] = {}
_servers_pid: int | None = None
#: Start-up environments asked for that have no server yet, and how often.
_asked: dict[frozenset[tuple[str, str]], int] = {}


def server_for(env: dict[str, str]) -> ForkServer | None:
    """A fork server of this process that can run with ``env``, else ``None`` (run a
    real interpreter). Set ``MIGRATOR_TEST_FORK=0`` to run every program in a real one.

    The first is started for the tests' own environment. A run whose environment
    changes how the libraries start (a terminal's ``TERM``, ``NO_COLOR``, the locale:
    :data:`STARTUP_PREFIXES`) gets a server of its own from the second such run on,
    started in that environment, as a new interpreter would be: a server costs about two
    interpreters' start. ``PYTHON*`` variables change the interpreter itself (its flags,
    its bytecode, its start-up messages): those runs stay real."""
    global _servers_pid
    if os.environ.get("MIGRATOR_TEST_FORK", "1") == "0" or not hasattr(socket, "send_fds"):
        return None
    if _servers_pid != os.getpid():  # a forked pytest process: none of these are ours
        _servers.clear()
        _asked.clear()
        _servers_pid = os.getpid()
    startup = _startup_env(env)
    key = frozenset(startup.items())
    server = _servers.get(key)
    if server is None:
        from tests.djproject import clean_env

        base = clean_env()
        own = _startup_env(base)
        if startup != own:
            changed = set(startup.items()) ^ set(own.items())
            if any(name.startswith("PYTHON") for name, _ in changed):
                return None
            _asked[key] = _asked.get(key, 0) + 1
            if _asked[key] < 2:
                return None
        for name in own:
            del base[name]
        server = _servers[key] = ForkServer({**base, **startup})
        atexit.register(server.close)
    return server if server.can_fork(env) else None


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
    _server_startup = _startup_env(dict(os.environ))
    subprocess.run = _run_routed  # only a forked child has a channel to route through
    serve(channel)
