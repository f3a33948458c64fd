"""The protocols every CRM adapter follows: what the core calls on it, and nothing else.

Small parts, composed: each core function takes the part it uses (a field push a `Writer`, plan
notes a `NoteWriter`, `carnet install` an `Installer`); `Adapter` is all of them together.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from connector.core.records import (
    ApiUsage,
    FieldInfo,
    FieldSpec,
    FieldStep,
    ObjectSpec,
    Page,
    PlanNote,
    Write,
    WriteResult,
)
from connector.core.records_campaigns import CampaignRecord, MemberState, MemberWrite

Describes = dict[str, dict[str, FieldInfo]]  # object -> its fields, as `Adapter.describe` answers


def with_describes(settings: Any, describes: Describes) -> Any:
    """A copy of a source's settings (a pydantic model) carrying `describes`: what a sync already
    knows of the source's objects (its describe cache, connector/sync_describes.py). The adapter
    is built from the settings, in this process or in the pull process (they travel together),
    and its `describe` answers from them without a call (`known_describes`)."""
    return settings.model_copy(update={"describes": describes})


def known_describes(settings: Any) -> Describes:
    """The describes a sync handed the adapter on its settings (none: an empty dict)."""
    found = getattr(settings, "describes", None)
    return {obj: dict(fields) for obj, fields in (found or {}).items()}


class FieldGroup(Protocol):
    """The group Carnet's custom properties live in (HubSpot): the mapping's `outbound.group`."""

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...


class Metered(Protocol):
    """Counts its calls and knows the CRM's allowance (the budget stop reads it)."""

    def usage(self) -> ApiUsage: ...


class Writer(Metered, Protocol):
    """Writes field values, in batches at the CRM's limits; one WriteResult per write, in order."""

    def push(self, writes: list[Write]) -> list[WriteResult]: ...


class NoteWriter(Metered, Protocol):
    """Account-plan notes: found again by their marker, then created or updated."""

    def find_plan_notes(self, parents: list[str]) -> dict[str, str]: ...

    def push_notes(self, notes: list[PlanNote]) -> list[WriteResult]: ...


class CampaignWriter(Metered, Protocol):
    """Invitation campaigns: the campaign record (found again by its marker), its members read
    back (with the status the CRM holds) and written, exactly once each."""

    # marker -> CRM id of those found; by the whole record: HubSpot finds a list by its name
    def find_campaigns(self, campaigns: list[CampaignRecord]) -> dict[str, str]: ...

    def push_campaigns(self, campaigns: list[CampaignRecord]) -> list[WriteResult]: ...

    def read_members(self, campaign_ref: str) -> dict[str, MemberState]: ...  # contact -> state

    def push_members(self, members: list[MemberWrite]) -> list[WriteResult]: ...


class Installer(Protocol):
    """Creates the custom fields the outbound mapping writes (`carnet install`)."""

    def ensure_fields(
        self,
        object_name: str,
        specs: list[FieldSpec],
        group: FieldGroup | None = None,
        dry_run: bool = False,
    ) -> list[FieldStep]: ...


class Adapter(Writer, NoteWriter, CampaignWriter, Installer, Protocol):
    """One source's adapter: everything the core calls on it."""

    source: str

    def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]: ...

    def describe(self, object_name: str) -> dict[str, FieldInfo]: ...

    def close(self) -> None: ...
