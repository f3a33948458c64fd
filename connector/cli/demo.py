"""`carnet demo`: the sandbox on free ports, a temporary store, and a rep's day with Carnet.

Sales ops installs and syncs; reps rate, choose what they share, ask for and grant an
introduction, plan an account; a deal is won and the broker is credited; then a short tour.
Every step is the real `carnet` command, run in this process against the loopback stand-ins.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import typer
from rich.console import Console
from rich.rule import Rule
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector.cli.app import sandbox_entry
from connector.cli.demo_web import check_port, serve_web
from connector.core.errors import FatalError
from connector.store import models as m
from connector.store.app import App

console = Console()


@contextmanager
def _sandbox(workdir: Path) -> Iterator[Any]:
    sandbox = sandbox_entry("start")(seed=7, scale=0.02, workdir=workdir)
    try:
        yield sandbox
    finally:
        sandbox.stop()


@dataclass(frozen=True)
class Shell:
    """The `carnet` command line (given by the CLI that runs the demo) on the demo's config."""

    cli: typer.Typer
    config: Path

    def __call__(self, *args: str) -> int:
        """Run one `carnet` command in this process, as a user would type it."""
        shown = " ".join(a if " " not in a else repr(a) for a in args)
        console.print(f"\n[bold cyan]$ carnet {shown}[/]")
        return self.quiet(*args)

    def quiet(self, *args: str) -> int:
        try:
            self.cli(
                [*args, "--config", str(self.config)], prog_name="carnet", standalone_mode=False
            )
        except typer.Exit as done:
            return int(done.exit_code or 0)
        return 0


def _admin(sandbox: Any, crm: str, method: str, path: str, body: Any = None) -> Any:
    with requests.Session() as http:
        http.trust_env = False
        resp = http.request(
            method,
            f"{sandbox.urls[crm]}/__sandbox/{path}",
            json=body,
            verify=sandbox.urls["ca_file"],
            timeout=30,
        )
    resp.raise_for_status()
    return resp.json() if resp.content else None


def _calls(sandbox: Any) -> dict[str, dict[str, int]]:
    return {
        crm: _admin(sandbox, crm, "GET", "stats")["calls"]
        for crm in ("salesforce", "hubspot", "graph")
    }


def _cast(session: Session) -> dict[str, Any]:
    """The account the demo plays at, and who plays: chosen from what the sync brought in."""
    known = (
        select(m.Person.org_id, func.count(func.distinct(m.Relationship.member_id)).label("n"))
        .join(m.Relationship, m.Relationship.person_id == m.Person.id)
        .join(
            m.SourceLink,
            (m.SourceLink.entity == "org") & (m.SourceLink.entity_id == m.Person.org_id),
        )
        .where(
            m.Person.deleted_at.is_(None),
            m.SourceLink.source == "salesforce",
            m.SourceLink.object == "Account",
            m.SourceLink.deleted_at.is_(None),
        )
        .group_by(m.Person.org_id)
        .order_by(func.count(func.distinct(m.Relationship.member_id)).desc(), m.Person.org_id)
    )
    org_id = session.execute(known).first()[0]  # type: ignore[index]
    org = session.get(m.Org, org_id)
    rels = session.execute(
        select(m.Relationship, m.Person, m.Member)
        .join(m.Person, m.Person.id == m.Relationship.person_id)
        .join(m.Member, m.Member.id == m.Relationship.member_id)
        .where(m.Person.org_id == org_id, m.Person.deleted_at.is_(None))
        .order_by(m.Relationship.score.desc().nulls_last(), m.Relationship.id)
    ).all()
    emails: dict[int, str] = {}
    for pe in session.scalars(
        select(m.PersonEmail).join(m.Person).where(m.Person.org_id == org_id)
    ):
        emails.setdefault(pe.person_id, pe.email)
    rels = [r for r in rels if r.Person.id in emails]
    holders = list(dict.fromkeys(r.Member.email for r in rels))
    broker = rels[0]
    knows_person = [r.Member.email for r in rels if r.Person.id == broker.Person.id]
    outsider = session.scalars(
        select(m.Member)
        .where(
            m.Member.email.not_in(knows_person),
            m.Member.salesforce_user_id.is_not(None),
            m.Member.team.is_not(None),
            m.Member.active.is_(True),
        )
        .order_by(m.Member.id)
    ).first()
    private = next((r for r in rels if r.Member.email != broker.Member.email), rels[-1])
    account = session.scalars(
        select(m.SourceLink.external_id).where(
            m.SourceLink.entity == "org",
            m.SourceLink.entity_id == org_id,
            m.SourceLink.source == "salesforce",
            m.SourceLink.object == "Account",
        )
    ).first()
    return {
        "org": org.name if org else "",
        "account_id": account,
        "broker": broker.Member.email,
        "person": emails[broker.Person.id],
        "person_name": broker.Person.name,
        "private_holder": private.Member.email,
        "private_person": emails[private.Person.id],
        "requester": outsider.email if outsider else holders[-1],
        "requester_sf_id": outsider.salesforce_user_id if outsider else None,
    }


def _win_a_deal(sandbox: Any, cast: dict[str, Any]) -> None:
    """A CRM user records the requester's new deal at the account, then closes it won."""
    close = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    deal = _admin(
        sandbox,
        "salesforce",
        "POST",
        "records/Opportunity",
        {
            "Name": f"{cast['org']} — expansion",
            "AccountId": cast["account_id"],
            "OwnerId": cast["requester_sf_id"],
            "Amount": 120000,
            "StageName": "Prospecting",
            "CloseDate": close,
        },
    )
    _admin(
        sandbox,
        "salesforce",
        "POST",
        "records/Opportunity",
        {"id": deal["Id"], "StageName": "Closed Won"},
    )


def run_demo(cli: typer.Typer, serve: bool = True, port: int = 8000) -> None:
    """The demo; with `serve`, it ends by serving the web app on 127.0.0.1:`port` until Ctrl-C
    (the stand-ins and the store kept until then)."""
    if serve:
        check_port(port)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="carnet-demo-") as tmp, _sandbox(Path(tmp)) as sandbox:
        config = Path(sandbox.urls["config"])
        sh = Shell(cli, config)
        console.print(Rule("Carnet demo: three CRM stand-ins on loopback"))
        console.print(json.dumps(sandbox.urls, indent=2))
        steps = [("init",), ("install",), ("sync", "--full")]
        for step in steps:
            if sh(*step) == 2:
                raise FatalError(f"the demo stopped at 'carnet {' '.join(step)}'")
        app = App(config)
        try:
            with app.sessions() as session:
                cast = _cast(session)
        finally:
            app.close()
        console.print(Rule(f"Reps at {cast['org']}"))
        sh("rate", cast["person"], "5", "--as", cast["broker"], "--share", "shared")
        sh(
            "rate",
            cast["private_person"],
            "4",
            "--as",
            cast["private_holder"],
            "--share",
            "private",
            "--exclusive",
        )
        sh(
            "intro",
            "request",
            cast["person"],
            "--as",
            cast["requester"],
            "--reason",
            f"expansion deal at {cast['org']}",
        )
        _intro_flow(sh, cast)
        sh(
            "plan",
            "set",
            cast["org"],
            "--strategy",
            "Land the platform deal, then expand",
            "--as",
            cast["broker"],
        )
        sh(
            "plan",
            "set",
            cast["org"],
            "--stance",
            cast["person"],
            "champion",
            "--as",
            cast["broker"],
        )
        sh(
            "plan",
            "set",
            cast["org"],
            "--action",
            "Executive briefing booked",
            "--as",
            cast["broker"],
        )
        console.print(Rule("What the reps' choices change in the CRMs, and what it costs"))
        sh("push", "--dry-run")
        sh("push")
        console.print(Rule("A deal is won in Salesforce; the next sync credits the broker"))
        if cast["requester_sf_id"] and cast["account_id"]:
            _win_a_deal(sandbox, cast)
        sh("sync")
        _tour(sh, sandbox, cast, Path(tmp))
        if serve:
            serve_web(config, cast, port, console)
    console.print(f"\n[green]demo done in {time.monotonic() - started:.1f} s[/]")


def _intro_flow(sh: Shell, cast: dict[str, Any]) -> None:
    app = App(sh.config)
    try:
        with app.sessions() as session:
            intro_id = session.scalars(select(func.max(m.Intro.id))).one()
    finally:
        app.close()
    if intro_id is None:
        return
    sh(
        "intro",
        "approve",
        str(intro_id),
        "--as",
        cast["broker"],
        "--reason",
        "happy to help",
    )
    sh("intro", "made", str(intro_id), "--as", cast["broker"])


def _overlay_summary(config: Path) -> None:
    app = App(config)
    try:
        with app.sessions() as session:
            links = dict(
                session.execute(
                    select(m.SourceLink.source, func.count())
                    .where(m.SourceLink.deleted_at.is_(None))
                    .group_by(m.SourceLink.source)
                ).all()
            )
            people = session.scalar(select(func.count()).select_from(m.Person))
            rels = session.scalar(select(func.count()).select_from(m.Relationship))
    finally:
        app.close()
    console.print(
        f"the overlay holds {people} people and {rels} relationships, from "
        + ", ".join(f"{n} {source} records" for source, n in sorted(links.items())),
        soft_wrap=True,
    )


def _tour(sh: Shell, sandbox: Any, cast: dict[str, Any], tmp: Path) -> None:
    console.print(Rule("The tour"))
    _overlay_summary(sh.config)
    sh("who-knows", cast["org"], "--as", cast["requester"])
    sh("plan", "show", cast["org"], "--as", cast["requester"])
    svg = tmp / "plan.svg"
    with svg.open("w") as fh, contextlib.redirect_stdout(fh):
        sh.quiet("plan", "show", cast["org"], "--format", "svg", "--as", cast["requester"])
    keep = Path.cwd() / "carnet-demo-plan.svg"
    keep.write_bytes(svg.read_bytes())
    console.print(f"\nthe account map (SVG): {keep}")
    sh("credits")
    console.print(Rule("Every API call the demo made, per CRM"))
    for crm, calls in _calls(sandbox).items():
        writes = sum(n for route, n in calls.items() if not route.startswith("GET "))
        console.print(f"{crm}: {sum(calls.values())} calls, {writes} of them not reads")
