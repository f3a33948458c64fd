"""Commands for sales ops: init, status, install, mappings check, sync, push, run, sandbox.

Service modules are imported inside each command, not at the top: a command loads only what it
uses, which keeps `carnet`'s start-up short (each such import is marked `# lazy: start-up`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from connector.cli.app import (
    EXAMPLE_CONFIG,
    ConfigOpt,
    DryRunOpt,
    JsonOpt,
    SourceOpt,
    app,
    config_given,
    emit,
    err,
    fail,
    loading,
    make_app,
    mappings_app,
    out,
    run,
    sandbox_app,
    sandbox_entry,
    stopping_on_signals,
)
from connector.core.errors import CarnetError, UsageError
from connector.core.text import terminal_safe

if TYPE_CHECKING:  # in annotations only: the config loads when a command needs it
    from connector.core.config import Config


def require_secrets(config: Config, source: str | None = None) -> None:
    """connector.core.config_secrets' check, loaded only by the commands that call it."""
    from connector.core.config_secrets import require_secrets as check  # lazy: start-up

    check(config, source)


def _init(config: Path | None) -> dict[str, Any]:
    from connector.store.app import App  # lazy: start-up
    from connector.store.db import current_revision  # lazy: start-up
    from connector.store.migrate import upgrade  # lazy: start-up

    path = config_given(config) or Path("config.yaml")
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
                _short(terminal_safe(s["cursor"] or "-")),  # a CRM's delta link
                str(s["last_finished_at"] or "-"),
                json.dumps(s["counts"]),
            )
        out.print(sync)
    else:
        out.print("sync    no run yet")
    backlog = d["outbox"]["backlog"]
    out.print(f"outbox  {json.dumps(backlog) if backlog else 'empty'}")
    for f in d["outbox"]["failures"]:
        line = f"  failed {f['source']} {f['object']} {f['id']}: {f['error']}"
        out.print(terminal_safe(line), markup=False)  # a CRM's words
    for source, p in d.get("push", {}).items():
        state = "stopped at the API budget: " if p["budget_stopped"] else "stopped: "
        said = f"{state}{p['stopped']}" if p["stopped"] else json.dumps(p["counts"])
        out.print(
            terminal_safe(f"push    {source} at {p['last_finished_at']}: {said}"), markup=False
        )
    from connector.status import schedule_table  # lazy: start-up

    out.print(schedule_table(d))
    for lease in d["leases"]:
        gone = " (expired: free to take)" if lease["expired"] else ""
        out.print(f"lease   {lease['name']}: {lease['holder']}{gone}", markup=False)


@app.command()
def status(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Cursors, last runs, outbox backlog and API usage per source."""
    from connector.status import store_status  # lazy: start-up

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
    from connector.cli.outbox_views import render_install  # lazy: start-up
    from connector.writeback.install import run_install  # lazy: start-up

    carnet = make_app(config)
    run(lambda: require_secrets(carnet.config, source))
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
    from mappings.verify import check_mappings, render_check  # lazy: start-up

    carnet = make_app(config)
    if online:
        run(lambda: require_secrets(carnet.config))
    render_check(run(lambda: check_mappings(carnet.config, online)), out)


@app.command()
def sync(
    config: ConfigOpt = None,
    source: SourceOpt = None,
    full: Annotated[bool, typer.Option("--full")] = False,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="list every record skipped by rule")
    ] = False,
) -> None:
    """Pull, derive, push once."""
    from connector.ingest.processes import pull_ahead  # lazy: start-up

    # a --full sync pulls in a process of its own: started first, it imports beside this one
    with pull_ahead(full) as spare:
        with loading():
            from connector.cli.sync_view import (  # lazy: start-up
                RichProgress,
                failure_lines,
                push_notes,
                summary_table,
            )
            from connector.sync import run_sync  # lazy: start-up

        carnet = make_app(config)
        try:
            run(lambda: require_secrets(carnet.config, source))
            with loading():
                _adapters_loaded(carnet.config, source)
            bar = RichProgress(out) if not as_json and sys.stdout.isatty() else None
            with stopping_on_signals() as stop:
                summary = run(
                    lambda: run_sync(
                        carnet, source, full, dry_run, bar, stop=stop.event, spare=spare
                    )
                )
        finally:
            carnet.close()
    emit(summary.as_dict(), as_json, lambda _: out.print(summary_table(summary)))
    for line in failure_lines(summary, verbose) + push_notes(summary.push):
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(stop.exit_code(summary.exit_code()))


def _adapters_loaded(config: Config, source: str | None) -> None:
    """Import the adapters the sync opens among the command's own imports (see `loading`). One
    that does not load, or a source that is not enabled, is reported where the sync meets it."""
    from connector.core.sources import adapter_class  # lazy: start-up

    with contextlib.suppress(CarnetError):
        for name in config.sources.chosen(source):
            adapter_class(name)


@app.command()
def push(
    config: ConfigOpt = None,
    source: SourceOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Push pending writes only."""
    from connector.cli.outbox_views import push_lines, render_push  # lazy: start-up
    from connector.writeback.push import run_push  # lazy: start-up

    carnet = make_app(config)
    run(lambda: require_secrets(carnet.config, source))
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
    from scheduler.runner import serve_until_stopped  # lazy: start-up

    carnet = make_app(config)
    run(lambda: require_secrets(carnet.config))
    try:
        code = run(lambda: serve_until_stopped(carnet))
    finally:
        carnet.close()
    raise typer.Exit(code)


@sandbox_app.command("serve")
def sandbox_serve(
    seed: Annotated[int, typer.Option("--seed")] = 1,
    scale: Annotated[float, typer.Option("--scale", min=0.001, max=10.0)] = 0.01,
    faults: Annotated[
        str | None,
        typer.Option(
            "--faults",
            help='JSON, or short form "429,500@0.2"; kinds: 429, 429-no-retry-after, 500, 503, '
            "expire, partial, slow, garbage, html, 401, 403",
        ),
    ] = None,
    config_out: Annotated[Path | None, typer.Option("--config-out")] = None,
) -> None:
    """Serve the three CRM stand-ins on loopback until SIGTERM / Ctrl-C."""
    serve = run(lambda: sandbox_entry("serve"))
    try:
        code = serve(seed=seed, scale=scale, faults=faults, config_out=config_out)
    except ValueError as exc:  # a bad --faults spec or --config-out
        fail(UsageError(str(exc)))
    raise typer.Exit(code)
