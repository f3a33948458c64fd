"""`carnet`: a query command goes to the command server when one runs (connector.cli.cmdserver);
every other command, or one no server took, loads the command line here (connector.cli.main).

Only the standard library loads before that choice is made: `carnet sync` and the other commands
pay nothing for the server.
"""

from __future__ import annotations

import os
import sys

# the commands served: each reads the store and prints an answer (none starts a process, waits on
# a CRM or asks a question); every other command runs in the caller's own process
SERVED = frozenset(
    {
        ("who-knows",),
        ("review",),
        ("credits",),
        ("network",),
        ("audit",),
        ("status",),
        ("plan", "show"),
        ("intro", "list"),
    }
)
GROUPS = frozenset(words[0] for words in SERVED if len(words) > 1)


def main() -> None:
    argv = sys.argv[1:]
    serving = mode()
    if serving != "off" and served(argv):
        from connector.cli import cmdserver  # lazy: start-up

        try:
            code = cmdserver.call(argv)
        except KeyboardInterrupt:  # before the command began: nothing to stop but this
            sys.exit(130)
        if code is not None:
            sys.exit(code)
        if serving == "require":
            sys.stderr.write(
                "error: no command server answered this command (CARNET_COMMAND_SERVER=require)\n"
            )
            sys.exit(2)
        cmdserver.start()  # for the next query command
    from connector.cli.main import main as run_here  # lazy: start-up

    run_here()


def mode() -> str:
    """CARNET_COMMAND_SERVER: on (the default, on Linux); off, every command in a process of
    its own (always, on another system); require, a query command no server answered fails
    (exit 2), for the benchmark and the tests (connector/cli/cmdserver.py)."""
    value = os.environ.get("CARNET_COMMAND_SERVER", "on").strip().lower()
    if value in ("0", "off", "no", "false") or sys.platform != "linux":
        return "off"  # the server needs Linux's SO_PEERCRED (and forks): elsewhere, none
    return "require" if value == "require" else "on"


def served(argv: list[str]) -> bool:
    """Whether `carnet argv...` is a query command the server answers. Only the plain form is:
    `--config` (or `-c`) before the command, then the command's words; `--help` anywhere, or
    anything else before the command, runs in the caller's process."""
    args = list(argv)
    while args and args[0] in ("--config", "-c"):
        args = args[2:]
    while args and args[0].startswith("--config="):
        args = args[1:]
    if not args or "--help" in args:
        return False
    words = (args[0], args[1]) if args[0] in GROUPS and len(args) > 1 else (args[0],)
    return words in SERVED
