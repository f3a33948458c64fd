"""Signed-in sessions and API tokens in the store: the secret goes to the browser or the script,
the store keeps its SHA-256 only, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.core.errors import UsageError
from connector.core.web_config import Web
from connector.governance.audit import record
from connector.governance.relationships import member_by_email
from connector.store.models import Member, utcnow
from connector.store.models_web import ApiToken, WebSession
from connector.web.roles import roles_for


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Signed:
    """Who a request acts for: the member, their roles, and the CSRF secret of a browser session
    (None for an API token, whose requests carry no cookie and so need no CSRF check)."""

    member_id: int
    roles: frozenset[str]
    csrf: str | None

    @property
    def admin(self) -> bool:
        return "admin" in self.roles


def open_session(session: Session, member: Member, roles: set[str], hours: float) -> str:
    """A new browser session for `member`; returns the cookie's value (shown once)."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    session.add(
        WebSession(
            id_hash=digest(raw),
            member_id=member.id,
            csrf_secret=secrets.token_urlsafe(32),
            roles=",".join(sorted(roles)),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    record(session, member.id, "web.signed_in", "member", member.id, {"roles": sorted(roles)})
    return raw


def find_session(session: Session, raw: str | None, now: datetime | None = None) -> Signed | None:
    if not raw:
        return None
    row = session.get(WebSession, digest(raw))
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    roles = frozenset(r for r in row.roles.split(",") if r)
    return Signed(row.member_id, roles, row.csrf_secret)


def close_session(session: Session, raw: str | None) -> None:
    if raw:
        session.execute(delete(WebSession).where(WebSession.id_hash == digest(raw)))


def issue_token(session: Session, admin_id: int, member_email: str, label: str) -> dict[str, Any]:
    """An admin issues a token acting as `member_email`; the token is in the answer only."""
    if not label.strip():
        raise UsageError("a token needs a label saying what uses it")
    member = member_by_email(session, member_email)
    raw = "carnet_" + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=digest(raw),
        member_id=member.id,
        label=label.strip()[:200],
        created_by_id=admin_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    record(session, admin_id, "web.token_issued", "api_token", row.id, {"member_id": member.id})
    return {**token_json(row, member), "token": raw}


def revoke_token(session: Session, admin_id: int, token_id: int) -> dict[str, Any]:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise UsageError(f"no API token #{token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(session, admin_id, "web.token_revoked", "api_token", row.id, {})
    member = session.get(Member, row.member_id)
    assert member is not None
    return token_json(row, member)


def list_tokens(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ApiToken, Member).join(Member, Member.id == ApiToken.member_id).order_by(ApiToken.id)
    ).all()
    return [token_json(t, m) for t, m in rows]


def token_json(row: ApiToken, member: Member) -> dict[str, Any]:
    return {
        "id": row.id,
        "label": row.label,
        "member": member.email,
        "created_at": row.created_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


def find_token(session: Session, raw: str, web: Web) -> Signed | None:
    """The token's member, with the roles a sign-in would give them (a token carries no groups:
    `group:NAME` entries match nobody here)."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
    if row is None or row.revoked_at is not None:
        return None
    member = session.get(Member, row.member_id)
    if member is None or not member.active:
        return None
    return Signed(member.id, frozenset(roles_for(session, web, member)), None)
