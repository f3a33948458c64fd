"""The command server (connector/cli/cmdserver.py) as a user meets it: the first query command
starts it, the next ones are answered by it, and each answer is the one the command gives in a
process of its own (output, errors, exit code, privacy), read from the caller's own config,
folder, environment and terminal. It steps aside when its folder is unsafe, and ends when idle or
asked to."""

from __future__ import annotations

import os
import pty
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.cli import cmdserver, entry
from tests.conftest import run_carnet
from tests.e2e import test_cli_governance as governance

# the governance commands' store, Globex: Bob knows Zoe (shared, "golf on fridays"), Cat knows
# the CEO (private, "private dinner"), Ana knows the CEO (private)
template, store = governance.template, governance.store


@pytest.fixture
def runtime() -> Iterator[Path]:
    """The server's folder: short (a socket's path has at most 107 bytes), this test's own."""
    folder = Path(tempfile.mkdtemp(prefix="crt-"))
    yield folder
    cmdserver_stop(folder)
    shutil.rmtree(folder, ignore_errors=True)


def cmdserver_stop(folder: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", "from connector.cli import cmdserver; cmdserver.stop()"],
        env={**os.environ, "CARNET_RUNTIME_DIR": str(folder)},
        check=True,
    )


def carnet(folder: Path, runtime: Path, serving: str, *args: str, **env: str) -> Any:
    return run_carnet(
        *args,
        cwd=folder,
        env={
            "COLUMNS": "200",
            "CARNET_RUNTIME_DIR": str(runtime),
            "CARNET_COMMAND_SERVER": serving,
            **env,
        },
    )


def start_server(folder: Path, runtime: Path, **env: str) -> None:
    """What a user's first query command does; then wait until the server answers."""
    first = carnet(folder, runtime, "on", "status", "--config", "config.yaml", **env)
    assert first.returncode == 0, first.stderr
    deadline = time.monotonic() + 60
    while carnet(folder, runtime, "require", "status", "--config", "config.yaml").returncode:
        assert time.monotonic() < deadline, "the command server never answered"
        time.sleep(0.2)


QUESTIONS = [
    ("who-knows", "globex.de", "--as", "ana@us.example"),
    ("who-knows", "zoe@globex.de", "--as", "ana@us.example", "--json"),
    ("who-knows", "ceo@globex.de", "--as", "bob@us.example", "--json"),
    ("plan", "show", "globex.de", "--as", "bob@us.example"),
    ("plan", "show", "globex.de", "--format", "json"),
    ("review", "--as", "cat@us.example"),
    ("network", "--json"),
    ("audit", "--as", "bob@us.example"),
    ("credits",),
    ("intro", "list", "--as", "ana@us.example"),
    ("status", "--json"),
    # refused: unknown member, unknown org, bad option value, no such option
    ("who-knows", "globex.de", "--as", "nobody@us.example"),
    ("plan", "show", "nowhere.example", "--as", "bob@us.example"),
    ("who-knows", "globex.de", "--as", "ana@us.example", "--limit", "-1"),
    ("network", "--no-such-option"),
]


def test_served_answers_are_the_answers_of_a_process_of_its_own(store: Path, runtime: Path) -> None:
    start_server(store, runtime)
    for question in QUESTIONS:
        args = ("--config", "config.yaml", *question)
        alone = carnet(store, runtime, "off", *args)
        served = carnet(store, runtime, "require", *args)
        assert (served.returncode, served.stdout, served.stderr) == (
            alone.returncode,
            alone.stdout,
            alone.stderr,
        ), question
        assert "Traceback" not in served.stderr
        if question[0] == "who-knows" and "bob@us.example" in question:
            assert "private dinner" not in served.stdout  # Cat's private relationship
    refused = carnet(store, runtime, "require", "--config", "config.yaml", *QUESTIONS[-4])
    assert refused.returncode == 2 and "nobody@us.example" in refused.stderr


def test_each_command_reads_its_own_folder_config_and_environment(
    store: Path, tmp_path_factory: pytest.TempPathFactory, runtime: Path
) -> None:
    start_server(store, runtime)
    other = tmp_path_factory.mktemp("other")
    shutil.copy(store / "config.yaml", other / "config.yaml")
    assert run_carnet("init", cwd=other).returncode == 0  # the same config, an empty store
    ask = ("--config", "config.yaml", "who-knows", "zoe@globex.de", "--as", "bob@us.example")
    here = carnet(store, runtime, "require", *ask)
    there = carnet(other, runtime, "require", *ask)
    assert here.returncode == 0 and "golf on fridays" in here.stdout
    assert there.returncode == 2 and "bob@us.example" in there.stderr  # no such member there
    # the caller's environment, not the first caller's: the database named there
    moved = carnet(
        other, runtime, "require", *ask, CARNET_DATABASE_URL=f"sqlite:///{store}/carnet.db"
    )
    assert moved.returncode == 0 and "golf on fridays" in moved.stdout
    # an environment larger than a socket's buffer goes whole (three variables of 100 KB)
    big = {f"CARNET_TEST_FILLER_{i}": "x" * 100_000 for i in range(3)}
    heavy = carnet(store, runtime, "require", *ask, **big)
    assert (heavy.returncode, heavy.stdout) == (here.returncode, here.stdout)


def test_a_terminal_gets_what_it_would_get_from_a_process_of_its_own(
    store: Path, runtime: Path
) -> None:
    """Colours and width come from the caller's terminal, not from the server's /dev/null."""
    start_server(store, runtime)

    def on_a_terminal(serving: str) -> bytes:
        leader, follower = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARNET_")}
        env.update(
            CARNET_RUNTIME_DIR=str(runtime),
            CARNET_COMMAND_SERVER=serving,
            TERM="xterm-256color",
            COLUMNS="100",
        )
        env.pop("NO_COLOR", None)
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "carnet"),
                "--config",
                "config.yaml",
                "who-knows",
                "globex.de",
                "--as",
                "ana@us.example",
            ],
            cwd=store,
            env=env,
            stdin=follower,
            stdout=follower,
            stderr=follower,
            timeout=60,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(leader)
        assert done.returncode == 0
        return b"".join(chunks)

    alone, served = on_a_terminal("off"), on_a_terminal("require")
    assert served == alone
    assert b"\x1b[" in served  # rich saw a terminal: bold headers


def test_an_unsafe_folder_is_not_used(store: Path, runtime: Path) -> None:
    runtime.chmod(0o755)  # others may open it: no socket there, the command runs here
    args = ("--config", "config.yaml", "who-knows", "globex.de", "--as", "ana@us.example")
    refused = carnet(store, runtime, "require", *args)
    assert refused.returncode == 2 and "no command server answered" in refused.stderr
    here = carnet(store, runtime, "on", *args)
    assert here.returncode == 0 and "Zoe Ng" in here.stdout
    time.sleep(1)
    assert not list(runtime.glob("*.sock"))


def test_a_folder_too_deep_for_a_socket_is_not_used(store: Path, runtime: Path) -> None:
    deep = runtime / ("d" * 60) / ("e" * 60)  # a socket's path has at most 107 bytes
    deep.mkdir(parents=True, mode=0o700)
    args = ("--config", "config.yaml", "who-knows", "globex.de", "--as", "ana@us.example")
    refused = carnet(store, deep, "require", *args)
    assert refused.returncode == 2 and "no command server answered" in refused.stderr
    here = carnet(store, deep, "on", *args)
    assert here.returncode == 0 and "Zoe Ng" in here.stdout and "Traceback" not in here.stderr
    time.sleep(2)
    assert not list(deep.iterdir())  # no server was started only to fail binding its socket


def _server_pid(runtime: Path) -> int:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                argv = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(str(runtime).encode() in arg for arg in argv) and b"-c" in argv:
                return int(proc.name)
    raise AssertionError("no command server runs")


def test_a_malformed_request_is_dropped_and_leaves_nothing_open(store: Path, runtime: Path) -> None:
    start_server(store, runtime)
    pid = _server_pid(runtime)
    fds_before = len(os.listdir(f"/proc/{pid}/fd"))
    (path,) = runtime.glob("*.sock")
    for message in (b"\x00\x00\x00\x05hello", b"\xff\xff\xff\xff", b"\x00\x00\x00\x02[]", b"x"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(path))
            socket.send_fds(conn, [message], [0, 1, 2])
            conn.shutdown(socket.SHUT_WR)
            assert conn.recv(100) == b""  # dropped, no answer
    assert len(os.listdir(f"/proc/{pid}/fd")) == fds_before  # the descriptors were closed
    args = ("--config", "config.yaml", "who-knows", "globex.de", "--as", "ana@us.example")
    assert carnet(store, runtime, "require", *args).returncode == 0  # and it still serves


def test_an_idle_server_ends_and_a_stopped_one_answers_no_more(store: Path, runtime: Path) -> None:
    start_server(store, runtime, CARNET_SERVER_IDLE="2")
    deadline = time.monotonic() + 30
    while list(runtime.glob("*.sock")):
        assert time.monotonic() < deadline, "the idle server did not end"
        time.sleep(0.2)
    assert carnet(store, runtime, "require", "status", "--config", "config.yaml").returncode == 2
    start_server(store, runtime)
    cmdserver_stop(runtime)
    assert carnet(store, runtime, "require", "status", "--config", "config.yaml").returncode == 2


def test_commands_that_change_or_wait_are_not_served(store: Path, runtime: Path) -> None:
    start_server(store, runtime)
    args = ("--config", "config.yaml", "rate", "zoe@globex.de", "3", "--as", "ana@us.example")
    refused = carnet(store, runtime, "require", *args)
    assert refused.returncode == 0  # `rate` runs in the caller's process, server or not
    assert carnet(store, runtime, "require", "who-knows", "--help").returncode == 0


def test_a_server_out_of_date_steps_aside_for_a_new_one(store: Path, runtime: Path) -> None:
    """After an upgrade or an edit of Carnet's code, the old server answers nothing more: the
    command runs in the caller's process and starts a server of the new code."""
    start_server(store, runtime)
    views = Path(cmdserver.__file__).with_name("governance_views.py")
    seen = views.stat()
    args = ("--config", "config.yaml", "who-knows", "globex.de", "--as", "ana@us.example")
    try:
        os.utime(views, ns=(seen.st_atime_ns, seen.st_mtime_ns + 1_000_000_000))
        assert carnet(store, runtime, "require", *args).returncode == 2  # it stepped aside
        here = carnet(store, runtime, "on", *args)  # run here; a new server starts
        assert here.returncode == 0 and "Zoe Ng" in here.stdout
        deadline = time.monotonic() + 60
        while (served := carnet(store, runtime, "require", *args)).returncode:
            assert time.monotonic() < deadline, "no new server answered"
            time.sleep(0.2)
        assert served.stdout == here.stdout
    finally:
        os.utime(views, ns=(seen.st_atime_ns, seen.st_mtime_ns))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["who-knows", "x", "--as", "a"], True),
        (["--config", "c.yaml", "who-knows", "x"], True),
        (["-c", "c.yaml", "plan", "show", "x"], True),
        (["--config=c.yaml", "network"], True),
        (["plan", "set", "x"], False),
        (["plan"], False),
        (["who-knows", "--help"], False),
        (["sync"], False),
        (["rate", "a", "1"], False),
        ([], False),
        (["--verbose", "who-knows"], False),
    ],
)
def test_which_commands_are_served(argv: list[str], expected: bool) -> None:
    assert entry.served(argv) is expected


def test_the_caller_loads_only_the_standard_library() -> None:
    """What a served command loads before its answer comes: none of Carnet's libraries, not
    even typing (the server has them)."""
    probe = (
        "import sys; from connector.cli import cmdserver, entry; "
        "print(' '.join(m for m in ('typing', 'sqlalchemy', 'typer', 'rich', 'pydantic', "
        "'ruamel', 'connector.cli.main', 'connector.core') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []


def test_no_server_but_on_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARNET_COMMAND_SERVER", "on")
    assert entry.mode() == "on"
    monkeypatch.setattr(sys, "platform", "darwin")  # no SO_PEERCRED there
    assert entry.mode() == "off"


def test_a_changed_module_makes_the_server_out_of_date(tmp_path: Path) -> None:
    module = tmp_path / "carnet_probe_module.py"
    module.write_text("X = 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        import carnet_probe_module  # noqa: F401

        files = cmdserver._module_files()
        assert str(module) in files and cmdserver._current(files)
        module.write_text("X = 22\n")
        assert not cmdserver._current(files)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("carnet_probe_module", None)
