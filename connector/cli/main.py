"""`carnet`: the command line's entry point, with every command group registered on one app."""

from __future__ import annotations

from connector.cli.collector import loading

# the command line's modules load with no collection (each pass walks what they made so far:
# 10-15 ms of a query command), and what they made is frozen after
with loading():
    import atexit
    import contextlib
    import gc
    import sys
    from collections.abc import Callable
    from typing import Annotated, Any

    import typer

    # importing them registers their commands
    from connector.cli import campaigns, ops, people, web  # noqa: F401
    from connector.cli.app import app, fail, run
    from connector.core.errors import FatalError
    from connector.core.logs import setup_command_logging


@app.command()
def demo(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="end by serving the web app until Ctrl-C")
    ] = True,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="the web app's port")
    ] = 8000,
) -> None:
    """Sandbox, install, sync and push, a summary; then the web app on 127.0.0.1 until Ctrl-C."""
    from connector.cli.demo import run_demo  # lazy: start-up

    run(lambda: run_demo(app, serve, port))


def main() -> None:
    sys.exit(run_command(app))


def run_command(command: Callable[[], Any]) -> Any:
    """Run the command line (`command`: the typer app, or the command server's click group on a
    fork's argv); its exit code, as `sys.exit` takes it."""
    # at exit, once the exit handlers ran: the objects alive stay out of the collections Python
    # makes while it shuts down (what they hold goes back to the system with the process).
    # Scanning SQLAlchemy's and pydantic's objects took 100-150 ms of a query command's CPU.
    atexit.register(gc.freeze)
    # what the command line's imports made lives as long as the process: the collector's full
    # passes while the command runs need not walk it again
    gc.freeze()
    setup_command_logging()  # no log line shows a secret, whatever the command
    try:
        return _command(command)
    finally:
        if "connector.ingest.processes" in sys.modules:  # a sync ran: leave no process behind
            from connector.ingest.processes import kill_children  # lazy: start-up

            kill_children()


def _command(command: Callable[[], Any]) -> Any:
    """Run the command; its exit code. Typer ends every command with SystemExit; it is caught
    here so that, once it is let go, what its traceback held (a pull process's pipes, after a
    second Ctrl-C) is let go before `kill_children` kills and reaps a pull process still
    running."""
    try:
        command()
    except FatalError as exc:  # raised outside run(): still no traceback
        with contextlib.suppress(typer.Exit):
            fail(exc)
        return 1
    except SystemExit as exc:
        return exc.code
    return 0
