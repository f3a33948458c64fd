"""The command server: query commands answered by a warm process, as Mercurial's chg does.

A query command (`carnet who-knows`, `plan show`, ...) spends a few milliseconds on its query and
hundreds on Python loading typer, SQLAlchemy, the models and the config's code. The first such
command starts a server in the background (a detached process that has loaded all of that, and
nothing else: no config, no database, no data). The next ones connect to its Unix socket and pass
it their argv, working directory, umask, environment and standard streams (as file descriptors):
the server forks, and the fork runs the command exactly as `carnet` would, writing straight to the
caller's terminal; its exit code comes back over the socket. Every command thus reads its own
config, store and secrets; the server keeps nothing from one command to the next.

Safety:
- the socket sits in a directory of the user's own (mode 0700, checked before every use), and the
  server answers only a peer of its own user id (SO_PEERCRED);
- it serves only the code it loaded: before each command it checks that no module file it loaded
  has changed, else it says so and exits, and the caller runs the command itself; its socket's
  name is keyed by the interpreter, the code's folder and PYTHONPATH;
- it exits after CARNET_SERVER_IDLE seconds (600) without a command;
- CARNET_COMMAND_SERVER=off turns it off (every command then runs in its own process, as the
  test suite's do); `require` fails a query command (exit 2) that no server answered, for the
  benchmark and the tests.

The caller's side runs before anything else of Carnet loads: this module imports only the
standard library at its top (its server side loads the command line inside `serve`).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import signal
import socket
import stat
import struct
import sys
import time
import zlib

TYPE_CHECKING = False  # not typing's: a command answered by the server does not load typing (3 ms)
if TYPE_CHECKING:
    from typing import Any

# what the served commands load inside their bodies (`# lazy: start-up`): loaded once, here
PRELOAD = (
    "connector.cli.main",
    "connector.cli.governance_views",
    "connector.cli.plans_views",
    "connector.cli.sync_view",
    "connector.governance.audit",
    "connector.governance.credits",
    "connector.governance.intros",
    "connector.governance.relationships",
    "connector.governance.review",
    "connector.governance.whoknows",
    "connector.plans.network",
    "connector.plans.plan",
    "connector.status",
    "connector.store.app",
    "connector.store.db",
)
IDLE_S = 600.0
_HEADER = struct.Struct("!I")
_MAX_REQUEST = 1 << 22


class Unusable(Exception):
    """The server's folder cannot be used (missing and not creatable, someone else's, or open to
    others): the command runs in the caller's process."""


# -- the caller's side -----------------------------------------------------------------------


def runtime_dir() -> str:
    """The user's own folder for the socket: CARNET_RUNTIME_DIR, else $XDG_RUNTIME_DIR/carnet,
    else /tmp/carnet-<uid>; made with mode 0700 when missing. Unusable when it is not a real
    folder of this user's that only this user may open. (os.path, not pathlib: a command
    answered by the server loads as little as it can.)"""
    given = os.environ.get("CARNET_RUNTIME_DIR")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    path = given or (os.path.join(xdg, "carnet") if xdg else f"/tmp/carnet-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise Unusable(f"{path}: {exc.strerror}") from None
    found = os.lstat(path)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
        raise Unusable(f"{path} is not a folder of this user's")
    if found.st_mode & 0o077:
        raise Unusable(f"{path} may be opened by other users (mode {found.st_mode & 0o777:o})")
    return path


def code_key() -> str:
    """What the server's code is keyed by: this interpreter, Carnet's folder and PYTHONPATH."""
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
    seed = "\0".join((sys.executable, here, os.environ.get("PYTHONPATH", "")))
    return f"{zlib.crc32(seed.encode()):08x}"


def socket_path() -> str:
    path = os.path.join(runtime_dir(), f"cli-{code_key()}.sock")
    if len(os.fsencode(path)) > 100:  # a socket's path has at most 107 bytes, with the lock's
        raise Unusable(f"{path}: too long a path for a socket")
    return path


def call(argv: list[str]) -> int | None:
    """Run `carnet argv...` in the server; its exit code, or None when no server took it (none
    runs, or it is out of date): the caller then runs the command itself."""
    try:
        path = socket_path()
        fds = [0, 1, 2]
        for fd in fds:
            os.fstat(fd)  # a closed standard stream: the command runs here
    except (Unusable, OSError):
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(path)
            request = {
                "argv": argv,
                "cwd": os.getcwd(),
                "env": dict(os.environ),
                "umask": _umask(),
            }
            message = _framed(request)
            sent = socket.send_fds(conn, [message], fds)  # the descriptors go with the first bytes
            conn.sendall(message[sent:])
            reader = conn.makefile("rb")
            first = reader.readline().split()
        except OSError:
            return None  # no server, or it went away before the fork: run it here
        if len(first) != 2 or first[0] != b"pid":
            return None  # out of date (it exits): run it here
        return _wait(reader, int(first[1]))  # begun: from here it is never run a second time


def _framed(request: dict[str, Any]) -> bytes:
    """A request as it crosses the socket: its length, then its JSON (read back by `_parse`)."""
    body = json.dumps(request).encode()
    return _HEADER.pack(len(body)) + body


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _wait(reader: Any, pid: int) -> int:
    """Wait for the served command's exit code; a signal this process gets (Ctrl-C at the
    terminal, a kill) goes on to the command, which handles it as it would in its own process."""

    def forward(signum: int, _frame: Any) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    try:
        last = reader.readline().split()
    except OSError:
        last = []
    if len(last) == 2 and last[0] == b"exit":
        return int(last[1])
    sys.stderr.write("error: the command ended without an exit code (was it killed?)\n")
    return 1


def start() -> None:
    """Start a server in the background for the next commands (its own session, no terminal, no
    stream of the caller's: nothing waits on it)."""
    import subprocess  # lazy: start-up

    try:
        path = socket_path()
    except Unusable:
        return
    script = "import sys; from connector.cli.cmdserver import serve; serve(sys.argv[1])"
    subprocess.Popen(
        [sys.executable, "-P", "-c", script, path],  # -P: nothing from the current folder
        cwd="/",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def stop() -> bool:
    """Ask the server to exit; whether one was running."""
    try:
        path = socket_path()
    except Unusable:
        return False
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        conn.sendall(_framed({"stop": True}))
        conn.makefile("rb").readline()
        return True
    except OSError:
        return False
    finally:
        conn.close()


# -- the server's side -----------------------------------------------------------------------


def serve(path: str) -> None:
    """Serve commands on the socket at `path` until idle for CARNET_SERVER_IDLE seconds,
    asked to stop, or out of date. Exits at once when another server holds the socket."""
    import fcntl  # lazy: start-up
    import importlib  # lazy: start-up

    if path != socket_path():
        return  # not this code's socket
    # what is imported later is found where `carnet` finds it, never in the caller's folder (a
    # fork runs in it): no "" (the current folder) in the path, as under `python -P`
    sys.path[:] = [entry for entry in sys.path if entry not in ("", ".")]
    lock = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    for attempt in range(20):  # a server out of date may still be on its way out
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if attempt == 19:
                return  # another server runs
            time.sleep(0.1)
    from connector.cli.collector import loading  # lazy: start-up

    with loading():
        for name in PRELOAD:
            importlib.import_module(name)
        _warm()
    files = _module_files()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):  # a server that died left it: none runs now
        os.unlink(path)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    listener.listen(16)
    listener.settimeout(float(os.environ.get("CARNET_SERVER_IDLE", IDLE_S)))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the served commands are reaped by the system
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                return
            except InterruptedError:
                continue
            with conn:
                if not _answer(conn, listener, files):
                    return
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        listener.close()


# what a served command loads on first use beyond PRELOAD (seen in the forks: 6-10 ms each time)
FIRST_USE = (
    "encodings.ascii",
    "pydantic.type_adapter",
    "ruamel.yaml.mergevalue",
    "typer._adapters",
    "typer._click.decorators",
    "tzdata.zoneinfo",
)


def _warm() -> None:
    """Work every command would do first, done once: the ORM's mappers configured, the command
    line's click commands built, what the commands load on first use loaded, rich's tables of
    emoji and character widths read (by drawing a table nobody sees)."""
    import importlib  # lazy: start-up
    import io  # lazy: start-up

    from rich.console import Console  # lazy: start-up
    from rich.table import Table  # lazy: start-up
    from sqlalchemy.orm import configure_mappers  # lazy: start-up

    configure_mappers()
    _command_line()
    for name in FIRST_USE:
        with contextlib.suppress(ImportError):  # a library's newer release may not have it
            importlib.import_module(name)
    table = Table("person", "colleague")
    table.add_row("Zoé Ng, 情報システム", "Ana")
    Console(file=io.StringIO(), width=40).print(table)


@functools.cache
def _command_line() -> Any:
    """The command line's click group, built once (typer builds every command's parameters)."""
    import typer.main  # lazy: start-up

    from connector.cli.main import app  # lazy: start-up

    return typer.main.get_command(app)


def _module_files() -> dict[str, tuple[int, int]]:
    """Each loaded module's file, with its modification time and size."""
    found: dict[str, tuple[int, int]] = {}
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if name and name not in found:
            try:
                st = os.stat(name)
            except OSError:
                continue
            found[name] = (st.st_mtime_ns, st.st_size)
    return found


def _current(files: dict[str, tuple[int, int]]) -> bool:
    for name, seen in files.items():
        try:
            st = os.stat(name)
        except OSError:
            return False
        if (st.st_mtime_ns, st.st_size) != seen:
            return False
    return True


def _answer(
    conn: socket.socket, listener: socket.socket, files: dict[str, tuple[int, int]]
) -> bool:
    """Take one request; False when the server should exit."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    if uid != os.getuid():
        return True
    conn.settimeout(10)
    try:
        request, fds = _read_request(conn)
    except (OSError, ValueError):
        return True
    try:
        if request.get("stop"):
            conn.sendall(b"stopped\n")
            return False
        if len(fds) != 3:
            conn.sendall(b"refused\n")
            return True
        if not _current(files):
            conn.sendall(b"stale\n")  # the caller runs the command, and starts a new server
            return False
        pid = os.fork()
        if pid == 0:
            listener.close()
            _child(conn, request, fds)  # never returns
        return True
    finally:
        for fd in fds:
            os.close(fd)


def _read_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The request and the descriptors that came with it (none left open if it is malformed)."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
    try:
        return _parse(conn, data), fds
    except (OSError, ValueError):
        for fd in fds:
            os.close(fd)
        raise


def _parse(conn: socket.socket, data: bytes) -> dict[str, Any]:
    if len(data) < _HEADER.size:
        raise ValueError("short request")
    (size,) = _HEADER.unpack_from(data)
    if size > _MAX_REQUEST:
        raise ValueError("request too large")
    body = data[_HEADER.size :]
    while len(body) < size:
        more = conn.recv(size - len(body))
        if not more:
            raise ValueError("request cut short")
        body += more
    request = json.loads(body)  # a malformed one: ValueError
    if not isinstance(request, dict):
        raise ValueError("request is not an object")
    return request


def _child(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    """In the fork: become the caller's command (its streams, folder, umask and environment),
    run it, report its exit code."""
    code = 1
    try:
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        conn.settimeout(None)
        conn.sendall(f"pid {os.getpid()}\n".encode())
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.chdir(request["cwd"])
        os.umask(int(request["umask"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request["env"].items()})
        time.tzset()
        _reopen_streams()
        code = _run([str(a) for a in request["argv"]])
    except BaseException:  # the fork must report and end, whatever happened
        import traceback  # lazy: start-up

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()  # what ending would run: logging's flush, the command's own
        with contextlib.suppress(OSError):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            conn.sendall(f"exit {code}\n".encode())
        os._exit(0)  # no interpreter shutdown: what the fork holds goes back with the process


def _reopen_streams() -> None:
    """Python's standard streams on the caller's descriptors, buffered as a new process would
    buffer them (line by line on a terminal), and rich's consoles set up for them anew."""
    for fd, name, mode_ in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        old = getattr(sys, name)
        encoding = os.environ.get("PYTHONIOENCODING", "").split(":")[0] or old.encoding
        errors = old.errors
        interactive = os.isatty(fd)
        stream = open(  # noqa: SIM115 - the process's own stream, open until it ends
            fd,
            mode_,
            encoding=encoding,
            errors=errors,
            buffering=1 if interactive or fd == 2 else -1,  # 1: line by line
            closefd=False,
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)
    from connector.cli.app import reset_consoles  # lazy: start-up

    reset_consoles()


def _run(argv: list[str]) -> int:
    from connector.cli.main import run_command  # lazy: start-up

    sys.argv = ["carnet", *argv]
    group = _command_line()
    code: Any = run_command(lambda: group.main(args=argv, prog_name="carnet"))
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
