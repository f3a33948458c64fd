"""The `carnet` command line's shared parts: the typer apps, the options every command takes, and
how a service function's answer or error becomes output and an exit code.

Exit codes: 0 done; 1 done with record-level failures or a fatal runtime error; 2 bad usage,
config or mapping. Errors are printed one line per problem on stderr, never as a traceback.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from connector.cli.collector import loading as loading
from connector.core.errors import CarnetError, NotAvailable, UsageError
from connector.core.text import json_safe, terminal_safe

if TYPE_CHECKING:  # in annotations only: the ORM and the config load when a command needs them
    from sqlalchemy.orm import Session

    from connector.store.app import App

EXAMPLE_CONFIG = Path(__file__).parents[1] / "config.example.yaml"

out = Console()
err = Console(stderr=True)


def reset_consoles() -> None:
    """Set the consoles up again for the streams and environment the process has now (a command
    served by the command server's fork: what rich read at import, the terminal's colours and
    width, was the server's)."""
    out.__init__()  # type: ignore[misc]
    err.__init__(stderr=True)  # type: ignore[misc]


ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="config file (default ./config.yaml, env CARNET_CONFIG)",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON document on stdout")]
AsOpt = Annotated[str, typer.Option("--as", help="the member's email you act as")]
SourceOpt = Annotated[str | None, typer.Option("--source", help="salesforce, hubspot or exchange")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="show what would happen, change nothing")
]

app = typer.Typer(
    name="carnet",
    help="Carnet: who of ours knows whom of theirs, shared on the rep's terms.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
mappings_app = typer.Typer(help="Validate the field mappings.", no_args_is_help=True)
intro_app = typer.Typer(help="Ask for, grant and track introductions.", no_args_is_help=True)
plan_app = typer.Typer(help="Account plans.", no_args_is_help=True)
sandbox_app = typer.Typer(help="The loopback stand-ins of the three CRMs.", no_args_is_help=True)
campaign_app = typer.Typer(help="Invitation campaigns: guest lists.", no_args_is_help=True)
app.add_typer(mappings_app, name="mappings")
app.add_typer(intro_app, name="intro")
app.add_typer(plan_app, name="plan")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(campaign_app, name="campaign")

_state: dict[str, Path | None] = {"config": None}


@app.callback()
def _root(config: ConfigOpt = None) -> None:
    _state["config"] = config


def config_given(config: Path | None) -> Path | None:
    """The --config given to the command, or to `carnet` before it."""
    return config or _state["config"]


def make_app(config: Path | None, serving: bool = False) -> App:
    from connector.store.app import App  # lazy: start-up

    return App(config_given(config), serving=serving)


def fail(error: CarnetError) -> NoReturn:
    lines = error.lines() if isinstance(error, UsageError) else [str(error)]
    for line in lines:  # a message can quote a CRM's answer: terminal-safe
        err.print(terminal_safe(f"error: {line}"), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2 if isinstance(error, UsageError) else 1)


def run(fn: Callable[[], Any]) -> Any:
    """Call a service function; turn Carnet's errors into messages and exit codes."""
    try:
        return fn()
    except CarnetError as exc:
        fail(exc)


class Stop:
    """What a signal asked of a command that stops at a safe point (`carnet sync`): `event` is
    set at the first SIGINT or SIGTERM, `signum` is that signal."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None

    def exit_code(self, code: int) -> int:
        """130 after SIGINT, 143 after SIGTERM (128 + the signal, as a shell reports it); else
        `code`."""
        return 128 + self.signum if self.signum is not None else code


@contextmanager
def stopping_on_signals() -> Iterator[Stop]:
    """While inside, SIGINT (Ctrl-C) and SIGTERM ask the work to stop after the page in hand:
    the first sets `stop.event` and says so on stderr; a second ends the command at once (its
    page in hand rolled back, exit 128 + the signal). The previous handlers come back after."""
    stop = Stop()

    def on_signal(signum: int, _frame: Any) -> None:
        if stop.signum is not None:
            if "connector.ingest.processes" in sys.modules:
                from connector.ingest.processes import kill_children  # lazy: start-up

                kill_children()  # its call in hand is not waited for
            raise SystemExit(128 + signum)
        stop.signum = signum
        stop.event.set()
        again = "Ctrl-C" if signum == signal.SIGINT else "the signal"
        err.print(
            f"{signal.Signals(signum).name}: stopping after the page in hand "
            f"({again} again to stop at once)",
            markup=False,
            highlight=False,
        )

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def emit(doc: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:  # what a terminal would act on is written as \u escapes: the same JSON
        sys.stdout.write(json_safe(json.dumps(doc, indent=2, default=str, ensure_ascii=False)))
        sys.stdout.write("\n")
    else:
        render(doc)


def not_available(command: str) -> NoReturn:
    fail(NotAvailable(command))


def governed(config: Path | None, fn: Callable[[App, Session], Any]) -> Any:
    """Run `fn(app, session)` in one transaction: an error rolls everything back. No garbage
    collection meanwhile, and what it made (the engine, the mappers, the answer) frozen after,
    as `loading` does: a full pass while the answer is drawn would walk all of it again."""
    from connector.store.db import transaction  # lazy: start-up

    carnet = make_app(config)

    def work() -> Any:
        with transaction(carnet.sessions) as session:
            return fn(carnet, session)

    try:
        with loading():
            return run(work)
    finally:
        carnet.close()


# -- init / status ------------------------------------------------------------------------------


def sandbox_entry(name: str) -> Callable[..., Any]:
    """The stand-ins' `serve` or `start`, found through the `carnet.sandbox` entry points (the
    product imports no sandbox module); UsageError when the `sandbox` extra is not installed."""
    from importlib.metadata import entry_points  # lazy: start-up

    found = entry_points(group="carnet.sandbox", name=name)
    try:
        return next(iter(found)).load()
    except (StopIteration, ImportError) as exc:
        raise UsageError(
            "the CRM stand-ins are not installed: pip install 'carnet[sandbox]'"
            + (f" ({exc})" if str(exc) else "")
        ) from None
