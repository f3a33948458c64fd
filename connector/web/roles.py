"""Who is an admin or a manager: the config's `web.admins` / `web.managers` (emails, and
`group:NAME` for the groups a sign-in brings) and, with `web.managers: [crm]`, the CRM's user
hierarchy. Sign-in, API tokens and the admin's member list all ask here, so they agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from connector.core.web_config import Web
from connector.governance.hierarchy import has_reports
from connector.store.models import Member


def named_roles(web: Web, email: str, groups: Iterable[str] = ()) -> set[str]:
    """The roles the config names for this email or one of these groups."""
    held = {email.strip().lower()} | {f"group:{g}" for g in groups}
    return {role for role, named in (("admin", web.admins), ("manager", web.managers))
            if held & set(named)}  # fmt: skip


def roles_for(session: Session, web: Web, member: Member, groups: Iterable[str] = ()) -> set[str]:
    """The member's roles: named by the config, or a manager through the CRM's hierarchy (an
    active direct report) when `web.managers` holds "crm"."""
    roles = named_roles(web, member.email, groups)
    if "manager" not in roles and web.managers_from_crm and has_reports(session, member.id):
        roles.add("manager")
    return roles
