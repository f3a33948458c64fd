"""The Exchange / Microsoft 365 adapter: directory users (our members) and every mailbox's Outlook
contacts (their address books), read through Microsoft Graph with msal client credentials.

Objects (mappings/exchange.yaml):
- `users`: the users of the configured mailboxes, or with `mailboxes: all` every user of
  `GET /v1.0/users` (`$select`, `$top=999`), disabled ones included (their `accountEnabled` says
  so). Graph's user delta is not used: each pull lists them all, so every Page is `full=True`
  (ingest tombstones members that left); the cursor only records when they were listed.
- `contacts`: every contact of every contact folder of every read mailbox, through contact delta;
  see adapters/exchange_contacts.py for the cursor, the 410 / full-pass rules and `@removed`.
  Mailboxes: `all` reads the mailbox of every enabled member user with a mail address; a list
  names mailboxes by user principal name or primary address (`GET /users/{upn}`, then
  `$filter=mail eq`); one that is unknown, disabled, or not readable by the app (404, or 403 under
  an application access policy) is skipped with a log line. RawRecord.container is the
  mailbox's user id. `Prefer: odata.maxpagesize=<page_size>` is sent (Graph's default is 10).

Carnet does not write to Exchange: `push` and `push_notes` answer every write as refused, saying
so; `ensure_fields` finds every field incompatible, `find_plan_notes` finds none. Graph has no
describe endpoint; `describe` answers from the documented
field tables (adapters/exchange_fields.py). `usage().calls` counts Graph calls (token requests
to Entra excluded); Graph publishes no allowance, so used/limit stay None.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from adapters.exchange.contacts import ContactsPull
from adapters.exchange.fields import field_infos
from adapters.exchange.graph import GraphClient, NotFound
from connector.core.errors import UsageError
from connector.core.protocols import FieldGroup
from connector.core.records import (
    ApiUsage,
    FieldInfo,
    FieldSpec,
    FieldStep,
    ObjectSpec,
    Outcome,
    Page,
    PlanNote,
    RawRecord,
    Write,
    WriteResult,
)

log = logging.getLogger(__name__)

USERS_TOP = 999  # the most /users gives in one page
MAILBOX_FIELDS = ("id", "userPrincipalName", "mail", "accountEnabled", "userType")
NO_WRITES = "Carnet does not write to Exchange; this write was not sent"


class ExchangeAdapter:
    source = "exchange"

    def __init__(self, settings: Any, secret: Callable[[str], str]):
        self.settings = settings
        self.graph = GraphClient(settings, secret)

    # -- the protocol -----------------------------------------------------------------------------
    def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]:
        if spec.name == "users":
            yield from self._pull_users(spec)
        elif spec.name == "contacts":
            mailboxes = [
                str(u["id"]) for batch in self._users(MAILBOX_FIELDS) for u in batch if _readable(u)
            ]
            pull = ContactsPull(self.graph, mailboxes, spec, int(self.settings.page_size))
            yield from pull.run(cursor, full)
        else:
            raise UsageError(
                f"the Exchange adapter reads 'users' and 'contacts', not {spec.name!r}"
            )

    def push(self, writes: list[Write]) -> list[WriteResult]:
        return [WriteResult(w.key, Outcome.REFUSED, id=w.id, error=NO_WRITES) for w in writes]

    def push_notes(self, notes: list[PlanNote]) -> list[WriteResult]:
        return [WriteResult(n.key, Outcome.REFUSED, id=n.note_id, error=NO_WRITES) for n in notes]

    def find_plan_notes(self, parents: list[str]) -> dict[str, str]:
        return {}

    def ensure_fields(
        self,
        object_name: str,
        specs: list[FieldSpec],
        group: FieldGroup | None = None,
        dry_run: bool = False,
    ) -> list[FieldStep]:
        """No field can be made: an outbound Exchange mapping is refused by `carnet install`."""
        why = "cannot be made: Carnet does not write to Exchange"
        return [FieldStep(object_name, s.name, "incompatible", why) for s in specs]

    def describe(self, object_name: str) -> dict[str, FieldInfo]:
        fields = field_infos(object_name)
        if fields is None:
            raise UsageError(
                f"the Exchange adapter reads 'users' and 'contacts', not {object_name!r}"
            )
        return fields

    def usage(self) -> ApiUsage:
        return ApiUsage(calls=self.graph.calls)

    def close(self) -> None:
        self.graph.close()

    # -- users ------------------------------------------------------------------------------------
    def _pull_users(self, spec: ObjectSpec) -> Iterator[Page]:
        """Every user as a record, a Page per Graph page; the last one is done (and full)."""
        held: list[RawRecord] | None = None
        for batch in self._users(spec.fields):
            if held is not None:
                yield Page(held, None, full=True)
            held = [
                RawRecord(id=str(u["id"]), fields={k: v for k, v in u.items() if k[0] != "@"})
                for u in batch
            ]
        listed = json.dumps({"users_listed_at": datetime.now(UTC).isoformat(timespec="seconds")})
        yield Page(held or [], listed, full=True, done=True)

    def _users(self, fields: tuple[str, ...]) -> Iterator[list[dict[str, Any]]]:
        """The users of the configured mailboxes (or all users), in batches of at most 999."""
        names = [f for f in fields if not f.startswith("_")]
        select = ",".join(dict.fromkeys([*MAILBOX_FIELDS, *names]))
        if self.settings.mailboxes == "all":
            params = {"$select": select, "$top": str(USERS_TOP)}
            for body in self.graph.pages("v1.0/users", params):
                yield [u for u in body.get("value") or [] if isinstance(u, dict) and u.get("id")]
            return
        found: dict[str, dict[str, Any]] = {}
        for address in self.settings.mailboxes:
            user = self._lookup(str(address), select)
            if user is None:
                log.warning("exchange: mailbox %s is not a user of the tenant; skipped", address)
            else:
                found.setdefault(str(user["id"]), user)
        users = list(found.values())
        for start in range(0, max(len(users), 1), USERS_TOP):
            yield users[start : start + USERS_TOP]

    def _lookup(self, address: str, select: str) -> dict[str, Any] | None:
        """A user by user principal name (or id), else by primary SMTP address."""
        try:
            path = f"v1.0/users/{quote(address, safe='@')}"
            return self.graph.get(path, {"$select": select}, keys=("id",))
        except NotFound:
            pass
        literal = address.replace("'", "''")
        query = {"$select": select, "$filter": f"mail eq '{literal}'"}
        body = self.graph.get("v1.0/users", query, listing=True)
        users = [u for u in body.get("value") or [] if isinstance(u, dict) and u.get("id")]
        return users[0] if users else None


def _readable(user: dict[str, Any]) -> bool:
    """Whether a user's mailbox is read: not for disabled accounts, nor for users without a
    mailbox in the tenant (no mail address, or guests, whose address is elsewhere)."""
    if user.get("accountEnabled") is False:
        log.info("exchange: the account of mailbox %s is disabled; skipped", user.get("id"))
        return False
    if not user.get("mail") or user.get("userType") == "Guest":
        log.debug("exchange: user %s has no mailbox here; skipped", user.get("id"))
        return False
    return True
