"""The end of `carnet demo`: the web app on 127.0.0.1 (port 8000 unless --port), signed in through
the Entra stand-in, which keeps running with the other two, as three of the demo's people: a rep,
a manager of their team (who runs an open campaign asking for the rep's network), an admin. Until
Ctrl-C (or SIGTERM); then the demo ends as usual.
"""

from __future__ import annotations

import signal
import socket
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.rule import Rule
from ruamel.yaml import YAML
from sqlalchemy import func, select

from connector.core.errors import UsageError
from connector.store import models as m
from connector.store.app import App
from connector.store.models_campaigns import Campaign

HOST = "127.0.0.1"


def check_port(port: int) -> None:
    """Before the demo's work: the web app's port must be free, else a UsageError (exit 2)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise UsageError(
                f"--port {port}: cannot listen on {HOST}:{port} ({exc.strerror}); "
                "choose another with --port, or run with --no-serve"
            ) from None


def sign_in_as(config: Path, cast: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """role -> (email, name): members the stand-in can sign in (they have a mailbox). The rep is
    one of the demo's players (the broker first), the manager is of the rep's team."""
    carnet = App(config)
    try:
        with carnet.sessions() as session:
            people = list(
                session.scalars(
                    select(m.Member)
                    .where(m.Member.active.is_(True), m.Member.mailbox_id.is_not(None))
                    .order_by(m.Member.id)
                )
            )
    finally:
        carnet.close()
    if len(people) < 3:
        raise UsageError("the demo's world has fewer than three members who can sign in")
    by_email = {p.email: p for p in people}
    players = [cast[k] for k in ("broker", "requester", "private_holder") if cast.get(k)]
    rep = next((by_email[e] for e in players if e in by_email), people[0])
    others = [p for p in people if p.id != rep.id]
    manager = next((p for p in others if p.team and p.team == rep.team), others[0])
    admin = next(p for p in others if p.id != manager.id)
    return {r: (p.email, p.name) for r, p in (("rep", rep), ("manager", manager), ("admin", admin))}


def configure(config: Path, users: dict[str, tuple[str, str]], port: int) -> None:
    """The demo config's `web:` section: its address, the admin and the manager."""
    yaml = YAML()
    doc = yaml.load(config.read_text(encoding="utf-8"))
    doc["web"]["base_url"] = f"http://{HOST}:{port}"
    doc["web"]["admins"] = [users["admin"][0]]
    doc["web"]["managers"] = [users["manager"][0]]
    with config.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)


def serve_web(config: Path, cast: dict[str, Any], port: int, console: Console) -> None:
    """Serve the web app until Ctrl-C or SIGTERM; then return, so the demo cleans up."""
    import uvicorn  # lazy: start-up

    from connector.web.app import create_app  # lazy: start-up

    users = sign_in_as(config, cast)
    configure(config, users, port)
    carnet = App(config, serving=True)
    try:
        app = create_app(carnet)
        open_a_campaign(carnet, users["manager"][0])
        console.print(Rule("Carnet on the web"))
        console.print(f"Open http://{HOST}:{port} and sign in (the Entra stand-in asks who) as:")
        for role, (email, name) in users.items():
            console.print(f"  {role:8s} {name} <{email}>", markup=False)
        console.print("Ctrl-C stops the web app and the stand-ins.")
        _until_stopped(lambda: uvicorn.run(app, host=HOST, port=port, log_level="warning"))
    finally:
        carnet.close()


def open_a_campaign(carnet: App, manager: str) -> None:
    """An open campaign the manager runs, so the rep finds it asking for their network."""
    from connector.governance.campaigns import create_campaign, set_state  # lazy: start-up

    with carnet.sessions() as s, s.begin():
        owner = s.scalar(select(m.Member).where(m.Member.email == manager))
        if owner is None or s.scalar(select(func.count()).select_from(Campaign)):
            return
        made = create_campaign(
            s, owner, name="Customer dinner", capacity=12, criteria={"min_strength": 3},
            purpose="An evening with the customers who matter this quarter",
        )  # fmt: skip
        set_state(s, made["id"], owner, "open")


def _until_stopped(serve: Any) -> None:
    """uvicorn stops gracefully on SIGINT or SIGTERM, then raises the signal again: both end up
    here as KeyboardInterrupt, and the demo returns normally (exit 0)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        serve()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
