"""The record types that cross between Carnet and a CRM adapter: what to pull, what came back,
what to write and how each write ended.

An adapter pulls pages of raw records (in its API's own field names) for an `ObjectSpec` the
mapping file describes, and pushes batches of field writes. It knows nothing of the overlay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class ObjectSpec:
    """What to pull of one CRM object: its API name and the fields the mapping reads."""

    name: str  # the API's own object name: "Contact", "contacts", "users", ...
    fields: tuple[str, ...]
    associations: tuple[str, ...] = ()  # HubSpot: object types whose associations to read


@dataclass
class RawRecord:
    """One CRM record as the API gave it."""

    id: str
    fields: dict[str, Any]
    deleted: bool = False
    merged_into: str | None = None  # the survivor's id, when this record was merged away
    modstamp: datetime | None = None
    associations: dict[str, list[str]] = field(default_factory=dict)  # to-object -> ids
    container: str | None = None  # Graph: the mailbox (user id) the contact lives in


@dataclass
class Page:
    """Records to store together with the cursor that covers them (commit both at once)."""

    records: list[RawRecord]
    cursor: str | None  # the cursor to save once these records are stored; None: keep the old one
    full: bool = False  # this pull is a full pass (records not seen may be tombstoned at the end)
    done: bool = False  # the last page of this object's pull


@dataclass(frozen=True)
class Write:
    """Field values to set on one CRM record (`id` None: create)."""

    object: str
    id: str | None
    values: dict[str, Any]
    key: str = ""  # the caller's handle for the result (e.g. the outbox row id)
    # creations only: records to associate the new one with (HubSpot): (to object, id, type id)
    associate: tuple[tuple[str, str, int], ...] = ()


class Outcome(StrEnum):
    """How one write ended, as the adapter that sent it classifies it: what the core does next
    depends on this, never on the words of the CRM's message."""

    OK = "ok"  # written
    RETRY = "retry"  # a passing fault (lock, load, 5xx, timeout): retry later, with backoff
    BUDGET = "budget"  # not sent: the API allowance share is spent; wait for a later run
    GONE = "gone"  # the target record no longer exists in the CRM (deleted, merged away)
    # a creation whose result is unknown (a timeout or 5xx after it was sent): it may exist
    # now, so it must not be blindly made again (plan notes look for their marker first)
    MAYBE_APPLIED = "maybe_applied"
    REFUSED = "refused"  # a permanent refusal by the CRM (validation, a missing field): park it


@dataclass(frozen=True)
class WriteResult:
    """One write's result, in the order of the writes; `outcome` is the source of truth."""

    key: str
    outcome: Outcome
    id: str | None = None
    error: str | None = None  # the CRM's own message, for people; never parsed

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def retriable(self) -> bool:
        """Sending it again later may work as it is (a passing fault, or a spent budget)."""
        return self.outcome in (Outcome.RETRY, Outcome.BUDGET)


@dataclass
class FieldInfo:
    name: str
    type: str  # the CRM's type name
    writable: bool
    length: int | None = None
    custom: bool = False


@dataclass
class ApiUsage:
    used: int | None = None
    limit: int | None = None
    calls: int = 0  # calls this adapter made in this process

    def share(self) -> float | None:
        return self.used / self.limit if self.used is not None and self.limit else None


@dataclass(frozen=True)
class FieldSpec:
    """A custom field / property Carnet writes, as `carnet install` creates it."""

    name: str
    type: str  # the CRM's own type name as the mapping declares it (Number, Text, number, ...)
    label: str
    description: str | None = None
    length: int | None = None  # Salesforce text
    precision: int | None = None  # Salesforce Number / Percent / Currency
    scale: int | None = None
    field_type: str | None = None  # HubSpot: how the property shows


@dataclass(frozen=True)
class FieldStep:
    """One line of an install plan: `create`, `exists` or `incompatible` (with why)."""

    object: str
    name: str
    action: str
    detail: str = ""


def plan_marker(parent: str) -> str:
    """What an account-plan note carries (Salesforce: title; HubSpot: body) to be found again."""
    return f"[carnet:plan:{parent}]"


@dataclass(frozen=True)
class PlanNote:
    """An account-plan note: one per account, found again by the marker it carries."""

    parent: str  # the account / company id
    note_id: str | None  # the note's id when known; None: find it by its marker, else create
    marker: str  # `[carnet:plan:<parent>]`
    title: str  # plain text
    text: str  # plain text (Salesforce Note body)
    html: str  # escaped HTML (HubSpot note body)
    key: str = ""
