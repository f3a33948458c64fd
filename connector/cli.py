"""The `carnet` command line: parse, call a service function, print (rich, or one JSON document).

Exit codes: 0 done; 1 done with record-level failures or a fatal runtime error; 2 bad usage,
config or mapping. Errors are printed one line per problem on stderr, never as a traceback.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from connector.app import App
from connector.errors import CarnetError, FatalError, NotAvailable, UsageError

EXAMPLE_CONFIG = Path(__file__).parent / "config.example.yaml"

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


def make_app(config: Path | None) -> App:
    return App(config or _state["config"])


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


def _init(config: Path | None) -> dict[str, Any]:
    from connector.store.db import current_revision, upgrade

    path = config or _state["config"] or Path("config.yaml")
    wrote = False
    if not path.exists():
        if not path.parent.is_dir():
            raise UsageError(f"{path}: the folder {path.parent} does not exist")
        shutil.copyfile(EXAMPLE_CONFIG, path)
        wrote = True
    carnet = App(path)
    try:
        before = current_revision(carnet.engine)
        upgrade(carnet.engine)
        after = current_revision(carnet.engine)
    finally:
        carnet.close()
    return {
        "config": str(path),
        "config_written": wrote,
        "migration_before": before,
        "migration": after,
    }


@app.command()
def init(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Write config.yaml from the example (if missing) and create or migrate the store."""
    doc = run(lambda: _init(config))

    def render(d: dict[str, Any]) -> None:
        if d["config_written"]:
            out.print(f"wrote {d['config']} from the example: edit it, then run carnet init again")
        before = d["migration_before"] or "empty"
        verb = "is at" if before == d["migration"] else f"migrated from {before} to"
        out.print(f"store {verb} migration {d['migration']}")

    emit(doc, as_json, render)


def _short(text: str, width: int = 32) -> str:
    """A cursor can be a whole delta link: show its end, where it changes."""
    return text if len(text) <= width else "…" + text[-(width - 1) :]


def _render_status(d: dict[str, Any]) -> None:
    store = d["store"]
    out.print(f"config  {d['config']}")
    state = (
        "not initialised (run carnet init)"
        if not store["initialised"]
        else f"migration {store['migration']}"
    )
    out.print(f"store   {store['backend']}, {state}")
    if not store["initialised"]:
        return
    counts = Table("what", "rows", title="overlay", title_justify="left")
    for name, n in d["counts"].items():
        counts.add_row(name, str(n))
    out.print(counts)
    if d["sync"]:
        sync = Table(
            "source", "object", "cursor", "last run", "counts", title="sync", title_justify="left"
        )
        for s in d["sync"]:
            sync.add_row(
                s["source"],
                s["object"],
                _short(str(s["cursor"] or "-")),
                str(s["last_finished_at"] or "-"),
                json.dumps(s["counts"]),
            )
        out.print(sync)
    else:
        out.print("sync    no run yet")
    backlog = d["outbox"]["backlog"]
    out.print(f"outbox  {json.dumps(backlog) if backlog else 'empty'}")
    for f in d["outbox"]["failures"]:
        out.print(f"  failed {f['source']} {f['object']} {f['id']}: {f['error']}", markup=False)
    for source, p in d.get("push", {}).items():
        state = "stopped at the API budget: " if p["budget_stopped"] else "stopped: "
        said = f"{state}{p['stopped']}" if p["stopped"] else json.dumps(p["counts"])
        out.print(f"push    {source} at {p['last_finished_at']}: {said}", markup=False)
    from connector.status import schedule_table

    out.print(schedule_table(d))
    for lease in d["leases"]:
        gone = " (expired: free to take)" if lease["expired"] else ""
        out.print(f"lease   {lease['name']}: {lease['holder']}{gone}", markup=False)


@app.command()
def status(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Cursors, last runs, outbox backlog and API usage per source."""
    from connector.status import store_status

    carnet = make_app(config)
    try:
        doc = run(lambda: store_status(carnet))
    finally:
        carnet.close()
    emit(doc, as_json, _render_status)


# -- commands whose issues are still open ---------------------------------------------------------


@app.command()
def install(config: ConfigOpt = None, source: SourceOpt = None, dry_run: DryRunOpt = False) -> None:
    """Create the custom fields / properties Carnet writes."""
    from connector.cli_outbox import render_install
    from connector.install import run_install

    carnet = make_app(config)
    try:
        doc = run(lambda: run_install(carnet, source, dry_run))
    finally:
        carnet.close()
    render_install(doc, out)


@mappings_app.command("check")
def mappings_check(
    config: ConfigOpt = None, online: Annotated[bool, typer.Option("--online")] = False
) -> None:
    """Validate the mappings (offline; --online against the CRM's describe)."""
    from connector.mappings_check import check_mappings, render_check

    carnet = make_app(config)
    render_check(run(lambda: check_mappings(carnet.config, online)), out)


@app.command()
def sync(
    config: ConfigOpt = None,
    source: SourceOpt = None,
    full: Annotated[bool, typer.Option("--full")] = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Pull, derive, push once."""
    from connector.sync import run_sync
    from connector.sync_view import RichProgress, failure_lines, summary_table

    carnet = make_app(config)
    bar = RichProgress(out) if not as_json and sys.stdout.isatty() else None
    try:
        summary = run(lambda: run_sync(carnet, source, full, dry_run, bar))
    finally:
        carnet.close()
    emit(summary.as_dict(), as_json, lambda _: out.print(summary_table(summary)))
    for line in failure_lines(summary):
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(summary.exit_code())


@app.command()
def push(
    config: ConfigOpt = None,
    source: SourceOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Push pending writes only."""
    from connector.cli_outbox import push_lines, render_push
    from connector.push import run_push

    carnet = make_app(config)
    try:
        summary = run(lambda: run_push(carnet, source, dry_run))
    finally:
        carnet.close()
    doc = summary.as_dict()
    emit(doc, as_json, lambda d: render_push(d, out))
    for line in push_lines(doc):
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(summary.exit_code())


@app.command("run")
def run_scheduler(config: ConfigOpt = None) -> None:
    """The scheduler, until SIGTERM / Ctrl-C."""
    from scheduler.runner import serve_until_stopped

    carnet = make_app(config)
    try:
        code = run(lambda: serve_until_stopped(carnet))
    finally:
        carnet.close()
    raise typer.Exit(code)


@app.command("who-knows")
def who_knows(
    query: str,
    as_: AsOpt,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="people of an org listed, strongest first; 0: all")
    ] = 50,
) -> None:
    """Who of ours knows a person (email) or people at an org (name or domain)."""
    from connector.cli_governance import render_who_knows
    from connector.relationships import member_by_email
    from connector.whoknows import who_knows as answer

    doc = governed(
        config,
        lambda c, s: answer(
            s, member_by_email(s, as_), query, c.config.sharing, limit=limit or None
        ),
    )
    emit(doc, as_json, render_who_knows)


@app.command()
def rate(
    person_email: str,
    rating: int,
    as_: AsOpt,
    config: ConfigOpt = None,
    share: Annotated[
        str | None, typer.Option("--share", help="private, discoverable or shared")
    ] = None,
    exclusive: Annotated[bool | None, typer.Option("--exclusive/--no-exclusive")] = None,
) -> None:
    """Rate your relationship with a person (1-5) and set what you share."""
    from connector.cli_governance import render_rate
    from connector.relationships import rate_by_email

    doc = governed(
        config,
        lambda c, s: rate_by_email(
            s, as_, person_email, rating, share, exclusive, c.config.sharing
        ),
    )
    render_rate(doc)


@intro_app.command("request")
def intro_request(
    person_email: str,
    as_: AsOpt,
    reason: Annotated[str, typer.Option("--reason")],
    config: ConfigOpt = None,
) -> None:
    """Ask the colleague who knows a person for an introduction."""
    from connector.intros import request
    from connector.relationships import member_by_email

    doc = governed(
        config,
        lambda c, s: request(s, member_by_email(s, as_), person_email, reason, c.config.sharing),
    )
    out.print(
        f"introduction #{doc['id']} to {doc['person']['name']} requested from "
        f"{doc['broker']['name']} <{doc['broker']['email']}>",
        markup=False,
    )


@intro_app.command("list")
def intro_list(as_: AsOpt, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Introductions you asked for or were asked for."""
    from connector.cli_governance import render_intros
    from connector.intros import list_intros
    from connector.relationships import member_by_email

    doc = governed(config, lambda c, s: list_intros(s, member_by_email(s, as_)))
    emit(doc, as_json, render_intros)


def _intro_transition(name: str) -> Callable[..., None]:
    def command(
        intro_id: int,
        as_: AsOpt,
        config: ConfigOpt = None,
        reason: Annotated[str | None, typer.Option("--reason")] = None,
    ) -> None:
        from connector.intros import transition
        from connector.relationships import member_by_email

        doc = governed(
            config, lambda c, s: transition(s, member_by_email(s, as_), intro_id, name, reason)
        )
        out.print(f"introduction #{doc['id']} is now {doc['status']}", markup=False)

    command.__doc__ = (
        "Cancel an introduction you asked for."
        if name == "cancel"
        else f"As its broker, mark an introduction {'made' if name == 'made' else name + 'd'}."
    )
    return command


for _name in ("approve", "decline", "made", "cancel"):
    intro_app.command(_name)(_intro_transition(_name))


@plan_app.command("show")
def plan_show(
    org: str,
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html, svg or json")] = "md",
    as_: Annotated[str | None, typer.Option("--as")] = None,
) -> None:
    """Show an account plan (without --as: the company-wide view a CRM note may hold)."""
    from connector.cli_plans import check_format, print_plan
    from connector.plans import show_plan
    from connector.relationships import member_by_email

    form = run(lambda: check_format(fmt))
    doc = governed(
        config,
        lambda c, s: show_plan(s, org, member_by_email(s, as_) if as_ else None, c.config.sharing),
    )
    print_plan(doc, form)


@plan_app.command("set")
def plan_set(
    org: str,
    config: ConfigOpt = None,
    strategy: Annotated[str | None, typer.Option("--strategy")] = None,
    stance: Annotated[
        tuple[str, str] | None, typer.Option("--stance", help="PERSON_EMAIL STANCE")
    ] = None,
    influence: Annotated[
        tuple[str, int] | None, typer.Option("--influence", help="PERSON_EMAIL 1..5")
    ] = None,
    action: Annotated[str | None, typer.Option("--action")] = None,
    as_: Annotated[str | None, typer.Option("--as", help="the member making the change")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an account plan."""
    from connector.cli_plans import render_plan_set
    from connector.plans import set_plan
    from connector.relationships import member_by_email

    doc = governed(
        config,
        lambda c, s: set_plan(
            s,
            org,
            member_by_email(s, as_) if as_ else None,
            strategy=strategy,
            stance=stance,
            influence=influence,
            action=action,
        ),
    )
    emit(doc, as_json, render_plan_set)


@app.command()
def credits(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Referral credits: pending, earned and void, with totals per referrer."""
    from connector.cli_plans import render_credits
    from connector.credits import list_credits

    doc = governed(config, lambda c, s: list_credits(s))
    emit(doc, as_json, render_credits)


@app.command()
def network(
    config: ConfigOpt = None,
    org: Annotated[str | None, typer.Option("--org")] = None,
    member: Annotated[str | None, typer.Option("--member")] = None,
    as_json: JsonOpt = False,
    as_: Annotated[
        str | None, typer.Option("--as", help="read as this member (default: company-wide)")
    ] = None,
) -> None:
    """Network quality per account and per member."""
    from connector.cli_plans import render_network
    from connector.network import network_report
    from connector.relationships import member_by_email

    doc = governed(
        config,
        lambda c, s: network_report(
            s, c.config.sharing, member_by_email(s, as_) if as_ else None, org, member
        ),
    )
    emit(doc, as_json, render_network)


@app.command()
def audit(
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    as_: Annotated[
        str | None, typer.Option("--as", help="read as this member (default: the admin's log)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="newest events to show")] = 200,
) -> None:
    """The audit log, as a member may read it (--as), or the admin's full log."""
    from connector.audit import list_events
    from connector.cli_governance import render_audit
    from connector.relationships import member_by_email

    doc = governed(
        config,
        lambda c, s: list_events(
            s, member_by_email(s, as_) if as_ else None, c.config.sharing, limit
        ),
    )
    emit(doc, as_json, render_audit)


@sandbox_app.command("serve")
def sandbox_serve(
    seed: Annotated[int, typer.Option("--seed")] = 1,
    scale: Annotated[float, typer.Option("--scale", min=0.001, max=10.0)] = 0.01,
    faults: Annotated[
        str | None, typer.Option("--faults", help='JSON, or short form "429,500@0.2"')
    ] = None,
    config_out: Annotated[Path | None, typer.Option("--config-out")] = None,
) -> None:
    """Serve the three CRM stand-ins on loopback until SIGTERM / Ctrl-C."""
    from importlib.metadata import entry_points

    (serve,) = entry_points(group="carnet.sandbox", name="serve")
    try:
        code = serve.load()(seed=seed, scale=scale, faults=faults, config_out=config_out)
    except ValueError as exc:  # a bad --faults spec or --config-out
        fail(UsageError(str(exc)))
    raise typer.Exit(code)


@app.command()
def demo() -> None:
    """Sandbox, install, sync and push, then a summary."""
    from connector.demo import run_demo

    run(run_demo)


def main() -> None:
    from connector.logs import setup_command_logging

    setup_command_logging()  # no log line shows a secret, whatever the command
    try:
        app()
    except FatalError as exc:  # raised outside run(): still no traceback
        fail(exc)
