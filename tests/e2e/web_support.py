"""For the web tests: a store with a few members of the sandbox's world (so they can sign in at
the OIDC stand-in), a config whose `web:` section points at the stand-in, the app served by
uvicorn in a thread, and a sign-in helper for clients that are not a browser.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import uvicorn
from ruamel.yaml import YAML
from sqlalchemy.orm import Session

from connector.store.app import App
from connector.store.db import make_engine, session_factory
from connector.store.migrate import upgrade
from connector.web.app import create_app
from sandbox.runner import Sandbox
from tests import governance_world as w


@dataclass
class WebWorld:
    config: Path
    base_url: str
    a: str  # rep A's email
    b: str  # rep B's email
    admin: str
    x: str  # a person A knows, to be made private
    y: str  # a person A knows, to be made discoverable
    rel_x: int
    rel_y: int
    names: dict[str, str]  # member email -> name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_web_config(
    folder: Path, sandbox: Sandbox, db_url: str, base_url: str, admins: list[str], **web: Any
) -> Path:
    yaml = YAML()
    doc = yaml.load(sandbox.config_file.read_text(encoding="utf-8"))
    oidc = dict(doc["web"]["oidc"])
    oidc["client_secret_file"] = str(sandbox.config_file.parent / oidc["client_secret_file"])
    oidc["ca_file"] = str(sandbox.ca_file)
    config = {
        "version": 1,
        "database_url": db_url,
        "sharing": {"default": "discoverable", "scope": "company"},
        "web": {"oidc": oidc, "base_url": base_url, "admins": admins, **web},
    }
    path = folder / "config.yaml"
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(config, out)
    return path


def fill_store(s: Session, sandbox: Sandbox) -> dict[str, Any]:
    """Rep A, rep B, an admin (world members with a mailbox); A knows X and Y, both shared."""
    people = [m for m in sandbox.world.members if m.has_mailbox and m.active][:3]
    made = [
        w.member(s, m.email, "emea", f"{m.first_name} {m.last_name}") for m in people
    ]  # fmt: skip
    org = w.org(s, "Initech Web", ("initech-web.example",))
    x = w.person(s, "xavier.secret@initech-web.example", org, "Xavier Secretus", "CFO")
    y = w.person(s, "yvonne.open@initech-web.example", org, "Yvonne Openshaw", "CTO")
    rx = w.rel(s, made[0], x, rating=5, share="shared", notes="x private notes")
    ry = w.rel(s, made[0], y, rating=4, share="shared", notes="y notes")
    w.rel(s, made[1], y, rating=1, share="discoverable")
    s.commit()
    return {
        "a": made[0].email,
        "b": made[1].email,
        "admin": made[2].email,
        "rel_x": rx.id,
        "rel_y": ry.id,
        "names": {m.email: m.name for m in made},
    }


def make_world(
    folder: Path, sandbox: Sandbox, db_url: str, port: int | None = None, **web: Any
) -> WebWorld:
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with session_factory(engine)() as s:
            made = fill_store(s, sandbox)
    finally:
        engine.dispose()
    base = f"http://127.0.0.1:{port or free_port()}"
    config = write_web_config(folder, sandbox, db_url, base, [made["admin"]], **web)
    return WebWorld(
        config,
        base,
        made["a"],
        made["b"],
        made["admin"],
        "xavier.secret@initech-web.example",
        "yvonne.open@initech-web.example",
        made["rel_x"],
        made["rel_y"],
        made["names"],
    )


@contextmanager
def served(config: Path, base_url: str) -> Iterator[App]:
    """The app on uvicorn in a thread, on the port of `base_url`, until the block ends."""
    carnet = App(config)
    app = create_app(carnet)
    port = urlsplit(base_url).port
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the web app did not start"
    try:
        yield carnet
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        carnet.close()


class Client(requests.Session):
    """A non-browser client of the served app: paths relative to its address, no proxies, and
    redirects followed only when asked (`follow_redirects=True`)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url, self.trust_env = base_url, False

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        kwargs["allow_redirects"] = kwargs.pop("follow_redirects", False)
        kwargs.setdefault("timeout", 60)
        full = url if str(url).startswith("http") else self.base_url + str(url)
        return super().request(method, full, *args, **kwargs)


def stand_in(sandbox: Sandbox) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_file)
    return session


def sign_in(client: Any, sandbox: Sandbox, email: str, next_path: str = "/network") -> Any:
    """Through the real flow: /auth/start, the stand-in's choose page (posted as the browser
    would), then the callback; returns the app's answer to the callback."""
    start = client.get("/auth/start", params={"next": next_path}, follow_redirects=False)
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    form = dict(parse_qsl(urlsplit(authorize).query))
    with stand_in(sandbox) as idp:
        chosen = idp.post(
            authorize.split("?", 1)[0], data={**form, "user": email}, allow_redirects=False
        )
    assert chosen.status_code == 302, chosen.text
    back = urlsplit(chosen.headers["Location"])
    return client.get(f"{back.path}?{back.query}", follow_redirects=False)
