"""The `carnet` command line's shared parts: the typer apps, the options every command takes, and
how a service function's answer or error becomes output and an exit code.

Exit codes: 0 done; 1 done with record-level failures or a fatal runtime error; 2 bad usage,
config or mapping. Errors are printed one line per problem on stderr, never as a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from connector.core.errors import CarnetError, NotAvailable, UsageError
from connector.store.app import App

EXAMPLE_CONFIG = Path(__file__).parents[1] / "config.example.yaml"

out = Console()
err = Console(stderr=True)

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
app.add_typer(mappings_app, name="mappings")
app.add_typer(intro_app, name="intro")
app.add_typer(plan_app, name="plan")
app.add_typer(sandbox_app, name="sandbox")

_state: dict[str, Path | None] = {"config": None}


@app.callback()
def _root(config: ConfigOpt = None) -> None:
    _state["config"] = config


def config_given(config: Path | None) -> Path | None:
    """The --config given to the command, or to `carnet` before it."""
    return config or _state["config"]


def make_app(config: Path | None) -> App:
    return App(config_given(config))


def fail(error: CarnetError) -> NoReturn:
    lines = error.lines() if isinstance(error, UsageError) else [str(error)]
    for line in lines:
        err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(2 if isinstance(error, UsageError) else 1)


def run(fn: Callable[[], Any]) -> Any:
    """Call a service function; turn Carnet's errors into messages and exit codes."""
    try:
        return fn()
    except CarnetError as exc:
        fail(exc)


def emit(doc: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2, default=str, ensure_ascii=False) + "\n")
    else:
        render(doc)


def not_available(command: str) -> NoReturn:
    fail(NotAvailable(command))


def governed(config: Path | None, fn: Callable[[App, Session], Any]) -> Any:
    """Run `fn(app, session)` in one transaction: an error rolls everything back."""
    from connector.store.db import transaction

    carnet = make_app(config)

    def work() -> Any:
        with transaction(carnet.sessions) as session:
            return fn(carnet, session)

    try:
        return run(work)
    finally:
        carnet.close()


# -- init / status ------------------------------------------------------------------------------


def sandbox_entry(name: str) -> Callable[..., Any]:
    """The stand-ins' `serve` or `start`, found through the `carnet.sandbox` entry points (the
    product imports no sandbox module); UsageError when the `sandbox` extra is not installed."""
    found = entry_points(group="carnet.sandbox", name=name)
    try:
        return next(iter(found)).load()
    except (StopIteration, ImportError) as exc:
        raise UsageError(
            "the CRM stand-ins are not installed: pip install 'carnet[sandbox]'"
            + (f" ({exc})" if str(exc) else "")
        ) from None
