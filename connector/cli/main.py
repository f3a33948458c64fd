"""`carnet`: the command line's entry point, with every command group registered on one app."""

from __future__ import annotations

from connector.cli import ops, people  # noqa: F401 - importing them registers their commands
from connector.cli.app import app, fail, run
from connector.cli.demo import run_demo
from connector.core.errors import FatalError
from connector.core.logs import setup_command_logging


@app.command()
def demo() -> None:
    """Sandbox, install, sync and push, then a summary."""
    run(lambda: run_demo(app))


def main() -> None:
    setup_command_logging()  # no log line shows a secret, whatever the command
    try:
        app()
    except FatalError as exc:  # raised outside run(): still no traceback
        fail(exc)
