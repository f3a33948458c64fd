"""What every answer of the web app carries or checks: security headers, the CSRF token of a
state-changing request, a `next=` that stays on this site, a limit on sign-in callbacks shared by
every process through the store.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from connector.core.web_config import Web
from connector.store.db import transaction
from connector.store.models import utcnow
from connector.store.models_web import SignInAttempt

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def security_headers(web: Web) -> dict[str, str]:
    ancestors = " ".join(web.frame_ancestors) or "'none'"
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )
    headers = {
        "Content-Security-Policy": csp,
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if not web.frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    if web.secure_cookies:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


def safe_next(value: str | None) -> str:
    """A path on this site, or "/": never another host (`//evil`, `/\\evil`, `https://evil`)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(c in value for c in "\r\n\t\\"):
        return "/"
    return value


class SignInLimit:
    """At most `limit` sign-in callbacks per client address in any `window` seconds, counted in
    the store (table signin_attempt), so every `carnet serve` process and worker shares them.

    Each call is one short transaction: count the address's attempts in the window, refuse at
    the limit, else record this one. The count is exact under concurrency. On SQLite, writers
    take turns (BEGIN IMMEDIATE). On PostgreSQL, the transactions of one address take turns on a
    transaction-level advisory lock for that address (no other address waits, no table is
    locked): without it, two processes racing under READ COMMITTED could each count `limit - 1`
    and admit one extra attempt; with it, none. The window is read on each process's clock: hosts
    whose clocks differ by s seconds (keep them on NTP) disagree on its edge by s seconds.

    The address is stored only as an HMAC-SHA-256 hex digest keyed with a key derived from the
    OIDC client secret (which every process has): a plain SHA-256 of an IPv4 address is undone
    by trying all 2^32 of them. Once per window, each process sweeps every row older than the
    window (on PostgreSQL, one process at a time), so the table holds about one window of
    attempts.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        limit: int,
        secret: str,
        window: float = 60.0,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions, self.limit, self.window = sessions, limit, timedelta(seconds=window)
        self._key = hmac.new(secret.encode(), b"carnet sign-in limit", "sha256").digest()
        self._now = now
        self._swept: datetime | None = None  # this process's last sweep

    def digest(self, client: str) -> str:
        """The key an address is counted and stored under."""
        return hmac.new(self._key, client.encode(), "sha256").hexdigest()

    def allow(self, client: str) -> bool:
        """Whether this attempt is admitted; an admitted one is recorded."""
        key, now = self.digest(client), self._now()
        since = now - self.window
        with transaction(self.sessions) as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            if postgres:  # one address's transactions take turns from here to their commit
                session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id(key)})
            seen = session.scalar(
                select(func.count())
                .select_from(SignInAttempt)
                .where(SignInAttempt.key_hash == key, SignInAttempt.at > since)
            )
            allowed = (seen or 0) < self.limit
            if allowed:
                session.add(SignInAttempt(key_hash=key, at=now))
            if self._swept is None or now - self._swept >= self.window:
                _sweep(session, since, postgres)
                self._swept = now
        return allowed


LOCKS = 0x63617274  # "cart": the advisory locks of the sign-in limit, in their high 32 bits
SWEEP_LOCK = (LOCKS + 1) << 32


def lock_id(key: str) -> int:
    """The address's advisory lock (bigint): two addresses sharing one only wait for each other."""
    return (LOCKS << 32) | int(key[:8], 16)


def _sweep(session: Session, since: datetime, postgres: bool) -> None:
    """Delete every attempt older than the window; on PostgreSQL only when no other process is
    sweeping (the only deletes of this table then never wait for each other)."""
    if postgres and not session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": SWEEP_LOCK}
    ):
        return
    session.execute(delete(SignInAttempt).where(SignInAttempt.at <= since))
