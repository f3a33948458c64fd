"""The admin's services on the web: the mapping files of the enabled sources (read, checked as
`carnet mappings check [--online]` checks them, saved atomically with an audit event), and the
members with their roles. Pages and the API both call these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from connector.core.config import Config, SourceBase
from connector.core.errors import MappingError, UsageError
from connector.core.web_config import Web
from connector.governance.audit import record
from connector.governance.hierarchy import hierarchy_managers
from connector.store.models import Member, utcnow
from connector.store.models_web import WebSession
from connector.web.roles import named_roles
from mappings.edit import check_text, check_text_online, read_current, save_text
from mappings.loader import mapping_path

MAX_MEMBERS = 500


def mapping_files(config: Config) -> list[dict[str, Any]]:
    """Each enabled source's mapping: where, and whether it can be edited here (a file the
    config names; the files shipped inside Carnet are replaced by upgrades, so not those)."""
    return [
        {
            "source": name,
            "path": str(mapping_path(name, settings.mapping)),
            "editable": settings.mapping is not None,
        }
        for name, settings in config.sources.enabled().items()
    ]


def _source(config: Config, source: str) -> tuple[SourceBase, Path, bool]:
    enabled = config.sources.enabled()
    if source not in enabled:
        raise UsageError(f"{source!r} is not an enabled source ({', '.join(enabled) or 'none'})")
    settings = enabled[source]
    return settings, mapping_path(source, settings.mapping), settings.mapping is not None


def open_mapping(config: Config, source: str) -> dict[str, Any]:
    """The file as it is on disk, and the sha256 the editor sends back when it saves."""
    _, path, editable = _source(config, source)
    data, sha = read_current(path)
    text = data.decode("utf-8", errors="replace") if data is not None else ""
    return {"source": source, "path": str(path), "editable": editable, "text": text, "sha256": sha}


def problems_json(exc: MappingError) -> list[dict[str, Any]]:
    return [{"line": p.line, "key": p.key, "message": p.message, "text": str(p)}
            for p in exc.problems]  # fmt: skip


def check_mapping(config: Config, source: str, text: str, online: bool) -> dict[str, Any]:
    """{"valid": True, summary...} or {"valid": False, "problems": [...]} (line, key, message),
    the checks and messages of `carnet mappings check [--online]`."""
    settings, path, _ = _source(config, source)
    try:
        if online:
            summary = check_text_online(path, source, text, settings)
        else:
            summary = check_text(path, source, text)
    except MappingError as exc:
        return {"valid": False, "source": source, "online": online, "problems": problems_json(exc)}
    return {"valid": True, "problems": [], **summary}


def save_mapping(
    session: Session, config: Config, admin: Member, source: str, text: str, base: str | None
) -> dict[str, Any]:
    """Check and save (a MappingError when the text has problems: nothing is written), keep the
    previous version, and audit `mappings.saved`."""
    _, path, editable = _source(config, source)
    if not editable:
        raise UsageError(
            f"{path} is the mapping shipped with Carnet: copy it beside your config, name it as "
            f"sources.{source}.mapping, restart `carnet serve`, then edit it here"
        )
    saved = save_text(path, source, text, base or None)
    details = {
        "path": str(saved.path),
        "previous": str(saved.previous) if saved.previous else None,
        "sha256": saved.sha256,
        "was": saved.was,
    }
    record(session, admin.id, "mappings.saved", "mapping", source, details)
    return {"source": source, **details}


def members_and_roles(session: Session, web: Web, q: str = "") -> dict[str, Any]:
    """Members (filtered by `q` in name, email or team), each with the roles the config gives
    their email and the roles of their current sign-in (which also count group: entries)."""
    query = select(Member).order_by(Member.active.desc(), Member.name, Member.email)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Member.email).like(like),
                func.lower(Member.name).like(like),
                func.lower(Member.team).like(like),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    members = list(session.scalars(query.limit(MAX_MEMBERS)))
    signed_in = _current_roles(session, [m.id for m in members])
    leads = {m.id for m in hierarchy_managers(session)} if web.managers_from_crm else set()
    return {
        "rules": {"admins": list(web.admins), "managers": list(web.managers)},
        "total": total,
        "members": [_member_json(m, web, signed_in.get(m.id), m.id in leads) for m in members],
    }


def _current_roles(session: Session, ids: list[int]) -> dict[int, list[str]]:
    q = (
        select(WebSession.member_id, WebSession.roles)
        .where(WebSession.member_id.in_(ids), WebSession.expires_at > utcnow())
        .order_by(WebSession.created_at)
    )
    return {mid: [r for r in roles.split(",") if r] for mid, roles in session.execute(q)}


def _member_json(m: Member, web: Web, current: list[str] | None, lead: bool) -> dict[str, Any]:
    """`lead`: a manager through the CRM's hierarchy (connector.web.roles says the same)."""
    named = named_roles(web, m.email)
    roles = [r for r in ("admin", "manager") if r in named or (r == "manager" and lead)]
    return {
        "email": m.email,
        "name": m.name,
        "team": m.team,
        "active": m.active,
        "roles": roles or ["rep"],
        "signed_in_as": current,
    }
