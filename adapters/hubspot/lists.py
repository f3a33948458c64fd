"""Invitation campaigns in HubSpot: one MANUAL contact list (Lists v3) per campaign, named
`f"{name} {marker}"`, and its memberships, through the client's generated `crm.lists` APIs.

A list holds membership only: no member status, no campaign status or dates (those are
Salesforce's). List names are unique in a portal, whatever their case, so a creation is found
again by its exact name: a push that died after HubSpot made the list finds it before making
another, and a creation HubSpot refuses as a duplicate name adopts the list that holds the name.
A campaign renamed since is found by its marker through the lists search.

Adding a contact that is already a member changes nothing, and removing one that is not is no
error: membership writes are safe to send again. A record id HubSpot reports missing is a
contact that no longer exists (GONE), as for field writes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from adapters.hubspot.api import HubSpotApi, HubSpotRefused
from connector.core.answers import Answer, json_kind
from connector.core.errors import (
    BudgetExhausted,
    CredentialsRefused,
    FatalError,
    RateLimited,
    RecordError,
    RetriableError,
)
from connector.core.http import check_pagination
from connector.core.records import Outcome, WriteResult
from connector.core.records_campaigns import CampaignRecord, MemberState, MemberWrite

CONTACT_LISTS = "0-1"  # the objectTypeId of contact lists
MEMBERSHIP_LIMIT = 100_000  # record ids in one memberships add or remove call
MEMBERSHIP_PAGE = 250  # memberships read a call (HubSpot's maximum)
SEARCH_PAGE = 100  # lists a search call returns
DUPLICATE_NAME = "ILS.DUPLICATE_LIST_NAMES"
MEMBERSHIP_KEYS = ("recordsIdsAdded", "recordIdsAdded", "recordIdsRemoved", "recordIdsMissing")
Stop = tuple[Outcome, str]  # why no more calls are made, and what the rest's results say


def list_name(campaign: CampaignRecord) -> str:
    """The name of a campaign's list: its name, then its marker (found again by either)."""
    return f"{campaign.name} {campaign.marker}"


class ListsMixin:
    """The CampaignWriter part of the HubSpot adapter (it brings `api`)."""

    api: HubSpotApi

    # -- the lists -----------------------------------------------------------------------------

    def find_campaigns(self, campaigns: list[CampaignRecord]) -> dict[str, str]:
        """Marker -> id of the list each campaign already has in HubSpot: by its exact name
        (read at once after a write), else by its marker (a campaign renamed since)."""
        found: dict[str, str] = {}
        for campaign in campaigns:
            list_id = self._by_name(list_name(campaign)) or self._by_marker(campaign.marker)
            if list_id is not None:
                found[campaign.marker] = list_id
        return found

    def push_campaigns(self, campaigns: list[CampaignRecord]) -> list[WriteResult]:
        """Create each campaign's list (ref None) or give it the campaign's current name; one
        WriteResult per campaign, its id the list's."""
        results: list[WriteResult] = []
        stopped: Stop | None = None
        for campaign in campaigns:
            if stopped is not None:
                results.append(WriteResult(campaign.key, stopped[0], campaign.ref, stopped[1]))
                continue
            push = partial(self._push, campaign)
            result, stopped = _attempt(campaign.key, campaign.ref, campaign.ref is None, push)
            results.append(result)
        return results

    def _push(self, campaign: CampaignRecord) -> WriteResult:
        name = list_name(campaign)
        if campaign.ref is None:
            return WriteResult(campaign.key, Outcome.OK, self._create(name))
        current = self.api.call("lists", "get_by_id", campaign.ref, rows=None)
        if _list_of(current, "list", "GET /crm/v3/lists/{listId}")[1] != name:
            self.api.call("lists", "update_name", campaign.ref, list_name=name, rows=None)
        return WriteResult(campaign.key, Outcome.OK, campaign.ref)

    def _create(self, name: str) -> str:
        """A new MANUAL contact list's id; the id of the one holding `name` if HubSpot refuses
        the name as taken (made by a push whose answer was lost, or by a retried call)."""
        body = {"name": name, "objectTypeId": CONTACT_LISTS, "processingType": "MANUAL"}
        try:
            data = self.api.call("lists", "create", body, rows=None)
        except HubSpotRefused as exc:
            taken = self._by_name(name) if _sub_category(exc.body) == DUPLICATE_NAME else None
            if taken is None:
                raise
            return taken
        return _list_of(data, "list", "POST /crm/v3/lists")[0]

    def _by_name(self, name: str) -> str | None:
        try:
            data = self.api.call("lists", "get_by_name", name, CONTACT_LISTS, rows=None)
        except HubSpotRefused as exc:
            if exc.status == 404:
                return None
            raise
        return _list_of(data, "list", "GET /crm/v3/lists/object-type-id/{id}/name/{name}")[0]

    def _by_marker(self, marker: str) -> str | None:
        """The oldest contact list whose name ends with `marker`, through the lists search."""
        hits: list[tuple[int, str]] = []
        offsets: set[int] = set()
        offset = 0
        while True:
            body = {"query": marker, "offset": offset, "count": SEARCH_PAGE}
            data = self.api.call("lists", "do_search", body, rows="lists",
                                 row_keys=("listId", "name"))  # fmt: skip
            for row in data.get("lists") or []:
                name, type_id = str(row.get("name") or ""), row.get("objectTypeId")
                if name.endswith(marker) and type_id in (None, CONTACT_LISTS):
                    hits.append((int(str(row["listId"])), str(row["listId"])))
            if not data.get("hasMore"):
                break
            offset = int(data.get("offset") or 0)
            check_pagination(offsets, offset)
        return min(hits)[1] if hits else None

    # -- memberships ---------------------------------------------------------------------------

    def read_members(self, campaign_ref: str) -> dict[str, MemberState]:
        """Contact id -> MemberState (ref = the contact id; a list keeps no status). A list
        deleted in HubSpot is a RecordError naming it."""
        members: dict[str, MemberState] = {}
        after: str | None = None
        tokens: set[Any] = set()
        while True:
            try:
                data = self.api.call("memberships", "get_page", campaign_ref, after=after,
                                     limit=MEMBERSHIP_PAGE, row_keys=("recordId",))  # fmt: skip
            except HubSpotRefused as exc:
                if exc.status == 404:
                    message = f"HubSpot list {campaign_ref} no longer exists"
                    raise RecordError(message, campaign_ref) from None
                raise
            for row in data.get("results") or []:
                contact = str(row["recordId"])
                members[contact] = MemberState(contact, None)
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return members
            check_pagination(tokens, after)

    def push_members(self, members: list[MemberWrite]) -> list[WriteResult]:
        """Adds and removes, grouped per list and kind into calls of at most MEMBERSHIP_LIMIT
        contacts; one WriteResult per write, in order, its id the contact's."""
        groups: dict[tuple[str, bool], list[int]] = {}
        for i, write in enumerate(members):
            groups.setdefault((write.campaign_ref, write.remove), []).append(i)
        results: dict[int, WriteResult] = {}
        stopped: Stop | None = None
        for (list_id, remove), indexes in groups.items():
            for start in range(0, len(indexes), MEMBERSHIP_LIMIT):
                chunk = [(i, members[i]) for i in indexes[start : start + MEMBERSHIP_LIMIT]]
                if stopped is None:
                    answer, stopped = self._membership_call(list_id, remove, chunk)
                    results.update(answer)
                else:
                    results.update(_all(chunk, *stopped))
        return [results[i] for i in range(len(members))]

    def _membership_call(
        self, list_id: str, remove: bool, chunk: list[tuple[int, MemberWrite]]
    ) -> tuple[dict[int, WriteResult], Stop | None]:
        contacts = list(dict.fromkeys(w.contact for _, w in chunk))
        missing: set[str] = set()

        def send() -> WriteResult:
            method = "remove" if remove else "add"
            data = self.api.call("memberships", method, list_id, contacts, rows=None)
            missing.update(_missing(data, f"PUT /crm/v3/lists/{{listId}}/memberships/{method}"))
            return WriteResult("", Outcome.OK)

        result, stopped = _attempt("", list_id, False, send)
        if result.outcome is not Outcome.OK:
            return _all(chunk, result.outcome, result.error or ""), stopped
        return {
            i: WriteResult(w.key, Outcome.OK, w.contact)
            if w.contact not in missing
            else WriteResult(w.key, Outcome.GONE, None, f"HubSpot has no contact {w.contact}")
            for i, w in chunk
        }, None


def _attempt(
    key: str, ref: str | None, create: bool, fn: Callable[[], WriteResult]
) -> tuple[WriteResult, Stop | None]:
    """`fn()`'s result, or the one its error means (as the field writes classify them), and
    why no further call should be made: the budget is spent, or the run cannot go on."""
    try:
        return fn(), None
    except HubSpotRefused as exc:
        gone = not create and (exc.status == 404 or exc.category == "OBJECT_NOT_FOUND")
        outcome = Outcome.GONE if gone else Outcome.REFUSED
        return WriteResult(key, outcome, ref, exc.detail or str(exc)), None
    except RetriableError as exc:  # a creation sent may have been made
        unknown = create and not isinstance(exc, RateLimited)
        return WriteResult(key, Outcome.MAYBE_APPLIED if unknown else Outcome.RETRY, ref,
                           str(exc)), None  # fmt: skip
    except BudgetExhausted as exc:
        return WriteResult(key, Outcome.BUDGET, ref, str(exc)), (Outcome.BUDGET, str(exc))
    except CredentialsRefused:  # the config's token is wrong: the push stops, exit 2
        raise
    except FatalError as exc:
        return WriteResult(key, Outcome.RETRY, ref, str(exc)), (Outcome.RETRY, str(exc))


def _all(
    chunk: list[tuple[int, MemberWrite]], outcome: Outcome, message: str
) -> dict[int, WriteResult]:
    return {i: WriteResult(w.key, outcome, None, message) for i, w in chunk}


def _list_of(data: Any, key: str, endpoint: str) -> tuple[str, str]:
    """(listId, name) of the list under `key` of an answer."""
    answer = Answer("HubSpot", endpoint)
    found = answer.part(answer.object(data, key), key)
    list_id, name = found.get("listId"), found.get("name")
    if list_id is None or not isinstance(name, str):
        raise answer.unexpected(f"{key} with listId and name", f"{key} without them")
    return str(list_id), name


def _missing(data: Any, endpoint: str) -> list[str]:
    """The record ids a memberships answer reports missing; an answer that holds none of the
    keys such an answer has (HubSpot spells the first one `recordsIdsAdded`) is unexpected."""
    answer = Answer("HubSpot", endpoint)
    body = answer.object(data)
    if set(body).isdisjoint(MEMBERSHIP_KEYS):
        raise answer.unexpected(f"a JSON object with {' or '.join(MEMBERSHIP_KEYS)}",
                                json_kind(body))  # fmt: skip
    missing = body.get("recordIdsMissing") or []
    if not isinstance(missing, list):
        raise answer.unexpected("recordIdsMissing as a list", json_kind(missing))
    return [str(m) for m in missing]


def _sub_category(body: dict[str, Any]) -> str:
    """An error's subCategory: a string, or an object with its name."""
    sub = body.get("subCategory")
    return str(sub.get("name") if isinstance(sub, dict) else sub or "")
