"""Pulling every contact of every folder of every mailbox through Graph's contact delta, with the
cursor {mailbox user id: {folder id: deltaLink}}: incremental rounds, and the full pass of a 410.

Folders: `GET /users/{id}/contactFolders` lists the folders *under* the default Contacts folder
(each carries the default folder's id as `parentFolderId`), `.../childFolders` the ones below
those; the default folder's own id comes from that `parentFolderId`, else from the
`parentFolderId` of a contact of `GET /users/{id}/contacts`, else from the cursor (a folder the
cursor knows that discovery does not find is followed anyway: a 404 then says it is gone).
An incremental pass lists the children of new folders only (a folder made inside a folder the
cursor already knows is found by the next full pass), so a quiet mailbox costs one folder list
plus one delta call per folder. Delta is only served (and documented) per folder:
`.../contactFolders/{fid}/contacts/delta`.

Incremental pass: each folder's round starts from its deltaLink; a Page follows every delta page
that holds records, its cursor the links so far (a folder being paged through keeps its previous
deltaLink, so a crash re-reads that folder). `@removed` items are checked with
`GET /users/{id}/contacts/{cid}`: still in one of the mailbox's contact folders means it moved
there (yielded live), otherwise it is yielded deleted.

Full pass (asked for, first pull, or forced): every folder from a fresh round, every Page
`full=True`, and no cursor until the last (done) Page, which carries all the new links. A pass
is forced when an incremental pass cannot go on: a 410 (expired sync state), a folder of the
cursor that is gone (404), or a mailbox of the cursor that is no longer read. Contacts deleted
while the sync state was lost never come as `@removed`; only a full pass finds them (ingest
tombstones the links of (exchange, contacts) a full pass did not see), so the whole object is
read again, and the old cursor is kept until the end: a crash before it makes the next pull meet
the same 410 and start the full pass again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from adapters.exchange.graph import GraphClient, NotFound, SyncStateGone
from connector.core.errors import FatalError
from connector.core.http import check_pagination
from connector.core.records import ObjectSpec, Page, RawRecord

log = logging.getLogger(__name__)

Cursor = dict[str, dict[str, str]]  # mailbox user id -> folder id -> deltaLink
ROUND_RESTARTS = 3  # a fresh round whose nextLink expires is started again this many times


# -- the cursor, as plain data ------------------------------------------------------------------
def load_cursor(text: str | None) -> Cursor | None:
    """The cursor's links; None when there is none or it is not one of ours (then: full pass)."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    out: Cursor = {}
    for mailbox, folders in data.items():
        if not isinstance(folders, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in folders.items()
        ):
            return None
        out[str(mailbox)] = dict(folders)
    return out


def dump_cursor(cursor: Cursor) -> str:
    return json.dumps(
        {m: dict(sorted(f.items())) for m, f in sorted(cursor.items()) if f},
        separators=(",", ":"),
    )


def contact_select(spec: ObjectSpec) -> str:
    """$select of the first delta call: the mapped fields (not `_` pseudo-fields), plus what the
    adapter itself reads."""
    names = ["lastModifiedDateTime", "parentFolderId"]
    names += [f for f in spec.fields if not f.startswith("_") and f not in names and f != "id"]
    return ",".join(names)


def _modstamp(item: dict[str, Any]) -> datetime | None:
    raw = item.get("lastModifiedDateTime")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def contact_record(item: dict[str, Any], mailbox: str) -> RawRecord:
    fields = {k: v for k, v in item.items() if not k.startswith("@")}
    return RawRecord(id=str(item["id"]), fields=fields, modstamp=_modstamp(item), container=mailbox)


class _Restart(Exception):
    """An incremental pass cannot go on; a full pass must follow."""


@dataclass
class _Mailbox:
    id: str
    folders: list[str] = field(default_factory=list)


class ContactsPull:
    """One pull of the contacts object over the given mailboxes (user ids, in order)."""

    def __init__(
        self,
        graph: GraphClient,
        mailboxes: list[str],
        spec: ObjectSpec,
        page_size: int,
    ):
        self.graph = graph
        self.mailboxes = [_Mailbox(m) for m in mailboxes]
        self.select = contact_select(spec)
        self.prefer = f"odata.maxpagesize={page_size}"
        # mailbox -> (whether every folder's children were listed, the folders found)
        self._discovered: dict[str, tuple[bool, list[str]]] = {}
        self._followed: dict[str, set[str]] = {}  # mailbox -> every folder this pull follows

    def run(self, cursor: str | None, full: bool) -> Iterator[Page]:
        old = load_cursor(cursor)
        if cursor and old is None:
            log.warning("exchange: the contacts cursor is not readable; starting a full pass")
        if not full and old is not None:
            gone = sorted(set(old) - {m.id for m in self.mailboxes})
            if not gone:
                try:
                    yield from self._incremental(old)
                    return
                except _Restart as why:
                    log.warning("exchange contacts: %s; starting a full pass", why)
            else:
                log.warning(
                    "exchange contacts: %d mailbox(es) of the cursor are no longer read; "
                    "starting a full pass",
                    len(gone),
                )
        yield from self._full(old or {})

    # -- the two passes ---------------------------------------------------------------------------
    def _incremental(self, old: Cursor) -> Iterator[Page]:
        state: Cursor = {m: dict(f) for m, f in old.items()}
        for mb in self.mailboxes:
            known = list(old.get(mb.id, {}))
            for folder in self._folders(mb.id, known, complete=False):
                link = old.get(mb.id, {}).get(folder)
                try:
                    for records, delta_link in self._round(mb.id, folder, link):
                        if delta_link:
                            state.setdefault(mb.id, {})[folder] = delta_link
                        if records:
                            yield Page(records, dump_cursor(state))
                except SyncStateGone as exc:
                    raise _Restart(f"the delta of a folder answered 410 {exc.code}") from None
                except NotFound as exc:
                    raise _Restart(f"a folder of the cursor is gone ({exc.code})") from None
        yield Page([], dump_cursor(state), done=True)

    def _full(self, old: Cursor) -> Iterator[Page]:
        state: Cursor = {}
        for mb in self.mailboxes:
            for folder in self._folders(mb.id, list(old.get(mb.id, {})), complete=True):
                for attempt in range(ROUND_RESTARTS + 1):
                    try:
                        for records, delta_link in self._round(mb.id, folder, None):
                            if delta_link:
                                state.setdefault(mb.id, {})[folder] = delta_link
                            if records:
                                yield Page(records, None, full=True)
                        break
                    except SyncStateGone:
                        if attempt == ROUND_RESTARTS:
                            raise
                        log.info("exchange contacts: a fresh delta round expired; restarting it")
                    except NotFound:
                        log.info("exchange contacts: a folder went away during the pull")
                        break
        yield Page([], dump_cursor(state), full=True, done=True)

    # -- one folder's delta round -----------------------------------------------------------------
    def _round(
        self, mailbox: str, folder: str, link: str | None
    ) -> Iterator[tuple[list[RawRecord], str | None]]:
        """(records, deltaLink or None) per delta page; the deltaLink comes with the last page."""
        url = link or (
            f"v1.0/users/{quote(mailbox)}/contactFolders/{quote(folder, safe='')}/contacts/delta"
        )
        params = None if link else {"$select": self.select}
        seen: set[Any] = set()
        while True:
            body = self.graph.get(url, params, self.prefer, listing=True)
            yield self._records(mailbox, body.get("value") or []), body.get("@odata.deltaLink")
            if body.get("@odata.deltaLink"):
                return
            next_link = body.get("@odata.nextLink")
            if not next_link:
                raise FatalError("a Graph delta page has neither a nextLink nor a deltaLink")
            check_pagination(seen, next_link)
            url, params = next_link, None

    def _records(self, mailbox: str, items: list[dict[str, Any]]) -> list[RawRecord]:
        """One page's records, each id once (the last state of it in the page)."""
        by_id: dict[str, dict[str, Any]] = {}
        for item in items:
            if isinstance(item, dict) and item.get("id"):
                by_id.pop(str(item["id"]), None)
                by_id[str(item["id"])] = item
        out = []
        for cid, item in by_id.items():
            if "@removed" in item:
                out.append(self._removed(mailbox, cid))
            else:
                out.append(contact_record(item, mailbox))
        return out

    def _removed(self, mailbox: str, contact_id: str) -> RawRecord:
        """A contact gone from a folder: moved to another contact folder (live), or deleted."""
        try:
            item = self.graph.get(
                f"v1.0/users/{quote(mailbox)}/contacts/{quote(contact_id, safe='')}",
                {"$select": self.select},
                keys=("id",),
            )
        except NotFound:
            item = None
        if item is not None and item.get("parentFolderId") in self._followed.get(mailbox, set()):
            return contact_record(item, mailbox)
        return RawRecord(id=contact_id, fields={}, deleted=True, container=mailbox)

    # -- folders ----------------------------------------------------------------------------------
    def _folders(self, mailbox: str, known: list[str], complete: bool) -> list[str]:
        """The mailbox's contact folders (default first), plus folders only the cursor knows
        (the default one when nothing else names it, or folders since deleted: their delta
        answers 404). Not `complete` (incremental): the children of folders the cursor knows are
        not listed again, so a folder made inside one of them waits for the next full pass."""
        cached = self._discovered.get(mailbox)
        if cached is None or (complete and not cached[0]):
            cached = (complete, self._discover(mailbox, known, complete))
            self._discovered[mailbox] = cached
        found = cached[1]
        folders = found + [f for f in known if f not in found]
        self._followed[mailbox] = set(folders)
        return folders

    def _discover(self, mailbox: str, known: list[str], complete: bool) -> list[str]:
        base = f"v1.0/users/{quote(mailbox)}"
        try:
            top = self._folder_list(f"{base}/contactFolders")
            default = next((f["parentFolderId"] for f in top if f.get("parentFolderId")), None)
            if default is None and not known:
                first = self.graph.get(
                    f"{base}/contacts",
                    {"$top": "1", "$select": "parentFolderId"},
                    listing=True,
                )
                items = first.get("value") or []
                default = items[0].get("parentFolderId") if items else None
        except NotFound as exc:
            log.warning("exchange: mailbox %s cannot be read (%s); skipped", mailbox, exc.code)
            return []
        folders = [str(default)] if default else []
        todo = [str(f["id"]) for f in top]
        while todo:
            folder = todo.pop(0)
            if folder in folders:
                continue
            folders.append(folder)
            if not complete and folder in known:
                continue
            children = f"{base}/contactFolders/{quote(folder, safe='')}/childFolders"
            try:
                todo += [str(f["id"]) for f in self._folder_list(children)]
            except NotFound:
                folders.remove(folder)  # deleted while we looked
        return folders

    def _folder_list(self, path: str) -> list[dict[str, Any]]:
        return [
            f
            for body in self.graph.pages(path, None, self.prefer)
            for f in body.get("value") or []
            if isinstance(f, dict) and f.get("id")
        ]
