"""The web's invitation campaigns: the same service functions as `carnet campaign ...`, with the
signed-in member as the reader or the actor. Pages and the API both call these. Who may run a
campaign comes from the sign-in's roles (manager or admin); "only the owner may ..." (the
service's NotYours) becomes `Forbidden`, which the caller answers 403 and audits.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from connector.core.config import Sharing
from connector.core.errors import UsageError
from connector.governance import campaigns as svc
from connector.store.models import Member
from connector.web.services import Forbidden
from connector.web.tokens import Signed

TARGETS = ("open", "closed", "done")
ROW_MAX = 2**31 - 1  # the store's integer ids (PostgreSQL's are 32-bit)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def may_own(signed: Signed) -> bool:
    """Managers and admins run campaigns (the CLI's rule, with the sign-in's roles)."""
    return signed.admin or "manager" in signed.roles


@contextmanager
def owner_only() -> Iterator[None]:
    """The service's "only the owner may ..." as the web's Forbidden (403, audited)."""
    try:
        yield
    except svc.NotYours as exc:
        raise Forbidden(str(exc)) from exc


def row_id(value: int, what: str) -> int:
    """An id from a page's URL: one the store can hold, else the service's "no such" answer."""
    if not 0 < value <= ROW_MAX:
        raise UsageError(f"no {what} #{value}")
    return value


def text(value: str | None, label: str) -> str | None:
    """A form's text, stripped; None when empty (a NUL never gets here: the app refuses it)."""
    return (value or "").strip() or None


def parse_date(value: str | None, label: str) -> date | None:
    found = text(value, label)
    if found is None:
        return None
    try:
        if _DATE.fullmatch(found):  # fromisoformat alone also takes 20270604 and 2027-W23
            return date.fromisoformat(found)
    except ValueError:
        pass
    raise UsageError(f"{label} {found!r}: expected a date as YYYY-MM-DD, such as 2027-06-04")


def parse_capacity(value: str) -> int:
    found = text(value, "capacity") or ""
    if not found.isdigit() or not 0 < int(found) <= 100_000:
        raise UsageError(f"capacity {found!r}: how many guests, a whole number from 1")
    return int(found)


def criteria_of(orgs: str, levels: list[str], countries: str, min_strength: str) -> dict[str, Any]:
    """The target criteria from the form: comma-separated lists, the levels ticked, a minimum
    strength (the service checks and normalises the values)."""
    words = {
        key: [w.strip() for w in (text(raw, key) or "").split(",") if w.strip()]
        for key, raw in (("orgs", orgs), ("countries", countries))
    }
    strength = text(min_strength, "minimum strength")
    return {
        "orgs": words["orgs"],
        "levels": [text(v, "level") or "" for v in levels],
        "countries": words["countries"],
        "min_strength": int(strength) if strength and strength.isdigit() else strength,
    }


def create(session: Session, me: Member, signed: Signed, fields: dict[str, Any]) -> dict[str, Any]:
    """`carnet campaign create` as the signed-in member: a manager's or an admin's."""
    with owner_only():
        return svc.create_campaign(session, me, may_own=may_own(signed), **fields)


def move(
    session: Session, me: Member, signed: Signed, campaign_id: int, target: str
) -> dict[str, Any]:
    """Open, close or mark done: the owner's, or an admin's (as the spec lets them)."""
    if target not in TARGETS:
        raise UsageError(f"a campaign moves to open, closed or done, not {target!r}")
    with owner_only():
        return svc.set_state(
            session, row_id(campaign_id, "campaign"), me, target, admin=signed.admin
        )


def decide(
    session: Session,
    me: Member,
    ids: tuple[int, int],
    accept: bool,
    reason: str | None,
    sharing: Sharing,
) -> dict[str, Any]:
    """Accept or decline nomination `ids[1]` of campaign `ids[0]`: the owner's."""
    campaign_id, nomination_id = row_id(ids[0], "campaign"), row_id(ids[1], "nomination")
    with owner_only():
        return svc.decide(session, campaign_id, nomination_id, me, accept, reason, sharing)


def nominate(
    session: Session,
    me: Member,
    campaign_id: int,
    person_email: str,
    note: str | None,
    sharing: Sharing,
) -> dict[str, Any]:
    email = text(person_email, "email") or ""
    with owner_only():
        return svc.nominate(session, row_id(campaign_id, "campaign"), me, email, sharing, note)


def withdraw(session: Session, me: Member, campaign_id: int, person_email: str) -> dict[str, Any]:
    email = text(person_email, "email") or ""
    with owner_only():
        return svc.withdraw(session, row_id(campaign_id, "campaign"), me, email)


def show(session: Session, me: Member, campaign_id: int, sharing: Sharing) -> dict[str, Any]:
    return svc.show_campaign(session, row_id(campaign_id, "campaign"), me, sharing)


def listing(session: Session, me: Member, sharing: Sharing) -> list[dict[str, Any]]:
    return svc.list_campaigns(session, me, sharing)
