"""Account-plan notes for the CRMs: one per planned account per CRM, drawn for the CRM audience
(the one visibility rule), kept in the outbox as title, text and escaped HTML.

The note itself carries a marker (`[carnet:plan:<account id>]`) so a push can find the note it
already made before making another: see push_notes below and docs/writeback.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from functools import cache
from html import escape
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.core.config import Sharing, SourceBase
from connector.core.protocols import NoteWriter
from connector.core.records import Outcome, PlanNote, WriteResult, plan_marker
from connector.governance.viewers import CRM_AUDIENCE
from connector.plans.plan import build_plan
from connector.plans.render import to_markdown
from connector.store.models import Org, Outbox, SourceLink
from connector.store.models_plans import AccountPlan
from connector.writeback.desired import Desired, live_links
from connector.writeback.outbox import PushRun, record, send
from mappings.schema import Mapping

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

PLAN = "plan"  # the outbox field set of a plan note
NOTE_OBJECTS = {"salesforce": "Note", "hubspot": "notes"}
TITLE_MAX = 60  # of the text after the marker (Salesforce Note.Title holds 80)


def account_object(mapping: Mapping) -> str | None:
    """The CRM object of the mapping whose records are orgs (Account, companies)."""
    return next((name for name, om in mapping.objects.items() if om.kind == "org"), None)


def desired_notes(
    session: Session, source: str, mapping: Mapping, sharing: Sharing
) -> Iterator[Desired]:
    """A plan note per account with a plan and a live link to this source."""
    note_object, accounts = NOTE_OBJECTS.get(source), account_object(mapping)
    if note_object is None or accounts is None:
        return
    planned = select(AccountPlan.org_id)
    q = live_links(source, accounts, "org").where(SourceLink.entity_id.in_(planned))
    for org_id, external_id in session.execute(q.order_by(SourceLink.external_id)):
        org = session.get(Org, org_id)
        if org is None or org.deleted_at is not None or org.merged_into_id is not None:
            continue
        doc, _ = build_plan(session, org, CRM_AUDIENCE, sharing)
        yield Desired(note_object, external_id, PLAN, note_values(doc, external_id))


def note_values(doc: dict[str, object], parent: str) -> dict[str, str]:
    """title (plain text), text (Salesforce body: the Markdown, its syntax escaped in every CRM
    and user text, nothing HTML-escaped) and html (HubSpot body, made from that Markdown)."""
    org = doc["org"]
    name = str(org["name"]) if isinstance(org, dict) else ""
    text = to_markdown(doc)
    marker = plan_marker(parent)
    return {
        "title": f"Account plan: {name}"[:TITLE_MAX],
        "text": f"{marker}\n\n{text}",
        "html": f"<p><strong>{escape(marker)}</strong></p>" + note_html(text),
    }


@cache
def _parser() -> MarkdownIt:
    """A line's inline Markdown as HTML (bold, emphasis, escapes undone, every text
    HTML-escaped); raw HTML is never passed through. Made at the first note drawn: markdown-it
    is 25-40 ms of the imports of every sync, most of which draw no note."""
    from markdown_it import MarkdownIt  # lazy: start-up

    return MarkdownIt("commonmark", {"html": False})


def _inline(markdown: str) -> str:
    return _parser().renderInline(markdown)


def note_html(markdown: str) -> str:
    """The plan's Markdown (every CRM and user text in it Markdown-escaped by the renderer) as
    the simple HTML a CRM note shows: headings as <strong>, list items and table rows as
    paragraphs; the inline part of each line rendered by markdown-it."""
    out = []
    for line in markdown.splitlines():
        bare = line.strip()
        if not bare or set(bare) <= set("|-"):
            continue
        if bare.startswith("#"):
            out.append(f"<p><strong>{_inline(bare.lstrip('#').strip())}</strong></p>")
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        if bare.startswith("- "):
            html = "&nbsp;&nbsp;" * depth + "&bull; " + _inline(bare[2:])
        elif bare.startswith("|"):  # a text's own `|` is escaped: the cells part at " | "
            html = " &middot; ".join(_inline(c.strip()) for c in bare.strip("|").split(" | "))
        else:
            html = _inline(bare)
        out.append(f"<p>{html}</p>")
    return "".join(out)


# -- pushing them ---------------------------------------------------------------------------------


def push_notes(
    session: Session,
    adapter: NoteWriter,
    settings: SourceBase | None,
    rows: list[Outbox],
    run: PushRun,
    now: datetime,
) -> None:
    """Create or update each due plan note, exactly once per account: a note whose id is not
    known yet is first looked for by its marker (it may have been made by a push that died before
    its commit), and only created when none is found."""
    adopt(session, adapter, [r for r in rows if not r.desired.get("ref")])

    def write(chunk: list[Outbox]) -> list[WriteResult]:
        return adapter.push_notes([plan_note(r) for r in chunk])

    send(session, adapter, settings, rows, run, now, write, take_note)


def take_note(row: Outbox, result: WriteResult, run: PushRun, now: datetime) -> None:
    """One plan note's result on its row. A note deleted in the CRM is forgotten: the next push
    looks for it again, then makes a new one. A creation that may have been applied is retried:
    the next attempt looks for the note by its marker before making one."""
    if result.outcome is Outcome.GONE and row.desired.get("ref"):
        row.desired = {**row.desired, "ref": None}
        row.status, row.next_attempt_at, row.last_error = "pending", None, result.error
    elif result.outcome is Outcome.MAYBE_APPLIED:
        record(row, replace(result, outcome=Outcome.RETRY), run, now)
    else:
        record(row, result, run, now)


def adopt(session: Session, adapter: NoteWriter, rows: list[Outbox]) -> None:
    """Give rows the id of the note their account already carries (found by marker)."""
    if not rows:
        return
    found = adapter.find_plan_notes([r.external_id for r in rows])
    for row in rows:
        if row.external_id in found:
            row.desired = {**row.desired, "ref": found[row.external_id]}
    session.commit()


def plan_note(row: Outbox) -> PlanNote:
    values = row.desired["values"]
    return PlanNote(
        parent=row.external_id,
        note_id=row.desired.get("ref"),
        marker=plan_marker(row.external_id),
        title=values["title"],
        text=values["text"],
        html=values["html"],
        key=str(row.id),
    )
