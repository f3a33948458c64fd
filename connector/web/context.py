"""What every request handler shares: the Carnet `App`, the web settings, the sign-in client, and
who the request acts for (a browser session's cookie or an API token, never a parameter).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy import event
from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.web_config import Web
from connector.governance.audit import DEFERRED, record
from connector.store.app import App
from connector.store.db import transaction
from connector.store.models import AuditEvent, Member
from connector.web.security import SignInLimit
from connector.web.signin import OidcSignIn
from connector.web.tokens import Signed, find_session, find_token

HERE = Path(__file__).parent


@dataclass
class WebContext:
    carnet: App
    web: Web
    signin: OidcSignIn
    limiter: SignInLimit
    templates: Jinja2Templates = field(
        default_factory=lambda: Jinja2Templates(directory=str(HERE / "templates"))
    )

    @property
    def sharing(self) -> Sharing:
        return self.carnet.config.sharing

    @property
    def cookie(self) -> str:
        """`__Host-` binds the cookie to this host and path / (it needs Secure)."""
        return "__Host-carnet" if self.web.secure_cookies else "carnet_session"

    @contextmanager
    def tx(self) -> Iterator[Session]:
        with transaction(self.carnet.sessions) as session:
            yield session

    @contextmanager
    def read_tx(self) -> Iterator[Session]:
        """A page's transaction: it takes no write lock (on SQLite, pages wait neither for each
        other nor for a sync) and writes nothing but audit events, which are kept aside and
        written right after it in a short transaction of their own, before the page is
        answered: nothing is shown that is not audited."""
        events: list[AuditEvent] = []
        with self.carnet.read_sessions() as session:
            session.info[DEFERRED] = events
            event.listen(session, "before_flush", _reads_only)
            with session.begin():
                yield session
        if events:
            with self.tx() as session:
                session.add_all(events)

    def signed(self, request: Request, session: Session) -> Signed | None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return find_token(session, auth[7:].strip(), self.web)
        return find_session(session, request.cookies.get(self.cookie))

    def viewer(self, request: Request, session: Session) -> tuple[Signed, Member] | None:
        """Who signed in, as an active member; None when nobody (or no longer a member)."""
        signed = self.signed(request, session)
        if signed is None:
            return None
        member = session.get(Member, signed.member_id)
        if member is None or not member.active:
            return None
        return signed, member

    def refuse(self, member_id: int, action: str, subject: str, details: dict[str, Any]) -> None:
        """Audit a refused attempt, in a transaction of its own (the request's rolls back)."""
        with self.tx() as session:
            record(session, member_id, "web.forbidden", subject, None, {"tried": action, **details})


def _reads_only(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a page tried to write: pages read, forms (POST) write")


def context(request: Request) -> WebContext:
    ctx = request.app.state.ctx
    assert isinstance(ctx, WebContext)
    return ctx
