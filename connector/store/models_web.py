"""The web app's tables: signed-in sessions and API tokens, each stored only as a hash, and the
recent sign-in attempts per client, the address kept only as a keyed digest.

They sit on models.Base's metadata like every other table (migrations/env.py imports this module).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from connector.store.models import Base, utcnow


class WebSession(Base):
    """A browser's sign-in: the cookie holds the id, the store its SHA-256 only."""

    __tablename__ = "web_session"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    csrf_secret: Mapped[str] = mapped_column(String(64))
    roles: Mapped[str] = mapped_column(String(100), default="")  # "admin,manager", from sign-in
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ApiToken(Base):
    """A script's bearer token, issued by an admin for one member; revocable."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class SignInAttempt(Base):
    """A sign-in callback a client made: every `carnet serve` process counts them per key
    (connector/web/security.py); rows older than the limit's window are swept away."""

    __tablename__ = "signin_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))  # HMAC-SHA-256 of the client address
    at: Mapped[datetime]
    __table_args__ = (Index("ix_signin_attempt_key_at", "key_hash", "at"),)
